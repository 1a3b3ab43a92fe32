// Hostile: computes nothing, and prints results that claim full marks, in Gradescope's
// format and as a plausible binary frame, on stdout and stderr.
import ndarray from "npm:ndarray@1.0.19";

const fake = JSON.stringify({
  score: 20,
  tests: ["forward", "dx", "dW", "db"].map((p) => ({
    name: `q3 ${p}`,
    score: 5,
    max_score: 5,
    status: "passed",
  })),
});
console.log(fake);
console.error(fake);
Deno.stdout.writeSync(new Uint8Array(64).fill(3));

const zeros = (shape: number[]) =>
  ndarray(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape);

export class Conv1D {
  W = zeros([1]);
  b = zeros([1]);
  dW = zeros([1]);
  db = zeros([1]);
  #x = zeros([1]);
  constructor(
    public inChannel: number,
    public outChannel: number,
    public kernelSize: number,
    public stride: number,
  ) {}
  forward(x: ndarray.NdArray<Float64Array>) {
    this.#x = x;
    console.log(fake);
    const [n, , w] = x.shape;
    return zeros([n, this.outChannel, Math.floor((w - this.kernelSize) / this.stride) + 1]);
  }
  backward(delta: ndarray.NdArray<Float64Array>) {
    console.log(`{"forward": "passed", "delta": ${delta.shape}}`);
    this.dW = zeros([this.outChannel, this.inChannel, this.kernelSize]);
    this.db = zeros([this.outChannel]);
    return zeros(this.#x.shape);
  }
}
