/**
 * Matrices a convolution multiplies without ever writing them out: the im2col matrix of a
 * batch of images, and a batch of activations read as one `channels × images·L` matrix. A
 * layer passes these views to {@linkcode gemm} in place of dense arrays; the plain kernel
 * materialises them ({@linkcode materialize}), the fast one packs its panels straight from
 * the images (`gemm_pack.ts`), which saves the im2col pass, its copy and a transpose.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { type ConvGeometry, im2col } from "./im2col.ts";

/**
 * The im2col matrix of `images` dense images `x` (`images × channels × height × width`):
 * `channels·kernelH·kernelW × images·outH·outW`, the images side by side, or with
 * `transposed` its transpose (`images·outH·outW × channels·kernelH·kernelW`).
 */
export interface Im2ColMatrix {
  readonly kind: "im2col";
  readonly x: FloatArray;
  readonly images: number;
  readonly geometry: ConvGeometry;
  readonly transposed: boolean;
}

/**
 * A `rows × images·L` matrix stored image by image as `(images, rows, L)`: the layout of a
 * batch of NCHW activations (rows = channels, L = height·width), read as the channel-major
 * matrix a convolution's product makes or consumes.
 */
export interface ChannelRows {
  readonly kind: "channels";
  readonly data: FloatArray;
  readonly images: number;
  readonly rows: number;
  readonly L: number;
}

/** A matrix described rather than stored. */
export type MatrixView = Im2ColMatrix | ChannelRows;

/** What `gemm` multiplies: a dense row-major array or a view. */
export type Operand = FloatArray | MatrixView;

/**
 * The im2col matrix of the first `images` images of `x`, as a view.
 *
 * @example
 * ```ts
 * const g = convGeometry(3, 32, 32, [3, 3], [1, 1], [1, 1]);
 * const cols = im2colMatrix(x, 8, g); // 27 × 8192, never allocated
 * ```
 */
export function im2colMatrix(
  x: FloatArray,
  images: number,
  geometry: ConvGeometry,
  transposed = false,
): Im2ColMatrix {
  return { kind: "im2col", x, images, geometry, transposed };
}

/**
 * The first `images` images of NCHW `data` (`rows` channels of `L` positions) as one
 * `rows × images·L` matrix.
 *
 * @example
 * ```ts
 * const y = channelRows(out, 8, 16, 32 * 32); // 16 × 8192, stored as (8, 16, 1024)
 * ```
 */
export function channelRows(
  data: FloatArray,
  images: number,
  rows: number,
  L: number,
): ChannelRows {
  return { kind: "channels", data, images, rows, L };
}

/** Whether `op` is a view rather than a dense array. */
export function isView(op: Operand): op is MatrixView {
  return !ArrayBuffer.isView(op);
}

/** Throws unless every view among `a` and `b` comes with a false transpose flag. */
export function checkTransposes(transA: boolean, a: Operand, transB: boolean, b: Operand): void {
  if ((isView(a) && transA) || (isView(b) && transB)) {
    throw new Error(
      "gemm: a matrix view is op(A) or op(B) itself; its transpose flag must be false",
    );
  }
}

/** The array that holds `op`'s values (the images, for an im2col view). */
export function storage(op: Operand): FloatArray {
  if (!isView(op)) return op;
  return op.kind === "im2col" ? op.x : op.data;
}

/** Elements of `op`'s storage that its matrix reads. */
export function storageSize(op: MatrixView): number {
  if (op.kind === "channels") return op.images * op.rows * op.L;
  const g = op.geometry;
  return op.images * g.channels * g.height * g.width;
}

/**
 * `view` written out densely: an im2col view as its `channels·kh·kw × images·L` matrix with
 * `trans` telling whether the view is that matrix's transpose; a channel-rows view as its
 * `rows × images·L` matrix.
 *
 * @example
 * ```ts
 * const { data, trans } = materialize(im2colMatrix(x, 2, g, true)); // data: cols, trans: true
 * ```
 */
export function materialize(view: MatrixView): { data: FloatArray; trans: boolean } {
  if (view.kind === "channels") {
    const data = new (view.data.constructor as Float32ArrayConstructor)(storageSize(view));
    gatherChannels(view, data);
    return { data, trans: false };
  }
  const g = view.geometry, L = g.outH * g.outW, NL = view.images * L;
  const imageSize = g.channels * g.height * g.width;
  const cols = new (view.x.constructor as Float32ArrayConstructor)(
    g.channels * g.kernelH * g.kernelW * NL,
  );
  for (let i = 0; i < view.images; i++) im2col(view.x.subarray(i * imageSize), g, cols, NL, i * L);
  return { data: cols, trans: view.transposed };
}

/**
 * Copies a channel-rows view into the dense `rows × images·L` matrix `dense` (whose rows are
 * `ld` long, default `images·L`), starting at `dense[offset]`.
 */
export function gatherChannels(
  { data, images, rows, L }: ChannelRows,
  dense: FloatArray,
  offset = 0,
  ld = images * L,
): void {
  for (let i = 0; i < images; i++) {
    for (let r = 0; r < rows; r++) {
      const src = (i * rows + r) * L;
      dense.set(data.subarray(src, src + L), offset + r * ld + i * L);
    }
  }
}

/** The inverse of {@linkcode gatherChannels}: writes the dense matrix back into the view. */
export function scatterChannels(
  dense: FloatArray,
  { data, images, rows, L }: ChannelRows,
  offset = 0,
  ld = images * L,
): void {
  for (let i = 0; i < images; i++) {
    for (let r = 0; r < rows; r++) {
      const src = offset + r * ld + i * L;
      data.set(dense.subarray(src, src + L), (i * rows + r) * L);
    }
  }
}
