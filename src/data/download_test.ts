import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { parseCifar10Bin, TEST_FILE, TRAIN_FILES } from "./cifar10.ts";
import { downloadCifar10 } from "./download.ts";
import { makeArchive, withServer } from "./fake_cifar10.ts";
import { tempDir } from "../testing.ts";

function md5(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("downloadCifar10 fetches, checks the MD5 and extracts cifar-10-batches-bin", async () => {
  const archive = await makeArchive();
  await withServer({ "/c.tar.gz": archive }, async (base, dir) => {
    await Deno.mkdir(join(dir, ".cifar10-download-stale")); // left by an interrupted run
    const out = await downloadCifar10(dir, { url: `${base}/c.tar.gz`, md5: md5(archive) });
    assert.equal(out, join(dir, "cifar-10-batches-bin"));
    assert.deepEqual(await listing(dir), ["cifar-10-batches-bin"]);
    assert.deepEqual(await listing(out), [...TRAIN_FILES, TEST_FILE, "batches.meta.txt"].sort());
    const test = parseCifar10Bin(await Deno.readFile(join(out, TEST_FILE)), TEST_FILE);
    assert.deepEqual([...test.labels], [5, 6]);
    // a second download does not overwrite what is there
    await assert.rejects(
      downloadCifar10(dir, { url: `${base}/c.tar.gz`, md5: md5(archive) }),
      /cifar-10-batches-bin already exists/,
    );
    assert.deepEqual(await listing(dir), ["cifar-10-batches-bin"]);
  });
});

Deno.test("downloadCifar10 rejects a bad checksum and leaves nothing behind", async () => {
  const archive = await makeArchive();
  await withServer({ "/c.tar.gz": archive }, async (base, dir) => {
    await assert.rejects(
      downloadCifar10(dir, { url: `${base}/c.tar.gz`, md5: "0".repeat(32) }),
      (e: Error) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, new RegExp(`is corrupt \\(MD5 ${md5(archive)}, expected 0{32}\\)`));
        return true;
      },
    );
    assert.deepEqual(await listing(dir), []);
  });
});

Deno.test("downloadCifar10 rejects a truncated archive whose checksum matches", async () => {
  const archive = (await makeArchive()).subarray(0, 200);
  await withServer({ "/c.tar.gz": archive }, async (base, dir) => {
    await assert.rejects(
      downloadCifar10(dir, { url: `${base}/c.tar.gz`, md5: md5(archive) }),
      /could not be extracted/,
    );
    assert.deepEqual(await listing(dir), []);
  });
});

Deno.test("downloadCifar10 says how to place the files by hand when the fetch fails", async () => {
  await withServer({}, async (base, dir) => {
    await assert.rejects(downloadCifar10(dir, { url: `${base}/missing` }), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /^could not download CIFAR-10 from .*\/missing \(HTTP 404 Not Found\); place the files by hand/,
      );
      return true;
    });
    assert.deepEqual(await listing(dir), []);
  });
  // a port nobody listens on any more: the connection fails, as it does with no network
  let url = "";
  await withServer({}, (base) => Promise.resolve(void (url = `${base}/c.tar.gz`)));
  const dir = await tempDir();
  try {
    await assert.rejects(downloadCifar10(dir, { url }), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(
        e.message,
        /^could not download CIFAR-10 from http:\/\/127\.0\.0\.1:\d+\/c\.tar\.gz \(.*[Cc]onnect.*\); place the files by hand/,
      );
      return true;
    });
    assert.deepEqual(await listing(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadCifar10 names a download that breaks off and leaves nothing behind", async () => {
  // a raw server that promises 5000 bytes, sends 1000 and hangs up
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    const head = "HTTP/1.1 200 OK\r\ncontent-length: 5000\r\nconnection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(head));
    await conn.write(new Uint8Array(1000));
    conn.close();
  })();
  const dir = await tempDir();
  try {
    const url = `http://127.0.0.1:${listener.addr.port}/c.tar.gz`;
    await assert.rejects(downloadCifar10(dir, { url }), (e: Error) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(
        e.message,
        /^the download from .* broke off after 1000 bytes .*; place the files by hand/,
      );
      return true;
    });
    assert.deepEqual(await listing(dir), []);
  } finally {
    await served;
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
