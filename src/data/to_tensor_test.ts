import assert from "node:assert/strict";
import { IMAGE_BYTES } from "./cifar10.ts";
import { imageSetToTensor, toTensor } from "./to_tensor.ts";

Deno.test("toTensor scales bytes by 1/255 into float32 NCHW", () => {
  const images = new Uint8Array(2 * IMAGE_BYTES);
  for (let i = 0; i < images.length; i++) images[i] = i % 256;
  const x = toTensor(images, 2);
  assert.deepEqual(x.shape, [2, 3, 32, 32]);
  assert.ok(x.data instanceof Float32Array);
  assert.equal(x.data[0], 0);
  assert.equal(x.data[255], 1);
  // float32 division of 51 by 255 rounds once, to the float32 nearest 0.2
  assert.equal(x.data[51], Math.fround(0.2));
  assert.equal(x.get(1, 2, 31, 31), Math.fround(((2 * IMAGE_BYTES - 1) % 256) / 255));
});

Deno.test("toTensor reuses a buffer and rejects too few bytes", () => {
  const out = new Float32Array(3 * IMAGE_BYTES);
  const x = toTensor(new Uint8Array(IMAGE_BYTES).fill(255), 1, out);
  assert.equal(x.data.buffer, out.buffer);
  assert.equal(x.size, IMAGE_BYTES);
  assert.throws(() => toTensor(new Uint8Array(10), 1), RangeError);
});

Deno.test("imageSetToTensor takes the first count images and labels", () => {
  const set = {
    images: new Uint8Array(3 * IMAGE_BYTES).fill(51),
    labels: new Uint8Array([7, 8, 9]),
    length: 3,
  };
  const { x, y } = imageSetToTensor(set, 2);
  assert.deepEqual(x.shape, [2, 3, 32, 32]);
  assert.deepEqual([...y], [7, 8]);
});
