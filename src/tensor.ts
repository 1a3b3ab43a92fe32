/**
 * Tensors: `ndarray` objects over `Float64Array` (grading precision) or `Float32Array`
 * (training). This module is the only place that imports `ndarray`, so the rest of the
 * project shares one typed entry point.
 *
 * Hot loops read `.data`, `.shape`, `.stride` and `.offset` directly; call
 * {@linkcode contiguous} first to get a dense row-major view they can index with plain
 * arithmetic.
 *
 * @module
 */

// @ts-types="npm:@types/ndarray@1.0.14"
import ndarray from "ndarray";
// @ts-types="npm:@types/ndarray@1.0.14"
import type { NdArray } from "ndarray";

/** The element types a tensor may hold. */
export type DType = "float64" | "float32";

/** The typed array behind a tensor of either dtype. */
export type FloatArray = Float64Array | Float32Array;

/** An n-dimensional float array: `ndarray` over a `Float64Array` or `Float32Array`. */
export type Tensor = NdArray<FloatArray>;

/**
 * Wraps a typed array as a row-major tensor of the given shape.
 *
 * @example
 * ```ts
 * const t = tensor(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * t.get(1, 0); // 4
 * ```
 */
export function tensor(data: FloatArray, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new RangeError(
      `tensor: shape [${shape.join(", ")}] needs ${size} elements, got ${data.length}`,
    );
  }
  return ndarray(data, shape.slice()) as Tensor;
}

/** Allocates a typed array of `dtype` with `size` elements. */
export function allocate(size: number, dtype: DType): FloatArray {
  return dtype === "float64" ? new Float64Array(size) : new Float32Array(size);
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * const z = zeros([2, 3], "float32"); // dtype float32, shape [2, 3]
 * ```
 */
export function zeros(shape: readonly number[], dtype: DType = "float64"): Tensor {
  return tensor(allocate(shape.reduce((a, b) => a * b, 1), dtype), shape);
}

/** The dtype of a tensor's backing array. */
export function dtypeOf(t: Tensor): DType {
  return t.data instanceof Float32Array ? "float32" : "float64";
}

/** Whether `t` is a dense row-major view starting at offset 0 of its data. */
export function isContiguous(t: Tensor): boolean {
  if (t.offset !== 0 || t.data.length !== t.size) return false;
  let expected = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) return false;
    expected *= t.shape[d];
  }
  return true;
}

/**
 * `t` itself when it is dense and row-major, otherwise a dense row-major copy of it in
 * the same dtype. Kernels call this once so that their loops can use flat indices.
 *
 * @example
 * ```ts
 * const t = tensor(new Float64Array([1, 2, 3, 4]), [2, 2]).transpose(1, 0);
 * contiguous(t).data; // Float64Array [1, 3, 2, 4]
 * ```
 */
export function contiguous(t: Tensor): Tensor {
  if (isContiguous(t)) return t;
  const out = zeros(t.shape, dtypeOf(t));
  const dst = out.data;
  const { data, stride, offset, shape } = t;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < out.size; i++) {
    let src = offset;
    for (let d = 0; d < rank; d++) src += index[d] * stride[d];
    dst[i] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** A dense copy of `t` in `dtype` (the same dtype by default). */
export function clone(t: Tensor, dtype: DType = dtypeOf(t)): Tensor {
  const src = contiguous(t);
  const out = zeros(t.shape, dtype);
  out.data.set(src.data);
  return out;
}

/** Whether two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** A shape as PyTorch prints it, e.g. `(3, 8, 20)`. */
export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
}

/**
 * The largest absolute element-wise difference between two tensors of the same shape:
 * the measure the course grader uses. `NaN` anywhere gives `NaN`, and a shape mismatch
 * gives `Infinity`, so neither can pass a `< tolerance` check.
 *
 * @example
 * ```ts
 * maxAbsDiff(tensor(new Float64Array([1, 2]), [2]), tensor(new Float64Array([1, 2.5]), [2])); // 0.5
 * ```
 */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (!sameShape(a.shape, b.shape)) return Infinity;
  const x = contiguous(a).data;
  const y = contiguous(b).data;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= worst)) worst = d; // also propagates NaN
    if (Number.isNaN(worst)) return NaN;
  }
  return worst;
}
