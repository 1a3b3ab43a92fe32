/**
 * CIFAR-10 in the Python layout (`cifar-10-batches-py`), the one the handout's loader reads
 * with `pickle.load(file, encoding='latin1')`: `data_batch_1` … `data_batch_5` and
 * `test_batch` are pickled dicts with `data` (a 10000×3072 uint8 numpy array, each row the
 * 1,024 red, green and blue bytes: NCHW already) and `labels` (a list of ints);
 * `batches.meta` holds `label_names`.
 *
 * Unpickling is done by the `pickleparser` library; this module only teaches it the few
 * numpy and codecs globals those files name, and never runs anything else a pickle asks for.
 *
 * @module
 */

import { NameRegistry, Parser } from "pickleparser";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import {
  CIFAR10_CLASSES,
  type Cifar10Split,
  concatImageSets,
  IMAGE_BYTES,
  type ImageSet,
  readDataFile,
  requireFolder,
} from "./cifar10.ts";

/** The training batch files of the Python layout, in order. */
export const PICKLE_TRAIN_FILES: readonly string[] = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}`);

/** The test batch file of the Python layout. */
export const PICKLE_TEST_FILE = "test_batch";

/**
 * Parses one pickled batch (any pickle protocol, written by Python 2 or 3, keys as `str`
 * or `bytes`). `file` names it in errors.
 *
 * @throws {UserError} when the bytes are not such a pickle, `data` is not an N×3072 uint8
 * array, or `labels` does not hold N integers in 0–9.
 *
 * @example
 * ```ts
 * const batch = parseCifar10Pickle(await Deno.readFile("data/cifar-10-batches-py/test_batch"), "test_batch");
 * batch.length; // 10000
 * ```
 */
export function parseCifar10Pickle(bytes: Uint8Array, file: string): ImageSet {
  const dict = unpickleDict(bytes, file);
  const data = dict.get("data");
  const labels = dict.get("labels");
  if (!(data instanceof NumpyArray) || data.dtype !== "u1" || data.shape.length !== 2) {
    throw corrupt(file, "its `data` is not a 2-D uint8 numpy array");
  }
  const [length, width] = data.shape;
  if (width !== IMAGE_BYTES || data.bytes.length !== length * IMAGE_BYTES) {
    throw corrupt(file, `its \`data\` has shape (${data.shape.join(", ")}), not (N, 3072)`);
  }
  if (!Array.isArray(labels) || labels.length !== length) {
    throw corrupt(file, `its \`labels\` is not a list of ${length} labels`);
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label > 9) {
      throw corrupt(file, `label ${i} is ${label}, not 0-9`);
    }
    out[i] = label;
  }
  return { images: data.bytes.slice(), labels: out, length };
}

/**
 * Reads the training set (five batches) or the test set from a `cifar-10-batches-py` folder.
 *
 * @throws {UserError} when the folder or a file is missing or corrupt.
 *
 * @example
 * ```ts
 * const train = await readCifar10Pickle("data/cifar-10-batches-py", "train"); // 50000 images
 * ```
 */
export async function readCifar10Pickle(dir: string, split: Cifar10Split): Promise<ImageSet> {
  await requireFolder(dir);
  const files = split === "train" ? PICKLE_TRAIN_FILES : [PICKLE_TEST_FILE];
  const sets: ImageSet[] = [];
  for (const name of files) {
    const path = join(dir, name);
    sets.push(parseCifar10Pickle(await readDataFile(path), path));
  }
  return sets.length === 1 ? sets[0] : concatImageSets(sets);
}

/**
 * The class names from a Python-layout folder's `batches.meta` (`label_names`);
 * {@linkcode CIFAR10_CLASSES} when the file is absent.
 *
 * @throws {UserError} when the file is corrupt or lists other than ten names.
 *
 * @example
 * ```ts
 * await readCifar10PickleClasses("data/cifar-10-batches-py"); // ["airplane", …]
 * ```
 */
export async function readCifar10PickleClasses(dir: string): Promise<readonly string[]> {
  const path = join(dir, "batches.meta");
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return CIFAR10_CLASSES;
    throw error;
  }
  const names = unpickleDict(bytes, path).get("label_names");
  if (!Array.isArray(names) || names.length !== 10) {
    throw corrupt(path, "its `label_names` is not a list of 10 names");
  }
  return names.map((n) => (n instanceof Uint8Array ? LATIN1.decode(n) : String(n)));
}

/** A numpy array as the pickle rebuilds it: its dtype code, shape and raw bytes. */
class NumpyArray {
  shape: number[] = [];
  dtype = "";
  bytes: Uint8Array = new Uint8Array(0);

  /** numpy's `ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata))`. */
  __setstate__(state: unknown[]): void {
    const [shape, dtype, , raw] = state.length === 5 ? state.slice(1) : state;
    this.shape = (shape as unknown[]).map(Number);
    this.dtype = dtype instanceof NumpyDtype ? dtype.code : "";
    this.bytes = toBytes(raw);
  }
}

/** A numpy dtype as the pickle rebuilds it: `numpy.dtype('u1', False, True)`. */
class NumpyDtype {
  constructor(readonly code: string) {}
  /** The byte order and the rest do not matter for one-byte elements. */
  __setstate__(): void {}
}

/** Python 2 `str` as bytes, or Python 3 `bytes`, as a `Uint8Array`. */
function toBytes(raw: unknown): Uint8Array {
  if (raw instanceof Uint8Array) return raw;
  if (typeof raw !== "string") return new Uint8Array(0);
  // pickleparser decodes a Python 2 str (BINSTRING) with TextDecoder("ascii"), which the
  // Encoding Standard defines as windows-1252: a one-to-one map of bytes to code points, so
  // the bytes come back through its inverse. `_codecs.encode(s, "latin1")` strings (Python 3
  // protocol 2) go through `latin1ToBytes` instead, before they get here.
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = WINDOWS_1252_BYTE[raw.charCodeAt(i)];
  return out;
}

const LATIN1 = new TextDecoder("latin1");

/** Code point -> byte for windows-1252 (its highest code point is U+2122, ™). */
const WINDOWS_1252_BYTE = (() => {
  const table = new Uint8Array(0x2123);
  for (let b = 0; b < 256; b++) table[LATIN1.decode(Uint8Array.of(b)).charCodeAt(0)] = b;
  return table;
})();

/** `_codecs.encode(text, "latin1")`: Python 3 writes bytes this way in protocol 2. */
function latin1ToBytes(text: string, encoding = "latin1"): Uint8Array {
  if (!/^(latin-?1|iso-?8859-?1)$/i.test(encoding)) {
    throw new TypeError(`unsupported encoding ${encoding}`);
  }
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** The only globals a CIFAR-10 pickle names; anything else is refused, never run. */
function registry(): NameRegistry {
  const names = new NameRegistry();
  const reconstruct = () => new NumpyArray();
  // numpy >= 1.16 with protocol 5: _frombuffer(buffer, dtype, shape, order)
  const frombuffer = (buffer: unknown, dtype: unknown, shape: unknown[]) => {
    const array = new NumpyArray();
    array.__setstate__([shape, dtype, false, buffer]);
    return array;
  };
  for (const core of ["numpy.core", "numpy._core"]) {
    names.register(`${core}.multiarray`, "_reconstruct", reconstruct);
    names.register(`${core}.numeric`, "_frombuffer", frombuffer);
  }
  names.register("numpy", "ndarray", NumpyArray);
  names.register("numpy", "dtype", (code: string) => new NumpyDtype(String(code)));
  names.register("_codecs", "encode", latin1ToBytes);
  names.onMissingName = (module: string, name: string) => {
    throw new TypeError(`refusing to unpickle ${module}.${name}`);
  };
  return names;
}

/** Unpickles `bytes` as a dict, with keys decoded to strings. */
function unpickleDict(bytes: Uint8Array, file: string): Map<string, unknown> {
  let value: unknown;
  try {
    value = new Parser({ nameResolver: registry(), unpicklingTypeOfDictionary: "Map" })
      .parse(bytes);
  } catch (error) {
    throw corrupt(file, `it is not a readable pickle (${(error as Error).message})`);
  }
  if (!(value instanceof Map)) throw corrupt(file, "it does not hold a dict");
  const dict = new Map<string, unknown>();
  for (const [key, item] of value) {
    dict.set(key instanceof Uint8Array ? LATIN1.decode(key) : String(key), item);
  }
  return dict;
}

function corrupt(file: string, why: string): UserError {
  return new UserError(
    `${file} is not a CIFAR-10 Python batch (${why}); delete it and place the files of the ` +
      `official cifar-10-python.tar.gz, or use the binary layout (cifar-10-batches-bin).`,
  );
}
