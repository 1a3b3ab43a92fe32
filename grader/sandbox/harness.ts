/**
 * The trusted side of the sandbox: the program the sandboxed child Deno runs. It reads the
 * token and the cases' inputs from stdin, builds the input ndarrays, and only then imports
 * the student's `layers.ts` (the URL in `Deno.args[0]`). For each case it constructs the
 * student's `Conv1D`, loads `W` and `b`, runs `forward` and `backward`, copies `y`, `dx`,
 * `dW` and `db` into plain float64 arrays, and sends them to the grader in token-framed
 * messages on stdout (see `protocol.ts`).
 *
 * The child has no permissions beyond reading the copied submission folder, so this file
 * never sees an expected output and cannot be told one. Everything it does after the import
 * uses intrinsics captured above the import, so a student who patches globals or prototypes
 * can only garble their own results, which then fail.
 *
 * @module
 */

// @ts-types="npm:@types/ndarray@1.0.14"
import ndarray from "ndarray";
import {
  decodeInputs,
  encodeCaseFrame,
  encodeFrame,
  FRAME,
  type WireCase,
  type WireOutput,
} from "./protocol.ts";

// Captured before the student's module exists.
const call = Function.prototype.call;
const uncurry = <T, A extends unknown[], R>(fn: (this: T, ...args: A) => R) =>
  call.bind(fn as (...args: unknown[]) => unknown) as (self: T, ...args: A) => R;
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype);
const getter = (name: string) =>
  uncurry(Object.getOwnPropertyDescriptor(typedArrayPrototype, name)!.get!) as (
    self: Uint8Array,
  ) => number & ArrayBuffer;
const byteLengthOf = getter("byteLength") as (self: Uint8Array) => number;
const bufferOf = getter("buffer") as unknown as (self: Uint8Array) => ArrayBuffer;
const U8 = Uint8Array;
const F64 = Float64Array;
const U32 = Uint32Array;
const isArray = Array.isArray;
const isInteger = Number.isInteger;
const defineProperty = Object.defineProperty;
const stringSlice = uncurry(String.prototype.slice);
const writeSync = Deno.stdout.writeSync.bind(Deno.stdout);
const exit = Deno.exit;

/** Largest output the harness copies (elements): the handout's are under 20 000; this bounds a frame. */
const MAX_ELEMENTS = 2 ** 22;

function write(frame: Uint8Array): void {
  const buffer = bufferOf(frame);
  const length = byteLengthOf(frame);
  for (let at = 0; at < length;) at += writeSync(new U8(buffer, at, length - at));
}

/** A thrown value as one line for the student, without running any of its methods. */
function describeError(error: unknown): string {
  let text = `a thrown ${error === null ? "null" : typeof error}`;
  try {
    if (typeof error === "string") {
      text = error;
    } else if (error !== null && typeof error === "object") {
      const { name, message } = error as { name?: unknown; message?: unknown };
      if (typeof message === "string") {
        text = typeof name === "string" ? name + ": " + message : message;
      }
    }
  } catch {
    // A throwing getter: keep the generic text.
  }
  return stringSlice(text, 0, 500);
}

/** Copies an ndarray-like value (`shape`, `stride`, `offset`, `data`) into dense float64. */
function toDense(value: unknown, what: string): WireOutput {
  if (value === null || typeof value !== "object") {
    return { error: what + " is " + (value === null ? "null" : typeof value) + ", not an ndarray" };
  }
  const { shape, stride, offset = 0, data } = value as Record<string, unknown>;
  if (!isArray(shape) || shape.length > 8) {
    return { error: what + " has no shape array; return an ndarray" };
  }
  const rank = shape.length;
  const dims = new U32(rank);
  let size = 1;
  for (let d = 0; d < rank; d++) {
    const n = shape[d];
    if (!isInteger(n) || n < 0 || n > MAX_ELEMENTS) {
      return { error: what + ".shape is not a list of sizes" };
    }
    dims[d] = n;
    size *= n;
  }
  if (size > MAX_ELEMENTS) return { error: what + " has more than " + MAX_ELEMENTS + " elements" };
  const steps = new F64(rank);
  if (stride === undefined) {
    for (let d = rank - 1, s = 1; d >= 0; s *= dims[d], d--) steps[d] = s;
  } else if (isArray(stride) && stride.length === rank) {
    for (let d = 0; d < rank; d++) {
      if (!isInteger(stride[d])) return { error: what + ".stride is not a list of integers" };
      steps[d] = stride[d];
    }
  } else {
    return { error: what + ".stride does not match its shape" };
  }
  if (!isInteger(offset)) return { error: what + ".offset is not an integer" };
  if (data === null || typeof data !== "object") {
    return {
      error: what + ".data is " + (data === null ? "null" : typeof data) + ", not an array",
    };
  }
  const source = data as Record<number, unknown>;
  const values = new F64(size);
  const index = new U32(rank);
  for (let i = 0; i < size; i++) {
    let at = offset as number;
    for (let d = 0; d < rank; d++) at += index[d] * steps[d];
    const v = source[at];
    if (typeof v !== "number") {
      return { error: what + " holds " + typeof v + " at flat index " + i + ", not a number" };
    }
    values[i] = v;
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < dims[d]) break;
      index[d] = 0;
    }
  }
  const plainShape: number[] = [];
  // Defined, not assigned: an assignment would run a setter the student put on Array.prototype.
  for (let d = 0; d < rank; d++) {
    const descriptor = { __proto__: null, value: dims[d], enumerable: true };
    defineProperty(plainShape, d, descriptor as PropertyDescriptor);
  }
  return { shape: plainShape, data: values };
}

type Layer = {
  W: unknown;
  b: unknown;
  dW: unknown;
  db: unknown;
  forward(x: unknown): unknown;
  backward(delta: unknown): unknown;
};

function runCase(Conv1D: new (...args: number[]) => Layer, c: Inputs): WireOutput[] {
  const all = (error: string): WireOutput[] => [{ error }, { error }, { error }, { error }];
  let conv: Layer;
  try {
    conv = new Conv1D(c.inChannel, c.outChannel, c.kernelSize, c.stride);
    conv.W = c.W;
    conv.b = c.b;
  } catch (error) {
    return all("new Conv1D(...) threw " + describeError(error));
  }
  let y: WireOutput;
  try {
    y = toDense(conv.forward(c.x), "forward's result");
  } catch (error) {
    return all("forward threw " + describeError(error));
  }
  let dx: WireOutput;
  try {
    dx = toDense(conv.backward(c.delta), "backward's result");
  } catch (error) {
    const e = { error: "backward threw " + describeError(error) };
    return [y, e, e, e];
  }
  const read = (name: "dW" | "db"): WireOutput => {
    try {
      return toDense(conv[name], "self." + name);
    } catch (error) {
      return { error: "reading " + name + " threw " + describeError(error) };
    }
  };
  return [y, dx, read("dW"), read("db")];
}

type Tensor = ReturnType<typeof ndarray>;
type Inputs = Omit<WireCase, "tensors"> & Record<"W" | "b" | "x" | "delta", Tensor>;

const stdin = new U8(await new Response(Deno.stdin.readable).arrayBuffer());
const { token, cases: wire } = decodeInputs(stdin);
const cases: Inputs[] = wire.map(({ tensors, ...args }) => ({
  ...args,
  W: ndarray(tensors.W.data, tensors.W.shape),
  b: ndarray(tensors.b.data, tensors.b.shape),
  x: ndarray(tensors.x.data, tensors.x.shape),
  delta: ndarray(tensors.delta.data, tensors.delta.shape),
}));

let Conv1D: unknown;
try {
  Conv1D = (await import(Deno.args[0])).Conv1D;
} catch (error) {
  write(encodeFrame(token, FRAME.loadFailed, "importing layers.ts threw " + describeError(error)));
  exit(0);
}
if (typeof Conv1D !== "function") {
  write(encodeFrame(token, FRAME.loadFailed, "layers.ts does not export a class Conv1D"));
  exit(0);
}
write(encodeFrame(token, FRAME.ready));
for (let i = 0; i < cases.length; i++) {
  write(encodeCaseFrame(token, i, runCase(Conv1D as new (...args: number[]) => Layer, cases[i])));
}
write(encodeFrame(token, FRAME.done));
exit(0);
