/**
 * CIFAR-10 in the official binary layout (`cifar-10-batches-bin`): `data_batch_1.bin` …
 * `data_batch_5.bin`, `test_batch.bin` and `batches.meta.txt`. Each record is 3,073 bytes:
 * a label byte (0–9), then the 1,024 red, 1,024 green and 1,024 blue bytes of a 32×32
 * image, each plane row-major — which is already NCHW, so a record's pixels copy across
 * unchanged.
 *
 * @module
 */

import { join } from "node:path";
import { UserError } from "../errors.ts";

/** Channels, height and width of a CIFAR-10 image. */
export const CIFAR10_SHAPE: readonly [3, 32, 32] = [3, 32, 32];

/** Bytes of one image (3 × 32 × 32). */
export const IMAGE_BYTES: number = 3 * 32 * 32;

/** Bytes of one record in the binary layout: the label byte, then the image. */
export const RECORD_BYTES: number = 1 + IMAGE_BYTES;

/** The ten class names in label order, as `batches.meta.txt` lists them. */
export const CIFAR10_CLASSES: readonly string[] = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

/** The training batch files of the binary layout, in order. */
export const TRAIN_FILES: readonly string[] = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);

/** The test batch file of the binary layout. */
export const TEST_FILE = "test_batch.bin";

/**
 * A set of labelled CIFAR-10 images in compact form: `images` holds `length` images of
 * 3×32×32 bytes each, NCHW (image-major, then channel, row, column), and `labels` one
 * class index (0–9) per image.
 *
 * @example
 * ```ts
 * const set: ImageSet = { images: new Uint8Array(2 * IMAGE_BYTES), labels: new Uint8Array([3, 8]), length: 2 };
 * set.images[1 * IMAGE_BYTES + 0 * 1024 + 5 * 32 + 7]; // red pixel (row 5, col 7) of image 1
 * ```
 */
export interface ImageSet {
  /** Pixels, `length × 3 × 32 × 32` bytes, NCHW. */
  images: Uint8Array;
  /** One label (0–9) per image. */
  labels: Uint8Array;
  /** The number of images. */
  length: number;
}

/** Which part of CIFAR-10 to read. */
export type Cifar10Split = "train" | "test";

/**
 * Parses the bytes of one binary-layout batch file. `file` names it in errors.
 *
 * @throws {UserError} when the size is not a positive multiple of 3,073 bytes or a label
 * is above 9 (a truncated or corrupt file).
 *
 * @example
 * ```ts
 * const record = new Uint8Array(RECORD_BYTES); // label 0, a black image
 * parseCifar10Bin(record, "tiny.bin").length; // 1
 * ```
 */
export function parseCifar10Bin(bytes: Uint8Array, file: string): ImageSet {
  const length = recordCount(bytes.length, file);
  const set = {
    images: new Uint8Array(length * IMAGE_BYTES),
    labels: new Uint8Array(length),
    length,
  };
  parseInto(bytes, file, set, 0);
  return set;
}

/** The number of records in a file of `size` bytes; a `UserError` unless whole. */
function recordCount(size: number, file: string): number {
  if (size === 0 || size % RECORD_BYTES !== 0) {
    throw new UserError(
      `${file} is truncated or corrupt (${size} bytes is not a whole number of ` +
        `${RECORD_BYTES}-byte records); delete it and place the official CIFAR-10 binary files again.`,
    );
  }
  return size / RECORD_BYTES;
}

/** Parses a batch file's records into `set` from image `at` on. */
function parseInto(bytes: Uint8Array, file: string, set: ImageSet, at: number): void {
  const length = recordCount(bytes.length, file);
  const { images, labels } = set;
  for (let i = 0; i < length; i++) {
    const from = i * RECORD_BYTES;
    const label = bytes[from];
    if (label > 9) {
      throw new UserError(
        `${file} is corrupt (record ${i} has label ${label}, not 0-9); delete it and place ` +
          `the official CIFAR-10 binary files again.`,
      );
    }
    labels[at + i] = label;
    images.set(bytes.subarray(from + 1, from + RECORD_BYTES), (at + i) * IMAGE_BYTES);
  }
}

/**
 * Joins image sets into one, in order.
 *
 * @example
 * ```ts
 * const both = concatImageSets([a, b]); // both.length === a.length + b.length
 * ```
 */
export function concatImageSets(sets: readonly ImageSet[]): ImageSet {
  const length = sets.reduce((n, s) => n + s.length, 0);
  const images = new Uint8Array(length * IMAGE_BYTES);
  const labels = new Uint8Array(length);
  let at = 0;
  for (const s of sets) {
    images.set(s.images.subarray(0, s.length * IMAGE_BYTES), at * IMAGE_BYTES);
    labels.set(s.labels.subarray(0, s.length), at);
    at += s.length;
  }
  return { images, labels, length };
}

/**
 * Reads a file, turning "not there" into a `UserError` that names it and says how to place
 * the data. Shared by the binary and Python layouts.
 *
 * @example
 * ```ts
 * const bytes = await readDataFile("data/cifar-10-batches-bin/test_batch.bin");
 * ```
 */
export async function readDataFile(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw fileError(error, path);
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch (error) {
    throw fileError(error, path);
  }
}

/** A missing or unreadable data file as a `UserError` naming it; anything else as is. */
function fileError(error: unknown, path: string): unknown {
  if (error instanceof Deno.errors.NotFound) {
    return new UserError(
      `${path} is missing; place the CIFAR-10 files there (the official cifar-10-binary.tar.gz ` +
        `extracts to cifar-10-batches-bin/) or point --data (or CIFAR10_DIR) at a folder that has them.`,
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new UserError(`${path} cannot be read (permission denied); make it readable.`);
  }
  return error;
}

/**
 * Reads the training set (all five batches, 50,000 images) or the test set (10,000) from
 * a `cifar-10-batches-bin` folder.
 *
 * @throws {UserError} when the folder or a file is missing, truncated or corrupt.
 *
 * @example
 * ```ts
 * const test = await readCifar10Bin("../shared/cifar10/cifar-10-batches-bin", "test");
 * test.length; // 10000
 * ```
 */
export async function readCifar10Bin(dir: string, split: Cifar10Split): Promise<ImageSet> {
  await requireFolder(dir);
  const paths = (split === "train" ? TRAIN_FILES : [TEST_FILE]).map((name) => join(dir, name));
  // sizes first, so the images are parsed straight into one buffer, file by file
  const counts: number[] = [];
  for (const path of paths) counts.push(recordCount(await fileSize(path), path));
  // the five training batches are the same size, so one cut at a record boundary shows too
  const short = counts.findIndex((n) => n < Math.max(...counts));
  if (short >= 0) {
    throw new UserError(
      `${paths[short]} is truncated (${counts[short]} images where the other training batches ` +
        `have ${
          Math.max(...counts)
        }); delete it and place the official CIFAR-10 binary files again.`,
    );
  }
  const length = counts.reduce((a, b) => a + b, 0);
  const set = {
    images: new Uint8Array(length * IMAGE_BYTES),
    labels: new Uint8Array(length),
    length,
  };
  let at = 0;
  for (const [k, path] of paths.entries()) {
    parseInto(await readDataFile(path), path, set, at);
    at += counts[k];
  }
  return set;
}

/**
 * The class names from a binary-layout folder's `batches.meta.txt`, one a line (blank
 * lines dropped); {@linkcode CIFAR10_CLASSES} when the file is absent.
 *
 * @throws {UserError} when the file lists other than ten names.
 *
 * @example
 * ```ts
 * await readCifar10BinClasses("../shared/cifar10/cifar-10-batches-bin"); // ["airplane", …]
 * ```
 */
export async function readCifar10BinClasses(dir: string): Promise<readonly string[]> {
  const path = join(dir, "batches.meta.txt");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return CIFAR10_CLASSES;
    throw error;
  }
  const names = text.split(/\r?\n/).map((s) => s.trim()).filter((s) => s !== "");
  if (names.length !== 10) {
    throw new UserError(
      `${path} is corrupt (it lists ${names.length} class names, not 10); delete it or place the official file.`,
    );
  }
  return names;
}

/**
 * Throws a `UserError` naming `dir` unless it is an existing folder.
 *
 * @example
 * ```ts
 * await requireFolder("data/cifar-10-batches-bin");
 * ```
 */
export async function requireFolder(dir: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UserError(
        `CIFAR-10 folder ${dir} does not exist; point --data (or CIFAR10_DIR) at a folder ` +
          `holding cifar-10-batches-bin (or cifar-10-batches-py).`,
      );
    }
    throw error;
  }
  if (!info.isDirectory) {
    throw new UserError(
      `${dir} is a file, not a folder; point --data (or CIFAR10_DIR) at the folder holding the CIFAR-10 batches.`,
    );
  }
}
