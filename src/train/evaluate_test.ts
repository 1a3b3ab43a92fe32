import assert from "node:assert/strict";
import { Flatten } from "../nn/flatten.ts";
import { Linear } from "../nn/linear.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { tensor } from "../tensor.ts";
import { evaluate, flipHorizontal, shiftImages, ttaViews } from "./evaluate.ts";

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

Deno.test("shiftImages moves the picture down and right, repeating the top row and left column", () => {
  const x = tensor(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 1, 3, 3]);
  assert.deepEqual([...shiftImages(x, 1).data], [1, 1, 2, 1, 1, 2, 4, 4, 5]);
  assert.deepEqual([...shiftImages(x, 0).data], [...x.data]);
});

Deno.test("ttaViews gives the images, the shifted ones, and the mirrors of both", () => {
  const x = tensor(Float32Array.from([1, 2, 3, 4]), [1, 1, 2, 2]);
  assert.deepEqual(ttaViews(x, {}).map((v) => [...v.data]), [[1, 2, 3, 4]]);
  assert.deepEqual(ttaViews(x, { flip: true, shift: 1 }).map((v) => [...v.data]), [
    [1, 2, 3, 4],
    [2, 1, 4, 3],
    [1, 1, 1, 1],
    [1, 1, 1, 1],
  ]);
  assert.deepEqual(ttaViews(x, { shift: 1 }).length, 2);
});
