import assert from "node:assert/strict";
import { Rng } from "./random.ts";

Deno.test("Rng repeats for a seed and differs across seeds", () => {
  const a = new Rng(1), b = new Rng(1), c = new Rng(2);
  const xs = Array.from({ length: 5 }, () => a.random());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.random()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.random()));
});

Deno.test("Rng resumes from a saved state", () => {
  const a = new Rng(9);
  a.normal(); // leaves a cached second normal in the state
  const resumed = Rng.fromState(a.state);
  assert.deepEqual(
    Array.from({ length: 4 }, () => a.normal()),
    Array.from({ length: 4 }, () => resumed.normal()),
  );
});

Deno.test("Rng's distributions have the right moments", () => {
  const rng = new Rng(3);
  const n = 20000;
  let su = 0, sn = 0, sn2 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.random();
    assert.ok(u >= 0 && u < 1);
    su += u;
    const z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.01);
  assert.ok(Math.abs(sn / n) < 0.03);
  assert.ok(Math.abs(sn2 / n - 1) < 0.05);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 5000; i++) counts[rng.int(5)]++;
  assert.ok(counts.every((k) => k > 850 && k < 1150));
  assert.deepEqual(rng.shuffle([1, 2, 3, 4, 5]).sort(), [1, 2, 3, 4, 5]);
});
