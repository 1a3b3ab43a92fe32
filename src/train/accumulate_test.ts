import assert from "node:assert/strict";
import { ReLU } from "../nn/activation.ts";
import { Conv2D } from "../nn/conv2d.ts";
import { Flatten } from "../nn/flatten.ts";
import { Linear } from "../nn/linear.ts";
import { crossEntropy } from "../nn/loss.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { contiguous, type Tensor, zeros } from "../tensor.ts";
import { GradientSum, microBatches } from "./accumulate.ts";

Deno.test("microBatches: consecutive slices of nearly equal size that share the batch's memory", () => {
  const x = new Rng(1).fillUniform(zeros([10, 2, 3, 3], "float32"), -1, 1);
  const y = Uint8Array.from({ length: 10 }, (_, i) => i);
  const parts = microBatches(x, y, 4);
  assert.deepEqual(parts.map((p) => p.x.shape), [[3, 2, 3, 3], [3, 2, 3, 3], [2, 2, 3, 3], [
    2,
    2,
    3,
    3,
  ]]);
  assert.deepEqual(parts.flatMap((p) => [...p.y]), [...y]);
  assert.deepEqual(parts.flatMap((p) => [...p.x.data]), [...x.data]);
  assert.equal(parts[1].x.data.buffer, x.data.buffer);
  // One part is the batch itself; more parts than images give one image each.
  assert.equal(microBatches(x, y, 1)[0].x, x);
  assert.deepEqual(
    microBatches(x, y.subarray(0, 10), 12).map((p) => p.y.length),
    Array(10).fill(1),
  );
});

/** A float64 network without BatchNorm: its batch gradient is the mean of its images'. */
function network(): Sequential {
  const rng = new Rng(7);
  return new Sequential(
    new Conv2D(2, 3, 3, 1, { padding: 1, rng }),
    new ReLU(),
    new Flatten(),
    new Linear(27, 4, { rng }),
  );
}

function gradients(model: Sequential): number[][] {
  return model.parameters().map((p) => [...p.grad.data]);
}

function backward(model: Sequential, x: Tensor, y: Uint8Array): void {
  model.backward(crossEntropy(contiguous(model.forward(x)), y, { labelSmoothing: 0.2 }).grad);
}

Deno.test("GradientSum: passes weighted by their share give the whole batch's mean gradient", () => {
  const x = new Rng(2).fillUniform(zeros([7, 2, 3, 3]), -1, 1);
  const y = Uint8Array.from([0, 1, 2, 3, 0, 1, 2]);
  const whole = network();
  backward(whole, x, y);

  const model = network();
  const sum = new GradientSum(model.parameters());
  for (const part of microBatches(x, y, 3)) {
    backward(model, part.x, part.y);
    sum.add(part.y.length / y.length);
  }
  // Before `store`, the last backward's gradients (its own pass's) are what the layers hold.
  assert.notDeepEqual(gradients(model), gradients(whole));
  sum.store();
  const got = gradients(model).flat(), want = gradients(whole).flat();
  assert.equal(got.length, want.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-15, `${i}: ${g} vs ${want[i]}`));

  // The next step's sum starts afresh: one pass of the whole batch stores its gradients exactly.
  backward(model, x, y);
  sum.add(1);
  sum.store();
  assert.deepEqual(gradients(model), gradients(whole));
});

Deno.test("GradientSum leaves frozen parameters alone", () => {
  const model = network();
  const conv = model.layers[0] as Conv2D;
  conv.requiresGrad = false;
  const sum = new GradientSum(model.parameters());
  backward(model, new Rng(3).fillUniform(zeros([2, 2, 3, 3]), -1, 1), Uint8Array.from([0, 1]));
  sum.add(0.5);
  conv.dW.data.fill(5); // whatever a frozen layer holds, the sum does not write it
  sum.store();
  assert.ok(conv.dW.data.every((v) => v === 5));
  assert.ok((model.layers[3] as Linear).dW.data.some((v) => v !== 0));
});
