/**
 * The wire format between the grader and the sandboxed harness that runs a student's
 * Conv1D (see `harness.ts`).
 *
 * The grader writes to the child's stdin a random token, then the cases' inputs (a JSON
 * header with the shapes, then float64 data). The harness reads all of stdin before it
 * imports the student's module, so the token is gone from every place the student's code
 * can look. The harness answers on stdout in frames `token | u32 length | body`; the
 * grader keeps only frames that start with its token and treats every other byte as the
 * student's own printing. A student who prints a fake result therefore prints text that
 * the grader shows but never parses, and expected outputs never cross this channel at all.
 *
 * Everything here that runs after the student's module is loaded (the frame encoders)
 * uses intrinsics captured when this module is evaluated, before that import, and keeps
 * its helpers private, so patching `Math`, `JSON`, `Array.prototype`, `DataView.prototype`
 * or `TextEncoder.prototype` cannot change what the harness sends.
 *
 * @module
 */

const call = Function.prototype.call;
/** `fn` as a plain function taking `this` first, immune to later patches of its prototype. */
function uncurry<T, A extends unknown[], R>(
  fn: (this: T, ...args: A) => R,
): (self: T, ...args: A) => R {
  return call.bind(fn as (...args: unknown[]) => unknown) as (self: T, ...args: A) => R;
}
const U8 = Uint8Array;
const DV = DataView;
const AB = ArrayBuffer;
const setU8 = uncurry(DataView.prototype.setUint8);
const setU32 = uncurry(DataView.prototype.setUint32);
const setF64 = uncurry(DataView.prototype.setFloat64);
const u8Set = uncurry(Uint8Array.prototype.set) as (
  self: Uint8Array,
  source: Uint8Array,
  offset: number,
) => void;
const hasOwn = Object.hasOwn;
const utf8 = new TextEncoder();
const encodeUtf8 = uncurry(TextEncoder.prototype.encode);

/** How many random bytes the token has. */
export const TOKEN_BYTES = 16;
/** The largest frame body the grader accepts (a bigger length means a garbled stream). */
export const MAX_FRAME_BYTES = 256 * 2 ** 20;

/** The kinds of frame the harness sends, in the order it sends them. */
export const FRAME = Object.freeze(
  {
    /** The student's module loaded and exports a `Conv1D` class. */
    ready: 1,
    /** The student's module could not be used; the body has the reason. */
    loadFailed: 2,
    /** One case's outputs. */
    case: 3,
    /** Every case ran. */
    done: 4,
  } as const,
);

/** The outputs a case returns, in the order the frames carry them. */
export const OUTPUTS = Object.freeze(["y", "dx", "dW", "db"] as const);

/** A case's inputs as the child receives them: the constructor arguments and tensors. */
export interface WireCase {
  inChannel: number;
  outChannel: number;
  kernelSize: number;
  stride: number;
  tensors: Record<"W" | "b" | "x" | "delta", { shape: number[]; data: Float64Array }>;
}

/** One output as the harness read it from the student's object, or why it could not. */
export type WireOutput = { shape: number[]; data: Float64Array } | { error: string };

const INPUT_TENSORS = ["W", "b", "x", "delta"] as const;

/**
 * The bytes the grader writes to the child's stdin: the token, then the cases.
 *
 * @example
 * ```ts
 * const token = crypto.getRandomValues(new Uint8Array(TOKEN_BYTES));
 * const stdin = encodeInputs(token, cases);
 * ```
 */
export function encodeInputs(token: Uint8Array, cases: WireCase[]): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify(cases.map((c) => ({
    inChannel: c.inChannel,
    outChannel: c.outChannel,
    kernelSize: c.kernelSize,
    stride: c.stride,
    shapes: INPUT_TENSORS.map((name) => c.tensors[name].shape),
  }))));
  const values = cases.reduce(
    (n, c) => n + INPUT_TENSORS.reduce((m, name) => m + c.tensors[name].data.length, 0),
    0,
  );
  const out = new Uint8Array(TOKEN_BYTES + 4 + header.length + 8 * values);
  const view = new DataView(out.buffer);
  out.set(token, 0);
  view.setUint32(TOKEN_BYTES, header.length, true);
  out.set(header, TOKEN_BYTES + 4);
  let at = TOKEN_BYTES + 4 + header.length;
  for (const c of cases) {
    for (const name of INPUT_TENSORS) {
      for (const v of c.tensors[name].data) {
        view.setFloat64(at, v, true);
        at += 8;
      }
    }
  }
  return out;
}

/**
 * Reads what {@linkcode encodeInputs} wrote. The harness calls it before it imports the
 * student's module.
 *
 * @example
 * ```ts
 * const { token, cases } = decodeInputs(stdinBytes);
 * ```
 */
export function decodeInputs(bytes: Uint8Array): { token: Uint8Array; cases: WireCase[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const token = bytes.slice(0, TOKEN_BYTES);
  const headerLength = view.getUint32(TOKEN_BYTES, true);
  const headerStart = TOKEN_BYTES + 4;
  const header = JSON.parse(
    new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength)),
  ) as (Omit<WireCase, "tensors"> & { shapes: number[][] })[];
  let at = headerStart + headerLength;
  const cases = header.map(({ shapes, ...args }) => {
    const tensors = {} as WireCase["tensors"];
    INPUT_TENSORS.forEach((name, i) => {
      const data = new Float64Array(shapes[i].reduce((a, b) => a * b, 1));
      for (let j = 0; j < data.length; j++, at += 8) data[j] = view.getFloat64(at, true);
      tensors[name] = { shape: shapes[i], data };
    });
    return { ...args, tensors };
  });
  return { token, cases };
}

/**
 * A growable byte buffer for one frame, built only from captured intrinsics. It tracks its
 * own capacity and buffer instead of reading `byteLength` or `buffer`, whose getters live
 * on patchable prototypes.
 */
class FrameBuilder {
  #buffer = new AB(1024);
  #capacity = 1024;
  #bytes = new U8(this.#buffer);
  #view = new DV(this.#buffer);
  #length = 0;

  #reserve(n: number): void {
    if (this.#length + n <= this.#capacity) return;
    while (this.#length + n > this.#capacity) this.#capacity *= 2;
    const buffer = new AB(this.#capacity);
    const bytes = new U8(buffer);
    u8Set(bytes, this.#bytes, 0);
    this.#buffer = buffer;
    this.#bytes = bytes;
    this.#view = new DV(buffer);
  }
  u8(v: number): void {
    this.#reserve(1);
    setU8(this.#view, this.#length, v);
    this.#length += 1;
  }
  u32(v: number): void {
    this.#reserve(4);
    setU32(this.#view, this.#length, v, true);
    this.#length += 4;
  }
  f64(v: number): void {
    this.#reserve(8);
    setF64(this.#view, this.#length, v, true);
    this.#length += 8;
  }
  text(s: string): void {
    const b = encodeUtf8(utf8, s);
    // Measured with a loop: a patched `length` getter on typed arrays must not matter.
    let n = 0;
    while (b[n] !== undefined) n++;
    this.u32(n);
    this.#reserve(n);
    u8Set(this.#bytes, b, this.#length);
    this.#length += n;
  }
  /** The frame: token, body length, body. */
  finish(token: Uint8Array): Uint8Array {
    const buffer = new AB(TOKEN_BYTES + 4 + this.#length);
    const frame = new U8(buffer);
    u8Set(frame, token, 0);
    setU32(new DV(buffer), TOKEN_BYTES, this.#length, true);
    u8Set(frame, new U8(this.#buffer, 0, this.#length), TOKEN_BYTES + 4);
    return frame;
  }
}

/**
 * A frame with no body beyond its kind (`ready`, `done`), or `loadFailed` with a reason.
 *
 * @example
 * ```ts
 * write(encodeFrame(token, FRAME.loadFailed, "layers.ts does not export a class Conv1D"));
 * ```
 */
export function encodeFrame(token: Uint8Array, kind: number, message?: string): Uint8Array {
  const b = new FrameBuilder();
  b.u8(kind);
  if (message !== undefined) b.text(message);
  return b.finish(token);
}

/**
 * The frame carrying case `index`'s four outputs (each a tensor or an error).
 *
 * @example
 * ```ts
 * write(encodeCaseFrame(token, 0, [y, dx, dW, { error: "backward threw: TypeError" }, ]));
 * ```
 */
export function encodeCaseFrame(
  token: Uint8Array,
  index: number,
  outputs: WireOutput[],
): Uint8Array {
  const b = new FrameBuilder();
  b.u8(FRAME.case);
  b.u32(index);
  for (let o = 0; o < OUTPUTS.length; o++) {
    const out = outputs[o];
    if (hasOwn(out, "error")) {
      b.u8(1);
      b.text((out as { error: string }).error);
      continue;
    }
    const { shape, data } = out as { shape: number[]; data: Float64Array };
    b.u8(0);
    b.u8(shape.length);
    let size = 1;
    for (let d = 0; d < shape.length; d++) {
      b.u32(shape[d]);
      size *= shape[d];
    }
    for (let i = 0; i < size; i++) b.f64(data[i]);
  }
  return b.finish(token);
}

/** A frame the grader received: its kind and body (after the kind byte). */
export interface Frame {
  kind: number;
  body: DataView;
}

/**
 * Splits the child's stdout into the harness's frames and the student's own printing.
 * Bytes that do not start with the token are the student's; frames are recognised only
 * by the token, so nothing the student prints can pass for one.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(token);
 * for await (const chunk of child.stdout) for (const f of reader.push(chunk)) handle(f);
 * ```
 */
export class FrameReader {
  #token: Uint8Array;
  #pending = new Uint8Array(0);
  #printed: Uint8Array[] = [];
  #printedBytes = 0;
  /** Set when a frame announced a length beyond {@linkcode MAX_FRAME_BYTES}. */
  garbled = false;

  constructor(token: Uint8Array) {
    this.#token = token;
  }

  /** Adds a chunk of stdout; returns the frames it completed. */
  push(chunk: Uint8Array): Frame[] {
    const joined = new Uint8Array(this.#pending.length + chunk.length);
    joined.set(this.#pending);
    joined.set(chunk, this.#pending.length);
    const frames: Frame[] = [];
    let at = 0;
    while (!this.garbled) {
      const start = this.#find(joined, at);
      if (start < 0) {
        // Keep a tail that might be the start of a token split across chunks.
        const keep = Math.max(at, joined.length - TOKEN_BYTES + 1);
        this.#print(joined.subarray(at, keep));
        at = keep;
        break;
      }
      this.#print(joined.subarray(at, start));
      at = start;
      if (joined.length < start + TOKEN_BYTES + 4) break;
      const view = new DataView(joined.buffer, joined.byteOffset, joined.byteLength);
      const length = view.getUint32(start + TOKEN_BYTES, true);
      if (length < 1 || length > MAX_FRAME_BYTES) {
        this.garbled = true;
        break;
      }
      const bodyStart = start + TOKEN_BYTES + 4;
      if (joined.length < bodyStart + length) break;
      const body = joined.slice(bodyStart, bodyStart + length);
      frames.push({ kind: body[0], body: new DataView(body.buffer, 1) });
      at = bodyStart + length;
    }
    this.#pending = joined.slice(at);
    return frames;
  }

  /** What the student's code printed on stdout (the first few kilobytes). */
  printed(): string {
    const all = new Uint8Array(this.#printedBytes);
    let at = 0;
    for (const p of this.#printed) {
      all.set(p, at);
      at += p.length;
    }
    return new TextDecoder().decode(all);
  }

  #print(bytes: Uint8Array): void {
    const room = 4096 - this.#printedBytes;
    if (room <= 0 || bytes.length === 0) return;
    const kept = bytes.slice(0, room);
    this.#printed.push(kept);
    this.#printedBytes += kept.length;
  }

  #find(bytes: Uint8Array, from: number): number {
    const t = this.#token;
    outer: for (let i = bytes.indexOf(t[0], from); i >= 0; i = bytes.indexOf(t[0], i + 1)) {
      if (i + t.length > bytes.length) return -1;
      for (let j = 1; j < t.length; j++) if (bytes[i + j] !== t[j]) continue outer;
      return i;
    }
    return -1;
  }
}

/**
 * Reads the text of a `loadFailed` frame.
 *
 * @example
 * ```ts
 * if (frame.kind === FRAME.loadFailed) console.log(decodeMessage(frame));
 * ```
 */
export function decodeMessage(frame: Frame): string {
  return readText(frame.body, 0).text;
}

function readText(view: DataView, at: number): { text: string; next: number } {
  const n = view.getUint32(at, true);
  const bytes = new Uint8Array(view.buffer, view.byteOffset + at + 4, n);
  return { text: new TextDecoder().decode(bytes), next: at + 4 + n };
}

/**
 * Reads a `case` frame: the case's index and its four outputs. Throws a `RangeError` when
 * the body is shorter than its own shapes say (a garbled frame).
 *
 * @example
 * ```ts
 * const { index, outputs } = decodeCaseFrame(frame);
 * ```
 */
export function decodeCaseFrame(frame: Frame): { index: number; outputs: WireOutput[] } {
  const view = frame.body;
  const index = view.getUint32(0, true);
  let at = 4;
  const outputs: WireOutput[] = [];
  for (let o = 0; o < OUTPUTS.length; o++) {
    const tag = view.getUint8(at++);
    if (tag === 1) {
      const { text, next } = readText(view, at);
      outputs.push({ error: text });
      at = next;
      continue;
    }
    const rank = view.getUint8(at++);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++, at += 4) shape.push(view.getUint32(at, true));
    // Checked before allocating: a garbled shape must not make the grader allocate gigabytes.
    if (8 * shape.reduce((a, b) => a * b, 1) > view.byteLength - at) {
      throw new RangeError("a case frame is shorter than its shapes say");
    }
    const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++, at += 8) data[i] = view.getFloat64(at, true);
    outputs.push({ shape, data });
  }
  return { index, outputs };
}
