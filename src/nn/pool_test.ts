import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { tensor, zeros } from "../tensor.ts";
import { ShapeError } from "./module.ts";
import { AvgPool2D, GlobalAvgPool2D, MaxPool2D } from "./pool.ts";
import { fixtureTests } from "./testing.ts";

fixtureTests("maxpool2d", "MaxPool2D");
fixtureTests("avgpool2d", "AvgPool2D");
fixtureTests("global_avg_pool", "GlobalAvgPool2D");

Deno.test("MaxPool2D sends the gradient to the first maximum of a tied window", () => {
  const pool = new MaxPool2D(2);
  const y = pool.forward(tensor(new Float64Array([1, 1, 1, 1]), [1, 1, 2, 2]));
  assert.deepEqual([...y.data], [1]);
  assert.deepEqual([...pool.backward(tensor(new Float64Array([5]), [1, 1, 1, 1])).data], [
    5,
    0,
    0,
    0,
  ]);
});

Deno.test("MaxPool2D propagates NaN, as PyTorch does", () => {
  const y = new MaxPool2D(2).forward(tensor(new Float64Array([1, NaN, 3, 2]), [1, 1, 2, 2]));
  assert.ok(Number.isNaN(y.data[0]));
});

Deno.test("pools keep the input's dtype", () => {
  for (const pool of [new MaxPool2D(2), new AvgPool2D(2), new GlobalAvgPool2D()]) {
    const y = pool.forward(zeros([1, 2, 4, 4], "float32"));
    assert.ok(y.data instanceof Float32Array);
    assert.ok(pool.backward(zeros(y.shape, "float32")).data instanceof Float32Array);
  }
});

Deno.test("pools reject bad shapes with errors that name the layer and shapes", () => {
  assert.throws(
    () => new MaxPool2D(3, 2).forward(zeros([2, 4, 2, 5])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("MaxPool2D(3, 2, 0)") &&
      e.message.includes("(2, 4, 2, 5)") && e.message.includes("smaller than the kernel (3, 3)"),
  );
  assert.throws(
    () => new AvgPool2D(2).forward(zeros([4, 8, 8])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("AvgPool2D(2, 2, 0)") &&
      e.message.includes("(batch, channels, height, width), got (4, 8, 8)"),
  );
  assert.throws(() => new GlobalAvgPool2D().forward(zeros([4, 8])), /GlobalAvgPool2D\(\)/);
  assert.throws(() => new MaxPool2D(2, 2, 2), /padding must be at most half the kernel size/);
  const pool = new MaxPool2D(2);
  pool.forward(zeros([1, 1, 4, 4]));
  assert.throws(() => pool.backward(zeros([1, 1, 4, 4])), /expected delta of shape \(1, 1, 2, 2\)/);
});

Deno.test("MaxPool2D's 2×2 stride-2 path keeps the general rule: ties, NaNs, odd and even sizes", () => {
  const rng = new Rng(11);
  // Odd: the last row and column are dropped (dx scattered); even: the windows tile the input
  // (dx written window by window, every element, so a reused buffer holds nothing stale).
  for (const [N, C, H, W] of [[2, 3, 7, 9], [2, 3, 8, 10]]) {
    const [outH, outW] = [Math.floor(H / 2), Math.floor(W / 2)];
    // Few distinct values so windows tie; a few NaNs.
    const x = tensor(
      Float64Array.from({ length: N * C * H * W }, () => rng.random() < 0.05 ? NaN : rng.int(3)),
      [N, C, H, W],
    );
    const pool = new MaxPool2D(2);
    const y = pool.forward(x);
    assert.deepEqual(y.shape, [N, C, outH, outW]);
    pool.backward(tensor(new Float64Array(y.size).fill(-7), y.shape));
    const delta = tensor(Float64Array.from({ length: y.size }, (_, i) => i + 1), y.shape);
    const dx = pool.backward(delta);
    const expected = new Float64Array(x.size);
    for (let p = 0, o = 0; p < N * C; p++) {
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++, o++) {
          // PyTorch's loop: `v > best || isnan(v)` over the window in row-major order.
          let best = -Infinity, at = -1;
          for (const [h, w] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
            const i = p * H * W + (2 * oh + h) * W + 2 * ow + w;
            if (x.data[i] > best || Number.isNaN(x.data[i])) [best, at] = [x.data[i], i];
          }
          assert.ok(Object.is(y.data[o], best), `${H}×${W}: output ${o}`);
          expected[at] += o + 1;
        }
      }
    }
    assert.deepEqual([...dx.data], [...expected], `${H}×${W}`);
  }
});
