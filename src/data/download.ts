/**
 * Downloading CIFAR-10: the official binary archive over HTTPS with a progress bar, its
 * published MD5 checked, and its `cifar-10-batches-bin/` extracted atomically — everything
 * happens in a temporary folder that is renamed into place only when complete, so an
 * interrupted or corrupt download never leaves a half folder behind.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
// @ts-types="npm:@types/tar-stream@3.1.5"
import tar from "tar-stream";
// @ts-types="npm:@types/cli-progress@3.11.6"
import cliProgress from "cli-progress";
import { UserError } from "../errors.ts";

/** Where the official binary archive is published. */
export const CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

/** The archive's published MD5. */
export const CIFAR10_MD5 = "c32a1d4ab5d03f1284b67883e8d87530";

/** The folder the archive extracts to. */
export const BIN_FOLDER = "cifar-10-batches-bin";

/** The archive's size in bytes, for the progress bar when the server sends no length. */
const ARCHIVE_BYTES = 170_052_171;

/** Prefix of the temporary folders a download works in. */
const TEMP_PREFIX = ".cifar10-download-";

/** How {@linkcode downloadCifar10} fetches and checks; the defaults are the official ones. */
export interface DownloadOptions {
  /** The archive's address (default {@linkcode CIFAR10_URL}). */
  url?: string;
  /** Its expected MD5 in hex (default {@linkcode CIFAR10_MD5}). */
  md5?: string;
  /** Whether to draw a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
}

/**
 * Downloads the CIFAR-10 binary archive into `dir`, checks its MD5 and extracts it, leaving
 * `dir/cifar-10-batches-bin/`; returns that folder's path. Temporary folders left by an
 * earlier interrupted download are removed first.
 *
 * @throws {UserError} when the download fails (no network, HTTP error), the MD5 differs,
 * the archive is not a tar.gz holding `cifar-10-batches-bin/`, or the folder exists already.
 *
 * @example
 * ```ts
 * const bin = await downloadCifar10("data"); // "data/cifar-10-batches-bin"
 * ```
 */
export async function downloadCifar10(dir: string, options: DownloadOptions = {}): Promise<string> {
  const { url = CIFAR10_URL, md5 = CIFAR10_MD5, progress = Deno.stderr.isTerminal() } = options;
  const target = join(dir, BIN_FOLDER);
  await Deno.mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const temp = await Deno.makeTempDir({ dir, prefix: TEMP_PREFIX });
  try {
    const archive = join(temp, "cifar-10-binary.tar.gz");
    const digest = await fetchTo(url, archive, progress);
    if (digest !== md5.toLowerCase()) {
      throw new UserError(
        `the CIFAR-10 archive downloaded from ${url} is corrupt (MD5 ${digest}, expected ${md5}); ` +
          `run again, or place cifar-10-batches-bin in ${dir} by hand.`,
      );
    }
    const extracted = await extractBinFolder(archive, temp, url);
    try {
      await Deno.rename(extracted, target);
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists || (await exists(target))) {
        throw new UserError(
          `${target} already exists, so the download was not put in its place; remove it or point --data at it.`,
        );
      }
      throw error;
    }
    return target;
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}

/** Streams `url` into `path`, drawing progress; returns the body's MD5 in hex. */
async function fetchTo(url: string, path: string, progress: boolean): Promise<string> {
  const byHand = `place the files by hand: extract cifar-10-binary.tar.gz and point --data ` +
    `(or CIFAR10_DIR) at the folder holding cifar-10-batches-bin.`;
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new UserError(
      `could not download CIFAR-10 from ${url} (${fetchFailure(error)}); ${byHand}`,
    );
  }
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new UserError(
      `could not download CIFAR-10 from ${url} (HTTP ${response.status} ${response.statusText}); ${byHand}`,
    );
  }
  const total = Number(response.headers.get("content-length")) || ARCHIVE_BYTES;
  const bar = progress
    ? new cliProgress.SingleBar({
      format: "downloading CIFAR-10 [{bar}] {percentage}% {done}/{size} MB, ETA {eta_formatted}",
      hideCursor: true,
    }, cliProgress.Presets.shades_classic)
    : null;
  bar?.start(total, 0, { done: "0.0", size: (total / 1e6).toFixed(1) });
  const hash = createHash("md5");
  const file = await Deno.open(path, { write: true, createNew: true });
  let received = 0;
  try {
    for await (const chunk of response.body) {
      hash.update(chunk);
      await writeAll(file, chunk);
      received += chunk.length;
      bar?.update(Math.min(received, total), { done: (received / 1e6).toFixed(1) });
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(
      `the download from ${url} broke off after ${received} bytes (${
        (error as Error).message
      }); ${byHand}`,
    );
  } finally {
    file.close();
    bar?.stop();
  }
  return hash.digest("hex");
}

/** The most telling part of a fetch error, e.g. "dns error: failed to lookup address …". */
function fetchFailure(error: unknown): string {
  const cause = (error as Error).cause;
  const message = cause instanceof Error ? cause.message : (error as Error).message;
  return message.replace(/^error sending request for url \([^)]*\): /, "");
}

async function writeAll(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.length;) at += await file.write(chunk.subarray(at));
}

/**
 * Extracts the `cifar-10-batches-bin/` files of the archive into `temp`; returns the folder.
 * Only plain files directly inside that folder are written, so no entry can escape it.
 */
async function extractBinFolder(archive: string, temp: string, url: string): Promise<string> {
  const out = join(temp, BIN_FOLDER);
  await Deno.mkdir(out);
  const entryName = new RegExp(`^(?:\\./)?${BIN_FOLDER}/([A-Za-z0-9_.-]+)$`);
  let written = 0;
  const file = await Deno.open(archive);
  const extract = tar.extract();
  try {
    Readable.from(file.readable).pipe(createGunzip()).on("error", (e) => extract.destroy(e))
      .pipe(extract);
    for await (const entry of extract) {
      const match = entry.header.type === "file" ? entryName.exec(entry.header.name) : null;
      if (match === null || match[1].startsWith(".")) {
        entry.resume(); // skip it
        continue;
      }
      const dest = await Deno.open(join(out, match[1]), { write: true, createNew: true });
      try {
        for await (const chunk of entry) await writeAll(dest, chunk);
      } finally {
        dest.close();
      }
      written++;
    }
  } catch (error) {
    throw new UserError(
      `the archive downloaded from ${url} could not be extracted (${(error as Error).message}); ` +
        `run again, or place cifar-10-batches-bin by hand.`,
    );
  }
  if (written === 0) {
    throw new UserError(
      `the archive downloaded from ${url} holds no ${BIN_FOLDER}/ folder; check the address.`,
    );
  }
  return out;
}

/** Removes temporary folders an interrupted download left in `dir`. */
async function removeStaleTemps(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory && entry.name.startsWith(TEMP_PREFIX)) {
      await Deno.remove(join(dir, entry.name), { recursive: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
