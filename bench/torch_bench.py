#!/usr/bin/env python3
"""PyTorch's side of `deno task bench`: times the same cases the project runs.

Speaks JSON lines on stdin/stdout, so the runner can interleave the two sides case by case
(on a shared machine, load then hits both alike): it first writes `{"torch": VERSION}`,
then answers each case line (`{"kind": ..., "threads": N, ...}`) with `{"seconds": S}`, the
median seconds per run (or `{"seconds": null}` for a kind it does not know). Add a kind
here and in `bench/cases.ts` to benchmark something new.
"""

import glob
import json
import os
import re
import sys
import time

import torch


def timed(fn, budget):
    """Median seconds of `fn()`, repeated for about `budget` seconds after a warm-up run
    (which is the only run when it alone takes longer than the budget), and the process's
    CPU seconds per wall second over those runs (the cores it actually kept busy)."""
    t, cpu = time.perf_counter(), time.process_time()
    fn()
    first = time.perf_counter() - t
    if first > budget:
        return first, (time.process_time() - cpu) / first
    times = []
    start, cpu = time.perf_counter(), time.process_time()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 50):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    cores = (time.process_time() - cpu) / (time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], cores


def gemm(case):
    """`C = op(A)·op(B)` with A or B stored transposed where the case says so (a transposed
    view, which torch.mm hands to BLAS as a transpose flag, without a copy)."""
    m, n, k = case["m"], case["n"], case["k"]
    a = torch.randn(k, m).t() if case["transA"] else torch.randn(m, k)
    b = torch.randn(n, k).t() if case["transB"] else torch.randn(k, n)
    c = torch.empty(m, n, dtype=torch.float32)
    return lambda: torch.mm(a, b, out=c)


def conv1d(case):
    batch, cin, cout, k, stride, width = (
        case[key] for key in ("batch", "inChannel", "outChannel", "kernelSize", "stride", "width")
    )
    conv = torch.nn.Conv1d(cin, cout, k, stride).double()
    x = torch.rand(batch, cin, width, dtype=torch.float64, requires_grad=True)
    delta = torch.randn_like(conv(x))

    def step():
        x.grad = None
        conv.zero_grad()
        conv(x).backward(delta)

    return step


def conv2d(case):
    conv = torch.nn.Conv2d(case["inChannel"], case["outChannel"], 3, 1, padding=1, bias=False)
    size = case["size"]
    x = torch.rand(case["batch"], case["inChannel"], size, size, requires_grad=True)
    delta = torch.randn(case["batch"], case["outChannel"], size, size)

    def step():
        x.grad = None
        conv.zero_grad()
        conv(x).backward(delta)

    return step


def network(widths, stem_norm=True, frozen_stem=False, activation="relu"):
    """The default CIFAR network, as src/train/models.ts builds it (`vgg`): without
    `stem_norm` the stem's conv has a bias and no BatchNorm follows; `frozen_stem` fixes it
    (the trainer's whitened stem), so autograd computes no gradient before the first stage;
    `activation` "gelu" puts GELU where the ReLUs are."""
    nn = torch.nn
    act = nn.GELU if activation == "gelu" else nn.ReLU
    stem, *stages = widths
    conv = lambda cin, cout, bias=False: nn.Conv2d(cin, cout, 3, 1, padding=1, bias=bias)
    first = conv(3, stem, bias=not stem_norm)
    first.requires_grad_(not frozen_stem)
    layers = [first, *([nn.BatchNorm2d(stem)] if stem_norm else []), act()]
    cin = stem
    for width in stages:
        layers += [conv(cin, width), nn.MaxPool2d(2), nn.BatchNorm2d(width), act()]
        layers += [conv(width, width), nn.BatchNorm2d(width), act()]
        cin = width
    layers += [nn.MaxPool2d(4), nn.Flatten(), nn.Linear(cin, 10, bias=False)]
    return nn.Sequential(*layers)


def train_step(case):
    """Forward, loss, backward and a Nesterov SGD step with weight decay on the conv and
    linear weights only, as the trainer does it."""
    torch.manual_seed(0)
    model = network(case["widths"], case["stemNorm"], case["frozenStem"])
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() > 1]
    rest = [p for p in params if p.dim() <= 1]
    opt = torch.optim.SGD(
        [{"params": decay}, {"params": rest, "weight_decay": 0}],
        lr=case["lr"], momentum=case["momentum"], nesterov=True,
        weight_decay=case["weightDecay"],
    )
    loss = torch.nn.CrossEntropyLoss(label_smoothing=case["labelSmoothing"])
    x = torch.rand(case["batch"], 3, 32, 32)
    y = torch.randint(0, 10, (case["batch"],))

    def step():
        opt.zero_grad(set_to_none=False)
        loss(model(x), y).backward()
        opt.step()

    return step


def onnx_score(case):
    """PyTorch's eval forward over the same number of images in the same batches: what
    scoring with PyTorch instead of onnxruntime would cost (argmax included)."""
    torch.manual_seed(0)
    model = network(case["widths"], case["stemNorm"]).eval()
    images = torch.rand(case["images"], 3, 32, 32)

    def score():
        with torch.no_grad():
            for start in range(0, case["images"], case["batch"]):
                model(images[start:start + case["batch"]]).argmax(1)

    return score


KINDS = {
    "gemm": gemm,
    "conv1d": conv1d,
    "conv2d": conv2d,
    "trainStep": train_step,
    "onnxScore": onnx_score,
}


def blas():
    """Which BLAS this PyTorch multiplies with: its build's BLAS_INFO, and for a "generic"
    build the library the system's libblas.so.3 resolves to (Debian's alternatives pick
    netlib's reference BLAS unless OpenBLAS or BLIS is installed)."""
    info = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    name = info.group(1) if info else "unknown"
    if name == "generic":
        for lib in glob.glob("/usr/lib/*/libblas.so.3"):
            name += f" ({os.path.realpath(lib)})"
    return name


def main():
    print(json.dumps({"torch": torch.__version__, "blas": blas()}), flush=True)
    for line in sys.stdin:
        case = json.loads(line)
        make = KINDS.get(case["kind"])
        seconds = cores = None
        if make is not None:
            torch.set_num_threads(case["threads"])
            seconds, cores = timed(make(case), case["budget"])
        print(json.dumps({"seconds": seconds, "cores": cores}), flush=True)


if __name__ == "__main__":
    main()
