import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { type Tensor, zeros } from "../tensor.ts";
import { ReLU } from "./activation.ts";
import { Conv2D } from "./conv2d.ts";
import { Dropout } from "./dropout.ts";
import { Flatten } from "./flatten.ts";
import { Linear } from "./linear.ts";
import { BatchNorm2D } from "./norm.ts";
import { MaxPool2D } from "./pool.ts";
import { Sequential } from "./sequential.ts";

/** `count` noisy 6×6 images: label 0 has a bright vertical bar, label 1 a horizontal one. */
function bars(rng: Rng, count: number): { x: Tensor; labels: number[] } {
  const x = rng.fillNormal(zeros([count, 1, 6, 6], "float32"), 0, 0.3);
  const labels: number[] = [];
  for (let n = 0; n < count; n++) {
    const label = rng.int(2), at = 1 + rng.int(4);
    for (let i = 0; i < 6; i++) x.data[n * 36 + (label === 0 ? i * 6 + at : at * 6 + i)] += 1;
    labels.push(label);
  }
  return { x, labels };
}

Deno.test("a tiny float32 conv net learns a separable problem with plain SGD on the layers", () => {
  const rng = new Rng(11);
  const options = { dtype: "float32", rng } as const;
  const net = new Sequential(
    new Conv2D(1, 4, 3, 1, { padding: 1, ...options }),
    new BatchNorm2D(4, { dtype: "float32" }),
    new ReLU(),
    new MaxPool2D(2),
    new Flatten(),
    new Dropout(0.1, { rng }),
    new Linear(4 * 3 * 3, 2, options),
  );
  // Half the squared error to the one-hot label, summed; its gradient is `y − target`.
  const step = (x: Tensor, labels: number[], lr: number): number => {
    const y = net.forward(x);
    const delta = zeros(y.shape, "float32");
    let loss = 0;
    for (let n = 0; n < labels.length; n++) {
      for (let k = 0; k < 2; k++) {
        const d = y.data[n * 2 + k] - (labels[n] === k ? 1 : 0);
        delta.data[n * 2 + k] = d;
        loss += 0.5 * d * d;
      }
    }
    net.backward(delta);
    for (const p of net.parameters()) {
      for (let i = 0; i < p.value.data.length; i++) {
        p.value.data[i] -= (lr / labels.length) * p.grad.data[i];
      }
    }
    return loss / labels.length;
  };
  const losses: number[] = [];
  for (let i = 0; i < 120; i++) {
    const { x, labels } = bars(rng, 16);
    losses.push(step(x, labels, 0.1));
  }
  const first = (losses[0] + losses[1] + losses[2]) / 3;
  const last = (losses[117] + losses[118] + losses[119]) / 3;
  assert.ok(last < 0.1 * first, `loss fell only from ${first} to ${last}`);

  net.eval();
  const test = bars(rng, 64);
  const y = net.forward(test.x);
  const correct =
    test.labels.filter((label, n) => (y.data[n * 2 + 1] > y.data[n * 2] ? 1 : 0) === label).length;
  assert.ok(correct >= 60, `eval accuracy ${correct}/64`);
});
