/**
 * Register-tiled loops for convolutions as implicit GEMMs, in plain TypeScript (Conv1D's
 * float64 path is the graded reference, so it stays free of WebAssembly).
 *
 * Both functions read the input through an offset table: for reduction index `q` (an
 * `(input channel, tap)` pair, or `(output channel, tap)` for the input gradient) and output
 * position `t`, the input element is `x[xBase + off[q] + t * stride]`. That is im2col
 * without the copy.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";

/**
 * `y[yBase + r * yRow + t] += Σ_q w[4q + r] · x[xBase + off[q] + t · stride]` for rows
 * `r < rows` (at most 4; `w` holds 4 lanes per `q`) and positions `t < cols`; `depth` is
 * the number of `q`. The rows of `y` start as the caller set them (a bias, or zero).
 *
 * It streams along `t`, four rows and four `q` at a time: the 16 weights sit in locals, and
 * each position costs 4 loads of `x` and 4 loads and stores of `y` for 16 multiply-adds.
 * (A 4 × 4 tile of sums held in locals would need fewer loads, but needs more registers
 * than V8 has for doubles, and measured slower.)
 *
 * @example
 * ```ts
 * // Two output channels of a 1-channel, 2-tap convolution over x = [1, 2, 3]:
 * const w = new Float64Array([1, 10, 0, 0, 2, 20, 0, 0]); // w[4q + r]: row 0 = [1, 2]
 * const y = new Float64Array(4);
 * convRows(2, 2, 2, w, new Int32Array([0, 1]), new Float64Array([1, 2, 3]), 0, 1, y, 0, 2);
 * // y = [5, 8, 50, 80]
 * ```
 */
export function convRows(
  rows: number,
  cols: number,
  depth: number,
  w: FloatArray,
  off: Int32Array,
  x: FloatArray,
  xBase: number,
  stride: number,
  y: FloatArray,
  yBase: number,
  yRow: number,
): void {
  const span = cols * stride;
  let q = 0;
  if (rows === 4) {
    const y0 = yBase, y1 = yBase + yRow, y2 = yBase + 2 * yRow, y3 = yBase + 3 * yRow;
    for (; q + 4 <= depth; q += 4) {
      const b = 4 * q;
      const w00 = w[b], w01 = w[b + 1], w02 = w[b + 2], w03 = w[b + 3];
      const w10 = w[b + 4], w11 = w[b + 5], w12 = w[b + 6], w13 = w[b + 7];
      const w20 = w[b + 8], w21 = w[b + 9], w22 = w[b + 10], w23 = w[b + 11];
      const w30 = w[b + 12], w31 = w[b + 13], w32 = w[b + 14], w33 = w[b + 15];
      const i0 = xBase + off[q], i1 = xBase + off[q + 1];
      const i2 = xBase + off[q + 2], i3 = xBase + off[q + 3];
      for (let t = 0, i = 0; i < span; t++, i += stride) {
        const x0 = x[i0 + i], x1 = x[i1 + i], x2 = x[i2 + i], x3 = x[i3 + i];
        y[y0 + t] += w00 * x0 + w10 * x1 + w20 * x2 + w30 * x3;
        y[y1 + t] += w01 * x0 + w11 * x1 + w21 * x2 + w31 * x3;
        y[y2 + t] += w02 * x0 + w12 * x1 + w22 * x2 + w32 * x3;
        y[y3 + t] += w03 * x0 + w13 * x1 + w23 * x2 + w33 * x3;
      }
    }
  }
  // What the four-by-four loop left: every q for fewer than 4 rows, else the last q's.
  for (let r = 0; r < rows; r++) {
    const yr = yBase + r * yRow;
    for (let p = q; p < depth; p++) {
      const wv = w[4 * p + r], i0 = xBase + off[p];
      for (let t = 0, i = 0; i < span; t++, i += stride) y[yr + t] += wv * x[i0 + i];
    }
  }
}

/**
 * `g[gBase + r · gRow + q] += Σ_t d[dBase + r · dRow + t] · x[xBase + off[q] + t · stride]`
 * for rows `r < rows` (at most 4), `q < depth` and `t < cols`: the weight gradient of a
 * convolution, output-gradient rows against the implicit im2col of the input.
 *
 * @example
 * ```ts
 * // One output channel, delta = [1, 1], 2 taps over x = [1, 2, 3]: g = [1+2, 2+3]
 * const g = new Float64Array(2);
 * convWeightTiles(1, 2, 2, new Float64Array([1, 1]), 0, 2, new Float64Array([1, 2, 3]), 0,
 *   new Int32Array([0, 1]), 1, g, 0, 2); // g = [3, 5]
 * ```
 */
export function convWeightTiles(
  rows: number,
  depth: number,
  cols: number,
  d: FloatArray,
  dBase: number,
  dRow: number,
  x: FloatArray,
  xBase: number,
  off: Int32Array,
  stride: number,
  g: FloatArray,
  gBase: number,
  gRow: number,
): void {
  // Rows past `rows` re-read row 0 so the loop stays branch-free; their sums are dropped.
  const d0 = dBase, d1 = rows > 1 ? dBase + dRow : dBase;
  const d2 = rows > 2 ? dBase + 2 * dRow : dBase, d3 = rows > 3 ? dBase + 3 * dRow : dBase;
  let q = 0;
  for (; q + 4 <= depth; q += 4) {
    let a00 = 0, a01 = 0, a02 = 0, a03 = 0, a10 = 0, a11 = 0, a12 = 0, a13 = 0;
    let a20 = 0, a21 = 0, a22 = 0, a23 = 0, a30 = 0, a31 = 0, a32 = 0, a33 = 0;
    const i0 = xBase + off[q], i1 = xBase + off[q + 1];
    const i2 = xBase + off[q + 2], i3 = xBase + off[q + 3];
    for (let t = 0, i = 0; t < cols; t++, i += stride) {
      const x0 = x[i0 + i], x1 = x[i1 + i], x2 = x[i2 + i], x3 = x[i3 + i];
      const e0 = d[d0 + t], e1 = d[d1 + t], e2 = d[d2 + t], e3 = d[d3 + t];
      a00 += e0 * x0, a01 += e0 * x1, a02 += e0 * x2, a03 += e0 * x3;
      a10 += e1 * x0, a11 += e1 * x1, a12 += e1 * x2, a13 += e1 * x3;
      a20 += e2 * x0, a21 += e2 * x1, a22 += e2 * x2, a23 += e2 * x3;
      a30 += e3 * x0, a31 += e3 * x1, a32 += e3 * x2, a33 += e3 * x3;
    }
    let o = gBase + q;
    g[o] += a00, g[o + 1] += a01, g[o + 2] += a02, g[o + 3] += a03;
    if (rows < 2) continue;
    o += gRow;
    g[o] += a10, g[o + 1] += a11, g[o + 2] += a12, g[o + 3] += a13;
    if (rows < 3) continue;
    o += gRow;
    g[o] += a20, g[o + 1] += a21, g[o + 2] += a22, g[o + 3] += a23;
    if (rows < 4) continue;
    o += gRow;
    g[o] += a30, g[o + 1] += a31, g[o + 2] += a32, g[o + 3] += a33;
  }
  for (; q < depth; q++) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const i0 = xBase + off[q];
    for (let t = 0, i = i0; t < cols; t++, i += stride) {
      const xv = x[i];
      a0 += d[d0 + t] * xv, a1 += d[d1 + t] * xv, a2 += d[d2 + t] * xv, a3 += d[d3 + t] * xv;
    }
    const o = gBase + q;
    g[o] += a0;
    if (rows > 1) g[o + gRow] += a1;
    if (rows > 2) g[o + 2 * gRow] += a2;
    if (rows > 3) g[o + 3 * gRow] += a3;
  }
}
