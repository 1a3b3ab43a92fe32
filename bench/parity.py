#!/usr/bin/env python3
"""PyTorch's side of `deno task bench:parity`: a recipe's network at its real shapes, in
float32, through one training step with the recipe's optimizer at its peak rate (the batch in
the config's passes, as the trainer's `--accumulate` takes it).

    /usr/bin/python3 bench/parity.py CONFIG.json OUT_DIR BATCH

Writes the suite `parity` (the fixture format of fixtures/generate.py) to OUT_DIR: the starting
parameters and buffers, the batch, its logits, loss and gradients, the state after the step and
the eval-mode logits of the batch then. One step: after more, the recipe's high rates (64 times
the peak for BatchNorm's biases) amplify float32 rounding and blur what is compared.
"""

import json
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "fixtures"))
import generate  # noqa: E402  (the fixture writer)
from torch_recipe import build, optimizer  # noqa: E402


def main():
    config = json.loads(pathlib.Path(sys.argv[1]).read_text())
    out, batch = pathlib.Path(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(config["seed"])
    rng = np.random.default_rng(config["seed"])
    model = build(config, rng.integers(0, 256, (64, 3, 32, 32), dtype=np.uint8))
    with torch.no_grad():  # BatchNorm's biases start at 0: move them so that their path counts
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.bias.add_(0.1 * torch.randn_like(m.bias))
    sgd, factors = optimizer(model, config)
    for group, factor in zip(sgd.param_groups, factors):
        group["lr"] = config["lr"] * factor
    tensors = {f"param:{k}": v.detach().clone() for k, v in model.named_parameters()}
    tensors.update({f"buffer:{k}": v.clone() for k, v in model.named_buffers()
                    if not k.endswith("num_batches_tracked")})
    model.train()
    x, y = torch.rand(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    # The batch in the config's passes, each pass's mean loss weighted by its share of the batch
    # (the trainer's `--accumulate`; one pass by default).
    logits, loss, passes = [], 0, config["accumulate"]
    for xs, ys in zip(torch.tensor_split(x, passes), torch.tensor_split(y, passes)):
        logits.append(model(xs))
        part = F.cross_entropy(logits[-1], ys, label_smoothing=config["labelSmoothing"])
        (part * len(ys) / batch).backward()
        loss += part.detach() * len(ys) / batch
    logits = torch.cat(logits)
    tensors.update({"x": x, "y": y, "logits": logits, "loss": loss.reshape(1)})
    tensors.update({f"grad:{k}": v.grad.clone() for k, v in model.named_parameters()
                    if v.grad is not None})
    sgd.step()
    tensors.update({f"after:{k}": v.clone() for k, v in model.state_dict().items()
                    if not k.endswith("num_batches_tracked")})
    model.eval()
    with torch.no_grad():
        tensors["eval_logits"] = model(x)
    generate.HERE = out
    suite = generate.Suite("parity", "float32")
    suite.add("parity", {"batch": batch}, tensors)
    suite.write()


if __name__ == "__main__":
    main()
