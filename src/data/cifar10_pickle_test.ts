import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES_DIR, loadFixtures } from "../../fixtures/mod.ts";
import { UserError } from "../errors.ts";
import { maxAbsDiff } from "../tensor.ts";
import { CIFAR10_CLASSES } from "./cifar10.ts";
import {
  parseCifar10Pickle,
  readCifar10Pickle,
  readCifar10PickleClasses,
} from "./cifar10_pickle.ts";
import { toTensor } from "./to_tensor.ts";
import { tempDir } from "../testing.ts";

const ROOT = join(FIXTURES_DIR, "cifar_pickle");
const FOLDER = join(ROOT, "cifar-10-batches-py");

Deno.test("readCifar10Pickle reads Python 2 pickles; ToTensor matches torch's", async () => {
  const fixtures = await loadFixtures("cifar_pickle");
  const byName = new Map(fixtures.cases.map((c) => [c.name, c]));
  const train = await readCifar10Pickle(FOLDER, "train");
  const test = await readCifar10Pickle(FOLDER, "test");
  assert.equal(train.length, 10);
  assert.equal(test.length, 2);
  const names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"];
  for (const [k, name] of [...names, "test_batch"].entries()) {
    const c = byName.get(name)!;
    const set = k < 5 ? train : test;
    const at = k < 5 ? 2 * k : 0;
    const images = set.images.subarray(at * 3072, (at + 2) * 3072);
    assert.deepEqual([...set.labels.subarray(at, at + 2)], c.args.labels, name);
    assert.equal(maxAbsDiff(toTensor(images, 2), fixtures.tensor(c, "x")), 0, name);
  }
  // bytes 0x80-0x9f differ between latin-1 and windows-1252; the generator planted some
  assert.deepEqual([...train.images.subarray(0, 4)], [0, 128, 255, 0x80]);
  assert.deepEqual([...test.images.subarray(0, 4)], [0, 128, 255, 0x85]);
  assert.deepEqual(await readCifar10PickleClasses(FOLDER), CIFAR10_CLASSES);
});

Deno.test("parseCifar10Pickle reads Python 3 protocols 2, 4 (bytes keys) and 5", async () => {
  const reference = parseCifar10Pickle(await Deno.readFile(join(FOLDER, "data_batch_1")), "py2");
  for (const protocol of [2, 4, 5]) {
    const file = join(ROOT, `data_batch_1.protocol${protocol}.pkl`);
    const set = parseCifar10Pickle(await Deno.readFile(file), file);
    assert.deepEqual(set, reference, `protocol ${protocol}`);
  }
});

Deno.test("parseCifar10Pickle names a truncated or foreign file", async () => {
  const bytes = await Deno.readFile(join(FOLDER, "data_batch_2"));
  assert.throws(() => parseCifar10Pickle(bytes.subarray(0, 3000), "data_batch_2"), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(
      e.message,
      /^data_batch_2 is not a CIFAR-10 Python batch \(it is not a readable pickle/,
    );
    return true;
  });
  // batches.meta is a pickled dict, but without data
  const meta = await Deno.readFile(join(FOLDER, "batches.meta"));
  assert.throws(
    () => parseCifar10Pickle(meta, "meta"),
    /its `data` is not a 2-D uint8 numpy array/,
  );
  // a pickle naming any other global is refused, not run: pickle.dumps(os.system) protocol 2
  const evil = Uint8Array.from([
    0x80,
    2,
    0x63,
    ...new TextEncoder().encode("posix\nsystem\n"),
    0x71,
    0,
    0x2e,
  ]);
  assert.throws(() => parseCifar10Pickle(evil, "evil.pkl"), /refusing to unpickle posix\.system/);
});

Deno.test("readCifar10Pickle names a missing batch", async () => {
  const dir = await tempDir();
  try {
    await Deno.copyFile(join(FOLDER, "test_batch"), join(dir, "test_batch"));
    assert.equal((await readCifar10Pickle(dir, "test")).length, 2);
    assert.deepEqual(await readCifar10PickleClasses(dir), CIFAR10_CLASSES);
    await assert.rejects(readCifar10Pickle(dir, "train"), /data_batch_1 is missing/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
