import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import { IMAGE_BYTES, type ImageSet, parseCifar10Bin } from "./cifar10.ts";
import { makeRecords } from "./fake_cifar10.ts";
import { subset, trainValSplit } from "./split.ts";

/** 40 images whose first pixel is the image's index, so each can be told apart. */
function numbered(): ImageSet {
  const set = parseCifar10Bin(makeRecords(40), "numbered");
  for (let i = 0; i < set.length; i++) set.images[i * IMAGE_BYTES] = i;
  return set;
}

const ids = (s: ImageSet) => Array.from({ length: s.length }, (_, i) => s.images[i * IMAGE_BYTES]);

Deno.test("subset copies images and labels in the given order", () => {
  const set = numbered();
  const s = subset(set, [5, 2, 5]);
  assert.deepEqual(ids(s), [5, 2, 5]);
  assert.deepEqual([...s.labels], [5, 2, 5]);
  assert.deepEqual(
    s.images.subarray(IMAGE_BYTES, 2 * IMAGE_BYTES),
    set.images.subarray(2 * IMAGE_BYTES, 3 * IMAGE_BYTES),
  );
  assert.throws(() => subset(set, [40]), RangeError);
});

Deno.test("trainValSplit partitions the set, in order, the same way for the same seed", () => {
  const set = numbered();
  const { train, val } = trainValSplit(set, 10, 7);
  assert.equal(val.length, 10);
  assert.equal(train.length, 30);
  const all = [...ids(train), ...ids(val)].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 40 }, (_, i) => i));
  assert.deepEqual(ids(val), [...ids(val)].sort((a, b) => a - b));
  assert.deepEqual([...val.labels], ids(val).map((i) => i % 10));
  assert.deepEqual(trainValSplit(set, 10, 7), { train, val });
  assert.notDeepEqual(ids(trainValSplit(set, 10, 8).val), ids(val));
  assert.equal(trainValSplit(set, 0, 7).val.length, 0);
});

Deno.test("trainValSplit rejects a validation size that does not fit", () => {
  const set = numbered();
  for (const size of [-1, 40, 2.5]) {
    assert.throws(() => trainValSplit(set, size, 0), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /validation size must be an integer from 0 to 39 .* got/);
      return true;
    });
  }
});
