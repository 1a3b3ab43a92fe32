"""The PyTorch side of `deno task bench:step`: one training step of the default network
(bench/train_step.ts builds the same one), timed whole and layer by layer.

Reads one JSON object of settings on argv[1]; prints one JSON object on stdout.
"""

import json
import statistics
import sys
import time

import torch
from torch import nn

from torch_bench import network  # the same network as the main bench builds


def optimizer(model, s):
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    rest = [p for p in params if p.dim() <= 1]
    return torch.optim.SGD(
        [{"params": decay}, {"params": rest, "weight_decay": 0}],
        lr=s["lr"], momentum=s["momentum"], nesterov=True, weight_decay=s["weightDecay"],
    )


def main():
    s = json.loads(sys.argv[1])
    torch.set_num_threads(s["threads"])
    torch.manual_seed(0)
    model = network(s["widths"], s["stemNorm"], s["frozenStem"], s["activation"])
    opt = optimizer(model, s)
    criterion = nn.CrossEntropyLoss(label_smoothing=s["labelSmoothing"])
    x = torch.rand(s["batch"], 3, 32, 32)
    y = torch.randint(0, 10, (s["batch"],))

    def step():
        opt.zero_grad(set_to_none=False)
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(s["steps"]):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)

    # Layer by layer: each layer runs on a detached copy of its input, so its backward can be
    # timed alone, as the TypeScript side times each layer's forward and backward. An input
    # takes a gradient only where a layer before it learns, as in the whole step.
    layers = []
    for _ in range(s["layerRounds"]):
        inputs, outputs, row = [], [], []
        h, learns = x, False
        for layer in model:
            h = h.detach().requires_grad_(learns)
            learns = learns or any(p.requires_grad for p in layer.parameters())
            t = time.perf_counter()
            out = layer(h)
            row.append({"type": type(layer).__name__, "forward": time.perf_counter() - t})
            inputs.append(h)
            outputs.append(out)
            h = out
        t = time.perf_counter()
        loss = criterion(h, y)
        grad, = torch.autograd.grad(loss, h)
        row.append({"type": "CrossEntropyLoss", "forward": time.perf_counter() - t, "backward": 0})
        for i in range(len(model) - 1, -1, -1):
            t = time.perf_counter()
            # Parameter gradients too, as the TypeScript layers' backward computes them.
            if grad is not None and outputs[i].requires_grad:
                outputs[i].backward(grad)
            grad = inputs[i].grad
            row[i]["backward"] = time.perf_counter() - t
        t = time.perf_counter()
        opt.step()
        row.append({"type": "SGD", "forward": 0, "backward": time.perf_counter() - t})
        layers.append(row)

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "step": statistics.median(times),
        "steps": times,
        "layers": layers,
    }))


if __name__ == "__main__":
    main()
