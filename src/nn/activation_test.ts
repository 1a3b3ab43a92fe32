import assert from "node:assert/strict";
import { tensor, zeros } from "../tensor.ts";
import { GELU, ReLU } from "./activation.ts";
import { ShapeError } from "./module.ts";
import { fixtureTests } from "./testing.ts";

fixtureTests("relu", "ReLU");
fixtureTests("gelu", "GELU");

Deno.test("ReLU and GELU keep the input's dtype and check delta's shape", () => {
  for (const layer of [new ReLU(), new GELU()]) {
    const y = layer.forward(zeros([2, 3], "float32"));
    assert.ok(y.data instanceof Float32Array);
    assert.ok(layer.backward(zeros([2, 3], "float32")).data instanceof Float32Array);
    assert.throws(() => layer.backward(zeros([3, 2])), ShapeError);
  }
  assert.throws(() => new ReLU().backward(zeros([1])), /ReLU\(\): backward called before forward/);
});

Deno.test("GELU is the exact erf form, not the tanh approximation", () => {
  const y = new GELU().forward(tensor(new Float64Array([-1, 0, 1, 3]), [4]));
  // x·Φ(x) with Φ(1) = 0.8413447460685429; the tanh form gives 0.8411919906082768.
  assert.ok(Math.abs(y.data[2] - 0.8413447460685429) < 1e-15);
  assert.ok(Math.abs(y.data[0] + 0.15865525393145707) < 1e-15);
  assert.equal(y.data[1], 0);
});
