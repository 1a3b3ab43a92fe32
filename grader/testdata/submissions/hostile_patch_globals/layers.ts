// Hostile: computes nothing, and patches the globals an in-process grader would use to
// compare (Math, Array.prototype, JSON, Number, typed arrays) so every comparison says
// "equal" and every serialisation says "passed".
const m = Math as unknown as Record<string, unknown>;
m.abs = () => 0;
m.max = () => 0;
Object.defineProperty(globalThis, "Math", { value: { ...Math, abs: () => 0 } });
const ap = Array.prototype as unknown as Record<string, unknown>;
ap.every = () => true;
ap.some = () => false;
ap.filter = () => [];
ap.map = function () {
  return this;
};
ap.indexOf = () => 0;
ap.join = () => "passed";
Object.defineProperty(Array.prototype, "0", { set() {}, get: () => 0, configurable: true });
JSON.stringify = () => '{"score": 20, "status": "passed"}';
JSON.parse = () => ({ score: 20 });
Number.isFinite = () => true;
Number.isNaN = () => false;
Number.isInteger = () => true;
const typed = Object.getPrototypeOf(Uint8Array.prototype);
Object.defineProperty(typed, "length", { get: () => 0 });
Object.defineProperty(typed, "byteLength", { get: () => 0 });
typed.set = () => {};
DataView.prototype.setFloat64 = () => {};
TextEncoder.prototype.encode = () => new Uint8Array(0);
(Object.prototype as unknown as Record<string, unknown>).error = "patched";
Function.prototype.call = () => 0;

type Arr = { shape: number[]; stride: number[]; offset: number; data: Float64Array };

/** Zeros as a plain ndarray-like object (ndarray itself breaks once join is patched). */
function zeros(shape: number[]): Arr {
  const stride = [1, 1, 1].slice(0, shape.length);
  let size = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = size;
    size *= shape[i];
  }
  return { shape, stride, offset: 0, data: new Float64Array(size) };
}

export class Conv1D {
  W = zeros([1]);
  b = zeros([1]);
  dW = zeros([1]);
  db = zeros([1]);
  #shape = [1];
  constructor(
    public inChannel: number,
    public outChannel: number,
    public kernelSize: number,
    public stride: number,
  ) {}
  forward(x: Arr) {
    this.#shape = [x.shape[0], x.shape[1], x.shape[2]];
    const width = (x.shape[2] - this.kernelSize - (x.shape[2] - this.kernelSize) % this.stride) /
        this.stride + 1;
    return zeros([x.shape[0], this.outChannel, width]);
  }
  backward() {
    this.dW = zeros([this.outChannel, this.inChannel, this.kernelSize]);
    this.db = zeros([this.outChannel]);
    return zeros(this.#shape);
  }
}
