import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import { Rng } from "../random.ts";
import {
  augmentImages,
  drawTransform,
  type ImageTransform,
  type PaddingMode,
  transformImage,
} from "./augment.ts";
import { loadFixtures } from "../../fixtures/mod.ts";
import { maxAbsDiff, tensor } from "../tensor.ts";
import { IMAGE_BYTES } from "./cifar10.ts";
import { toTensor } from "./to_tensor.ts";

/** Two random images. */
function images(): Uint8Array {
  const rng = new Rng(3);
  return Uint8Array.from({ length: 2 * IMAGE_BYTES }, () => rng.int(256));
}

function apply(src: Uint8Array, image: number, t: ImageTransform, mode?: "reflect" | "zeros") {
  const out = new Float32Array(IMAGE_BYTES);
  transformImage(src, image, out, 0, t, mode);
  return out;
}

/** Back to bytes: x / 255 in float32 times 255 rounds to x exactly. */
const toBytes = (x: Float32Array) => Uint8Array.from(x, (v) => Math.round(v * 255));

/** Pixel (c, y, x) of a 3×32×32 image in a flat array. */
const at = (c: number, y: number, x: number) => c * 1024 + y * 32 + x;

Deno.test("transformImage with no shift and no flip is ToTensor", () => {
  const src = images();
  const out = apply(src, 1, { dx: 0, dy: 0, flip: false });
  assert.deepEqual(out, toTensor(src.subarray(IMAGE_BYTES), 1).data);
});

Deno.test("flipping twice is the identity; one flip mirrors each row", () => {
  const src = images();
  const once = apply(src, 0, { dx: 0, dy: 0, flip: true });
  assert.equal(
    once[at(2, 5, 0)],
    src[at(2, 5, 31)] / 255 === 0 ? 0 : Math.fround(src[at(2, 5, 31)] / 255),
  );
  assert.equal(once[at(0, 7, 3)], Math.fround(src[at(0, 7, 28)] / 255));
  const twice = apply(toBytes(once), 0, { dx: 0, dy: 0, flip: true });
  assert.deepEqual(toBytes(twice), src.subarray(0, IMAGE_BYTES));
});

Deno.test("a shift moves pixels and fills the border by reflection or zeros", () => {
  const src = images();
  const t = { dx: 2, dy: -1, flip: false };
  const reflect = toBytes(apply(src, 0, t, "reflect"));
  const zeros = toBytes(apply(src, 0, t, "zeros"));
  for (const c of [0, 1, 2]) {
    // inside: out(y, x) = in(y + dy, x + dx)
    assert.equal(reflect[at(c, 10, 4)], src[at(c, 9, 6)]);
    assert.equal(zeros[at(c, 10, 4)], src[at(c, 9, 6)]);
    // row 0 reads row -1: reflected to row 1, or zero
    assert.equal(reflect[at(c, 0, 4)], src[at(c, 1, 6)]);
    assert.equal(zeros[at(c, 0, 4)], 0);
    // column 31 reads column 33: reflected to 29 (the edge is not repeated), or zero
    assert.equal(reflect[at(c, 10, 31)], src[at(c, 9, 29)]);
    assert.equal(reflect[at(c, 10, 30)], src[at(c, 9, 30)]);
    assert.equal(zeros[at(c, 10, 30)], 0);
  }
  // flip after the shift, as RandomCrop then RandomHorizontalFlip: out(y, x) = in(y+dy, 31-x+dx)
  const flipped = toBytes(apply(src, 0, { ...t, flip: true }, "zeros"));
  assert.equal(flipped[at(1, 10, 4)], src[at(1, 9, 29)]);
  assert.equal(flipped[at(1, 10, 0)], 0);
});

Deno.test("drawTransform stays within the padding, flips about half, and repeats per seed", () => {
  const rng = new Rng(5);
  const seen = new Set<number>();
  let flips = 0;
  for (let i = 0; i < 2000; i++) {
    const t = drawTransform(rng, { padding: 2 });
    assert.ok(Math.abs(t.dx) <= 2 && Math.abs(t.dy) <= 2);
    seen.add(t.dx);
    if (t.flip) flips++;
  }
  assert.deepEqual([...seen].sort((a, b) => a - b), [-2, -1, 0, 1, 2]);
  assert.ok(flips > 900 && flips < 1100, `${flips} flips`);
  assert.deepEqual(drawTransform(new Rng(1), { padding: 0, flip: false }), {
    dx: 0,
    dy: 0,
    flip: false,
  });
  assert.throws(() => drawTransform(new Rng(1), { padding: 32 }), UserError);
});

Deno.test("augmentImages fills a batch in order, the same for the same generator state", () => {
  const src = images();
  const a = new Float32Array(3 * IMAGE_BYTES);
  const b = new Float32Array(3 * IMAGE_BYTES);
  augmentImages(src, [1, 0, 1], a, new Rng(9));
  augmentImages(src, [1, 0, 1], b, new Rng(9));
  assert.deepEqual(a, b);
  const rng = new Rng(9);
  const first = apply(src, 1, drawTransform(rng), "reflect");
  assert.deepEqual(a.subarray(0, IMAGE_BYTES), first);
  const c = new Float32Array(3 * IMAGE_BYTES);
  augmentImages(src, [1, 0, 1], c, new Rng(10));
  assert.notDeepEqual(a, c);
  assert.ok(a.every((v) => v >= 0 && v <= 1));
});

Deno.test("transformImage matches torch's pad, crop and flip for both padding modes", async () => {
  const fixtures = await loadFixtures("cifar_augment");
  assert.equal(fixtures.cases.length, 14);
  const src = Uint8Array.from(fixtures.tensor(fixtures.cases[0], "image", [3, 32, 32]).data);
  for (const c of fixtures.cases) {
    const { dx, dy, flip, mode } = c.args as {
      dx: number;
      dy: number;
      flip: boolean;
      mode: PaddingMode;
    };
    const out = apply(src, 0, { dx, dy, flip }, mode);
    assert.equal(maxAbsDiff(tensor(out, [3, 32, 32]), fixtures.tensor(c, "y")), 0, c.name);
  }
});
