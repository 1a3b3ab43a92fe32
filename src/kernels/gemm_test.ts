import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { gemm, gemmReference, setGemm } from "./gemm.ts";

function naive(
  tA: boolean,
  tB: boolean,
  m: number,
  n: number,
  k: number,
  a: Float64Array,
  b: Float64Array,
) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) {
        c[i * n + j] += (tA ? a[p * m + i] : a[i * k + p]) * (tB ? b[j * k + p] : b[p * n + j]);
      }
    }
  }
  return c;
}

Deno.test("gemmReference matches the textbook product for every transpose and beta", () => {
  const rng = new Rng(1);
  for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 9, 300], [4, 33, 129]]) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = Float64Array.from({ length: m * k }, () => rng.normal());
        const b = Float64Array.from({ length: k * n }, () => rng.normal());
        const want = naive(tA, tB, m, n, k, a, b);
        const c = Float64Array.from({ length: m * n }, () => 99);
        gemmReference(tA, tB, m, n, k, a, b, c, 0);
        want.forEach((v, i) => assert.ok(Math.abs(v - c[i]) < 1e-10, `${m}x${n}x${k} ${tA} ${tB}`));
        gemmReference(tA, tB, m, n, k, a, b, c, 1);
        want.forEach((v, i) => assert.ok(Math.abs(2 * v - c[i]) < 1e-10, "beta = 1 accumulates"));
      }
    }
  }
});

Deno.test("setGemm swaps the implementation behind gemm", () => {
  let calls = 0;
  const previous = setGemm((...args) => {
    calls++;
    gemmReference(...args);
  });
  try {
    const c = new Float32Array(4);
    gemm(
      false,
      false,
      2,
      2,
      2,
      new Float32Array([1, 2, 3, 4]),
      new Float32Array([1, 2, 3, 4]),
      c,
      0,
    );
    assert.deepEqual([...c], [7, 10, 15, 22]);
    assert.equal(calls, 1);
  } finally {
    setGemm(previous);
  }
});
