#!/usr/bin/env python3
"""airbench94 (Keller Jordan's CIFAR-10 speedrun, 94.01% in its paper), written here from its
published recipe and run in float32 PyTorch on the CPU: the yardstick for the strong recipe on
whatever CIFAR-10 copy `--data` names. Where this script falls short of 94% on a copy, the copy is
harder than the published one, and so it is for the trainer (`bench/torch_recipe.py` instead
runs the trainer's own recipe in PyTorch).

    /usr/bin/python3 bench/airbench94.py --data DIR [--threads 2] [--batch 1024] [--seed 0]

The recipe as published: a 2×2 whitening stem of 24 fixed filters from 5,000 normalised
images (its bias learning for 3 epochs), GELU, three groups of conv-pool-BatchNorm-GELU-conv-
BatchNorm-GELU (64, 256, 256 channels, convs starting as the identity on their first filters,
BatchNorm without a scale, eps 1e-12, momentum 0.4 in PyTorch's convention), a global max pool,
a linear layer without bias and logits times 1/9; Nesterov SGD (momentum 0.85) on the summed
label-smoothed (0.2) loss with its rate 11.5 and decay 0.0153 per 1,024 images, BatchNorm's
biases at 64 times the rate; a triangular schedule (0.2 → 1 at 23% → 0.07) over 9.9 epochs of
50,000 images; lookahead every 5 steps with decay 0.95⁵·(step/steps)³; alternating flips and
random translation by up to 2 pixels (reflect-padded); test views mirrored and shifted by a
pixel. It differs only in arithmetic (float32 here, float16 on its GPU) and in its streams.
Prints one line per epoch (loss, test accuracy without views, time), then the accuracy with
them. About an hour on 2 cores.
"""

import argparse
import math
import pathlib
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MEAN = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
STD = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)
EPOCHS, LR, MOMENTUM, WEIGHT_DECAY, BIAS_SCALER, LABEL_SMOOTHING = 9.9, 11.5, 0.85, 0.0153, 64, 0.2


def load(folder, names):
    """Normalised images (N, 3, 32, 32) and labels of CIFAR-10's binary batches `names`."""
    raw = np.concatenate([np.fromfile(pathlib.Path(folder) / n, np.uint8).reshape(-1, 3073)
                          for n in names])
    x = torch.from_numpy(raw[:, 1:].reshape(-1, 3, 32, 32).copy()).float() / 255
    return (x - MEAN) / STD, torch.from_numpy(raw[:, 0].astype(np.int64))


class BatchNorm(nn.BatchNorm2d):
    def __init__(self, channels):
        super().__init__(channels, eps=1e-12, momentum=0.4)
        self.weight.requires_grad = False


def conv(cin, cout, kernel=3, padding="same", bias=False):
    """A conv starting as the identity on its first `cin` filters (airbench's `dirac_`)."""
    layer = nn.Conv2d(cin, cout, kernel, padding=padding, bias=bias)
    if bias:
        layer.bias.data.zero_()
    nn.init.dirac_(layer.weight.data[:cin])
    return layer


class Group(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1, self.pool, self.norm1 = conv(cin, cout), nn.MaxPool2d(2), BatchNorm(cout)
        self.conv2, self.norm2, self.activ = conv(cout, cout), BatchNorm(cout), nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class Mul(nn.Module):
    def forward(self, x):
        return x / 9


def whiten(stem, images, eps=5e-4):
    """The stem's filters: ± the eigenvectors of the uncentred covariance of the images' 2×2
    patches, each over √(eigenvalue + eps)."""
    patches = images.unfold(2, 2, 1).unfold(3, 2, 1).permute(0, 2, 3, 1, 4, 5)
    patches = patches.reshape(-1, 12).double()
    values, vectors = torch.linalg.eigh(patches.T @ patches / len(patches))
    values, vectors = values.flip(0), vectors.flip(1)
    filters = (vectors / torch.sqrt(values + eps)).T.reshape(12, 3, 2, 2).float()
    stem.weight.data[:] = torch.cat([filters, -filters])


def evaluate(net, x, y, views):
    """Test accuracy, with the mirrored and shifted views when `views`."""
    net.eval()
    mirror = lambda v: 0.5 * net(v) + 0.5 * net(v.flip(-1))  # noqa: E731
    predictions = []
    with torch.no_grad():
        for b in range(0, len(x), 1000):
            v = x[b:b + 1000]
            if views:
                padded = F.pad(v, (1,) * 4, mode="reflect")
                logits = 0.5 * mirror(v) + 0.25 * mirror(padded[:, :, 0:32, 0:32]) + \
                    0.25 * mirror(padded[:, :, 2:34, 2:34])
            else:
                logits = net(v)
            predictions.append(logits.argmax(1))
    return (torch.cat(predictions) == y).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder of cifar-10-batches-bin")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train = load(args.data, [f"data_batch_{i}.bin" for i in range(1, 6)])
    x_test, y_test = load(args.data, ["test_batch.bin"])

    stem = nn.Conv2d(3, 24, 2, padding=0, bias=True)
    stem.bias.data.zero_()
    net = nn.Sequential(stem, nn.GELU(), Group(24, 64), Group(64, 256), Group(256, 256),
                        nn.MaxPool2d(3), nn.Flatten(), nn.Linear(256, 10, bias=False), Mul())
    stem.weight.requires_grad = False
    whiten(stem, x_train[:5000])

    # The rate and decay per 1,024 images, as airbench scales them for PyTorch's SGD.
    kilostep = 1024 * (1 + 1 / (1 - MOMENTUM))
    lr, decay = LR / kilostep, WEIGHT_DECAY * args.batch / kilostep
    biases = [p for n, p in net.named_parameters() if "norm" in n and p.requires_grad]
    others = [p for n, p in net.named_parameters() if "norm" not in n and p.requires_grad]
    sgd = torch.optim.SGD([
        dict(params=biases, lr=lr * BIAS_SCALER, weight_decay=decay / (lr * BIAS_SCALER)),
        dict(params=others, lr=lr, weight_decay=decay / lr),
    ], momentum=MOMENTUM, nesterov=True)
    for group in sgd.param_groups:
        group["initial"] = group["lr"]
    per_epoch = len(x_train) // args.batch
    steps = math.ceil(per_epoch * EPOCHS)
    peak = int(0.23 * steps)

    def schedule(step):
        if step < peak:
            return 0.2 + 0.8 * step / peak
        return 1 + (0.07 - 1) * (step - peak) / (steps - peak)

    padded = F.pad(x_train, (2,) * 4, mode="reflect")
    mirrored = torch.rand(len(x_train)) < 0.5  # flipped in even epochs, the rest in odd ones
    slow = {k: v.clone() for k, v in net.state_dict().items()}  # lookahead's, from step 0
    step, started = 0, time.time()
    for epoch in range(math.ceil(EPOCHS)):
        stem.bias.requires_grad = epoch < 3
        net.train()
        epoch_started, loss_sum, seen = time.time(), 0.0, 0
        shifts = torch.randint(-2, 3, (len(x_train), 2))
        order = torch.randperm(len(x_train))
        for b in range(per_epoch):
            indices = order[b * args.batch:(b + 1) * args.batch]
            x = torch.empty(len(indices), 3, 32, 32)
            for i, k in enumerate(indices.tolist()):
                dy, dx = shifts[k].tolist()
                x[i] = padded[k, :, 2 + dy:34 + dy, 2 + dx:34 + dx]
            flip = mirrored[indices] ^ bool(epoch % 2)
            x[flip] = x[flip].flip(-1)
            for group in sgd.param_groups:
                group["lr"] = group["initial"] * schedule(step)
            loss = F.cross_entropy(net(x), y_train[indices], label_smoothing=LABEL_SMOOTHING,
                                   reduction="sum")
            sgd.zero_grad(set_to_none=True)
            loss.backward()
            sgd.step()
            step += 1
            loss_sum, seen = loss_sum + loss.item(), seen + len(indices)
            if step % 5 == 0 or step == steps:
                decay_now = 1.0 if step == steps else 0.95 ** 5 * (step / steps) ** 3
                for s, v in zip(slow.values(), net.state_dict().values()):
                    if v.dtype == torch.float32:
                        s.lerp_(v, 1 - decay_now)
                        v.copy_(s)
            if step >= steps:
                break
        seconds = time.time() - epoch_started
        print(f"epoch {epoch + 1} loss {loss_sum / seen:.4f} "
              f"test {100 * evaluate(net, x_test, y_test, False):.2f}% "
              f"{seconds:.0f}s {seen / seconds:.0f} img/s", flush=True)
    print(f"test with mirrored and shifted views {100 * evaluate(net, x_test, y_test, True):.2f}% "
          f"in {(time.time() - started) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
