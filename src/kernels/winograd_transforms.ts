/**
 * The transforms of Winograd's minimal filtering F(2×2, 3×3) and F(4×4, 3×3) (Lavin & Gray,
 * "Fast Algorithms for Convolutional Neural Networks", 2016), over a range of planes (groups
 * of four tiles for F(4×4)) or filters so that the fast GEMM's threads can split them
 * (`CHANNEL_KERNELS` in `channel_kernels.ts`).
 *
 * A 3 × 3 stride-1 cross-correlation with padding 1 gives each 2 × 2 block of outputs from a
 * 4 × 4 patch `d` of the input as `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`: 16 multiplies where the
 * direct sum takes 36. Over channels the 16 element-wise products become 16 matrix products
 * (`winograd.ts`), one per position `ξ` of the 4 × 4 transformed tile, and these transforms
 * carry the data in and out of that form:
 *
 * ```text
 * Bᵀ = [1  0 −1  0]     G = [1    0    0 ]     Aᵀ = [1  1  1  0]
 *      [0  1  1  0]         [1/2  1/2  1/2]          [0  1 −1 −1]
 *      [0 −1  1  0]         [1/2 −1/2  1/2]
 *      [0  1  0 −1]         [0    0    1 ]
 * ```
 *
 * F(4×4, 3×3) (further down) is the same with 6 × 6 patches and 36 positions for each 4 × 4
 * block (144 multiplies direct). The weight gradient follows by the chain rule:
 * `∂L/∂g = Gᵀ [Σ_tiles (A δ Aᵀ) ⊙ (Bᵀ d B)] G` for the output gradient `δ` of each block.
 *
 * Transformed data is laid out `(positions, rows, T)`: position `ξ`, then channel, then tile
 * `t`, the tiles of image `n` at `n·tilesPerImage + ty·tilesPerRow + tx`; each `ξ` is then a
 * dense `rows × T` matrix. Transformed filters are `(positions, O, C)`. The matrices lie
 * {@linkcode matrixStride} elements apart rather than back to back: a transform writes (or
 * reads) all of them at once, and streams a power of two apart would share a handful of cache
 * sets.
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";

/**
 * Elements from one of the transformed matrices of `size` elements to the next: `size` and
 * room for one more vector of four (the SIMD transforms' last group of tiles may run past
 * the end, `wasm/winograd_wat.ts`), rounded up to an odd number of 64-byte cache lines so
 * that the 16 or 36 streams fall in different cache sets.
 *
 * @example
 * ```ts
 * matrixStride(65536); // 65552: 4097 lines of 16 floats
 * ```
 */
export function matrixStride(size: number): number {
  const lines = Math.ceil((size + 4) / 16);
  return (lines % 2 === 0 ? lines + 1 : lines) * 16;
}

/**
 * `V[ξ, c, t] = (Bᵀ d B)[ξ]` for the 4 × 4 patch `d` (zero-padded by 1) under each 2 × 2
 * output block `t` of planes `[p0, p1)` of `X` `(images, C, H, W)`; `H` and `W` even, `T` the
 * tiles of all the images.
 *
 * @example
 * ```ts
 * winogradInput(X, 0, V, 0, C, 8, 8, images * 16, 0, images * C);
 * ```
 */
export function winogradInput(
  X: FloatArray,
  x0: number,
  V: FloatArray,
  v0: number,
  C: number,
  H: number,
  W: number,
  T: number,
  p0: number,
  p1: number,
): void {
  const PW = W + 2, tilesPerImage = (H / 2) * (W / 2), step = matrixStride(C * T);
  // The plane zero-padded, so that every patch reads without bounds checks.
  const pad = new Float64Array((H + 2) * PW);
  for (let p = p0; p < p1; p++) {
    const n = Math.floor(p / C), c = p - n * C;
    for (let i = 0, from = x0 + p * H * W; i < H; i++, from += W) {
      for (let j = 0, to = (i + 1) * PW + 1; j < W; j++) pad[to + j] = X[from + j];
    }
    let out = v0 + c * T + n * tilesPerImage;
    for (let ty = 0; ty < H; ty += 2) {
      for (let tx = 0; tx < W; tx += 2, out++) {
        const r0 = ty * PW + tx, r1 = r0 + PW, r2 = r1 + PW, r3 = r2 + PW;
        // Bᵀ d: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3, column by column.
        const a0 = pad[r0] - pad[r2], a1 = pad[r0 + 1] - pad[r2 + 1];
        const a2 = pad[r0 + 2] - pad[r2 + 2], a3 = pad[r0 + 3] - pad[r2 + 3];
        const b0 = pad[r1] + pad[r2], b1 = pad[r1 + 1] + pad[r2 + 1];
        const b2 = pad[r1 + 2] + pad[r2 + 2], b3 = pad[r1 + 3] + pad[r2 + 3];
        const c0 = pad[r2] - pad[r1], c1 = pad[r2 + 1] - pad[r1 + 1];
        const c2 = pad[r2 + 2] - pad[r1 + 2], c3 = pad[r2 + 3] - pad[r1 + 3];
        const e0 = pad[r1] - pad[r3], e1 = pad[r1 + 1] - pad[r3 + 1];
        const e2 = pad[r1 + 2] - pad[r3 + 2], e3 = pad[r1 + 3] - pad[r3 + 3];
        // (Bᵀ d) B: the same combination along each row.
        V[out] = a0 - a2, V[out + step] = a1 + a2;
        V[out + 2 * step] = a2 - a1, V[out + 3 * step] = a1 - a3;
        V[out + 4 * step] = b0 - b2, V[out + 5 * step] = b1 + b2;
        V[out + 6 * step] = b2 - b1, V[out + 7 * step] = b1 - b3;
        V[out + 8 * step] = c0 - c2, V[out + 9 * step] = c1 + c2;
        V[out + 10 * step] = c2 - c1, V[out + 11 * step] = c1 - c3;
        V[out + 12 * step] = e0 - e2, V[out + 13 * step] = e1 + e2;
        V[out + 14 * step] = e2 - e1, V[out + 15 * step] = e1 - e3;
      }
    }
  }
}

/**
 * `Y = Aᵀ m A` for each tile of planes `[p0, p1)` of `Y` `(images, O, H, W)`, with `m` the 16
 * values `M[ξ, o, t]` the products gave: the transformed output back to 2 × 2 blocks.
 *
 * @example
 * ```ts
 * winogradOutput(M, 0, Y, 0, O, 8, 8, images * 16, 0, images * O);
 * ```
 */
export function winogradOutput(
  M: FloatArray,
  m0: number,
  Y: FloatArray,
  y0: number,
  O: number,
  H: number,
  W: number,
  T: number,
  p0: number,
  p1: number,
): void {
  const tilesPerImage = (H / 2) * (W / 2), step = matrixStride(O * T);
  for (let p = p0; p < p1; p++) {
    const n = Math.floor(p / O), o = p - n * O;
    let at = m0 + o * T + n * tilesPerImage;
    for (let ty = 0; ty < H; ty += 2) {
      for (let tx = 0, row = y0 + p * H * W + ty * W; tx < W; tx += 2, at++) {
        const q0 = M[at], q1 = M[at + step], q2 = M[at + 2 * step], q3 = M[at + 3 * step];
        const q4 = M[at + 4 * step], q5 = M[at + 5 * step];
        const q6 = M[at + 6 * step], q7 = M[at + 7 * step];
        const q8 = M[at + 8 * step], q9 = M[at + 9 * step];
        const q10 = M[at + 10 * step], q11 = M[at + 11 * step];
        const q12 = M[at + 12 * step], q13 = M[at + 13 * step];
        const q14 = M[at + 14 * step], q15 = M[at + 15 * step];
        // Aᵀ m: rows m0 + m1 + m2 and m1 − m2 − m3 (of four each), column by column.
        const s0 = q0 + q4 + q8, s1 = q1 + q5 + q9, s2 = q2 + q6 + q10, s3 = q3 + q7 + q11;
        const u0 = q4 - q8 - q12, u1 = q5 - q9 - q13, u2 = q6 - q10 - q14, u3 = q7 - q11 - q15;
        // (Aᵀ m) A: [a, b, c, e] along each row to [a + b + c, b − c − e].
        Y[row + tx] = s0 + s1 + s2, Y[row + tx + 1] = s1 - s2 - s3;
        Y[row + W + tx] = u0 + u1 + u2, Y[row + W + tx + 1] = u1 - u2 - u3;
      }
    }
  }
}

/**
 * `Z[ξ, o, t] = (A δ Aᵀ)[ξ]` for the 2 × 2 block `δ` of output gradient at each tile of planes
 * `[p0, p1)` of `D` `(images, O, H, W)`: the output gradient in the transformed form, for the
 * weight gradient.
 *
 * @example
 * ```ts
 * winogradDelta(D, 0, Z, 0, O, 8, 8, images * 16, 0, images * O);
 * ```
 */
export function winogradDelta(
  D: FloatArray,
  d0: number,
  Z: FloatArray,
  z0: number,
  O: number,
  H: number,
  W: number,
  T: number,
  p0: number,
  p1: number,
): void {
  const tilesPerImage = (H / 2) * (W / 2), step = matrixStride(O * T);
  for (let p = p0; p < p1; p++) {
    const n = Math.floor(p / O), o = p - n * O;
    let out = z0 + o * T + n * tilesPerImage;
    for (let ty = 0; ty < H; ty += 2) {
      for (let tx = 0, row = d0 + p * H * W + ty * W; tx < W; tx += 2, out++) {
        const a = D[row + tx], b = D[row + tx + 1], c = D[row + W + tx], e = D[row + W + tx + 1];
        // A δ: rows δ0, δ0 + δ1, δ0 − δ1, −δ1; then (A δ) Aᵀ takes [x, y] along each row to
        // [x, x + y, x − y, −y].
        const f = a + c, g = b + e, h = a - c, k = b - e;
        Z[out] = a, Z[out + step] = a + b, Z[out + 2 * step] = a - b, Z[out + 3 * step] = -b;
        Z[out + 4 * step] = f, Z[out + 5 * step] = f + g;
        Z[out + 6 * step] = f - g, Z[out + 7 * step] = -g;
        Z[out + 8 * step] = h, Z[out + 9 * step] = h + k;
        Z[out + 10 * step] = h - k, Z[out + 11 * step] = -k;
        Z[out + 12 * step] = -c, Z[out + 13 * step] = -c - e;
        Z[out + 14 * step] = e - c, Z[out + 15 * step] = e;
      }
    }
  }
}

/**
 * `U[ξ, o, c] = (G g Gᵀ)[ξ]` for filters `[f0, f1)` (`f = o·C + c`) of `Wt` `(O, C, 3, 3)`,
 * `filters = O·C`.
 *
 * @example
 * ```ts
 * winogradFilter(W, 0, U, 0, O * C, 0, O * C);
 * ```
 */
export function winogradFilter(
  Wt: FloatArray,
  w0: number,
  U: FloatArray,
  u0: number,
  filters: number,
  f0: number,
  f1: number,
): void {
  const step = matrixStride(filters);
  for (let f = f0; f < f1; f++) {
    const g = w0 + 9 * f;
    const g0 = Wt[g], g1 = Wt[g + 1], g2 = Wt[g + 2], g3 = Wt[g + 3], g4 = Wt[g + 4];
    const g5 = Wt[g + 5], g6 = Wt[g + 6], g7 = Wt[g + 7], g8 = Wt[g + 8];
    // G g: rows g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2 (of three each), column by column.
    const a0 = g0, a1 = g1, a2 = g2;
    const b0 = (g0 + g3 + g6) / 2, b1 = (g1 + g4 + g7) / 2, b2 = (g2 + g5 + g8) / 2;
    const c0 = (g0 - g3 + g6) / 2, c1 = (g1 - g4 + g7) / 2, c2 = (g2 - g5 + g8) / 2;
    const e0 = g6, e1 = g7, e2 = g8;
    // (G g) Gᵀ: [a, b, c] along each row to [a, (a + b + c)/2, (a − b + c)/2, c].
    const at = u0 + f;
    U[at] = a0, U[at + step] = (a0 + a1 + a2) / 2;
    U[at + 2 * step] = (a0 - a1 + a2) / 2, U[at + 3 * step] = a2;
    U[at + 4 * step] = b0, U[at + 5 * step] = (b0 + b1 + b2) / 2;
    U[at + 6 * step] = (b0 - b1 + b2) / 2, U[at + 7 * step] = b2;
    U[at + 8 * step] = c0, U[at + 9 * step] = (c0 + c1 + c2) / 2;
    U[at + 10 * step] = (c0 - c1 + c2) / 2, U[at + 11 * step] = c2;
    U[at + 12 * step] = e0, U[at + 13 * step] = (e0 + e1 + e2) / 2;
    U[at + 14 * step] = (e0 - e1 + e2) / 2, U[at + 15 * step] = e2;
  }
}

/**
 * `dW[f] = Gᵀ m G` (3 × 3) for filters `[f0, f1)` of `dW` `(O, C, 3, 3)`, `m` the 16 values
 * `M[ξ, o, c]` the weight gradient's products summed: the gradient back in filter form.
 *
 * @example
 * ```ts
 * winogradFilterGrad(M, 0, dW, 0, O * C, 0, O * C);
 * ```
 */
export function winogradFilterGrad(
  M: FloatArray,
  m0: number,
  dW: FloatArray,
  w0: number,
  filters: number,
  f0: number,
  f1: number,
): void {
  const step = matrixStride(filters);
  for (let f = f0; f < f1; f++) {
    const at = m0 + f;
    const q0 = M[at], q1 = M[at + step], q2 = M[at + 2 * step], q3 = M[at + 3 * step];
    const q4 = M[at + 4 * step], q5 = M[at + 5 * step];
    const q6 = M[at + 6 * step], q7 = M[at + 7 * step];
    const q8 = M[at + 8 * step], q9 = M[at + 9 * step];
    const q10 = M[at + 10 * step], q11 = M[at + 11 * step];
    const q12 = M[at + 12 * step], q13 = M[at + 13 * step];
    const q14 = M[at + 14 * step], q15 = M[at + 15 * step];
    // Gᵀ m: rows m0 + (m1 + m2)/2, (m1 − m2)/2, (m1 + m2)/2 + m3 (of four each), by column.
    const a0 = q0 + (q4 + q8) / 2, a1 = q1 + (q5 + q9) / 2;
    const a2 = q2 + (q6 + q10) / 2, a3 = q3 + (q7 + q11) / 2;
    const b0 = (q4 - q8) / 2, b1 = (q5 - q9) / 2, b2 = (q6 - q10) / 2, b3 = (q7 - q11) / 2;
    const c0 = (q4 + q8) / 2 + q12, c1 = (q5 + q9) / 2 + q13;
    const c2 = (q6 + q10) / 2 + q14, c3 = (q7 + q11) / 2 + q15;
    // (Gᵀ m) G: [a, b, c, e] along each row to [a + (b + c)/2, (b − c)/2, (b + c)/2 + e].
    const g = w0 + 9 * f;
    dW[g] = a0 + (a1 + a2) / 2, dW[g + 1] = (a1 - a2) / 2, dW[g + 2] = (a1 + a2) / 2 + a3;
    dW[g + 3] = b0 + (b1 + b2) / 2, dW[g + 4] = (b1 - b2) / 2, dW[g + 5] = (b1 + b2) / 2 + b3;
    dW[g + 6] = c0 + (c1 + c2) / 2, dW[g + 7] = (c1 - c2) / 2, dW[g + 8] = (c1 + c2) / 2 + c3;
  }
}

// F(4×4, 3×3): each 4 × 4 block of outputs from a 6 × 6 patch, 36 products where the direct
// sum takes 144 (Lavin & Gray's matrices for the points 0, ±1, ±2, ∞):
//
//   Bᵀ = [4  0 −5  0  1  0]   G = [ 1/4     0     0 ]   Aᵀ = [1  1  1  1  1  0]
//        [0 −4 −4  1  1  0]       [−1/6  −1/6  −1/6]        [0  1 −1  2 −2  0]
//        [0  4 −4 −1  1  0]       [−1/6   1/6  −1/6]        [0  1  1  4  4  0]
//        [0 −2 −1  2  1  0]       [1/24  1/12   1/6]        [0  1 −1  8 −8  1]
//        [0  2 −1 −2  1  0]       [1/24 −1/12   1/6]
//        [0  4  0 −5  0  1]       [ 0     0     1  ]
//
// Each 2-D transform is the 1-D one down the columns, then along the rows. The 1-D ones read
// `n` values of `a` from `i` at stride `s` and write theirs to `b` from `j` at stride `t`.

/** Bᵀ d for 6 values. */
function inputLine(a: FloatArray, i: number, s: number, b: FloatArray, j: number, t: number) {
  const d0 = a[i], d1 = a[i + s], d2 = a[i + 2 * s], d3 = a[i + 3 * s], d4 = a[i + 4 * s];
  const d5 = a[i + 5 * s];
  b[j] = 4 * d0 - 5 * d2 + d4;
  b[j + t] = d3 + d4 - 4 * (d1 + d2);
  b[j + 2 * t] = d4 - d3 + 4 * (d1 - d2);
  b[j + 3 * t] = d4 - d2 + 2 * (d3 - d1);
  b[j + 4 * t] = d4 - d2 + 2 * (d1 - d3);
  b[j + 5 * t] = 4 * d1 - 5 * d3 + d5;
}

/** Aᵀ m for 6 values (4 out). */
function outputLine(a: FloatArray, i: number, s: number, b: FloatArray, j: number, t: number) {
  const m0 = a[i], m1 = a[i + s], m2 = a[i + 2 * s], m3 = a[i + 3 * s], m4 = a[i + 4 * s];
  const m5 = a[i + 5 * s];
  const p = m1 + m2, q = m1 - m2, r = m3 + m4, u = m3 - m4;
  b[j] = m0 + p + r;
  b[j + t] = q + 2 * u;
  b[j + 2 * t] = p + 4 * r;
  b[j + 3 * t] = q + 8 * u + m5;
}

/** A δ for 4 values (6 out). */
function deltaLine(a: FloatArray, i: number, s: number, b: FloatArray, j: number, t: number) {
  const d0 = a[i], d1 = a[i + s], d2 = a[i + 2 * s], d3 = a[i + 3 * s];
  const even = d0 + d2, odd = d1 + d3, even4 = d0 + 4 * d2, odd4 = 2 * d1 + 8 * d3;
  b[j] = d0;
  b[j + t] = even + odd;
  b[j + 2 * t] = even - odd;
  b[j + 3 * t] = even4 + odd4;
  b[j + 4 * t] = even4 - odd4;
  b[j + 5 * t] = d3;
}

/** G g for 3 values (6 out). */
function filterLine(a: FloatArray, i: number, s: number, b: FloatArray, j: number, t: number) {
  const g0 = a[i], g1 = a[i + s], g2 = a[i + 2 * s];
  const outer = g0 + g2, outer24 = g0 / 24 + g2 / 6;
  b[j] = g0 / 4;
  b[j + t] = -(outer + g1) / 6;
  b[j + 2 * t] = -(outer - g1) / 6;
  b[j + 3 * t] = outer24 + g1 / 12;
  b[j + 4 * t] = outer24 - g1 / 12;
  b[j + 5 * t] = g2;
}

/** Gᵀ m for 6 values (3 out). */
function filterGradLine(a: FloatArray, i: number, s: number, b: FloatArray, j: number, t: number) {
  const m0 = a[i], m1 = a[i + s], m2 = a[i + 2 * s], m3 = a[i + 3 * s], m4 = a[i + 4 * s];
  const m5 = a[i + 5 * s];
  b[j] = m0 / 4 - (m1 + m2) / 6 + (m3 + m4) / 24;
  b[j + t] = (m2 - m1) / 6 + (m3 - m4) / 12;
  b[j + 2 * t] = (m3 + m4 - m1 - m2) / 6 + m5;
}

/**
 * The groups of four tiles F(4×4)'s image transforms run over for `rows` channels of `T`
 * tiles: the range to split over the threads.
 *
 * @example
 * ```ts
 * tileGroups(3, 5); // 4: tiles 0–3, 4–7, 8–11, 12–14
 * ```
 */
export function tileGroups(rows: number, T: number): number {
  return Math.ceil(rows * T / 4);
}

/**
 * Runs `body(i, plane, ty, tx)` for tiles `i` in `[4·g0, 4·g1)` of the transformed layout
 * `(rows, T)` (F(4×4)'s transforms run over groups of four tiles, as their SIMD versions in
 * `wasm/winograd_wat.ts` do): tile `i` is in image plane `plane` (`n·rows + c`) at tile row
 * `ty` and column `tx`.
 */
function eachTile4(
  rows: number,
  H: number,
  W: number,
  T: number,
  g0: number,
  g1: number,
  body: (i: number, plane: number, ty: number, tx: number) => void,
): void {
  const tilesW = W / 4, perImage = (H / 4) * tilesW, end = Math.min(4 * g1, rows * T);
  for (let i = 4 * g0; i < end; i++) {
    const c = Math.floor(i / T), s = i - c * T, n = Math.floor(s / perImage);
    const r = s - n * perImage, ty = Math.floor(r / tilesW);
    body(i, n * rows + c, ty, r - ty * tilesW);
  }
}

/**
 * {@linkcode winogradInput} for F(4×4, 3×3): `V[ξ, c, t] = (Bᵀ d B)[ξ]` (36 positions) for the
 * 6 × 6 patch under each 4 × 4 output block, over the groups of four tiles `[g0, g1)` of
 * `(C, T)`; `H` and `W` multiples of 4.
 *
 * @example
 * ```ts
 * winograd4Input(X, 0, V, 0, C, 8, 8, images * 4, 0, C * images); // 4 tiles an image
 * ```
 */
export function winograd4Input(
  X: FloatArray,
  x0: number,
  V: FloatArray,
  v0: number,
  C: number,
  H: number,
  W: number,
  T: number,
  g0: number,
  g1: number,
): void {
  const step = matrixStride(C * T), patch = new Float64Array(36), tmp = new Float64Array(36);
  eachTile4(C, H, W, T, g0, g1, (i, plane, ty, tx) => {
    const from = x0 + plane * H * W;
    for (let r = 0; r < 6; r++) {
      const y = 4 * ty - 1 + r;
      for (let j = 0; j < 6; j++) {
        const x = 4 * tx - 1 + j;
        patch[6 * r + j] = y >= 0 && y < H && x >= 0 && x < W ? X[from + y * W + x] : 0;
      }
    }
    for (let j = 0; j < 6; j++) inputLine(patch, j, 6, tmp, j, 6);
    for (let r = 0; r < 6; r++) inputLine(tmp, 6 * r, 1, V, v0 + i + 6 * r * step, step);
  });
}

/**
 * {@linkcode winogradOutput} for F(4×4, 3×3): `Y = Aᵀ m A` for each 4 × 4 block, over the
 * groups of four tiles `[g0, g1)` of `(O, T)`.
 *
 * @example
 * ```ts
 * winograd4Output(M, 0, Y, 0, O, 8, 8, images * 4, 0, O * images);
 * ```
 */
export function winograd4Output(
  M: FloatArray,
  m0: number,
  Y: FloatArray,
  y0: number,
  O: number,
  H: number,
  W: number,
  T: number,
  g0: number,
  g1: number,
): void {
  const step = matrixStride(O * T), tmp = new Float64Array(24);
  eachTile4(O, H, W, T, g0, g1, (i, plane, ty, tx) => {
    for (let j = 0; j < 6; j++) outputLine(M, m0 + i + j * step, 6 * step, tmp, j, 6);
    const corner = y0 + plane * H * W + 4 * ty * W + 4 * tx;
    for (let r = 0; r < 4; r++) outputLine(tmp, 6 * r, 1, Y, corner + r * W, 1);
  });
}

/**
 * {@linkcode winogradDelta} for F(4×4, 3×3): `Z[ξ, o, t] = (A δ Aᵀ)[ξ]` for each 4 × 4 block
 * `δ` of output gradient, over the groups of four tiles `[g0, g1)` of `(O, T)`.
 *
 * @example
 * ```ts
 * winograd4Delta(D, 0, Z, 0, O, 8, 8, images * 4, 0, O * images);
 * ```
 */
export function winograd4Delta(
  D: FloatArray,
  d0: number,
  Z: FloatArray,
  z0: number,
  O: number,
  H: number,
  W: number,
  T: number,
  g0: number,
  g1: number,
): void {
  const step = matrixStride(O * T), tmp = new Float64Array(24);
  eachTile4(O, H, W, T, g0, g1, (i, plane, ty, tx) => {
    const corner = d0 + plane * H * W + 4 * ty * W + 4 * tx;
    for (let j = 0; j < 4; j++) deltaLine(D, corner + j, W, tmp, j, 4);
    for (let r = 0; r < 6; r++) deltaLine(tmp, 4 * r, 1, Z, z0 + i + 6 * r * step, step);
  });
}

/**
 * {@linkcode winogradFilter} for F(4×4, 3×3): `U[ξ, o, c] = (G g Gᵀ)[ξ]`, 36 positions.
 *
 * @example
 * ```ts
 * winograd4Filter(W, 0, U, 0, O * C, 0, O * C);
 * ```
 */
export function winograd4Filter(
  Wt: FloatArray,
  w0: number,
  U: FloatArray,
  u0: number,
  filters: number,
  f0: number,
  f1: number,
): void {
  const step = matrixStride(filters), tmp = new Float64Array(18);
  for (let f = f0; f < f1; f++) {
    for (let j = 0; j < 3; j++) filterLine(Wt, w0 + 9 * f + j, 3, tmp, j, 3);
    for (let i = 0; i < 6; i++) filterLine(tmp, 3 * i, 1, U, u0 + f + 6 * i * step, step);
  }
}

/**
 * {@linkcode winogradFilterGrad} for F(4×4, 3×3): `dW[f] = Gᵀ m G` from the 36 summed values.
 *
 * @example
 * ```ts
 * winograd4FilterGrad(M, 0, dW, 0, O * C, 0, O * C);
 * ```
 */
export function winograd4FilterGrad(
  M: FloatArray,
  m0: number,
  dW: FloatArray,
  w0: number,
  filters: number,
  f0: number,
  f1: number,
): void {
  const step = matrixStride(filters), tmp = new Float64Array(18);
  for (let f = f0; f < f1; f++) {
    for (let j = 0; j < 6; j++) filterGradLine(M, m0 + f + j * step, 6 * step, tmp, j, 6);
    for (let i = 0; i < 3; i++) filterGradLine(tmp, 6 * i, 1, dW, w0 + 9 * f + 3 * i, 1);
  }
}
