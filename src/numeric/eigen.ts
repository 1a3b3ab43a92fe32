/**
 * Eigen-decomposition of a small symmetric matrix by the cyclic Jacobi method: plane
 * rotations that zero one off-diagonal pair at a time until the matrix is diagonal. Slow
 * for large matrices (O(n³) per sweep) but simple, accurate and enough for the 27 × 27
 * patch covariance the trainer whitens its first layer with.
 *
 * @module
 */

/** Eigenvalues in decreasing order and their unit eigenvectors (row `i` of `vectors`). */
export interface Eigen {
  values: Float64Array;
  /** `n × n`, row-major: row `i` is the eigenvector of `values[i]`. */
  vectors: Float64Array;
}

/**
 * The eigenvalues and eigenvectors of the symmetric `n × n` matrix `a` (row-major; only
 * read, not changed), so that `a = Σ values[i] · vᵢ vᵢᵀ`.
 *
 * @example
 * ```ts
 * const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
 * // values = [3, 1]; vectors ≈ [0.707, 0.707, -0.707, 0.707] (up to sign)
 * ```
 */
export function symmetricEigen(a: Float64Array, n: number): Eigen {
  if (a.length !== n * n) {
    throw new RangeError(`symmetricEigen: expected ${n * n} values, got ${a.length}`);
  }
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const offNorm = () => {
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) s += m[i * n + j] ** 2;
    return s;
  };
  let scale = 0;
  for (const x of m) scale += x * x;
  for (let sweep = 0; sweep < 100 && offNorm() > 1e-30 * scale; sweep++) {
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (apq === 0) continue;
        // The rotation angle that zeroes m[p][q]: tan(2θ) = 2 a_pq / (a_qq − a_pp).
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) { // columns p and q
          const mkp = m[k * n + p], mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) { // rows p and q
          const mpk = m[p * n + k], mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) { // accumulate V = V·J: its columns are the eigenvectors
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j] - m[i * n + i]);
  const values = Float64Array.from(order, (i) => m[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    for (let k = 0; k < n; k++) vectors[row * n + k] = v[k * n + col];
  });
  return { values, vectors };
}
