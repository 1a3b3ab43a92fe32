/**
 * Register-tiled loops for convolutions as implicit GEMMs, in plain TypeScript (Conv1D's
 * float64 path is the graded reference, so it stays free of WebAssembly).
 *
 * Both functions read the input through an offset table: for reduction index `q` (an
 * `(input channel, tap)` pair, or `(output channel, tap)` for the input gradient) and output
 * position `t`, the input element is `x[xBase + off[q] + t * stride]`. That is im2col
 * without the copy. Each tile keeps 4 × 4 sums in locals, so 8 loads feed 16 multiply-adds
 * and nothing is stored until the tile is done.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";

/**
 * `y[yBase + r * yRow + t] = init[r] + Σ_q w[4q + r] · x[xBase + off[q] + t · stride]` for
 * rows `r < rows` (at most 4; `w` holds 4 lanes per `q`, the unused ones zero) and
 * positions `t < cols`; `depth` is the number of `q`. `init` is the per-row start (a bias),
 * or null for zero.
 *
 * @example
 * ```ts
 * // Two output channels of a 1-channel, 2-tap convolution over x = [1, 2, 3]:
 * const w = new Float64Array([1, 10, 0, 0, 2, 20, 0, 0]); // w[4q + r]: row 0 = [1, 2]
 * const y = new Float64Array(4);
 * convTiles(2, 2, 2, w, new Int32Array([0, 1]), new Float64Array([1, 2, 3]), 0, 1, y, 0, 2, null, 0);
 * // y = [5, 8, 50, 80]
 * ```
 */
export function convTiles(
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
  init: FloatArray | null,
  initAt: number,
): void {
  const s1 = stride, s2 = 2 * stride, s3 = 3 * stride;
  const b0 = init ? init[initAt] : 0;
  const b1 = init && rows > 1 ? init[initAt + 1] : 0;
  const b2 = init && rows > 2 ? init[initAt + 2] : 0;
  const b3 = init && rows > 3 ? init[initAt + 3] : 0;
  let t = 0;
  for (; t + 4 <= cols; t += 4) {
    let a00 = b0, a01 = b0, a02 = b0, a03 = b0, a10 = b1, a11 = b1, a12 = b1, a13 = b1;
    let a20 = b2, a21 = b2, a22 = b2, a23 = b2, a30 = b3, a31 = b3, a32 = b3, a33 = b3;
    const base = xBase + t * stride;
    for (let q = 0, wq = 0; q < depth; q++, wq += 4) {
      const i = base + off[q];
      const x0 = x[i], x1 = x[i + s1], x2 = x[i + s2], x3 = x[i + s3];
      const w0 = w[wq], w1 = w[wq + 1], w2 = w[wq + 2], w3 = w[wq + 3];
      a00 += w0 * x0, a01 += w0 * x1, a02 += w0 * x2, a03 += w0 * x3;
      a10 += w1 * x0, a11 += w1 * x1, a12 += w1 * x2, a13 += w1 * x3;
      a20 += w2 * x0, a21 += w2 * x1, a22 += w2 * x2, a23 += w2 * x3;
      a30 += w3 * x0, a31 += w3 * x1, a32 += w3 * x2, a33 += w3 * x3;
    }
    let o = yBase + t;
    y[o] = a00, y[o + 1] = a01, y[o + 2] = a02, y[o + 3] = a03;
    if (rows < 2) continue;
    o += yRow;
    y[o] = a10, y[o + 1] = a11, y[o + 2] = a12, y[o + 3] = a13;
    if (rows < 3) continue;
    o += yRow;
    y[o] = a20, y[o + 1] = a21, y[o + 2] = a22, y[o + 3] = a23;
    if (rows < 4) continue;
    o += yRow;
    y[o] = a30, y[o + 1] = a31, y[o + 2] = a32, y[o + 3] = a33;
  }
  for (; t < cols; t++) {
    let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
    const base = xBase + t * stride;
    for (let q = 0, wq = 0; q < depth; q++, wq += 4) {
      const xv = x[base + off[q]];
      a0 += w[wq] * xv, a1 += w[wq + 1] * xv, a2 += w[wq + 2] * xv, a3 += w[wq + 3] * xv;
    }
    const o = yBase + t;
    y[o] = a0;
    if (rows > 1) y[o + yRow] = a1;
    if (rows > 2) y[o + 2 * yRow] = a2;
    if (rows > 3) y[o + 3 * yRow] = a3;
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
