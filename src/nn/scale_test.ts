import assert from "node:assert/strict";
import { tensor } from "../tensor.ts";
import { Scale } from "./scale.ts";

Deno.test("Scale multiplies forward and backward by its factor, in the input's dtype", () => {
  const scale = new Scale(1 / 9);
  for (const Array of [Float32Array, Float64Array]) {
    const x = tensor(new Array([9, -18, 0.5, 0]), [2, 2]);
    const y = scale.forward(x);
    assert.ok(y.data instanceof Array);
    assert.deepEqual(y.shape, [2, 2]);
    assert.deepEqual([...y.data], [...new Array([1, -2, 0.5 / 9, 0])]);
    const dx = scale.backward(tensor(new Array([9, 1, -9, 2]), [2, 2]));
    assert.deepEqual([...dx.data], [...new Array([1, 1 / 9, -1, 2 / 9])]);
  }
  assert.deepEqual(scale.parameters(), []);
});

Deno.test("Scale refuses a factor that is not finite, and checks backward's shape", () => {
  assert.throws(() => new Scale(NaN), /Scale\(NaN\): factor must be finite/);
  const scale = new Scale(2);
  assert.throws(
    () => scale.backward(tensor(new Float64Array(1), [1])),
    /Scale\(\): backward called before forward/,
  );
  scale.forward(tensor(new Float64Array(4), [4]));
  assert.throws(
    () => scale.backward(tensor(new Float64Array(3), [3])),
    /expected delta of shape \(4,\), got \(3,\)/,
  );
});
