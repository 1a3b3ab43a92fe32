/**
 * The benchmark cases: what `deno task bench` times on this project's side. Each case has a
 * `kind` that `bench/torch_bench.py` also knows, so both sides run the same shapes and dtype.
 * To benchmark something new (a Conv2D layer shape, the full training step, ONNX scoring),
 * add a kind here — a `setup` that returns the function to time — and the same kind in
 * `torch_bench.py`'s `KINDS`, then list its cases in {@linkcode CASES}.
 *
 * @module
 */

import type { FastGemm } from "../src/kernels/gemm_fast.ts";
import { Conv1D } from "../src/nn/conv1d.ts";
import { Rng } from "../src/random.ts";
import { zeros } from "../src/tensor.ts";

/** How a case's time is reported: as a rate (GFLOP/s, images/s) or as milliseconds. */
export type Unit = "GFLOP/s" | "ms" | "images/s";

/** One benchmark: its parameters go to PyTorch as they are (minus `setup`). */
export interface BenchCase {
  name: string;
  kind: string;
  unit: Unit;
  /** The work of one run, for rates: floating-point operations or images. */
  work?: number;
  /** Seconds to spend repeating the run (at least three runs unless one alone is longer). */
  budget: number;
  /** Threads this project uses for the case; PyTorch is given as many. */
  threads: number;
  [param: string]: unknown;
}

/**
 * Builds the function to time for a case of each kind; `fast` is the fast GEMM, started
 * with as many threads as any case uses.
 */
export const SETUP: Record<string, (c: BenchCase, fast: FastGemm) => () => void> = {
  gemm(c, fast) {
    const n = c.n as number;
    const rng = new Rng(1);
    const a = rng.fillNormal(zeros([n, n], "float32")).data;
    const b = rng.fillNormal(zeros([n, n], "float32")).data;
    const out = new Float32Array(n * n);
    const gemm = fast.withThreads(c.threads);
    return () => gemm(false, false, n, n, n, a, b, out, 0);
  },
  conv1d(c) {
    const [batch, cin, cout, k, stride, width] = [
      c.batch,
      c.inChannel,
      c.outChannel,
      c.kernelSize,
      c.stride,
      c.width,
    ] as number[];
    const rng = new Rng(1);
    const conv = new Conv1D(cin, cout, k, stride, { rng });
    const x = rng.fillUniform(zeros([batch, cin, width]), 0, 1);
    const delta = rng.fillNormal(zeros([batch, cout, conv.outputWidth(width)]));
    return () => {
      conv.forward(x);
      conv.backward(delta);
    };
  },
};

function gemmCase(n: number, threads: number): BenchCase {
  const work = 2 * n ** 3;
  return { name: `gemm f32 ${n}²`, kind: "gemm", unit: "GFLOP/s", n, work, threads, budget: 1 };
}

function conv1dCase(
  label: string,
  batch: number,
  inChannel: number,
  outChannel: number,
  kernelSize: number,
  stride: number,
  width: number,
  threads = 1,
): BenchCase {
  return {
    name:
      `conv1d f64 fwd+bwd ${label} (${batch},${inChannel}→${outChannel},k${kernelSize},s${stride},w${width})`,
    kind: "conv1d",
    unit: "ms",
    batch,
    inChannel,
    outChannel,
    kernelSize,
    stride,
    width,
    threads,
    budget: 1,
  };
}

/** Every case `deno task bench` runs, in order. */
export const CASES: BenchCase[] = [
  gemmCase(256, 2),
  gemmCase(512, 1),
  gemmCase(512, 2),
  gemmCase(1024, 1),
  gemmCase(1024, 2),
  conv1dCase("handout", 3, 8, 12, 3, 2, 20),
  conv1dCase("large", 32, 64, 64, 5, 1, 4096),
];
