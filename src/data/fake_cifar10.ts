/**
 * Small CIFAR-10 folders the tests write themselves, so that no test needs the real data.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
// @ts-types="npm:@types/tar-stream@3.1.5"
import tar from "tar-stream";
import { CIFAR10_CLASSES, IMAGE_BYTES, RECORD_BYTES, TEST_FILE, TRAIN_FILES } from "./cifar10.ts";

/** `n` records whose label is `(first + i) % 10` and whose pixel p is `(i * 7 + p) % 256`. */
export function makeRecords(n: number, first = 0): Uint8Array {
  const bytes = new Uint8Array(n * RECORD_BYTES);
  for (let i = 0; i < n; i++) {
    bytes[i * RECORD_BYTES] = (first + i) % 10;
    for (let p = 0; p < IMAGE_BYTES; p++) bytes[i * RECORD_BYTES + 1 + p] = (i * 7 + p) % 256;
  }
  return bytes;
}

/** Writes a small binary-layout folder: `perBatch` images in each of the six files. */
export async function writeBinFolder(dir: string, perBatch = 2): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const [k, name] of [...TRAIN_FILES, TEST_FILE].entries()) {
    await Deno.writeFile(join(dir, name), makeRecords(perBatch, k));
  }
  await Deno.writeTextFile(join(dir, "batches.meta.txt"), CIFAR10_CLASSES.join("\n") + "\n\n");
}

/** A tar.gz like the official one (plus a readme and an entry trying to escape). */
export async function makeArchive(): Promise<Uint8Array<ArrayBuffer>> {
  const pack = tar.pack();
  pack.entry({ name: "cifar-10-batches-bin", type: "directory" });
  for (const [k, name] of [...TRAIN_FILES, TEST_FILE].entries()) {
    pack.entry({ name: `cifar-10-batches-bin/${name}` }, Buffer.from(makeRecords(2, k)));
  }
  pack.entry({ name: "cifar-10-batches-bin/batches.meta.txt" }, "airplane\n");
  pack.entry({ name: "cifar-10-batches-bin/../escaped.txt" }, "no");
  pack.entry({ name: "readme.html" }, "<p>hi</p>");
  pack.finalize();
  const chunks: Uint8Array[] = [];
  for await (const chunk of Readable.from(pack)) chunks.push(chunk);
  return new Uint8Array(gzipSync(Buffer.concat(chunks)));
}

/** Serves `routes` on 127.0.0.1 while `body` runs, then shuts the server down. */
export async function withServer(
  routes: Record<string, Uint8Array<ArrayBuffer>>,
  body: (base: string, dir: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const bytes = routes[new URL(request.url).pathname];
    return bytes ? new Response(bytes) : new Response("gone", { status: 404 });
  });
  const dir = await Deno.makeTempDir();
  try {
    await body(`http://127.0.0.1:${server.addr.port}`, dir);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}
