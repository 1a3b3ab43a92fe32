import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { cut, packA, packB } from "./gemm_pack.ts";
import { MR, NR } from "./wasm/gemm_wat.ts";

function randomArray(rng: Rng, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

Deno.test("packA lays out MR-row panels p-major, zero-padded in rows and depth", () => {
  const m = MR + 1, k = 3, kp = 4;
  for (const trans of [false, true]) {
    // A[i, p] = 10 i + p + 1, stored k × m when trans.
    const a = new Float32Array(m * k);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) a[trans ? p * m + i : i * k + p] = 10 * i + p + 1;
    }
    const f = new Float32Array(2 * MR * kp).fill(NaN);
    packA(f, 0, { data: a, offset: 0 }, trans, m, k, kp, 0, 2);
    for (let q = 0; q < 2; q++) {
      for (let p = 0; p < kp; p++) {
        for (let r = 0; r < MR; r++) {
          const i = q * MR + r;
          const want = i < m && p < k ? 10 * i + p + 1 : 0;
          assert.equal(f[q * MR * kp + p * MR + r], want, `trans=${trans} i=${i} p=${p}`);
        }
      }
    }
  }
});

Deno.test("packB lays out NR-column panels p-major, zero-padded in columns and depth", () => {
  const n = NR + 3, k = 3, kp = 4;
  for (const trans of [false, true]) {
    // B[p, j] = 100 p + j + 1, stored n × k when trans.
    const b = new Float32Array(k * n);
    for (let p = 0; p < k; p++) {
      for (let j = 0; j < n; j++) b[trans ? j * k + p : p * n + j] = 100 * p + j + 1;
    }
    const f = new Float32Array(2 * NR * kp).fill(NaN);
    packB(f, 0, { data: b, offset: 0 }, trans, n, k, kp, 0, 2);
    for (let q = 0; q < 2; q++) {
      for (let p = 0; p < kp; p++) {
        for (let col = 0; col < NR; col++) {
          const j = q * NR + col;
          const want = j < n && p < k ? 100 * p + j + 1 : 0;
          assert.equal(f[q * NR * kp + p * NR + col], want, `trans=${trans} j=${j} p=${p}`);
        }
      }
    }
  }
});

Deno.test("packing in parts, as the threads of one product do, equals packing at once", () => {
  const rng = new Rng(5);
  const [m, n, k, kp] = [29, 43, 7, 8];
  const offset = 5; // a source that starts inside a larger array, as the shared copies do
  const a = randomArray(rng, offset + m * k), b = randomArray(rng, offset + k * n);
  const mp = Math.ceil(m / MR), np = Math.ceil(n / NR);
  for (const trans of [false, true]) {
    for (const parts of [2, 3, 7]) {
      const wholeA = new Float32Array(mp * MR * kp), splitA = wholeA.slice().fill(NaN);
      const wholeB = new Float32Array(np * NR * kp), splitB = wholeB.slice().fill(NaN);
      packA(wholeA, 0, { data: a, offset }, trans, m, k, kp, 0, mp);
      packB(wholeB, 0, { data: b, offset }, trans, n, k, kp, 0, np);
      for (let w = 0; w < parts; w++) {
        packA(
          splitA,
          0,
          { data: a, offset },
          trans,
          m,
          k,
          kp,
          cut(mp, parts, w),
          cut(mp, parts, w + 1),
        );
        packB(
          splitB,
          0,
          { data: b, offset },
          trans,
          n,
          k,
          kp,
          cut(np, parts, w),
          cut(np, parts, w + 1),
        );
      }
      assert.deepEqual(splitA, wholeA, `A, trans=${trans}, ${parts} parts`);
      assert.deepEqual(splitB, wholeB, `B, trans=${trans}, ${parts} parts`);
    }
  }
});

Deno.test("cut splits panels into contiguous parts that cover them all", () => {
  for (const [total, parts] of [[10, 2], [5, 3], [2, 4], [0, 2]]) {
    assert.equal(cut(total, parts, 0), 0);
    assert.equal(cut(total, parts, parts), total);
    for (let w = 0; w < parts; w++) assert.ok(cut(total, parts, w) <= cut(total, parts, w + 1));
  }
});
