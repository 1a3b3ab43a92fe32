import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { symmetricEigen } from "./eigen.ts";

Deno.test("symmetricEigen rebuilds a random symmetric matrix from orthonormal eigenvectors", () => {
  const rng = new Rng(4);
  for (const n of [1, 2, 5, 27]) {
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
    }
    const { values, vectors } = symmetricEigen(a, n);
    for (let i = 1; i < n; i++) assert.ok(values[i - 1] >= values[i], "decreasing order");
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let dot = 0, rebuilt = 0;
        for (let k = 0; k < n; k++) {
          dot += vectors[i * n + k] * vectors[j * n + k];
          rebuilt += values[k] * vectors[k * n + i] * vectors[k * n + j];
        }
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `n=${n}: v${i}·v${j} = ${dot}`);
        assert.ok(Math.abs(rebuilt - a[i * n + j]) < 1e-11, `n=${n}: a[${i}][${j}]`);
      }
    }
  }
});

Deno.test("symmetricEigen finds the known eigenpairs of a 2 × 2 matrix", () => {
  const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
  assert.ok(Math.abs(values[0] - 3) < 1e-15 && Math.abs(values[1] - 1) < 1e-15);
  assert.ok(Math.abs(Math.abs(vectors[0]) - Math.SQRT1_2) < 1e-15);
  assert.ok(Math.abs(vectors[0] - vectors[1]) < 1e-15, "(1, 1)/√2 for 3");
});
