import assert from "node:assert/strict";
import { BatchNorm2D } from "../nn/norm.ts";
import { ReLU } from "../nn/activation.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { zeros } from "../tensor.ts";
import { recalibrateBatchNorm } from "./recalibrate.ts";

Deno.test("recalibrateBatchNorm: running statistics become the averages over the batches", () => {
  const rng = new Rng(3);
  const bn = new BatchNorm2D(2, { momentum: 0.6 });
  const model = new Sequential(bn, new ReLU());
  bn.runningMean.data.set([5, -5]);
  bn.runningVar.data.set([9, 9]);
  model.eval();
  const batches = [0, 1, 2].map((k) => rng.fillNormal(zeros([3, 2, 2, 2]), k, 1 + k));
  assert.equal(recalibrateBatchNorm(model, batches), 3);

  // Each channel's batch mean and unbiased variance, averaged over the three batches.
  for (let c = 0; c < 2; c++) {
    let meanSum = 0, varSum = 0;
    for (const x of batches) {
      const values: number[] = [];
      for (let n = 0; n < 3; n++) {
        for (let p = 0; p < 4; p++) values.push(x.data[(n * 2 + c) * 4 + p]);
      }
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      meanSum += mean;
      varSum += values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1);
    }
    assert.ok(Math.abs(bn.runningMean.data[c] - meanSum / 3) < 1e-12, `mean ${c}`);
    assert.ok(Math.abs(bn.runningVar.data[c] - varSum / 3) < 1e-12, `variance ${c}`);
  }
  assert.equal(bn.momentum, 0.6, "the momentum is restored");
  assert.equal(model.training, false, "and the mode");
  assert.equal(bn.training, false);
});
