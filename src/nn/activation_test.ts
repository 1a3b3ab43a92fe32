import assert from "node:assert/strict";
import { Rng } from "../random.ts";
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

Deno.test("ReLU in float32 (a branch-free mask on the bits) keeps `x > 0` on every value", () => {
  const special = [0, -0, 1, -1, Infinity, -Infinity, NaN, -NaN, 1e-45, -1e-45, 3.4e38, -3.4e38];
  const x = Float32Array.from([...special, ...Array.from({ length: 64 }, () => 0)]);
  new Rng(3).fillNormal(tensor(x.subarray(special.length), [64]));
  // Bit patterns at the mask's edges: a negative NaN, the smallest-payload NaN after +∞,
  // the largest finite float32, and the largest-payload positive NaN.
  const bits = new Int32Array(x.buffer);
  bits[7] = -1;
  bits.set([0x7f800001, 0x7f7fffff, 0x7fffffff], special.length);
  const d = Float32Array.from(x, (_, i) => i + 1);
  const relu = new ReLU();
  const y = relu.forward(tensor(x, [x.length])).data;
  const dx = relu.backward(tensor(d, [d.length])).data;
  for (let i = 0; i < x.length; i++) {
    assert.ok(Object.is(y[i], x[i] > 0 ? x[i] : 0), `forward at ${x[i]}`);
    assert.ok(Object.is(dx[i], x[i] > 0 ? d[i] : 0), `backward at ${x[i]}`);
  }
});
