/**
 * Finding CIFAR-10 on disk: the folder comes from `--data DIR`, else the `CIFAR10_DIR`
 * variable, else `data/`; in it (or as it) a `cifar-10-batches-bin` or `cifar-10-batches-py`
 * folder is detected. Only the default folder is ever downloaded into, and only when it
 * holds neither layout.
 *
 * @module
 */

import { join } from "node:path";
import { UserError } from "../errors.ts";
import {
  type Cifar10Split,
  type ImageSet,
  readCifar10Bin,
  readCifar10BinClasses,
  TEST_FILE,
  TRAIN_FILES,
} from "./cifar10.ts";
import {
  PICKLE_TEST_FILE,
  PICKLE_TRAIN_FILES,
  readCifar10Pickle,
  readCifar10PickleClasses,
} from "./cifar10_pickle.ts";
import { BIN_FOLDER, downloadCifar10, type DownloadOptions } from "./download.ts";

/** The folder used when neither `--data` nor `CIFAR10_DIR` is given. */
export const DEFAULT_DATA_DIR = "data";

/** The two on-disk layouts: the official binary files, or the Python pickles. */
export type Cifar10Layout = "bin" | "py";

/** A CIFAR-10 batches folder and its layout. */
export interface Cifar10Location {
  /** The folder holding the batch files themselves (e.g. `data/cifar-10-batches-bin`). */
  dir: string;
  /** Which layout its files are in. */
  layout: Cifar10Layout;
  /** Whether the training batches are there (the first one is checked). */
  hasTrain: boolean;
  /** Whether the test batch is there. */
  hasTest: boolean;
}

/** Where to look, as the command line and environment say. */
export interface LocateOptions extends DownloadOptions {
  /** The `--data` flag's value, if given. */
  data?: string;
  /** The `CIFAR10_DIR` variable's value (default: read from the environment). */
  env?: string;
  /** Whether an empty default folder may be filled by downloading (default true). */
  download?: boolean;
  /** The default folder (default {@linkcode DEFAULT_DATA_DIR}). */
  defaultDir?: string;
}

/**
 * The CIFAR-10 folder to use and its layout. `--data` wins over `CIFAR10_DIR`, which wins
 * over `data/`. The folder may be a batches folder itself or hold one
 * (`cifar-10-batches-bin/` preferred over `cifar-10-batches-py/`). When the default folder
 * holds neither, the official archive is downloaded into it.
 *
 * @throws {UserError} when a folder given by flag or variable holds no CIFAR-10, or the
 * download fails (saying how to place the files by hand).
 *
 * @example
 * ```ts
 * const where = await locateCifar10({ data: "../shared/cifar10/cifar-10-batches-bin" });
 * // { dir: "../shared/cifar10/cifar-10-batches-bin", layout: "bin", hasTrain: true, hasTest: true }
 * ```
 */
export async function locateCifar10(options: LocateOptions = {}): Promise<Cifar10Location> {
  const env = "env" in options ? options.env : Deno.env.get("CIFAR10_DIR");
  const given = options.data ?? (env || undefined);
  const dir = given ?? options.defaultDir ?? DEFAULT_DATA_DIR;
  const found = await detectCifar10(dir);
  if (found !== null) return found;
  if (given !== undefined || options.download === false) {
    const source = options.data !== undefined ? "--data" : given !== undefined ? "CIFAR10_DIR" : "";
    throw new UserError(
      `no CIFAR-10 found in ${dir}${source ? ` (from ${source})` : ""}; point it at a folder ` +
        `holding ${BIN_FOLDER} (from cifar-10-binary.tar.gz) or cifar-10-batches-py, or at one of those folders.`,
    );
  }
  await downloadCifar10(dir, options);
  const downloaded = await detectCifar10(dir);
  if (downloaded === null) {
    throw new UserError(
      `the download into ${dir} holds no CIFAR-10 batches; remove ${dir} and run again.`,
    );
  }
  return downloaded;
}

/**
 * The CIFAR-10 batches in `dir` (as the folder itself, or in a `cifar-10-batches-bin` or
 * `cifar-10-batches-py` subfolder), or `null` when there are none.
 *
 * @example
 * ```ts
 * await detectCifar10("data"); // null, or e.g. { dir: "data/cifar-10-batches-bin", layout: "bin", … }
 * ```
 */
export async function detectCifar10(dir: string): Promise<Cifar10Location | null> {
  const layouts: [string, Cifar10Layout, string, string][] = [
    [dir, "bin", TRAIN_FILES[0], TEST_FILE],
    [dir, "py", PICKLE_TRAIN_FILES[0], PICKLE_TEST_FILE],
    [join(dir, BIN_FOLDER), "bin", TRAIN_FILES[0], TEST_FILE],
    [join(dir, "cifar-10-batches-py"), "py", PICKLE_TRAIN_FILES[0], PICKLE_TEST_FILE],
  ];
  for (const [folder, layout, train, test] of layouts) {
    const hasTrain = await isFile(join(folder, train));
    const hasTest = await isFile(join(folder, test));
    if (hasTrain || hasTest) return { dir: folder, layout, hasTrain, hasTest };
  }
  return null;
}

/**
 * Reads the training or test images of a located CIFAR-10, whichever its layout.
 *
 * @throws {UserError} when a file is missing, truncated or corrupt.
 *
 * @example
 * ```ts
 * const train = await loadCifar10(await locateCifar10(), "train"); // 50000 images
 * ```
 */
export function loadCifar10(where: Cifar10Location, split: Cifar10Split): Promise<ImageSet> {
  return where.layout === "bin"
    ? readCifar10Bin(where.dir, split)
    : readCifar10Pickle(where.dir, split);
}

/**
 * The class names of a located CIFAR-10 (from its meta file, else the standard ten).
 *
 * @example
 * ```ts
 * await loadCifar10Classes(where); // ["airplane", "automobile", …]
 * ```
 */
export function loadCifar10Classes(where: Cifar10Location): Promise<readonly string[]> {
  return where.layout === "bin"
    ? readCifar10BinClasses(where.dir)
    : readCifar10PickleClasses(where.dir);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw error;
  }
}
