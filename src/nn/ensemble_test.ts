import assert from "node:assert/strict";
import { tensor } from "../tensor.ts";
import { Ensemble } from "./ensemble.ts";
import { Linear } from "./linear.ts";
import { ShapeError } from "./module.ts";
import { Scale } from "./scale.ts";
import { Sequential } from "./sequential.ts";

/** `Linear(2, 2)` without bias and with weight `w` (row-major), float64. */
function linear(w: number[]): Linear {
  const fc = new Linear(2, 2, { bias: false });
  fc.W.data.set(w);
  return fc;
}

Deno.test("Ensemble averages its members' outputs and splits the gradient between them", () => {
  const a = linear([1, 2, 3, 4]), b = linear([0, -2, 1, 0]);
  const both = new Ensemble([a, new Sequential(b, new Scale(3))]);
  const x = tensor(new Float64Array([1, 1, 2, -1]), [2, 2]);
  // a(x) = [[3, 7], [0, 2]]; 3·b(x) = [[-6, 3], [6, 6]].
  assert.deepEqual([...both.forward(x).data], [-1.5, 5, 3, 4]);
  const dx = both.backward(tensor(new Float64Array([2, 0, 0, 4]), [2, 2]));
  // a gets delta/2, so dx gets (delta/2)·Wa; b, behind the Scale, gets 3·delta/2.
  assert.deepEqual([...dx.data], [1 + 0, 2 - 6, 6 + 6, 8 + 0]);
  // Each member's weight gradient is its own, for its share of delta: (delta/2)ᵀ·x.
  assert.deepEqual([...a.dW.data], [1, 1, 4, -2]);
  assert.deepEqual([...b.dW.data], [3, 3, 12, -6]);
});

Deno.test("Ensemble names its members' parameters by index, and passes train/eval on", () => {
  const both = new Ensemble([linear([1, 0, 0, 1]), new Sequential(linear([1, 0, 0, 1]))]);
  assert.deepEqual(both.parameters().map((p) => p.name), ["0.weight", "1.0.weight"]);
  both.eval();
  assert.equal(both.members[1].training, false);
});

Deno.test("Ensemble refuses no members, and members whose outputs differ in shape", () => {
  assert.throws(() => new Ensemble([]), /Ensemble: needs at least one member/);
  const mixed = new Ensemble([linear([1, 0, 0, 1]), new Linear(2, 3)]);
  assert.throws(
    () => mixed.forward(tensor(new Float64Array(2), [1, 2])),
    (e) =>
      e instanceof ShapeError &&
      /member 1 returned \(1, 3\) but member 0 returned \(1, 2\)/.test(e.message),
  );
});
