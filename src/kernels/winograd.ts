/**
 * A 3 × 3 stride-1 convolution with padding 1 by Winograd's minimal filtering: F(4×4, 3×3) where
 * the image's sizes are multiples of 4, else F(2×2, 3×3). An odd size is evened by a row (or
 * column) of zeros at the end, which the padding reads there anyway: airbench's network, whose
 * maps are 31, 15 and 7 pixels wide, then runs as on 32, 16 and 8 and keeps the outputs that
 * exist. Each image's 4 × 4 (or 2 × 2) output blocks come from transformed 6 × 6 (or 4 × 4)
 * patches (`winograd_transforms.ts`), and the sums over channels become 36 (or 16) matrix
 * products of `O × C` by `C × tiles`, which {@linkcode gemm} runs: 36 multiply-adds per 4 × 4
 * block and channel pair where the direct sum takes 144 (16 per 2 × 2 block against 36). The
 * price is the transforms (split over the threads by `forChannels`; F(4×4)'s in WebAssembly SIMD,
 * `wasm/winograd_wat.ts`, where the arrays lie in the shared memory) and scratch 2.25 (or 4)
 * times the size of the input.
 *
 * `Conv2D` runs its forward pass, its input gradient (a convolution of the output gradient
 * with the flipped filters) and its weight gradient this way in float32 where
 * {@linkcode winogradApplies}: the layers with 32 input and output channels or more, where it
 * measured faster than the direct kernels. The products and transforms run in float32 whatever
 * the arrays' type. F(4×4)'s transforms scale values by up to 8 and down to 1/24, so its
 * rounding is larger: 256 → 256 channels on 8 × 8 images, the forward pass was off by
 * 1.6·10⁻⁵ of the largest output where float32 sums in order were off by 1.8·10⁻⁶ and
 * F(2×2) by 5·10⁻⁷ (the weight gradient: 1.2·10⁻⁶ and 1·10⁻⁷), far below what training
 * notices.
 *
 * @module
 */

import { forChannels, type OutputArena, outputArena } from "./arena.ts";
import {
  WINOGRAD4_DELTA,
  WINOGRAD4_FILTER,
  WINOGRAD4_FILTER_GRAD,
  WINOGRAD4_INPUT,
  WINOGRAD4_OUTPUT,
  WINOGRAD_DELTA,
  WINOGRAD_FILTER,
  WINOGRAD_FILTER_GRAD,
  WINOGRAD_INPUT,
  WINOGRAD_OUTPUT,
} from "./channel_kernels.ts";
import { chunkImages } from "./chunks.ts";
import { gemm } from "./gemm.ts";
import { matrixStride, tileGroups } from "./winograd_transforms.ts";
import type { FloatArray } from "../tensor.ts";

/**
 * When `Conv2D` takes this path: at least {@linkcode WINOGRAD_MIN_CHANNELS} input and as many
 * output channels (the input gradient swaps the two) and {@linkcode WINOGRAD_MIN_AREA}
 * positions per image. Measured on 2 cores, forward + backward at batch 256, medians of runs
 * alternating two versions in one process (the machine's speed drifts between runs, so
 * compare within a pair): direct → F(2×2): 256→256 on 8 × 8 2159 → 1110 ms, 64→256 on
 * 16 × 16 2025 → 1525; F(2×2) with its transforms in SIMD (since removed) → F(4×4): 256→256
 * on 8 × 8 1101 → 879, on 4 × 4 369 → 274, 64→256 on 16 × 16 1630 → 1490, 128→128 on 8 × 8
 * 399 → 347, 64→128 on 8 × 8 274 → 231; direct → F(4×4): 64→64 on 16 × 16 400 → 316, on
 * 8 × 8 119 → 126, where 32-channel layers lost (32→64 on 32 × 32, batch 128: 470 → 586).
 * F(4×4)'s transforms in TypeScript → in SIMD: 64→256 on 16 × 16 2002 → 1278 ms, 256→256 on
 * 8 × 8 1068 → 789, on 4 × 4 375 → 297, 64→64 on 16 × 16 339 → 218; at batch 128 64→64 on
 * 8 × 8 63 → 40, 64→128 on 8 × 8 101 → 72, 128→128 on 4 × 4 45 → 39. With them, direct →
 * F(4×4): 32→64 on 32 × 32 (batch 256) 855 → 587, at batch 128 32→32 on 32 × 32 240 → 179, on
 * 16 × 16 68 → 52, 32→64 on 16 × 16 120 → 82; but 16→32 on 32 × 32 131 → 148: products over
 * 16 channels are too short to run fast, and the transforms cost more than they save.
 */
export const WINOGRAD_MIN_CHANNELS = 32, WINOGRAD_MIN_AREA = 16;

/**
 * One of the two algorithms: F(`tile`×`tile`, 3×3) with `positions` = (tile + 2)² transformed
 * values per tile, and its transforms' numbers in `channel_kernels.ts`.
 */
interface Variant {
  tile: number;
  positions: number;
  /**
   * The range the plane transforms run over for `rows` channels of `images` images with `T`
   * tiles: F(2×2)'s over image planes, F(4×4)'s over groups of four tiles.
   */
  work: (rows: number, images: number, T: number) => number;
  input: number;
  output: number;
  delta: number;
  filter: number;
  filterGrad: number;
}

const F2: Variant = {
  tile: 2,
  positions: 16,
  work: (rows, images) => rows * images,
  input: WINOGRAD_INPUT,
  output: WINOGRAD_OUTPUT,
  delta: WINOGRAD_DELTA,
  filter: WINOGRAD_FILTER,
  filterGrad: WINOGRAD_FILTER_GRAD,
};

const F4: Variant = {
  tile: 4,
  positions: 36,
  work: (rows, _, T) => tileGroups(rows, T),
  input: WINOGRAD4_INPUT,
  output: WINOGRAD4_OUTPUT,
  delta: WINOGRAD4_DELTA,
  filter: WINOGRAD4_FILTER,
  filterGrad: WINOGRAD4_FILTER_GRAD,
};

/**
 * The algorithm for `H × W` images (evened, {@linkcode even}): F(4×4) where both are multiples
 * of 4, else F(2×2).
 */
function variant(H: number, W: number): Variant {
  return H % 4 === 0 && W % 4 === 0 ? F4 : F2;
}

/** `n` rounded up to even: the size the transforms run on. */
function even(n: number): number {
  return n + (n & 1);
}

/**
 * Whether `Conv2D` computes a layer with `C` input and `O` output channels, window `k`,
 * stride `s` and padding `p` on `H × W` images by Winograd: float32, a 3 × 3 window at stride 1
 * with padding 1 (the output the size of the input), even sizes, and enough channels and
 * positions that it pays.
 *
 * @example
 * ```ts
 * winogradApplies("float32", 128, 128, 8, 8, [3, 3], [1, 1], [1, 1]); // true
 * ```
 */
export function winogradApplies(
  dtype: string,
  C: number,
  O: number,
  H: number,
  W: number,
  [kh, kw]: readonly [number, number],
  [sh, sw]: readonly [number, number],
  [ph, pw]: readonly [number, number],
): boolean {
  return dtype === "float32" && kh === 3 && kw === 3 && sh === 1 && sw === 1 && ph === 1 &&
    pw === 1 && Math.min(C, O) >= WINOGRAD_MIN_CHANNELS && H * W >= WINOGRAD_MIN_AREA;
}

/**
 * `y = conv(x, w)` for `images` images `x` `(images, C, H, W)`, filters `w` `(O, C, 3, 3)`
 * and padding 1, into `y` `(images, O, H, W)` (overwritten, no bias); `H` and `W` even. Any
 * `C` and `O` work; {@linkcode winogradApplies} says where it is faster.
 *
 * @example
 * ```ts
 * winogradConv2d(x, 8, 64, 16, 16, w, 128, y);
 * ```
 */
export function winogradConv2d(
  x: FloatArray,
  images: number,
  C: number,
  H: number,
  W: number,
  w: FloatArray,
  O: number,
  y: FloatArray,
): void {
  const [He, We] = [even(H), even(W)];
  const v = variant(He, We), U = filters.get(v.positions * matrixStride(O * C));
  forChannels(v.filter, [w, U], [O * C], O * C);
  eachChunk(v, x, images, C, H, W, O, (n0, count, T, V, M) => {
    for (let xi = 0; xi < v.positions; xi++) {
      // M_ξ (O × T) = U_ξ (O × C) · V_ξ (C × T)
      gemm(false, false, O, T, C, at(U, xi, O * C), at(V, xi, C * T), at(M, xi, O * T), 0);
    }
    const out = y.subarray(n0 * O * H * W);
    const evened = He === H && We === W ? out : evenOutputs.get(count * O * He * We);
    forChannels(v.output, [M, evened], [O, He, We, T], v.work(O, count, T));
    if (evened !== out) crop(evened, out, count * O, H, W);
  });
}

/**
 * The weight gradient of {@linkcode winogradConv2d}: `dW` `(O, C, 3, 3)` set to the sum over
 * the images of the output gradient `delta` `(images, O, H, W)` against the input `x`
 * `(images, C, H, W)`.
 *
 * @example
 * ```ts
 * winogradWeightGrad(x, delta, 8, 64, 16, 16, 128, dW);
 * ```
 */
export function winogradWeightGrad(
  x: FloatArray,
  delta: FloatArray,
  images: number,
  C: number,
  H: number,
  W: number,
  O: number,
  dW: FloatArray,
): void {
  const [He, We] = [even(H), even(W)];
  const v = variant(He, We), sums = filters.get(v.positions * matrixStride(O * C));
  eachChunk(v, x, images, C, H, W, O, (n0, count, T, V, Z) => {
    const work = v.work(O, count, T);
    const d = evenUp(delta.subarray(n0 * O * H * W), count * O, H, W, evenOutputs);
    forChannels(v.delta, [d, Z], [O, He, We, T], work);
    for (let xi = 0; xi < v.positions; xi++) {
      // S_ξ (O × C) += Z_ξ (O × T) · V_ξᵀ (T × C)
      const [z, vt, sum] = [at(Z, xi, O * T), at(V, xi, C * T), at(sums, xi, O * C)];
      gemm(false, true, O, C, T, z, vt, sum, n0 ? 1 : 0);
    }
  });
  forChannels(v.filterGrad, [sums, dW], [O * C], O * C);
}

/**
 * Runs `body` on each chunk of the images (`count` images from `n0`, `T` tiles) with the
 * chunk's input transformed into `V` (`positions × C × T`) and scratch `M` for
 * `positions × O × T`.
 */
function eachChunk(
  v: Variant,
  x: FloatArray,
  images: number,
  C: number,
  H: number,
  W: number,
  O: number,
  body: (n0: number, count: number, T: number, V: Float32Array, M: Float32Array) => void,
): void {
  const [He, We] = [even(H), even(W)];
  const tilesPerImage = (He / v.tile) * (We / v.tile);
  const chunk = chunkImages(images, v.positions * Math.max(C, O) * tilesPerImage);
  for (let n0 = 0; n0 < images; n0 += chunk) {
    const count = Math.min(chunk, images - n0), T = count * tilesPerImage;
    const V = inputs.get(v.positions * matrixStride(C * T));
    const M = outputs.get(v.positions * matrixStride(O * T));
    const input = evenUp(x.subarray(n0 * C * H * W), count * C, H, W, evenInputs);
    forChannels(v.input, [input, V], [C, He, We, T], v.work(C, count, T));
    body(n0, count, T, V, M);
  }
}

/**
 * The first `planes` `H × W` planes of `x`, each with a row and a column of zeros added
 * where `H` or `W` is odd (in `scratch`), or `x` itself where both are even.
 */
function evenUp(
  x: FloatArray,
  planes: number,
  H: number,
  W: number,
  scratch: Scratch,
): FloatArray {
  const [He, We] = [even(H), even(W)];
  if (He === H && We === W) return x;
  const out = scratch.get(planes * He * We);
  // Element loops, not a `set` of a subarray per row: at airbench's sizes (256 channels of
  // 15 × 15 at batch 256) a copy is a million short rows, and the loops took 26–39 ms where
  // the views took 63–90 (a training step of its network 2.94 → 2.37 s).
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < H; i++) {
      const from = (p * H + i) * W, to = (p * He + i) * We;
      for (let j = 0; j < W; j++) out[to + j] = x[from + j];
      if (We !== W) out[to + W] = 0;
    }
    if (He !== H) out.fill(0, (p * He + H) * We, (p + 1) * He * We);
  }
  return out;
}

/** The inverse of {@linkcode evenUp}: the `H × W` corner of each evened plane, into `out`. */
function crop(evened: FloatArray, out: FloatArray, planes: number, H: number, W: number): void {
  const [He, We] = [even(H), even(W)];
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < H; i++) {
      const from = (p * He + i) * We, to = (p * H + i) * W;
      for (let j = 0; j < W; j++) out[to + j] = evened[from + j];
    }
  }
}

/** The `ξ`-th of the transformed matrices of `size` elements in `data` (see `matrixStride`). */
function at(data: Float32Array, xi: number, size: number): Float32Array {
  const start = xi * matrixStride(size);
  return data.subarray(start, start + size);
}

/**
 * Scratch shared by every layer (they run one at a time), grown to the largest size asked,
 * from the installed arena so that the threads transform and multiply it in place.
 */
class Scratch {
  #data: Float32Array | null = null;
  #from: OutputArena | null = null;

  /** `size` elements of the scratch (their contents are whatever the last user left). */
  get(size: number): Float32Array {
    const arena = outputArena();
    if (!this.#data || this.#data.length < size || this.#from !== arena) {
      if (this.#data) this.#from?.release(this.#data);
      this.#from = arena;
      this.#data = arena ? arena.allocate(size) : new Float32Array(size);
    }
    return this.#data.subarray(0, size);
  }
}

const filters = new Scratch(), inputs = new Scratch(), outputs = new Scratch();
/** The evened planes of odd-sized maps: the input (or delta) read, the output written. */
const evenInputs = new Scratch(), evenOutputs = new Scratch();
