import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { tensor, zeros } from "../tensor.ts";
import { Dropout } from "./dropout.ts";

function ones(n: number, dtype: "float64" | "float32" = "float64") {
  const t = zeros([n], dtype);
  t.data.fill(1);
  return t;
}

Deno.test("Dropout zeroes a fraction p and scales the rest by 1/(1-p)", () => {
  for (const p of [0.1, 0.5, 0.8]) {
    const n = 20000;
    const y = new Dropout(p, { rng: new Rng(7) }).forward(ones(n));
    const dropped = y.data.filter((v) => v === 0).length;
    // Binomial(n, p): four standard deviations.
    assert.ok(Math.abs(dropped / n - p) < 4 * Math.sqrt(p * (1 - p) / n), `p=${p}: ${dropped}`);
    assert.ok(y.data.every((v) => v === 0 || Math.abs(v - 1 / (1 - p)) < 1e-12));
    let sum = 0;
    for (const v of y.data) sum += v;
    const mean = sum / n;
    assert.ok(Math.abs(mean - 1) < 0.05, `p=${p}: mean ${mean}`);
  }
});

Deno.test("Dropout's backward applies the forward's mask", () => {
  const drop = new Dropout(0.3, { rng: new Rng(2) });
  const x = new Rng(3).fillNormal(zeros([4, 50]));
  const y = drop.forward(x);
  const delta = new Rng(4).fillNormal(zeros([4, 50]));
  const dx = drop.backward(delta);
  for (let i = 0; i < x.data.length; i++) {
    const scale = y.data[i] / x.data[i];
    assert.ok(Math.abs(dx.data[i] - scale * delta.data[i]) < 1e-12);
  }
});

Deno.test("Dropout is seeded: the same seed gives the same mask, another seed another", () => {
  const mask = (
    seed: number,
  ) => [...new Dropout(0.5, { rng: new Rng(seed) }).forward(ones(64)).data];
  assert.deepEqual(mask(1), mask(1));
  assert.notDeepEqual(mask(1), mask(2));
});

Deno.test("Dropout is the identity in eval mode and with p = 0; p = 1 drops everything", () => {
  const x = tensor(new Float32Array([1, -2, 3]), [3]);
  const drop = new Dropout(0.9).eval();
  assert.equal(drop.training, false);
  assert.deepEqual([...drop.forward(x).data], [1, -2, 3]);
  assert.deepEqual([...drop.backward(x).data], [1, -2, 3]);
  assert.deepEqual([...new Dropout(0).forward(x).data], [1, -2, 3]);
  const all = new Dropout(1).forward(x);
  assert.ok(all.data.every((v) => v === 0)); // -0 for negative inputs, as in PyTorch
  assert.ok(all.data instanceof Float32Array);
  assert.throws(() => new Dropout(1.5), /p must be a probability/);
});
