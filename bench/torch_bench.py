#!/usr/bin/env python3
"""PyTorch's side of `deno task bench`: times the same cases the project runs.

Speaks JSON lines on stdin/stdout, so the runner can interleave the two sides case by case
(on a shared machine, load then hits both alike): it first writes `{"torch": VERSION}`,
then answers each case line (`{"kind": ..., "threads": N, ...}`) with `{"seconds": S}`, the
median seconds per run (or `{"seconds": null}` for a kind it does not know). Add a kind
here and in `bench/cases.ts` to benchmark something new (Conv2D layers, the training step,
ONNX scoring).
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
    (which is the only run when it alone takes longer than the budget)."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    if first > budget:
        return first
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - start < budget and len(times) < 50):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def gemm(case):
    n = case["n"]
    a = torch.randn(n, n, dtype=torch.float32)
    b = torch.randn(n, n, dtype=torch.float32)
    c = torch.empty(n, n, dtype=torch.float32)
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


KINDS = {"gemm": gemm, "conv1d": conv1d}


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
        seconds = None
        if make is not None:
            torch.set_num_threads(case["threads"])
            seconds = timed(make(case), case["budget"])
        print(json.dumps({"seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
