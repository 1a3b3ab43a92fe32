/**
 * Matrix multiply, the one hot loop most layers reduce to. Layers call {@linkcode gemm};
 * which implementation runs behind it is chosen with {@linkcode setGemm}, so a faster
 * kernel (WebAssembly, several threads) can replace the plain TypeScript one without
 * touching the layers. {@linkcode gemmReference} stays as the fallback and the oracle.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import {
  type ChannelRows,
  checkTransposes,
  gatherChannels,
  isView,
  materialize,
  type Operand,
  scatterChannels,
} from "./matrix_view.ts";

/**
 * `C = op(A) · op(B) + beta · C` on dense row-major matrices, where `op(A)` is `m × k`
 * (`A` is stored `k × m` when `transA`), `op(B)` is `k × n` (`B` stored `n × k` when
 * `transB`) and `C` is `m × n`. `beta` is 0 (overwrite `C`) or 1 (accumulate into it).
 * All three have the same dtype; pass `subarray` views to start at an offset.
 *
 * Any operand may instead be a `MatrixView` (`matrix_view.ts`) of a batch of
 * images (`A` and `B` an im2col or channel-rows view, `C` a channel-rows view), which is
 * `op(A)`, `op(B)` or `C` itself: its transpose flag must be false.
 */
export type Gemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: Operand,
  b: Operand,
  c: FloatArray | ChannelRows,
  beta: 0 | 1,
) => void;

/**
 * The plain TypeScript matrix multiply: views are written out densely first
 * ({@linkcode materialize}), then loops ordered so the innermost one runs along contiguous
 * rows of `B` and `C`, blocked over `k` to keep a panel of `B` in cache.
 */
export const gemmReference: Gemm = (transA, transB, m, n, k, a, b, c, beta) => {
  if (isView(a) || isView(b) || isView(c)) {
    checkTransposes(transA, a, transB, b);
    const A = isView(a) ? materialize(a) : { data: a, trans: transA };
    const B = isView(b) ? materialize(b) : { data: b, trans: transB };
    if (!isView(c)) return denseReference(A.trans, B.trans, m, n, k, A.data, B.data, c, beta);
    const C = new (c.data.constructor as Float32ArrayConstructor)(m * n);
    if (beta === 1) gatherChannels(c, C);
    denseReference(A.trans, B.trans, m, n, k, A.data, B.data, C, beta);
    scatterChannels(C, c);
    return;
  }
  denseReference(transA, transB, m, n, k, a, b, c, beta);
};

/** {@linkcode gemmReference} on dense arrays. */
function denseReference(
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  beta: 0 | 1,
): void {
  if (beta === 0) c.fill(0, 0, m * n);
  if (transB) {
    // C[i, j] += sum_p A[i, p] B[j, p]: dot products along contiguous rows of A and B.
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        if (transA) { for (let p = 0; p < k; p++) sum += a[p * m + i] * b[j * k + p]; }
        else {
          const ai = i * k, bj = j * k;
          for (let p = 0; p < k; p++) sum += a[ai + p] * b[bj + p];
        }
        c[i * n + j] += sum;
      }
    }
    return;
  }
  const KB = 128;
  for (let p0 = 0; p0 < k; p0 += KB) {
    const p1 = Math.min(k, p0 + KB);
    for (let i = 0; i < m; i++) {
      const ci = i * n;
      for (let p = p0; p < p1; p++) {
        const aip = transA ? a[p * m + i] : a[i * k + p];
        if (aip === 0) continue;
        const bp = p * n;
        for (let j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
      }
    }
  }
}

let current: Gemm = gemmReference;

/**
 * Runs the current matrix multiply (see {@linkcode Gemm} for the arguments).
 *
 * @example
 * ```ts
 * const a = new Float32Array([1, 2, 3, 4]); // 2 × 2
 * const c = new Float32Array(4);
 * gemm(false, false, 2, 2, 2, a, a, c, 0); // c = a · a = [7, 10, 15, 22]
 * ```
 */
export const gemm: Gemm = (transA, transB, m, n, k, a, b, c, beta) =>
  current(transA, transB, m, n, k, a, b, c, beta);

/** Replaces the implementation behind {@linkcode gemm}; returns the previous one. */
export function setGemm(impl: Gemm): Gemm {
  const previous = current;
  current = impl;
  return previous;
}
