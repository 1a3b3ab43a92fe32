/**
 * Packing for the fast GEMM: copies `op(A)` and `op(B)` into the panel layout that the
 * WebAssembly tiles read (`wasm/gemm_wat.ts`), zero-padded to whole panels and to the padded
 * depth `kp`. Each function packs a range of panels, so that the threads of one product
 * (`gemm_fast.ts` and `gemm_worker.ts`) can each pack their share.
 *
 * @module
 */

import {
  A_VIEW,
  B_VIEW,
  CHANNEL_VIEWS,
  CHANNELS,
  DIRECT,
  DIRECT_DW,
  PACK,
  PACKED,
  spinWait,
  STREAMED_B,
} from "./gemm_protocol.ts";
import {
  BATCH_NORM_BACKWARD,
  BATCH_NORM_FORWARD,
  CHANNEL_KERNELS,
  GELU_BACKWARD,
  GELU_FORWARD,
  RELU_BITS,
  WINOGRAD4_DELTA,
  WINOGRAD4_INPUT,
  WINOGRAD4_OUTPUT,
} from "./channel_kernels.ts";
import type { ConvGeometry } from "./im2col.ts";
import type { Operand } from "./matrix_view.ts";
import { MR, NR } from "./wasm/gemm_wat.ts";
import { matrixStride } from "./winograd_transforms.ts";

/**
 * The WebAssembly module's `pack_b(src, n, k, kp, dst, q0, q1)`: packs whole panels
 * `[q0, q1)` of a row-major `k × n` matrix at byte `src` of its memory to byte `dst`.
 */
export type WasmPackB = (...args: number[]) => void;

/** Where a matrix to pack lives: an array and the index of its first element. */
export interface Source {
  data: Float32Array;
  offset: number;
}

/**
 * Packs panels `[q0, q1)` of `op(A)` (`m × k`; `A` is stored `k × m` when `trans`) into
 * panels of {@linkcode MR} rows at `f[at…]`: panel `q` holds, for each `p < kp`, the `MR`
 * values of column `p` of its rows.
 *
 * @example
 * ```ts
 * const f = new Float32Array(MR * 2);
 * packA(f, 0, { data: new Float32Array([1, 2]), offset: 0 }, false, 1, 2, 2, 0, 1);
 * // f = [1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]
 * ```
 */
export function packA(
  f: Float32Array,
  at: number,
  { data: a, offset }: Source,
  trans: boolean,
  m: number,
  k: number,
  kp: number,
  q0: number,
  q1: number,
): void {
  zeroPadding(f, at, q0, q1, MR, m, k, kp);
  const i1 = Math.min(m, q1 * MR);
  if (trans) {
    // A is stored k × m: row p of storage is column p of op(A).
    for (let p = 0; p < k; p++) {
      const src = offset + p * m;
      for (let i0 = q0 * MR; i0 < i1; i0 += MR) {
        const dst = at + i0 * kp + p * MR, rows = Math.min(MR, m - i0);
        for (let r = 0; r < rows; r++) f[dst + r] = a[src + i0 + r];
      }
    }
  } else {
    for (let i = q0 * MR; i < i1; i++) {
      const src = offset + i * k, r = i % MR;
      const dst = at + (i - r) * kp + r;
      for (let p = 0; p < k; p++) f[dst + p * MR] = a[src + p];
    }
  }
}

/**
 * Packs panels `[q0, q1)` of `op(B)` (`k × n`; `B` is stored `n × k` when `trans`) into
 * panels of {@linkcode NR} columns at `f[at…]`: panel `q` holds, for each `p < kp`, the `NR`
 * values of row `p` in its columns. With `wasm`, whole panels of a `B` stored `k × n` go
 * through the WebAssembly packer (the source must then be `f` itself).
 *
 * @example
 * ```ts
 * const f = new Float32Array(NR * 2);
 * packB(f, 0, { data: new Float32Array([1, 2]), offset: 0 }, false, 1, 2, 2, 0, 1);
 * // f = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, ...]
 * ```
 */
export function packB(
  f: Float32Array,
  at: number,
  { data: b, offset }: Source,
  trans: boolean,
  n: number,
  k: number,
  kp: number,
  q0: number,
  q1: number,
  wasm?: WasmPackB,
): void {
  zeroPadding(f, at, q0, q1, NR, n, k, kp);
  if (wasm && !trans) {
    const whole = Math.min(q1, Math.floor(n / NR));
    wasm(offset * 4, n, k, kp, at * 4, q0, whole);
    q0 = Math.max(q0, whole);
  }
  const j1 = Math.min(n, q1 * NR);
  if (trans) {
    // B is stored n × k: row j of storage is column j of op(B).
    for (let j = q0 * NR; j < j1; j++) {
      const src = offset + j * k, col = j % NR;
      const dst = at + (j - col) * kp + col;
      for (let p = 0; p < k; p++) f[dst + p * NR] = b[src + p];
    }
  } else {
    for (let p = 0; p < k; p++) {
      const src = offset + p * n;
      for (let j0 = q0 * NR; j0 < j1; j0 += NR) {
        const dst = at + j0 * kp + p * NR, cols = Math.min(NR, n - j0);
        for (let col = 0; col < cols; col++) f[dst + col] = b[src + j0 + col];
      }
    }
  }
}

/**
 * Zeroes what packing panels `[q0, q1)` of `width` lanes leaves unwritten: the lanes past
 * `count` in the last panel, and the depth rows `k..kp` of each panel.
 */
function zeroPadding(
  f: Float32Array,
  at: number,
  q0: number,
  q1: number,
  width: number,
  count: number,
  k: number,
  kp: number,
): void {
  const size = width * kp, panels = Math.ceil(count / width);
  if (count % width !== 0 && q0 < panels && panels <= q1) {
    f.fill(0, at + (panels - 1) * size, at + panels * size);
  }
  if (kp !== k) {
    for (let q = q0; q < q1; q++) f.fill(0, at + q * size + k * width, at + (q + 1) * size);
  }
}

/**
 * The `w`-th of `parts` boundaries that split `total` panels evenly (`cut(0) = 0`,
 * `cut(parts) = total`): part `w` of a product gets panels `[cut(w), cut(w + 1))`.
 *
 * @example
 * ```ts
 * cut(10, 2, 1); // 5
 * ```
 */
export function cut(total: number, parts: number, w: number): number {
  return Math.round((total * w) / parts);
}

/** The WebAssembly module's exports a thread of the fast GEMM runs. */
export interface Kernels {
  /** `gemm_tiles(ip0, ip1, jp0, jp1, kp, pa, pb, pc, ldc, beta)`, addresses in bytes. */
  tiles: (...args: number[]) => void;
  packB: WasmPackB;
  /** `pack_run(dst, src, ih0, iw0, len, C, H, W, kh, kw, sw)`: one run of an im2col panel. */
  packRun: WasmPackB;
  /** `pack_tap(dst, src, ki, kj, sh, sw, ph, pw, H, W, outH, outW, images, imageBytes)`. */
  packTap: WasmPackB;
  /** `conv_direct(pa, x, n0, n1, C, Hp, Wp, outW, L, y, O, kp)`: see `wasm/gemm_wat.ts`. */
  convDirect: WasmPackB;
  /** `conv_direct_dw(d, x, n0, n1, O, C, Hp, Wp, outH, outW, dw, ob0, ob1, nb)`: see `wasm/gemm_wat.ts`. */
  convDirectDW: WasmPackB;
  /** `pad_images(dst, src, planes, H, W, ph, pw)`: see `wasm/gemm_wat.ts`. */
  padImages: WasmPackB;
  /**
   * The loops of `channel_kernels.ts` the module has (`wasm/channel_wat.ts`), by their number
   * there: each takes its arrays' byte addresses, its integers and its range.
   */
  channels: ((bytes: number[], ints: ArrayLike<number>, lo: number, hi: number) => void)[];
}

/**
 * A Winograd transform of `wasm/winograd_wat.ts` as a channel loop: its two arrays, `rows, H,
 * W, T`, and the bytes from one transformed matrix to the next.
 */
function winograd(f: WasmPackB) {
  return (b: number[], a: ArrayLike<number>, lo: number, hi: number) =>
    f(b[0], b[1], a[0], a[1], a[2], a[3], 4 * matrixStride(a[0] * a[3]), lo, hi);
}

/** The module's exports as {@linkcode Kernels}. */
export function kernelsOf(instance: WebAssembly.Instance): Kernels {
  const e = instance.exports as Record<string, WasmPackB>;
  return {
    tiles: e.gemm_tiles,
    packB: e.pack_b,
    packRun: e.pack_run,
    packTap: e.pack_tap,
    convDirect: e.conv_direct,
    convDirectDW: e.conv_direct_dw,
    padImages: e.pad_images,
    channels: Object.assign([], {
      [BATCH_NORM_FORWARD]: (b: number[], a: ArrayLike<number>, lo: number, hi: number) =>
        e.bn_forward(b[0], b[1], b[2], a[0], a[1], a[2], a[3], lo, hi),
      [BATCH_NORM_BACKWARD]: (b: number[], a: ArrayLike<number>, lo: number, hi: number) =>
        e.bn_backward(b[0], b[1], b[2], b[3], a[0], a[1], a[2], a[3], lo, hi),
      [RELU_BITS]: (b: number[], _: ArrayLike<number>, lo: number, hi: number) =>
        e.relu(b[0], b[1], b[2], lo, hi),
      [GELU_FORWARD]: (b: number[], _: ArrayLike<number>, lo: number, hi: number) =>
        e.gelu(b[0], b[1], lo, hi),
      [GELU_BACKWARD]: (b: number[], _: ArrayLike<number>, lo: number, hi: number) =>
        e.gelu_backward(b[0], b[1], b[2], lo, hi),
      [WINOGRAD4_INPUT]: winograd(e.wino4_input),
      [WINOGRAD4_OUTPUT]: winograd(e.wino4_output),
      [WINOGRAD4_DELTA]: winograd(e.wino4_delta),
    }),
  };
}

/**
 * One thread's part of a product split in parts (see `gemm_protocol.ts`), given its ten
 * `gemm_tiles` arguments `tiles`.
 *
 * It packs part `part` of the panels of `op(A)` and `op(B)` from the copies in the shared
 * memory `f` (whole panels of a plain `B` with the module's packer), counts itself in
 * `PACKED` and waits until every part is packed, since its tiles read the others' panels;
 * then runs its tiles. When the job streams `B` (a view, split by columns: each thread
 * reads only its own panels of `B`), the thread packs only `A` before the barrier, and
 * afterwards packs each of its `B` panels into a buffer of its own, which stays in cache,
 * and runs that panel's tiles right away.
 *
 * @example
 * ```ts
 * runShare(f32, ctrl, 1, kernels, ctrl.subarray(at + ARGS, at + ARGS + 10)); // in a Worker
 * ```
 */
export function runShare(
  f: Float32Array,
  ctrl: Int32Array,
  part: number,
  kernels: Kernels,
  tiles: ArrayLike<number>,
): void {
  const [transA, transB, m, n, k, kp, rawA, rawB, pa, pb, parts, mode, scratch] = ctrl
    .subarray(PACK, PACK + 13);
  if (mode === CHANNELS) {
    const n = ctrl[A_VIEW], kinds = ctrl.subarray(A_VIEW + 1, A_VIEW + 1 + n);
    const at = ctrl.subarray(A_VIEW + 1 + n, A_VIEW + 1 + 2 * n);
    const ints = ctrl.subarray(A_VIEW + 1 + 2 * n, B_VIEW);
    const simd = kernels.channels[transA];
    if (simd) {
      const bytes = Array.from(kinds, (kind, i) => at[i] * CHANNEL_VIEWS[kind].BYTES_PER_ELEMENT);
      return simd(bytes, ints, tiles[0], tiles[1]);
    }
    const views = [f, new Float64Array(f.buffer), new Int32Array(f.buffer)]; // CHANNEL_VIEWS' order
    const arrays = Array.from(kinds, (kind) => views[kind]);
    return CHANNEL_KERNELS[transA](arrays, at, ints, tiles[0], tiles[1]);
  }
  if (mode === DIRECT) return runDirect(ctrl, m, rawB, kernels, tiles);
  if (mode === DIRECT_DW) return runDirectDW(ctrl, m, parts, rawA, rawB, kernels, tiles);
  const stream = mode === STREAMED_B;
  const mp = Math.ceil(m / MR), np = Math.ceil(n / NR);
  const qa0 = cut(mp, parts, part), qa1 = cut(mp, parts, part + 1);
  const qb0 = cut(np, parts, part), qb1 = cut(np, parts, part + 1);
  const aView = decodeView(ctrl, A_VIEW), bView = decodeView(ctrl, B_VIEW);
  if (aView === null) packA(f, pa, { data: f, offset: rawA }, transA === 1, m, k, kp, qa0, qa1);
  else if (aView.kind === "channels") packAChannels(f, pa, rawA, aView, kp, qa0, qa1);
  else throw new Error("gemm: an im2col view as A is not supported");
  if (bView === null) {
    packB(f, pb, { data: f, offset: rawB }, transB === 1, n, k, kp, qb0, qb1, kernels.packB);
  } else if (!stream) packBView(f, pb, rawB, bView, kp, qb0, qb1, kernels);
  barrier(ctrl, parts);
  const [ip0, ip1, jp0, jp1, , , , pc, ldc, beta] = Array.from(tiles);
  if (ip0 >= ip1 || jp0 >= jp1) return;
  if (!stream || bView === null) return kernels.tiles(...Array.from(tiles));
  const buffer = scratch + part * kp * NR;
  packBView(f, buffer, rawB, bView, kp, jp0, jp1, kernels, (q) => {
    // gemm_tiles finds panel q at pb + q·kp·NR floats: shift pb so that it lands on the buffer.
    kernels.tiles(ip0, ip1, q, q + 1, kp, pa * 4, (buffer - q * kp * NR) * 4, pc, ldc, beta);
  });
}

/**
 * One thread's part of a {@linkcode DIRECT} job: `tiles` holds, where `gemm_tiles` would have
 * its column panels, the thread's images `[n0, n1)`, then `kp`, the byte addresses of the
 * packed `A`, of the padded images and of the output (`C`, image by image). It pads its own
 * images (from the copy at `f[raw]`) and convolves them; it waits for no other thread.
 */
function runDirect(
  ctrl: Int32Array,
  m: number,
  raw: number,
  kernels: Kernels,
  tiles: ArrayLike<number>,
): void {
  const [, , n0, n1, kp, pa, padded, y] = Array.from(tiles);
  const { C, Hp, Wp, outH, outW } = padShare(ctrl, raw, padded, n0, n1, kernels);
  if (n0 < n1) kernels.convDirect(pa, padded, n0, n1, C, Hp, Wp, outW, outH * outW, y, m, kp);
}

/**
 * Pads images `[n0, n1)` of the im2col view `B` of a direct job, from their copy at `f[raw]`
 * into the padded images at byte `padded`; returns the sizes the direct kernels take.
 */
function padShare(
  ctrl: Int32Array,
  raw: number,
  padded: number,
  n0: number,
  n1: number,
  kernels: Kernels,
) {
  const view = decodeView(ctrl, B_VIEW);
  if (view?.kind !== "im2col") throw new Error("gemm: a direct job needs an im2col view as B");
  const { channels: C, height: H, width: W, padH, padW, outH, outW } = view.geometry;
  const Hp = H + 2 * padH, Wp = W + 2 * padW;
  if (n0 < n1) {
    const to = padded + n0 * C * Hp * Wp * 4, from = (raw + n0 * C * H * W) * 4;
    kernels.padImages(to, from, (n1 - n0) * C, H, W, padH, padW);
  }
  return { images: view.images, C, Hp, Wp, outH, outW };
}

/** Counts this thread in `PACKED` and waits until all `parts` threads have counted themselves. */
function barrier(ctrl: Int32Array, parts: number): void {
  if (Atomics.add(ctrl, PACKED, 1) + 1 === parts) Atomics.notify(ctrl, PACKED);
  for (let done = Atomics.load(ctrl, PACKED); done < parts; done = Atomics.load(ctrl, PACKED)) {
    spinWait(ctrl, PACKED, done);
  }
}

/**
 * One thread's part of a {@linkcode DIRECT_DW} job: `tiles` holds the images `[n0, n1)` it
 * pads (from the copy at `f[rawB]`), the blocks of four output channels `[ob0, ob1)` whose
 * rows of `dW` it sums, images per pass, and the byte addresses of the padded images and of
 * `dW`; the output gradient's copy is at `f[rawA]`. Every thread pads before any sums.
 */
function runDirectDW(
  ctrl: Int32Array,
  m: number,
  parts: number,
  rawA: number,
  rawB: number,
  kernels: Kernels,
  tiles: ArrayLike<number>,
): void {
  const [n0, n1, ob0, ob1, nb, padded, dw] = Array.from(tiles);
  const { images, C, Hp, Wp, outH, outW } = padShare(ctrl, rawB, padded, n0, n1, kernels);
  barrier(ctrl, parts);
  if (ob0 >= ob1) return;
  kernels.convDirectDW(rawA * 4, padded, 0, images, m, C, Hp, Wp, outH, outW, dw, ob0, ob1, nb);
}

/**
 * Packs panels `[q0, q1)` of a view `B` at `f[at]`, laid out as {@linkcode packB} lays them
 * out; with `onPanel`, each panel instead goes to `f[at]` itself, and `onPanel(q)` runs once
 * panel `q` is there.
 */
function packBView(
  f: Float32Array,
  at: number,
  raw: number,
  view: PackedView,
  kp: number,
  q0: number,
  q1: number,
  kernels: Kernels,
  onPanel?: (q: number) => void,
): void {
  if (view.kind === "channels") packBChannels(f, at, raw, view, kp, q0, q1, onPanel);
  else if (view.transposed) packBIm2colT(f, at, raw, view, kp, q0, q1, kernels.packTap, onPanel);
  else packBIm2col(f, at, raw, view, kp, q0, q1, kernels.packRun, onPanel);
}

/**
 * Where panel `q` (of `NR` columns, `count` of them real, `k` rows deep) goes and zeroes what
 * packing it leaves unwritten: the lanes past `count` and the rows `k..kp`.
 */
function panelStart(
  f: Float32Array,
  at: number,
  q: number,
  count: number,
  k: number,
  kp: number,
  streamed: boolean,
): number {
  const start = streamed ? at : at + q * kp * NR;
  if (count < NR) f.fill(0, start, start + kp * NR);
  else if (kp > k) f.fill(0, start + k * NR, start + kp * NR);
  return start;
}

/** A view as the packers read it back from the control block (see {@linkcode encodeView}). */
type PackedView =
  | { kind: "channels"; images: number; rows: number; L: number }
  | { kind: "im2col"; images: number; transposed: boolean; geometry: ConvGeometry };

const GEOMETRY = [
  "channels",
  "height",
  "width",
  "kernelH",
  "kernelW",
  "strideH",
  "strideW",
  "padH",
  "padW",
  "outH",
  "outW",
] as const;

/**
 * Writes what the threads need to know of operand `op` into the 16 int32s at `ctrl[at]`:
 * kind 0 for a dense array (its copy and transpose flag are in the `PACK` fields), 1 for a
 * channel-rows view (images, rows, L), 2 for an im2col view (images, transposed, geometry).
 *
 * @example
 * ```ts
 * encodeView(ctrl, B_VIEW, im2colMatrix(x, 8, g));
 * ```
 */
export function encodeView(ctrl: Int32Array, at: number, op: Operand): void {
  if (ArrayBuffer.isView(op)) ctrl[at] = 0;
  else if (op.kind === "channels") ctrl.set([1, op.images, op.rows, op.L], at);
  else {
    const g = op.geometry;
    ctrl.set([2, op.images, +op.transposed, ...GEOMETRY.map((key) => g[key])], at);
  }
}

/** The view {@linkcode encodeView} wrote at `ctrl[at]`, or null for a dense operand. */
function decodeView(ctrl: Int32Array, at: number): PackedView | null {
  const kind = ctrl[at];
  if (kind === 0) return null;
  if (kind === 1) {
    return { kind: "channels", images: ctrl[at + 1], rows: ctrl[at + 2], L: ctrl[at + 3] };
  }
  const [channels, height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW] = ctrl
    .subarray(at + 3, at + 3 + GEOMETRY.length);
  const geometry = {
    ...{ channels, height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW },
  };
  return { kind: "im2col", images: ctrl[at + 1], transposed: ctrl[at + 2] === 1, geometry };
}

/**
 * Packs panels `[q0, q1)` of `A`, a channel-rows view (`rows × images·L`, stored
 * `(images, rows, L)` from `f[raw]`), as {@linkcode packA} packs a dense one.
 */
function packAChannels(
  f: Float32Array,
  at: number,
  raw: number,
  { images, rows, L }: { images: number; rows: number; L: number },
  kp: number,
  q0: number,
  q1: number,
): void {
  zeroPadding(f, at, q0, q1, MR, rows, images * L, kp);
  const i1 = Math.min(rows, q1 * MR);
  for (let i = q0 * MR; i < i1; i++) {
    const r = i % MR;
    let dst = at + (i - r) * kp + r;
    for (let image = 0; image < images; image++) {
      const src = raw + (image * rows + i) * L;
      for (let l = 0; l < L; l++, dst += MR) f[dst] = f[src + l];
    }
  }
}

/**
 * Packs panels `[q0, q1)` of `B`, a channel-rows view (`rows × images·L`), as
 * {@linkcode packB} packs a dense one: each panel's columns are positions of some image.
 */
function packBChannels(
  f: Float32Array,
  at: number,
  raw: number,
  { images, rows, L }: { images: number; rows: number; L: number },
  kp: number,
  q0: number,
  q1: number,
  onPanel?: (q: number) => void,
): void {
  const n = images * L;
  const base = new Int32Array(NR), q1n = Math.min(q1, Math.ceil(n / NR));
  for (let q = q0; q < q1n; q++) {
    const j0 = q * NR, cols = Math.min(NR, n - j0);
    const start = panelStart(f, at, q, cols, rows, kp, onPanel !== undefined);
    for (let r = 0; r < cols; r++) {
      const image = Math.floor((j0 + r) / L);
      base[r] = raw + image * rows * L + (j0 + r - image * L);
    }
    for (let p = 0, dst = start; p < rows; p++, dst += NR) {
      for (let r = 0; r < cols; r++) f[dst + r] = f[base[r] + p * L];
    }
    onPanel?.(q);
  }
}

/**
 * Packs panels `[q0, q1)` of `B`, the im2col matrix of the images at `f[raw]`
 * (`channels·kh·kw × images·L`), straight from the images: panel `q` covers output positions
 * `q·NR ..` and each of its rows `p = (channel, ki, kj)` reads those positions' window tap,
 * or zero where the tap falls in the padding.
 *
 * A panel's positions are cut into runs along one output row of one image (one run when the
 * output is at least `NR` wide), so that each tap reads a run of one input row; the module's
 * `pack_run` copies a run for every tap (with 128-bit moves inside the image).
 */
function packBIm2col(
  f: Float32Array,
  at: number,
  raw: number,
  { images, geometry }: { images: number; geometry: ConvGeometry },
  kp: number,
  q0: number,
  q1: number,
  packRun: WasmPackB,
  onPanel?: (q: number) => void,
): void {
  const { channels, height: H, width: W, kernelH, kernelW, strideH, strideW, padH, padW } =
    geometry;
  const { outH, outW } = geometry;
  const L = outH * outW, n = images * L, HW = H * W, k = channels * kernelH * kernelW;
  const q1n = Math.min(q1, Math.ceil(n / NR));
  for (let q = q0; q < q1n; q++) {
    const j0 = q * NR, cols = Math.min(NR, n - j0);
    const dst = panelStart(f, at, q, cols, k, kp, onPanel !== undefined);
    for (let r = 0, len = 0; r < cols; r += len) {
      const j = j0 + r, image = Math.floor(j / L), l = j - image * L;
      const oh = Math.floor(l / outW), ow = l - oh * outW;
      len = Math.min(cols - r, outW - ow);
      const x = raw + image * channels * HW, ih0 = oh * strideH - padH, iw0 = ow * strideW - padW;
      packRun((dst + r) * 4, x * 4, ih0, iw0, len, channels, H, W, kernelH, kernelW, strideW);
    }
    onPanel?.(q);
  }
}

/**
 * Packs panels `[q0, q1)` of `B`, the transpose of the im2col matrix of the images at
 * `f[raw]` (`images·L × channels·kh·kw`), straight from the images: panel `q` covers window
 * taps `q·NR ..`, and the module's `pack_tap` fills one tap's lane, reading that tap at every
 * output position (a panel row each).
 */
function packBIm2colT(
  f: Float32Array,
  at: number,
  raw: number,
  { images, geometry }: { images: number; geometry: ConvGeometry },
  kp: number,
  q0: number,
  q1: number,
  packTap: WasmPackB,
  onPanel?: (q: number) => void,
): void {
  const { channels, height: H, width: W, kernelH, kernelW, strideH, strideW, padH, padW } =
    geometry;
  const { outH, outW } = geometry;
  const taps = kernelH * kernelW, n = channels * taps, HW = H * W;
  const q1n = Math.min(q1, Math.ceil(n / NR));
  for (let q = q0; q < q1n; q++) {
    const t0 = q * NR, cols = Math.min(NR, n - t0);
    const dst = panelStart(f, at, q, cols, images * outH * outW, kp, onPanel !== undefined);
    // Image by image, so that the eight lanes' writes meet in cache (a whole panel is as deep
    // as the batch's positions).
    for (let image = 0; image < images; image++) {
      const d = dst + image * outH * outW * NR, x = raw + image * channels * HW;
      for (let r = 0; r < cols; r++) {
        const c = Math.floor((t0 + r) / taps), tap = t0 + r - c * taps;
        const ki = Math.floor(tap / kernelW), kj = tap - ki * kernelW;
        packTap(
          (d + r) * 4,
          (x + c * HW) * 4,
          ki,
          kj,
          strideH,
          strideW,
          padH,
          padW,
          H,
          W,
          outH,
          outW,
          1,
          0,
        );
      }
    }
    onPanel?.(q);
  }
}
