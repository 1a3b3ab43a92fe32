import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { maxAbsDiff, zeros } from "../tensor.ts";
import { ShapeError } from "./module.ts";
import { BatchNorm2D } from "./norm.ts";
import { fixtureTests } from "./testing.ts";

fixtureTests("batchnorm2d", "BatchNorm2D");

Deno.test("BatchNorm2D starts as PyTorch does and exposes running stats as buffers", () => {
  const bn = new BatchNorm2D(3);
  assert.deepEqual([...bn.weight!.data], [1, 1, 1]);
  assert.deepEqual([...bn.bias!.data], [0, 0, 0]);
  assert.equal(bn.eps, 1e-5);
  assert.equal(bn.momentum, 0.1);
  assert.deepEqual(bn.parameters().map((p) => p.name), ["weight", "bias"]);
  assert.deepEqual(bn.buffers().map((b) => b.name), ["running_mean", "running_var"]);
  assert.equal(bn.buffers()[0].value, bn.runningMean);
  assert.deepEqual([...bn.runningVar.data], [1, 1, 1]);
  assert.deepEqual(new BatchNorm2D(3, { affine: false }).parameters(), []);
  assert.ok(new BatchNorm2D(3, { dtype: "float32" }).runningMean.data instanceof Float32Array);
});

Deno.test("BatchNorm2D updates running stats only in training mode", () => {
  const bn = new BatchNorm2D(2);
  const x = new Rng(1).fillNormal(zeros([3, 2, 4, 4]), 5, 2);
  bn.eval();
  const before = [...bn.runningMean.data, ...bn.runningVar.data];
  const y = bn.forward(x);
  assert.deepEqual([...bn.runningMean.data, ...bn.runningVar.data], before);
  // Eval with mean 0 and variance 1 is (nearly) the identity.
  assert.ok(maxAbsDiff(y, x) < 1e-4);
  bn.train();
  bn.forward(x);
  assert.notDeepEqual([...bn.runningMean.data], [0, 0]);
});

Deno.test("BatchNorm2D rejects bad shapes with errors that name the layer and shapes", () => {
  const bn = new BatchNorm2D(4);
  assert.throws(
    () => bn.forward(zeros([2, 3, 5, 5])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("BatchNorm2D(4)") &&
      e.message.includes("(batch, 4, height, width)") && e.message.includes("(2, 3, 5, 5)"),
  );
  assert.throws(() => bn.forward(zeros([1, 4, 1, 1])), /more than one value per channel/);
  bn.eval();
  assert.deepEqual(bn.forward(zeros([1, 4, 1, 1])).shape, [1, 4, 1, 1]); // fine in eval
  assert.throws(() => bn.forward(zeros([1, 4, 2, 2], "float32")), /float32/);
  assert.throws(() => new BatchNorm2D(4, { momentum: 2 }), /momentum in \[0, 1\]/);
});

Deno.test("BatchNorm2D's batch variance stays accurate when the mean dwarfs the spread", () => {
  // Mean 1e6, standard deviation 1: E[x²] − E[x]² would lose ~1e-4 of the variance here.
  const x = new Rng(2).fillNormal(zeros([4, 2, 3, 5]), 1e6, 1);
  const bn = new BatchNorm2D(2, { momentum: 1 }); // the running stats become the batch's
  const y = bn.forward(x);
  const [batch, C, H, W] = x.shape, area = H * W, count = batch * area;
  for (let c = 0; c < C; c++) {
    const values = [];
    for (let n = 0; n < batch; n++) {
      values.push(...x.data.subarray((n * C + c) * area, (n * C + c + 1) * area));
    }
    const mu = values.reduce((a, v) => a + v, 0) / count;
    const variance = values.reduce((a, v) => a + (v - mu) ** 2, 0) / count;
    assert.ok(Math.abs(bn.runningMean.data[c] - mu) < 1e-9);
    assert.ok(Math.abs(bn.runningVar.data[c] / (variance * count / (count - 1)) - 1) < 1e-12);
    const yc = (x.data[c * area] - mu) / Math.sqrt(variance + bn.eps);
    assert.ok(Math.abs(y.data[c * area] - yc) < 1e-9);
  }
});
