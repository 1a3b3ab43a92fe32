/**
 * Checkpoints: a model's state, an optimizer's state, random generators' states and any
 * JSON metadata (epoch, history) in one file, written atomically and checked on reading, so
 * that a resumed run continues exactly where the saved one stopped.
 *
 * The file is a valid [safetensors](https://github.com/huggingface/safetensors) file, so
 * Python's `safetensors.numpy.load_file` reads its tensors too:
 *
 * ```
 * u64 little-endian  N, the header's length in bytes
 * N bytes            the header: JSON, padded with spaces to a multiple of 8 bytes
 *                      "model.<state_dict key>":        {"dtype": "F64" | "F32", "shape": [...],
 *                      "optimizer.<index>.<buffer>":     "data_offsets": [begin, end]}
 *                      "__metadata__": {"format": "cnn-checkpoint", "version": "1",
 *                                       "sha256": <hex digest of the data section>,
 *                                       "state": <JSON text: optimizer settings and counters,
 *                                                 random generators, metadata>}
 * the data section   every tensor, little-endian, at its offsets
 * ```
 *
 * @module
 */

import { UserError } from "../errors.ts";
import type { Module } from "../nn/module.ts";
import { checkStateDict, loadStateDict, stateDict } from "../nn/state.ts";
import type { OptimizerState, ParamState } from "../optim/optimizer.ts";
import type { Rng } from "../random.ts";
import { contiguous, type Tensor, tensor } from "../tensor.ts";

const FORMAT = "cnn-checkpoint";
const VERSION = "1";

/** What an optimizer must offer to be checkpointed: every `Optimizer` does. */
export interface Checkpointable {
  /** The state to save: see `Optimizer.stateDict`. */
  stateDict(): OptimizerState;
  /** Restores a saved state, checking it first: see `Optimizer.loadStateDict`. */
  loadStateDict(state: OptimizerState): void;
}

/** What {@linkcode saveCheckpoint} saves. */
export interface CheckpointInput {
  /** The model whose parameters and buffers are saved. */
  model: Module;
  /** The optimizer whose settings and state are saved, if any. */
  optimizer?: Checkpointable;
  /** Random generators by name (e.g. `{ data: shuffleRng, dropout: dropRng }`). */
  rngs?: Record<string, Rng>;
  /** Anything JSON can hold: epoch, step, loss history, settings (NaN and ±Infinity become null). */
  metadata?: unknown;
}

/** A checkpoint's contents as read from its file, before they are applied to anything. */
export interface Checkpoint {
  /** The model's state by `state_dict` key, in the dtype it was saved in. */
  model: Map<string, Tensor>;
  /** The optimizer's state, or null if none was saved. */
  optimizer: OptimizerState | null;
  /** Each saved generator's state, for `Rng.fromState` or `rng.setState`. */
  rngs: Record<string, number[]>;
  /** The metadata saved, or null. */
  metadata: unknown;
}

interface HeaderEntry {
  dtype: "F64" | "F32";
  shape: number[];
  data_offsets: [number, number];
}

interface SavedState {
  optimizer:
    | (Omit<OptimizerState, "state"> & { state: Record<string, Record<string, number>> })
    | null;
  rngs: Record<string, (number | null)[]>;
  metadata: unknown;
}

/**
 * Writes a checkpoint to `path` atomically: to a temporary file beside it, flushed to disk,
 * then renamed over `path`, so a crash mid-write leaves the previous checkpoint intact and
 * never a partial file. A path that cannot be written is a `UserError`.
 *
 * @example
 * ```ts
 * await saveCheckpoint("runs/last.ckpt", {
 *   model,
 *   optimizer: opt,
 *   rngs: { data: dataRng },
 *   metadata: { epoch, step, history },
 * });
 * ```
 */
export async function saveCheckpoint(path: string, input: CheckpointInput): Promise<void> {
  const bytes = await encode(input);
  const tmp = `${path}.${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      for (let written = 0; written < bytes.length;) {
        written += await file.write(bytes.subarray(written));
      }
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (error) {
    await Deno.remove(tmp).catch(() => {});
    throw new UserError(
      `cannot write checkpoint ${path} (${(error as Error).message}); ` +
        `check that its folder exists and is writable`,
    );
  }
}

/**
 * Reads and checks a checkpoint file without applying it. A missing, truncated, corrupt or
 * foreign file is a `UserError` whose one sentence names the file.
 *
 * @example
 * ```ts
 * const { metadata } = await readCheckpoint("runs/last.ckpt");
 * ```
 */
export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UserError(`checkpoint ${path} does not exist; check the path`);
    }
    throw new UserError(`cannot read checkpoint ${path} (${(error as Error).message})`);
  }
  return await decode(bytes, path);
}

/**
 * Restores a checkpoint into a model, and optionally an optimizer and random generators (in
 * place), and returns its metadata. Everything is checked before anything changes: a file
 * that is bad or does not fit the model, the optimizer or the generators named is a
 * `UserError` naming the file, and leaves them all as they were.
 *
 * @example
 * ```ts
 * const { metadata } = await loadCheckpoint("runs/last.ckpt", {
 *   model,
 *   optimizer: opt,
 *   rngs: { data: dataRng },
 * });
 * const { epoch } = metadata as { epoch: number };
 * ```
 */
export async function loadCheckpoint(
  path: string,
  target: { model: Module; optimizer?: Checkpointable; rngs?: Record<string, Rng> },
): Promise<{ metadata: unknown }> {
  const saved = await readCheckpoint(path);
  const fail = (why: string): never => {
    throw new UserError(`checkpoint ${path} ${why}`);
  };
  const fits = (load: () => void) => {
    try {
      load();
    } catch (error) {
      if (error instanceof UserError) fail(`cannot be loaded: ${error.message}`);
      throw error;
    }
  };
  // Check the model, the generators and the optimizer's presence, then load the optimizer
  // (which checks everything before changing anything), then the model: a mismatch
  // anywhere leaves everything unchanged.
  fits(() => checkStateDict(target.model, saved.model));
  for (const name of Object.keys(target.rngs ?? {})) {
    if (!saved.rngs[name]) fail(`has no state for the random generator "${name}"`);
  }
  if (target.optimizer) {
    const state = saved.optimizer ?? fail("was saved without an optimizer state");
    fits(() => target.optimizer!.loadStateDict(state));
  }
  loadStateDict(target.model, saved.model);
  for (const [name, rng] of Object.entries(target.rngs ?? {})) rng.setState(saved.rngs[name]);
  return { metadata: saved.metadata };
}

async function encode({ model, optimizer, rngs = {}, metadata = null }: CheckpointInput) {
  const tensors: [string, Tensor][] = [];
  for (const [key, value] of stateDict(model)) tensors.push([`model.${key}`, value]);
  const saved: SavedState = { optimizer: null, rngs: {}, metadata };
  if (optimizer) {
    const { state, ...rest } = optimizer.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [index, s] of Object.entries(state)) {
      scalars[index] = {};
      for (const [name, value] of Object.entries(s)) {
        if (typeof value === "number") scalars[index][name] = value;
        else tensors.push([`optimizer.${index}.${name}`, value]);
      }
    }
    saved.optimizer = { ...rest, state: scalars };
  }
  // JSON has no NaN: the generator's "no spare normal" marker is saved as null.
  for (const [name, rng] of Object.entries(rngs)) {
    saved.rngs[name] = rng.state.map((v) => Number.isNaN(v) ? null : v);
  }

  const header: Record<string, unknown> = {};
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [key, value] of tensors) {
    const data = contiguous(value).data;
    const chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    header[key] = {
      dtype: data instanceof Float32Array ? "F32" : "F64",
      shape: [...value.shape],
      data_offsets: [offset, offset + chunk.length],
    };
    chunks.push(chunk);
    offset += chunk.length;
  }
  const data = new Uint8Array(offset);
  chunks.reduce((at, chunk) => (data.set(chunk, at), at + chunk.length), 0);
  header.__metadata__ = {
    format: FORMAT,
    version: VERSION,
    sha256: await sha256(data),
    state: JSON.stringify(saved),
  };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const spaces = new Uint8Array(padded).fill(0x20);
    spaces.set(json);
    json = spaces;
  }
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

async function decode(bytes: Uint8Array, path: string): Promise<Checkpoint> {
  const notOurs = (why: string): never => {
    throw new UserError(
      `checkpoint ${path} is not a checkpoint written by this project (${why}); ` +
        `point to another file or delete it to start afresh`,
    );
  };
  const broken = (why: string): never => {
    throw new UserError(
      `checkpoint ${path} is damaged (${why}); restore it from a copy or delete it to start afresh`,
    );
  };
  if (bytes.length < 8) broken(`it has only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) {
    broken(`its header claims ${headerLength} bytes but the file has ${bytes.length - 8} more`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
      bytes.subarray(8, 8 + headerLength),
    ));
  } catch {
    return notOurs("its header is not JSON");
  }
  const meta = header?.__metadata__ as Record<string, unknown> | undefined;
  if (meta?.format !== FORMAT) notOurs(`its format is not "${FORMAT}"`);
  if (meta!.version !== VERSION) notOurs(`its version is ${meta!.version}, not ${VERSION}`);

  const data = bytes.subarray(8 + headerLength);
  let end = 0;
  const entries: [string, HeaderEntry][] = [];
  for (const [key, entry] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const e = entry as HeaderEntry;
    const width = e?.dtype === "F64" ? 8 : e?.dtype === "F32" ? 4 : 0;
    const [b, f] = Array.isArray(e?.data_offsets) ? e.data_offsets : [NaN, NaN];
    const size = Array.isArray(e?.shape) ? e.shape.reduce((x, y) => x * y, 1) : NaN;
    if (
      width === 0 || !Number.isInteger(size) || size < 0 || !Number.isInteger(b) || b < 0 ||
      f - b !== size * width
    ) {
      broken(`the header's entry for ${key} is invalid`);
    }
    end = Math.max(end, f);
    entries.push([key, e]);
  }
  if (data.length < end) broken(`it is truncated: ${data.length} of ${end} data bytes`);
  if (data.length > end) broken(`it has ${data.length - end} bytes past its last tensor`);
  if ((await sha256(data)) !== meta!.sha256) broken("its data does not match its checksum");

  let saved: SavedState;
  try {
    saved = JSON.parse(String(meta!.state));
  } catch {
    return broken("its saved state is not JSON");
  }
  const model = new Map<string, Tensor>();
  const optimizerTensors: [string, string, Tensor][] = [];
  for (const [key, { dtype, shape, data_offsets: [b, f] }] of entries) {
    const copy = data.slice(b, f).buffer;
    const t = tensor(dtype === "F64" ? new Float64Array(copy) : new Float32Array(copy), shape);
    const optimizerKey = /^optimizer\.(\d+)\.(.+)$/.exec(key);
    if (key.startsWith("model.")) model.set(key.slice(6), t);
    else if (optimizerKey) optimizerTensors.push([optimizerKey[1], optimizerKey[2], t]);
    else broken(`it has an unknown tensor ${key}`);
  }
  let optimizer: OptimizerState | null = null;
  if (saved?.optimizer) {
    const state: Record<number, ParamState> = {};
    for (const [index, scalars] of Object.entries(saved.optimizer.state ?? {})) {
      state[Number(index)] = { ...scalars };
    }
    for (const [index, name, t] of optimizerTensors) (state[Number(index)] ??= {})[name] = t;
    optimizer = { ...saved.optimizer, state };
  } else if (optimizerTensors.length > 0) {
    broken("it has optimizer tensors but no optimizer state");
  }
  const rngs: Record<string, number[]> = {};
  for (const [name, s] of Object.entries(saved?.rngs ?? {})) {
    if (!Array.isArray(s) || s.length < 4) {
      broken(`its state of the generator "${name}" is invalid`);
    }
    rngs[name] = s.map((v) => v === null ? NaN : Number(v));
  }
  return { model, optimizer, rngs, metadata: saved?.metadata ?? null };
}

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
