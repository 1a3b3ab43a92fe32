import assert from "node:assert/strict";
import { Flatten } from "../nn/flatten.ts";
import { Linear } from "../nn/linear.ts";
import { crossEntropy } from "../nn/loss.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { tensor } from "../tensor.ts";
import { evaluate, flipHorizontal, shiftImages, ttaLabel, ttaViews } from "./evaluate.ts";

Deno.test("flipHorizontal mirrors the last axis", () => {
  const x = tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 1, 2, 3]);
  assert.deepEqual([...flipHorizontal(x).data], [3, 2, 1, 6, 5, 4]);
});

Deno.test("evaluate counts correct predictions, keeps the model's mode, and flips", () => {
  const model = new Sequential(
    new Flatten(),
    new Linear(3072, 10, { dtype: "float32", rng: new Rng(1) }),
  );
  const n = 20;
  const images = new Uint8Array(n * 3072).map((_, i) => (i * 7919) % 256);
  const labels = new Uint8Array(n);
  const first = evaluate(model, { images, labels, length: n });
  // Label every image with the model's own prediction: accuracy must then be 1.
  const second = evaluate(model, { images, labels: first.predictions, length: n });
  assert.equal(second.accuracy, 1);
  assert.equal(first.accuracy, first.predictions.filter((p) => p === 0).length / n);
  assert.ok(model.training, "evaluate restores training mode");
  assert.ok(Number.isFinite(first.loss) && first.loss > 0);
  const flipped = evaluate(model, { images, labels, length: n }, { flip: true, batchSize: 7 });
  assert.equal(flipped.predictions.length, n);
});

Deno.test("shiftImages moves the picture, reflecting it about the border into the gap", () => {
  const x = tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3]);
  assert.deepEqual([...shiftImages(x, 1).data], [5, 4, 5, 2, 1, 2, 5, 4, 5]);
  assert.deepEqual([...shiftImages(x, -1).data], [5, 6, 5, 8, 9, 8, 5, 6, 5]);
  assert.deepEqual([...shiftImages(x, 0).data], [...x.data]);
});

Deno.test("ttaViews gives the images, both shifted copies, the mirrors of all, and their weights", () => {
  const x = tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3]);
  const only = ttaViews(x, {});
  assert.deepEqual(only.map((v) => [[...v.images.data], v.weight]), [[[...x.data], 1]]);
  const all = ttaViews(x, { flip: true, shift: 1 });
  assert.deepEqual(all.map((v) => [...v.images.data]), [
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
    [3, 2, 1, 6, 5, 4, 9, 8, 7],
    [5, 4, 5, 2, 1, 2, 5, 4, 5],
    [5, 4, 5, 2, 1, 2, 5, 4, 5],
    [5, 6, 5, 8, 9, 8, 5, 6, 5],
    [5, 6, 5, 8, 9, 8, 5, 6, 5],
  ]);
  assert.deepEqual(all.map((v) => v.weight), [1 / 4, 1 / 4, 1 / 8, 1 / 8, 1 / 8, 1 / 8]);
  assert.deepEqual(ttaViews(x, { shift: 1 }).map((v) => v.weight), [1 / 2, 1 / 4, 1 / 4]);
});

Deno.test("evaluate averages the views' logits with ttaViews' weights", () => {
  // A linear model's logits are linear in its input: the weighted mean of the views' logits
  // is the logits of the weighted mean of the views.
  const model = new Sequential(
    new Flatten(),
    new Linear(3072, 10, { dtype: "float32", rng: new Rng(2) }),
  );
  const n = 6;
  const images = new Uint8Array(n * 3072).map((_, i) => (i * 7919 + (i >> 5) * 31) % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const got = evaluate(model, { images, labels, length: n }, { flip: true, shift: 1 });
  const x = tensor(Float32Array.from(images, (v) => v / 255), [n, 3, 32, 32]);
  const mean = new Float32Array(x.size);
  for (const { images: view, weight } of ttaViews(x, { flip: true, shift: 1 })) {
    view.data.forEach((v, i) => mean[i] += weight * v);
  }
  const want = crossEntropy(model.forward(tensor(mean, x.shape)), labels).loss;
  assert.ok(Math.abs(got.loss - want) < 1e-5, `loss ${got.loss}, want ${want}`);
});

Deno.test("ttaLabel names the test-time views in words", () => {
  assert.equal(ttaLabel({ flip: true, shift: 1 }), "flip and shift ±1");
  assert.equal(ttaLabel({ shift: 2 }), "shift ±2");
  assert.equal(ttaLabel({ flip: true }), "flip");
  assert.equal(ttaLabel({}), "");
});
