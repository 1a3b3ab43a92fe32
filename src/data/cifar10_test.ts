import assert from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import {
  CIFAR10_CLASSES,
  IMAGE_BYTES,
  parseCifar10Bin,
  readCifar10Bin,
  readCifar10BinClasses,
  RECORD_BYTES,
} from "./cifar10.ts";
import { makeRecords, writeBinFolder } from "./fake_cifar10.ts";
import { tempDir } from "../testing.ts";

Deno.test("parseCifar10Bin splits labels from NCHW pixels", () => {
  const set = parseCifar10Bin(makeRecords(3, 4), "x.bin");
  assert.equal(set.length, 3);
  assert.deepEqual([...set.labels], [4, 5, 6]);
  assert.equal(set.images.length, 3 * IMAGE_BYTES);
  // image 2, green plane (channel 1), row 3, column 5: pixel index 1024 + 3 * 32 + 5
  const p = 1024 + 3 * 32 + 5;
  assert.equal(set.images[2 * IMAGE_BYTES + p], (2 * 7 + p) % 256);
});

Deno.test("parseCifar10Bin names a truncated file", () => {
  const bytes = makeRecords(2).subarray(0, RECORD_BYTES + 100);
  assert.throws(() => parseCifar10Bin(bytes, "data_batch_3.bin"), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /data_batch_3\.bin is truncated or corrupt \(3173 bytes/);
    return true;
  });
  assert.throws(() => parseCifar10Bin(new Uint8Array(0), "empty.bin"), UserError);
});

Deno.test("parseCifar10Bin names a file with a label above 9", () => {
  const bytes = makeRecords(3);
  bytes[2 * RECORD_BYTES] = 10;
  assert.throws(
    () => parseCifar10Bin(bytes, "test_batch.bin"),
    /test_batch\.bin is corrupt \(record 2 has label 10/,
  );
});

Deno.test("readCifar10Bin reads train (five batches, in order) and test", async () => {
  const dir = await tempDir();
  try {
    await writeBinFolder(dir, 2);
    const train = await readCifar10Bin(dir, "train");
    assert.equal(train.length, 10);
    assert.deepEqual([...train.labels], [0, 1, 1, 2, 2, 3, 3, 4, 4, 5]);
    assert.equal(train.images[3 * IMAGE_BYTES + 10], (1 * 7 + 10) % 256); // batch 2, image 1
    const test = await readCifar10Bin(dir, "test");
    assert.deepEqual([...test.labels], [5, 6]);
    assert.deepEqual(await readCifar10BinClasses(dir), CIFAR10_CLASSES);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readCifar10Bin says which folder or file is missing and how to fix it", async () => {
  const dir = await tempDir();
  try {
    await assert.rejects(readCifar10Bin(join(dir, "nope"), "test"), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /nope does not exist; point --data/);
      return true;
    });
    await writeBinFolder(dir, 1);
    await Deno.remove(join(dir, "data_batch_4.bin"));
    await assert.rejects(readCifar10Bin(dir, "train"), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /data_batch_4\.bin is missing; place the CIFAR-10 files/);
      return true;
    });
    await Deno.writeFile(join(dir, "data_batch_4.bin"), makeRecords(1));
    await Deno.writeFile(join(dir, "data_batch_2.bin"), makeRecords(2));
    await assert.rejects(
      readCifar10Bin(dir, "train"),
      /data_batch_1\.bin is truncated \(1 images where the other training batches have 2\)/,
    );
    await Deno.writeTextFile(join(dir, "batches.meta.txt"), "cat\ndog\n");
    await assert.rejects(readCifar10BinClasses(dir), /lists 2 class names, not 10/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
