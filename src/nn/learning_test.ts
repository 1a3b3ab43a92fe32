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
import { CrossEntropyLoss } from "./loss.ts";
import { SGD } from "../optim/sgd.ts";

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

Deno.test("a tiny float32 conv net learns a separable problem: cross-entropy, SGD, BN, dropout", () => {
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
  const criterion = new CrossEntropyLoss();
  const optimizer = new SGD(net, { lr: 0.1, momentum: 0.9 });
  const step = (x: Tensor, labels: number[]): number => {
    optimizer.zeroGrad();
    const loss = criterion.forward(net.forward(x), labels);
    net.backward(criterion.backward());
    optimizer.step();
    return loss;
  };
  const losses: number[] = [];
  for (let i = 0; i < 120; i++) {
    const { x, labels } = bars(rng, 16);
    losses.push(step(x, labels));
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
