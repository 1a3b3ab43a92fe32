/**
 * Small CIFAR-10 folders the tests write themselves, so that no test needs the real data.
 *
 * @module
 */

import { join } from "node:path";
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
