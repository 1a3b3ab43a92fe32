/**
 * The loops of BatchNorm, ReLU, GELU, 2×2 max-pooling and the Winograd transforms
 * (`winograd_transforms.ts`) written over a range of channels (or
 * elements, or image planes), so that the calling thread runs them whole on arrays anywhere,
 * or the fast GEMM's threads split them when the arrays lie in the memory they share
 * (`FastGemm.forChannels`, `arena.ts`).
 *
 * Each loop takes its arrays with an offset: its own arrays and 0 on the calling thread, the
 * shared memory's views and the arrays' positions in it on a Worker. Layers call them through
 * `forChannels` (`arena.ts`), by number. In the shared memory, BatchNorm's and ReLU's run as
 * the WebAssembly SIMD functions of `wasm/channel_wat.ts` instead, GELU's as those of
 * `wasm/gelu_wat.ts`, and F(4×4)'s image transforms as those of `wasm/winograd_wat.ts`; these
 * loops are their oracle in the tests.
 *
 * BatchNorm's per-channel numbers travel in a float64 block `P` of {@linkcode BN_SLOTS} values
 * per channel (`γ`, `β`, mean, 1/σ, biased variance, Σdy, Σdy·(x − μ)) followed by `eps`.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import {
  winograd4Delta,
  winograd4Filter,
  winograd4FilterGrad,
  winograd4Input,
  winograd4Output,
  winogradDelta,
  winogradFilter,
  winogradFilterGrad,
  winogradInput,
  winogradOutput,
} from "./winograd_transforms.ts";

/** Float64 values per channel in BatchNorm's block `P`. */
export const BN_SLOTS = 8;
/** Offsets of the values of a channel in `P`. */
export const GAMMA = 0, BETA = 1, MEAN = 2, INV_STD = 3, VAR = 4, SUM_D = 5, SUM_DXC = 6;

/**
 * BatchNorm's forward over channels `[c0, c1)` of `X` `(batch, C, area)`: in training, each
 * channel's mean, 1/σ and biased variance from the batch into `P`; in evaluation `P` holds
 * them already. Then `Y = (X − μ)·γ/σ + β`.
 *
 * @example
 * ```ts
 * batchNormForward(X, 0, Y, 0, P, 0, 8, 16, 1024, true, 0, 16);
 * ```
 */
export function batchNormForward(
  X: FloatArray,
  x0: number,
  Y: FloatArray,
  y0: number,
  P: Float64Array,
  p0: number,
  batch: number,
  C: number,
  area: number,
  training: boolean,
  c0: number,
  c1: number,
): void {
  const count = batch * area, eps = P[p0 + BN_SLOTS * C];
  for (let c = c0; c < c1; c++) {
    const p = p0 + BN_SLOTS * c;
    if (training) {
      // One pass for the sum and the sum of squares of the deviations from a shift `k`,
      // the channel's first value: Σ(x − μ)² = Σ(x − k)² − (Σ(x − k))²/count exactly, and
      // its rounding error is about ε·(1 + (μ − k)²/σ²) relative, small since a value of
      // the channel lies a few σ from μ, unlike E[x²] − E[x]², whose error grows with
      // μ²/σ². Half the work of a pass summing x and a second summing (x − μ)².
      const k = X[x0 + c * area];
      let s = 0, q = 0;
      for (let n = 0; n < batch; n++) {
        for (let i = x0 + (n * C + c) * area, end = i + area; i < end; i++) {
          const d = X[i] - k;
          s += d;
          q += d * d;
        }
      }
      const variance = Math.max(0, q - s * s / count) / count;
      P[p + MEAN] = k + s / count;
      P[p + VAR] = variance;
      P[p + INV_STD] = 1 / Math.sqrt(variance + eps);
    }
    // y = (x − μ)·s·γ + β, as one multiply-add per element, written right after the
    // channel's statistics so that its input is read again from cache, not memory.
    const s = P[p + INV_STD] * P[p + GAMMA], shift = P[p + BETA] - P[p + MEAN] * s;
    for (let n = 0; n < batch; n++) {
      const from = x0 + (n * C + c) * area, to = y0 + (n * C + c) * area;
      for (let i = 0; i < area; i++) Y[to + i] = X[from + i] * s + shift;
    }
  }
}

/**
 * BatchNorm's backward over channels `[c0, c1)`: each channel's Σdy and Σdy·(x − μ) into `P`,
 * and `DX = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))` in training (the batch statistics
 * depend on every input), `γ/σ · dy` in evaluation.
 *
 * @example
 * ```ts
 * batchNormBackward(D, 0, X, 0, DX, 0, P, 0, 8, 16, 1024, true, 0, 16);
 * ```
 */
export function batchNormBackward(
  D: FloatArray,
  d0: number,
  X: FloatArray,
  x0: number,
  DX: FloatArray,
  dx0: number,
  P: Float64Array,
  p0: number,
  batch: number,
  C: number,
  area: number,
  training: boolean,
  c0: number,
  c1: number,
): void {
  const count = batch * area;
  for (let c = c0; c < c1; c++) {
    const p = p0 + BN_SLOTS * c, mu = P[p + MEAN], s = P[p + INV_STD];
    // Σ dy·x̂ = s·(Σ dy·x − μ·Σ dy) would cancel badly; sum dy·(x − μ) directly instead.
    let sumD = 0, sumDXc = 0;
    for (let n = 0; n < batch; n++) {
      const xs = x0 + (n * C + c) * area, ds = d0 + (n * C + c) * area;
      for (let i = 0; i < area; i++) {
        sumD += D[ds + i];
        sumDXc += D[ds + i] * (X[xs + i] - mu);
      }
    }
    P[p + SUM_D] = sumD;
    P[p + SUM_DXC] = sumDXc;
    // dx = γs·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + b·x + k, with x̂ = (x − μ)·s.
    const sumDX = sumDXc * s, scale = P[p + GAMMA] * s;
    const meanD = training ? sumD / count : 0, meanDX = training ? sumDX / count : 0;
    const a = scale, b = -scale * meanDX * s, k = -scale * meanD + scale * meanDX * s * mu;
    for (let n = 0; n < batch; n++) {
      const xs = x0 + (n * C + c) * area, ds = d0 + (n * C + c) * area;
      const out = dx0 + (n * C + c) * area;
      for (let i = 0; i < area; i++) DX[out + i] = a * D[ds + i] + b * X[xs + i] + k;
    }
  }
}

/**
 * `OUT = X > 0 ? V : 0` on the bits of float32 arrays over elements `[lo, hi)`: ReLU forward
 * with `V = X`, its gradient with `V = dy`. A comparison on activations that are positive
 * about half the time at random is a branch the CPU mispredicts half the time, which made the
 * plain loop cost ~6 ns an element; this mask has no branch. `X > 0` holds exactly for the bit
 * patterns 1 … 0x7f800000 (the positive subnormals, normals and +∞; not ±0, negatives or
 * NaNs), that is when `u = bits − 1` lies in [0, 0x7f800000): `u ≥ 0` and `u − 0x7f800000 < 0`,
 * each a sign bit. (For bits = −2³¹, `u` wraps to 2³¹ − 1 and the second test fails.)
 *
 * @example
 * ```ts
 * reluBits(bits, 0, bits, 0, out, 0, 0, bits.length); // forward
 * ```
 */
export function reluBits(
  X: Int32Array,
  x0: number,
  V: Int32Array,
  v0: number,
  OUT: Int32Array,
  o0: number,
  lo: number,
  hi: number,
): void {
  for (let i = lo; i < hi; i++) {
    const u = (X[x0 + i] - 1) | 0;
    OUT[o0 + i] = V[v0 + i] & ~(u >> 31) & ((u - 0x7f800000) >> 31);
  }
}

/**
 * MaxPool2D's forward for the 2×2 window at stride 2 without padding (the default network's
 * pools): the same rule as the general loop (the first maximum in row-major order, and a
 * NaN always wins, the last one if several) without its per-window bounds.
 *
 * It has no branch on the data: on activations of random sign, each `if` of the sequential
 * rule is mispredicted often, which cost more than the rest of the loop. Instead the better
 * of each row's pair is picked by index arithmetic on the comparisons' 0/1 results, then the
 * better of the two rows the same way. That is the same rule: within a pair and between the
 * rows the later one wins only if strictly greater or NaN, so ties keep the first, and a NaN
 * in the bottom row beats the top row while one in the top row beats a number below it.
 */
export function maxPool2x2(
  X: FloatArray,
  x0: number,
  Y: FloatArray,
  y0: number,
  argmax: Int32Array,
  a0: number,
  H: number,
  W: number,
  outH: number,
  outW: number,
  p0: number,
  p1: number,
): void {
  for (let plane = p0, o = p0 * outH * outW; plane < p1; plane++) {
    for (let oh = 0; oh < outH; oh++) {
      const row = plane * H * W + 2 * oh * W;
      for (let ow = 0; ow < outW; ow++, o++) {
        const a = row + 2 * ow, c = a + W;
        const va = X[x0 + a], vb = X[x0 + a + 1], vc = X[x0 + c], vd = X[x0 + c + 1];
        const top = a + (Number(vb > va) | Number(vb !== vb)), vTop = X[x0 + top];
        const bottom = c + (Number(vd > vc) | Number(vd !== vd)), vBottom = X[x0 + bottom];
        const at = top +
          (Number(vBottom > vTop) | Number(vBottom !== vBottom)) * (bottom - top);
        Y[y0 + o] = X[x0 + at];
        argmax[a0 + o] = at;
      }
    }
  }
}

/**
 * The gradient of {@linkcode maxPool2x2} over inputs it tiles exactly: each window's four
 * elements get the window's gradient where its maximum was and 0 elsewhere.
 */
export function maxPool2x2Backward(
  D: FloatArray,
  d0: number,
  argmax: Int32Array,
  a0: number,
  DX: FloatArray,
  dx0: number,
  W: number,
  outH: number,
  outW: number,
  p0: number,
  p1: number,
): void {
  for (let plane = p0, o = p0 * outH * outW; plane < p1; plane++) {
    for (let oh = 0; oh < outH; oh++) {
      const row = (plane * outH + oh) * 4 * outW;
      for (let ow = 0; ow < outW; ow++, o++) {
        const a = row + 2 * ow, c = a + W, at = argmax[a0 + o], d = D[d0 + o];
        DX[dx0 + a] = at === a ? d : 0;
        DX[dx0 + a + 1] = at === a + 1 ? d : 0;
        DX[dx0 + c] = at === c ? d : 0;
        DX[dx0 + c + 1] = at === c + 1 ? d : 0;
      }
    }
  }
}

/**
 * Numerical Recipes' Chebyshev fit of `erfc` (Press et al., §6.2, `erfcc`): `erfc(z) ≈ t ·
 * exp(−z² + c(t))` with `t = 1/(1 + z/2)` for `z ≥ 0`, relative error under 1.2e-7 for every
 * `z`, so that even the far negative tail of `Φ` keeps float32 precision. The coefficients of
 * `c`, constant term first; `wasm/gelu_wat.ts` evaluates the same fit four lanes at a time.
 */
export const ERFC_FIT = [
  -1.26551223,
  1.00002368,
  0.37409196,
  0.09678418,
  -0.18628806,
  0.27886807,
  -1.13520398,
  1.48851587,
  -0.82215223,
  0.17087277,
] as const;

/** `1/√(2π)`, the standard normal density at 0. */
export const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** `Φ(x) = erfc(−x/√2)/2`, the standard normal CDF, by {@linkcode ERFC_FIT}. */
function normalCdf(x: number): number {
  const z = Math.abs(x) * Math.SQRT1_2, t = 1 / (1 + 0.5 * z);
  let c = ERFC_FIT[9];
  for (let k = 8; k >= 0; k--) c = c * t + ERFC_FIT[k];
  const half = 0.5 * t * Math.exp(c - z * z); // erfc(z)/2 = Φ(−|x|)
  return x >= 0 ? 1 - half : half;
}

/**
 * GELU's forward in its exact form, `Y = X · Φ(X)`, over elements `[lo, hi)` (its float64
 * layer uses the exact `erf` instead; this fit is what the float32 loops share with the SIMD
 * version, to float32 precision).
 *
 * @example
 * ```ts
 * geluForward(x, 0, y, 0, 0, x.length);
 * ```
 */
export function geluForward(
  X: FloatArray,
  x0: number,
  Y: FloatArray,
  y0: number,
  lo: number,
  hi: number,
): void {
  for (let i = lo; i < hi; i++) {
    const x = X[x0 + i];
    Y[y0 + i] = x * normalCdf(x);
  }
}

/**
 * GELU's gradient over elements `[lo, hi)`: `DX = D · (Φ(X) + X · φ(X))`, `φ` the standard
 * normal density.
 *
 * @example
 * ```ts
 * geluBackward(x, 0, dy, 0, dx, 0, 0, x.length);
 * ```
 */
export function geluBackward(
  X: FloatArray,
  x0: number,
  D: FloatArray,
  d0: number,
  DX: FloatArray,
  dx0: number,
  lo: number,
  hi: number,
): void {
  for (let i = lo; i < hi; i++) {
    const x = X[x0 + i];
    const pdf = INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    DX[dx0 + i] = D[d0 + i] * (normalCdf(x) + x * pdf);
  }
}

/** An array a loop of {@linkcode CHANNEL_KERNELS} reads or writes. */
export type ChannelArray = Float32Array | Float64Array | Int32Array;

/** `a` read as int32 bit patterns (the same memory). */
function bits(a: ChannelArray): Int32Array {
  return a instanceof Int32Array ? a : new Int32Array(a.buffer, a.byteOffset, a.length);
}

/** A loop of {@linkcode CHANNEL_KERNELS}: its arrays, their offsets, its integers, its range. */
type ChannelKernel = (
  x: ChannelArray[],
  at: ArrayLike<number>,
  a: ArrayLike<number>,
  lo: number,
  hi: number,
) => void;

/**
 * A Winograd transform between images and transformed matrices (`winograd_transforms.ts`:
 * F(2×2)'s over image planes, F(4×4)'s over groups of four tiles) as a channel loop.
 */
function planes(
  transform: (
    a: FloatArray,
    a0: number,
    b: FloatArray,
    b0: number,
    rows: number,
    H: number,
    W: number,
    T: number,
    p0: number,
    p1: number,
  ) => void,
): ChannelKernel {
  return (x, at, a, lo, hi) =>
    transform(x[0] as FloatArray, at[0], x[1] as FloatArray, at[1], a[0], a[1], a[2], a[3], lo, hi);
}

/** A Winograd transform over filters (`winograd_transforms.ts`) as a channel loop. */
function filters(
  transform: (
    a: FloatArray,
    a0: number,
    b: FloatArray,
    b0: number,
    filters: number,
    f0: number,
    f1: number,
  ) => void,
): ChannelKernel {
  return (x, at, a, lo, hi) =>
    transform(x[0] as FloatArray, at[0], x[1] as FloatArray, at[1], a[0], lo, hi);
}

/**
 * The loops by number (`forChannels` in `arena.ts`, and a Worker's share of one): each gets
 * its arrays, their offsets (0 for whole arrays; positions in a view of the shared memory on a
 * Worker), its other integers and its range.
 */
export const CHANNEL_KERNELS: ChannelKernel[] = [
  (x, at, a, lo, hi) => {
    const [X, Y, P] = x as [FloatArray, FloatArray, Float64Array];
    batchNormForward(X, at[0], Y, at[1], P, at[2], a[0], a[1], a[2], a[3] === 1, lo, hi);
  },
  (x, at, a, lo, hi) => {
    const [D, X, DX, P] = x as [FloatArray, FloatArray, FloatArray, Float64Array];
    const [batch, C, area, training] = Array.from(a);
    batchNormBackward(
      D,
      at[0],
      X,
      at[1],
      DX,
      at[2],
      P,
      at[3],
      batch,
      C,
      area,
      training === 1,
      lo,
      hi,
    );
  },
  (x, at, _, lo, hi) => reluBits(bits(x[0]), at[0], bits(x[1]), at[1], bits(x[2]), at[2], lo, hi),
  (x, at, a, lo, hi) => {
    const [X, Y, argmax] = x as [FloatArray, FloatArray, Int32Array];
    maxPool2x2(X, at[0], Y, at[1], argmax, at[2], a[0], a[1], a[2], a[3], lo, hi);
  },
  (x, at, a, lo, hi) => {
    const [D, argmax, DX] = x as [FloatArray, Int32Array, FloatArray];
    maxPool2x2Backward(D, at[0], argmax, at[1], DX, at[2], a[0], a[1], a[2], lo, hi);
  },
  planes(winogradInput),
  planes(winogradOutput),
  planes(winogradDelta),
  filters(winogradFilter),
  filters(winogradFilterGrad),
  planes(winograd4Input),
  planes(winograd4Output),
  planes(winograd4Delta),
  filters(winograd4Filter),
  filters(winograd4FilterGrad),
  (x, at, _, lo, hi) => geluForward(x[0] as FloatArray, at[0], x[1] as FloatArray, at[1], lo, hi),
  (x, at, _, lo, hi) => {
    const [X, D, DX] = x as [FloatArray, FloatArray, FloatArray];
    geluBackward(X, at[0], D, at[1], DX, at[2], lo, hi);
  },
];

/** {@linkcode CHANNEL_KERNELS}' numbers. */
export const BATCH_NORM_FORWARD = 0,
  BATCH_NORM_BACKWARD = 1,
  RELU_BITS = 2,
  MAX_POOL_2X2 = 3,
  MAX_POOL_2X2_BACKWARD = 4,
  WINOGRAD_INPUT = 5,
  WINOGRAD_OUTPUT = 6,
  WINOGRAD_DELTA = 7,
  WINOGRAD_FILTER = 8,
  WINOGRAD_FILTER_GRAD = 9,
  WINOGRAD4_INPUT = 10,
  WINOGRAD4_OUTPUT = 11,
  WINOGRAD4_DELTA = 12,
  WINOGRAD4_FILTER = 13,
  WINOGRAD4_FILTER_GRAD = 14,
  GELU_FORWARD = 15,
  GELU_BACKWARD = 16;
