#!/usr/bin/env python3
"""A training recipe of `deno task train`, run in PyTorch on the CPU: the peer that tells how
much of a run's accuracy is the recipe's and how much the engine's.

It trains the network and schedule a run's config describes (the `vgg` network, the whitened
stem, the optimizer's groups, the one-cycle schedule, lookahead, alternating flips, BatchNorm
recalibration, the flipped and shifted test views) and prints one line per epoch in the
trainer's words, then the test accuracy. Its random streams are PyTorch's and NumPy's, so
its validation split, order and augmentation differ from the trainer's: compare curves and
accuracies as two seeds of one recipe, not number for number.

    /usr/bin/python3 bench/torch_recipe.py RUN/checkpoint.safetensors --data DIR

CONFIG is a run's checkpoint (its config is read from the metadata) or a JSON file with a
config (`deno eval 'import { recipe } from "./src/train/recipes.ts";
console.log(JSON.stringify(recipe("strong")))' > strong.json`). DIR holds CIFAR-10 in the
binary layout (`cifar-10-batches-bin`). `--threads` (default 2) as the trainer's cores,
`--epochs N` to stop after N of the config's epochs (the schedule stays the config's). An
ensemble's config (`members` above 1) trains its first member.
"""

import argparse
import json
import pathlib
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SUPPORTED = {"vgg"}


def read_config(path):
    """The config of a checkpoint's metadata, or of a JSON file."""
    raw = pathlib.Path(path).read_bytes()
    if path.endswith(".safetensors"):
        (size,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + size])
        return json.loads(header["__metadata__"]["state"])["metadata"]["config"]
    return json.loads(raw)


def read_cifar(folder, names):
    """Images (N, 3, 32, 32) uint8 and labels of the binary batches `names`."""
    rows = [np.fromfile(pathlib.Path(folder) / n, np.uint8).reshape(-1, 3073) for n in names]
    raw = np.concatenate(rows)
    return raw[:, 1:].reshape(-1, 3, 32, 32).copy(), raw[:, 0].astype(np.int64)


def whitening(images, filters, kernel=3, count=2000, eps=1e-3):
    """`whitening.ts`'s filters: ± the leading eigenvectors of the centred covariance of the
    first `count` images' patches, each over √(eigenvalue + eps · mean eigenvalue); and the
    bias that centres their responses."""
    x = torch.from_numpy(images[:count]).double() / 255
    dims = 3 * kernel * kernel
    patches = x.unfold(2, kernel, 1).unfold(3, kernel, 1).permute(0, 2, 3, 1, 4, 5)
    patches = patches.reshape(-1, dims)
    mean = patches.mean(0)
    cov = patches.T @ patches / len(patches) - torch.outer(mean, mean)
    values, vectors = torch.linalg.eigh(cov)
    values, vectors = values.flip(0).clamp(min=0), vectors.flip(1)
    floor = eps * values.sum() / dims
    rows = [(1 if f % 2 == 0 else -1) * vectors[:, f >> 1] / torch.sqrt(values[f >> 1] + floor)
            for f in range(filters)]
    weight = torch.stack(rows)
    return weight.reshape(filters, 3, kernel, kernel).float(), (-weight @ mean).float()


class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


def build(config, train_images):
    """`models.ts`'s `vgg` network for this config, its stem whitened when the config says."""
    stem_width, *stages = config["widths"]
    act = nn.GELU if config["activation"] == "gelu" else nn.ReLU

    def bn(c):
        layer = nn.BatchNorm2d(c, momentum=config["bnMomentum"])
        layer.weight.requires_grad = config["bnWeight"]
        return layer

    def conv(cin, cout):
        layer = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        if config["identityInit"]:
            nn.init.dirac_(layer.weight.data[:min(cin, cout)])
        return layer

    kernel = config.get("stemKernel", 3)
    stem = nn.Conv2d(3, stem_width, kernel, padding=(kernel - 1) // 2, bias=not config["stemNorm"])
    if config["whiten"]:
        weight, bias = whitening(train_images, stem_width, kernel)
        stem.weight.data[:] = weight
        stem.weight.requires_grad = False
        if stem.bias is not None:
            stem.bias.data[:] = bias
            stem.bias.requires_grad = stem_bias_learns(config)
    layers = [stem, *([bn(stem_width)] if config["stemNorm"] else []), act()]
    cin, size = stem_width, 32 + 2 * ((kernel - 1) // 2) - kernel + 1
    for width in stages:
        layers += [conv(cin, width), nn.MaxPool2d(2), bn(width), act()]
        layers += [conv(width, width), bn(width), act()]
        cin, size = width, size // 2
    layers += [nn.MaxPool2d(size), nn.Flatten(), nn.Linear(cin, 10, bias=False)]
    if config["logitScale"] != 1:
        layers.append(Scale(config["logitScale"]))
    return nn.Sequential(*layers)


def stem_bias_learns(config):
    """Whether a whitened stem without BatchNorm learns its bias in its first epochs."""
    return config["whiten"] and not config["stemNorm"] and config.get("stemBiasEpochs", 0) > 0


def optimizer(model, config):
    """`param_groups.ts`: weight decay on conv and linear weights (on everything with
    `decayAll`, BatchNorm's biases by 1/`bnBiasLr` of it); BatchNorm's biases at `bnBiasLr`
    times the rate; a learning stem bias in a last group. Returns the optimizer and each
    group's factor on the rate."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    biases = {id(m.bias) for m in norms}
    stem = model[0].bias if stem_bias_learns(config) else None
    params = [p for p in model.parameters() if p.requires_grad]
    decay = config["weightDecay"] if config.get("decayAll", False) else 0
    rest = [p for p in params if p.dim() <= 1 and id(p) not in biases and p is not stem]
    groups = [
        dict(params=[p for p in params if p.dim() > 1], weight_decay=config["weightDecay"]),
        dict(params=rest, weight_decay=decay),
        dict(params=[p for p in params if id(p) in biases],
             weight_decay=decay / config["bnBiasLr"]),
    ]
    factors = [1, 1, config["bnBiasLr"]]
    if stem is not None:
        groups.append(dict(params=[stem], weight_decay=decay))
        factors.append(1)
    sgd = torch.optim.SGD(groups, lr=config["lr"], momentum=config["momentum"],
                          nesterov=config["nesterov"])
    return sgd, factors


def triangular(config, steps):
    """The trainer's schedule: `lrStart` times the peak up to the peak over the warm-up, then
    down to `lrEnd` times the peak."""
    lr, peak = config["lr"], round(config["warmup"] * steps)
    start, end = lr * config.get("lrStart", 0.1), lr * config.get("lrEnd", 0.01)

    def at(step):
        if peak > 0 and step <= peak:
            return start + (lr - start) * step / peak
        return lr + (end - lr) * (step - peak) / (steps - peak)

    return at


class Lookahead:
    """`optim/lookahead.ts`: a slow copy the weights are pulled back to at each sync."""

    def __init__(self, params):
        self.params = params
        self.slow = [p.detach().clone() for p in params]

    @torch.no_grad()
    def sync(self, decay):
        for p, s in zip(self.params, self.slow):
            s += (1 - decay) * (p - s)
            p.copy_(s)


def shift(x, s):
    """Images shifted `s` pixels down-right (negative: up-left), the gap filled by reflection."""
    padded = F.pad(x, (abs(s),) * 4, mode="reflect")
    a = abs(s) - s
    return padded[:, :, a:a + 32, a:a + 32]


@torch.no_grad()
def evaluate(model, images, labels, config, tta):
    """Accuracy and plain cross-entropy; with `tta`, logits averaged over `evaluate.ts`'s views."""
    model.eval()
    correct, loss = 0, 0.0
    for b in range(0, len(images), 500):
        x = torch.from_numpy(images[b:b + 500]).float() / 255
        y = torch.from_numpy(labels[b:b + 500])
        views = [(x, 1.0)]
        if tta and config["ttaShift"] > 0:
            s = config["ttaShift"]
            views = [(x, 0.5), (shift(x, s), 0.25), (shift(x, -s), 0.25)]
        if tta and config["ttaFlip"]:
            views = [(v.flip(-1) if mirror else v, w / 2) for v, w in views for mirror in (0, 1)]
        logits = sum(w * model(v) for v, w in views)
        correct += (logits.argmax(1) == y).sum().item()
        loss += F.cross_entropy(logits, y, reduction="sum").item()
    return correct / len(images), loss / len(images)


@torch.no_grad()
def recalibrate(model, images, config, rng):
    """`recalibrate.ts`: running statistics as the average over a few unaugmented batches."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average, as the trainer's 1/k weights
    model.train()
    order = rng.permutation(len(images))
    for b in range(config["bnRecalibrate"]):
        idx = order[b * config["batchSize"]:(b + 1) * config["batchSize"]]
        model(torch.from_numpy(images[idx]).float() / 255)
    for m in norms:
        m.momentum = config["bnMomentum"]


def augment(padded, idx, pad, flips, rng):
    """Each image shifted uniformly within ±pad (reflected border), then mirrored where `flips`."""
    out = torch.empty(len(idx), 3, 32, 32)
    dy, dx = rng.integers(-pad, pad + 1, (2, len(idx)))
    for i, k in enumerate(idx):
        out[i] = padded[k, :, pad + dy[i]:pad + dy[i] + 32, pad + dx[i]:pad + dx[i] + 32]
    out[flips] = out[flips].flip(-1)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    config = read_config(args.config)
    if config["arch"] not in SUPPORTED:
        sys.exit(f"torch_recipe.py knows the vgg network only, not {config['arch']}.")
    torch.set_num_threads(args.threads)
    torch.manual_seed(config["seed"])
    rng = np.random.default_rng(config["seed"])

    images, labels = read_cifar(args.data, [f"data_batch_{i}.bin" for i in range(1, 6)])
    test_images, test_labels = read_cifar(args.data, ["test_batch.bin"])
    order = rng.permutation(len(images))
    val, train = np.sort(order[:config["valSize"]]), np.sort(order[config["valSize"]:])
    if config["trainLimit"] > 0:
        train = train[:config["trainLimit"]]
    val_images, val_labels = images[val], labels[val]
    images, labels = images[train], labels[train]

    model = build(config, images)
    sgd, factors = optimizer(model, config)
    params = [p for p in model.parameters() if p.requires_grad]
    lookahead = Lookahead(params) if config["lookahead"] > 0 else None
    batch, pad = config["batchSize"], config["cropPadding"]
    per_epoch = len(images) // batch
    steps = config["epochs"] * per_epoch
    schedule = triangular(config, steps)
    padded = F.pad(torch.from_numpy(images).float() / 255, (pad,) * 4, mode="reflect")
    first_flips = torch.from_numpy(rng.random(len(images)) < 0.5)
    y_all = torch.from_numpy(labels)
    print(f"PyTorch {torch.__version__}, {args.threads} threads: {config['recipe']} recipe, "
          f"vgg {'-'.join(map(str, config['widths']))}, {len(images)} images, {steps} steps",
          flush=True)
    step, started = 0, time.time()
    for epoch in range(args.epochs or config["epochs"]):
        model.train()
        order = rng.permutation(len(images))
        loss_sum, correct, seen, t = 0.0, 0, 0, time.time()
        for b in range(per_epoch):
            idx = order[b * batch:(b + 1) * batch]
            if config["flip"] == "alternate":
                flips = first_flips[idx] ^ bool(epoch % 2)
            else:
                flips = torch.rand(len(idx)) < (0.5 if config["flip"] else 0)
            x, y = augment(padded, idx, pad, flips, rng), y_all[idx]
            for group, factor in zip(sgd.param_groups, factors):
                group["lr"] = schedule(step) * factor
            if stem_bias_learns(config) and epoch >= config["stemBiasEpochs"]:
                sgd.param_groups[-1]["lr"] = 0
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=config["labelSmoothing"])
            sgd.zero_grad(set_to_none=True)
            loss.backward()
            sgd.step()
            step += 1
            if lookahead and step % 5 == 0:
                lookahead.sync(config["lookahead"] ** 5 * (step / steps) ** 3)
            if lookahead and step == steps:
                lookahead.sync(1)
            loss_sum += loss.item() * len(y)
            correct += (logits.argmax(1) == y).sum().item()
            seen += len(y)
        seconds = time.time() - t
        if config["bnRecalibrate"] > 0:
            recalibrate(model, images, config, rng)
        val = "-"
        if len(val_images):
            val_acc, val_loss = evaluate(model, val_images, val_labels, config, tta=False)
            val = f"loss {val_loss:.4f} acc {100 * val_acc:.2f}%"
        print(f"epoch {epoch + 1}/{config['epochs']}  train loss {loss_sum / seen:.4f} "
              f"acc {100 * correct / seen:.2f}%  val {val}  "
              f"{seen / seconds:.0f} img/s  {seconds:.1f}s", flush=True)
    acc, _ = evaluate(model, test_images, test_labels, config, tta=True)
    print(f"Test accuracy {100 * acc:.2f}% (with test-time views) after "
          f"{(time.time() - started) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
