import assert from "node:assert/strict";
import { type Gemm, gemmReference, setGemm } from "../kernels/gemm.ts";
import { Rng } from "../random.ts";
import { zeros } from "../tensor.ts";
import { Linear } from "./linear.ts";
import { ShapeError } from "./module.ts";
import { fixtureTests } from "./testing.ts";

fixtureTests("linear", "Linear");

Deno.test("Linear does its arithmetic through gemm", () => {
  let calls = 0;
  const previous = setGemm(
    ((...args) => {
      calls++;
      gemmReference(...args);
    }) as Gemm,
  );
  try {
    const fc = new Linear(4, 3);
    fc.backward(zeros(fc.forward(zeros([5, 4])).shape));
    assert.equal(calls, 3);
  } finally {
    setGemm(previous);
  }
});

Deno.test("Linear initialises like PyTorch: uniform within ±1/sqrt(in), seeded", () => {
  const a = new Linear(20, 7, { rng: new Rng(3) }), b = new Linear(20, 7, { rng: new Rng(3) });
  assert.deepEqual(a.W.shape, [7, 20]);
  assert.deepEqual([...a.W.data], [...b.W.data]);
  assert.ok(a.W.data.every((w) => Math.abs(w) <= 1 / Math.sqrt(20)));
  assert.ok(a.b!.data.every((w) => Math.abs(w) <= 1 / Math.sqrt(20)));
  assert.deepEqual(new Linear(3, 2, { bias: false }).parameters().map((p) => p.name), ["weight"]);
});

Deno.test("Linear rejects bad shapes with errors that name the layer and shapes", () => {
  const fc = new Linear(16, 10);
  assert.throws(
    () => fc.forward(zeros([4, 15])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("Linear(16, 10)") &&
      e.message.includes("(batch, 16)") && e.message.includes("(4, 15)"),
  );
  assert.throws(() => fc.forward(zeros([4, 16], "float32")), /float32/);
  assert.throws(() => fc.backward(zeros([4, 10])), /before forward/);
  fc.forward(zeros([4, 16]));
  assert.throws(() => fc.backward(zeros([4, 9])), /expected delta of shape \(4, 10\)/);
});
