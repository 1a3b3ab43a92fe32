import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES_DIR } from "../../fixtures/mod.ts";
import { UserError } from "../errors.ts";
import { CIFAR10_CLASSES, TEST_FILE } from "./cifar10.ts";
import { createHash } from "node:crypto";
import { makeArchive, withServer, writeBinFolder } from "./fake_cifar10.ts";
import { detectCifar10, loadCifar10, loadCifar10Classes, locateCifar10 } from "./locate.ts";
import { tempDir } from "../testing.ts";

const PY_FOLDER = join(FIXTURES_DIR, "cifar_pickle", "cifar-10-batches-py");

async function withTemp(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("detectCifar10 finds either layout, as the folder or inside it", async () => {
  await withTemp(async (dir) => {
    assert.equal(await detectCifar10(dir), null);
    assert.equal(await detectCifar10(join(dir, "absent")), null);
    const bin = join(dir, "cifar-10-batches-bin");
    await writeBinFolder(bin, 1);
    const expected = { dir: bin, layout: "bin", hasTrain: true, hasTest: true };
    assert.deepEqual(await detectCifar10(dir), expected);
    assert.deepEqual(await detectCifar10(bin), expected);
    await Deno.remove(join(bin, "data_batch_1.bin"));
    assert.deepEqual(await detectCifar10(bin), { ...expected, hasTrain: false });
  });
  assert.deepEqual(await detectCifar10(join(FIXTURES_DIR, "cifar_pickle")), {
    dir: PY_FOLDER,
    layout: "py",
    hasTrain: true,
    hasTest: true,
  });
});

Deno.test("locateCifar10: --data wins over CIFAR10_DIR, which wins over the default", async () => {
  await withTemp(async (dir) => {
    const a = join(dir, "a");
    const b = join(dir, "b");
    await writeBinFolder(join(a, "cifar-10-batches-bin"), 1);
    await writeBinFolder(b, 1);
    const noDownload = { download: false, defaultDir: join(dir, "default") };
    assert.equal((await locateCifar10({ ...noDownload, data: b, env: a })).dir, b);
    assert.equal(
      (await locateCifar10({ ...noDownload, env: a })).dir,
      join(a, "cifar-10-batches-bin"),
    );
    assert.equal((await locateCifar10({ ...noDownload, env: "", defaultDir: b })).dir, b);
    assert.deepEqual(
      [...(await loadCifar10(await locateCifar10({ data: b }), "test")).labels],
      [5],
    );
  });
});

Deno.test("locateCifar10 names a given folder without CIFAR-10 and never downloads into it", async () => {
  await withTemp(async (dir) => {
    await assert.rejects(locateCifar10({ data: dir }), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        new RegExp(`^no CIFAR-10 found in ${dir} \\(from --data\\); point it at`),
      );
      return true;
    });
    await assert.rejects(locateCifar10({ env: join(dir, "x") }), /\(from CIFAR10_DIR\)/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("locateCifar10 downloads into an empty default folder only", async () => {
  await withTemp(async (dir) => {
    const defaultDir = join(dir, "data");
    // the download fails here (nothing listens), and says so in one sentence
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(),
    );
    const url = `http://127.0.0.1:${server.addr.port}/c.tar.gz`;
    await server.shutdown();
    await assert.rejects(
      locateCifar10({ env: "", defaultDir, url }),
      /could not download CIFAR-10/,
    );
    // once the files are in place, nothing is fetched
    await writeBinFolder(join(defaultDir, "cifar-10-batches-bin"), 1);
    const where = await locateCifar10({ env: "", defaultDir, url });
    assert.equal(where.layout, "bin");
    assert.deepEqual(await loadCifar10Classes(where), CIFAR10_CLASSES);
  });
  const archive = await makeArchive();
  const md5 = createHash("md5").update(archive).digest("hex");
  await withServer({ "/c.tar.gz": archive }, async (base, dir) => {
    const defaultDir = join(dir, "data");
    await Deno.mkdir(defaultDir);
    await Deno.writeTextFile(join(defaultDir, "README.md"), "CIFAR-10 goes here\n");
    const where = await locateCifar10({ env: "", defaultDir, url: `${base}/c.tar.gz`, md5 });
    assert.deepEqual(where, {
      dir: join(defaultDir, "cifar-10-batches-bin"),
      layout: "bin",
      hasTrain: true,
      hasTest: true,
    });
    assert.equal((await loadCifar10(where, "train")).length, 10);
  });
});

Deno.test("loadCifar10 reads the Python layout too", async () => {
  const where = await locateCifar10({ data: PY_FOLDER });
  assert.equal(where.layout, "py");
  assert.equal((await loadCifar10(where, "train")).length, 10);
  assert.equal((await loadCifar10(where, "test")).length, 2);
  assert.deepEqual(await loadCifar10Classes(where), CIFAR10_CLASSES);
  await withTemp(async (dir) => {
    await writeBinFolder(dir, 1);
    await Deno.writeFile(join(dir, TEST_FILE), new Uint8Array(10));
    await assert.rejects(
      loadCifar10(await locateCifar10({ data: dir }), "test"),
      /truncated or corrupt/,
    );
  });
});
