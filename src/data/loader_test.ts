import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import { IMAGE_BYTES, type ImageSet, parseCifar10Bin } from "./cifar10.ts";
import { makeRecords } from "./fake_cifar10.ts";
import { Cifar10Loader, mixSeed } from "./loader.ts";

/** 10 images whose first pixel is the image's index. */
function numbered(): ImageSet {
  const set = parseCifar10Bin(makeRecords(10), "numbered");
  for (let i = 0; i < set.length; i++) set.images[i * IMAGE_BYTES] = i;
  return set;
}

Deno.test("an unshuffled, unaugmented loader gives ToTensor batches in order", () => {
  const set = numbered();
  const loader = new Cifar10Loader(set, { batchSize: 4, shuffle: false });
  assert.equal(loader.batchesPerEpoch, 3);
  const batches = [...loader.batches(0)];
  assert.deepEqual(batches.map((b) => b.x.shape), [[4, 3, 32, 32], [4, 3, 32, 32], [2, 3, 32, 32]]);
  assert.deepEqual(batches.map((b) => [...b.y]), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(batches.map((b) => b.index), [0, 1, 2]);
  const x = batches[2].x.data;
  for (let p = 0; p < IMAGE_BYTES; p++) {
    assert.equal(x[IMAGE_BYTES + p], Math.fround(set.images[9 * IMAGE_BYTES + p] / 255));
  }
  assert.equal(new Cifar10Loader(set, { batchSize: 4, dropLast: true }).batchesPerEpoch, 2);
  assert.equal([...new Cifar10Loader(set, { batchSize: 4, dropLast: true }).batches(0)].length, 2);
});

Deno.test("the shuffle visits every image once, differs per epoch, repeats per seed", () => {
  const loader = new Cifar10Loader(numbered(), { batchSize: 3, seed: 4 });
  const order0 = loader.epochOrder(0);
  assert.deepEqual([...order0].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(loader.epochOrder(1), order0);
  assert.deepEqual(new Cifar10Loader(numbered(), { batchSize: 5, seed: 4 }).epochOrder(0), order0);
  assert.notDeepEqual(
    new Cifar10Loader(numbered(), { batchSize: 3, seed: 5 }).epochOrder(0),
    order0,
  );
  // the batches follow the order: first pixel = index / 255
  const firsts = [...loader.batches(0)].flatMap((b) =>
    Array.from(b.y, (_, i) => Math.round(b.x.data[i * IMAGE_BYTES] * 255))
  );
  assert.deepEqual(firsts, [...order0]);
});

Deno.test("resuming mid-epoch gives exactly the batches an uninterrupted run gives", () => {
  const options = { batchSize: 3, seed: 11, augment: {} };
  const full = [...new Cifar10Loader(numbered(), options).batches(2)];
  const resumed = [...new Cifar10Loader(numbered(), options).batches(2, 2)];
  assert.equal(resumed.length, 2);
  for (const [k, batch] of resumed.entries()) {
    assert.deepEqual(batch.x.data, full[k + 2].x.data);
    assert.deepEqual(batch.y, full[k + 2].y);
    assert.equal(batch.index, k + 2);
  }
  // augmentation is on: the same image differs from ToTensor in some batch or epoch
  const plain = [...new Cifar10Loader(numbered(), { ...options, augment: false }).batches(2)];
  assert.notDeepEqual(full.map((b) => b.x.data), plain.map((b) => b.x.data));
  assert.deepEqual(full.map((b) => b.y), plain.map((b) => b.y));
});

Deno.test("the loader rejects a bad batch size or padding at once", () => {
  assert.throws(() => new Cifar10Loader(numbered(), { batchSize: 0 }), UserError);
  assert.throws(
    () => new Cifar10Loader(numbered(), { batchSize: 2, augment: { padding: -1 } }),
    /padding must be an integer from 0 to 31, got -1/,
  );
});

Deno.test("mixSeed separates nearby tuples and repeats", () => {
  assert.equal(mixSeed(1, 2, 3), mixSeed(1, 2, 3));
  const seen = new Set<number>();
  for (let s = 0; s < 30; s++) for (let e = 0; e < 30; e++) seen.add(mixSeed(s, e));
  assert.equal(seen.size, 900);
  assert.notEqual(mixSeed(1, 2), mixSeed(2, 1));
});

Deno.test("the alternating flip mirrors each image in every other epoch, from a random half", () => {
  // Image i: pixel (0, 0) of the first channel is i, pixel (0, 31) is 255: column 0 of a batch
  // image says whether it came out mirrored.
  const set = numbered();
  for (let i = 0; i < set.length; i++) set.images[i * IMAGE_BYTES + 31] = 255;
  const loader = new Cifar10Loader(set, {
    batchSize: 4,
    seed: 3,
    augment: { padding: 0, flip: "alternate" },
  });
  const mirrored = (epoch: number) => {
    const flips = new Array<boolean>(set.length);
    for (const { x, y } of loader.batches(epoch)) {
      y.forEach((label, i) => flips[label] = x.data[i * IMAGE_BYTES] === 1);
    }
    return flips;
  };
  const [even, odd] = [mirrored(0), mirrored(1)];
  assert.ok(even.some((f) => f) && even.some((f) => !f), "epoch 0 mirrors some images, not all");
  assert.deepEqual(odd, even.map((f) => !f), "epoch 1 mirrors exactly the others");
  assert.deepEqual(mirrored(2), even);
  assert.deepEqual(mirrored(3), odd);
});
