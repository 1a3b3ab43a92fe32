// Broken: each result is wrong in a different way: forward returns NaNs, backward returns
// a string, dW is a plain number and db has the wrong shape.
import ndarray from "npm:ndarray@1.0.19";

export class Conv1D {
  W: unknown;
  b: unknown;
  dW: unknown = 0;
  db: unknown = null;
  constructor(
    public inChannel: number,
    public outChannel: number,
    public kernelSize: number,
    public stride: number,
  ) {}
  forward(x: ndarray.NdArray<Float64Array>) {
    const width = Math.floor((x.shape[2] - this.kernelSize) / this.stride) + 1;
    const size = x.shape[0] * this.outChannel * width;
    return ndarray(new Float64Array(size).fill(NaN), [x.shape[0], this.outChannel, width]);
  }
  backward() {
    this.dW = 42;
    this.db = ndarray(new Float64Array(this.outChannel + 1), [this.outChannel + 1]);
    return "dx";
  }
}
