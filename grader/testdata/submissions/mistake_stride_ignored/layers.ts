// Classic mistake: the stride is used in forward but forgotten in backward.
import ndarray from "npm:ndarray@1.0.19";

type Arr = ndarray.NdArray<Float64Array>;

function zeros(shape: number[]): Arr {
  return ndarray(new Float64Array(shape.reduce((a, b) => a * b, 1)), shape);
}

export class Conv1D {
  W: Arr;
  b: Arr;
  dW: Arr;
  db: Arr;
  x: Arr | null = null;

  constructor(
    public inChannel: number,
    public outChannel: number,
    public kernelSize: number,
    public stride: number,
  ) {
    const bound = 1 / Math.sqrt(inChannel * kernelSize);
    this.W = zeros([outChannel, inChannel, kernelSize]);
    for (let i = 0; i < this.W.data.length; i++) this.W.data[i] = (Math.random() * 2 - 1) * bound;
    this.b = zeros([outChannel]);
    this.dW = zeros([outChannel, inChannel, kernelSize]);
    this.db = zeros([outChannel]);
  }

  forward(x: Arr): Arr {
    this.x = x;
    const [batch, , width] = x.shape;
    const outWidth = Math.floor((width - this.kernelSize) / this.stride) + 1;
    const y = zeros([batch, this.outChannel, outWidth]);
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < this.outChannel; o++) {
        for (let t = 0; t < outWidth; t++) {
          let sum = this.b.get(o);
          for (let c = 0; c < this.inChannel; c++) {
            for (let k = 0; k < this.kernelSize; k++) {
              sum += this.W.get(o, c, k) * x.get(n, c, t * this.stride + k);
            }
          }
          y.set(n, o, t, sum);
        }
      }
    }
    return y;
  }

  backward(delta: Arr): Arr {
    const x = this.x!;
    const [batch, , width] = x.shape;
    const outWidth = delta.shape[2];
    const dx = zeros([batch, this.inChannel, width]);
    this.dW = zeros([this.outChannel, this.inChannel, this.kernelSize]);
    this.db = zeros([this.outChannel]);
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < this.outChannel; o++) {
        for (let t = 0; t < outWidth; t++) {
          const d = delta.get(n, o, t);
          this.db.set(o, this.db.get(o) + d);
          for (let c = 0; c < this.inChannel; c++) {
            for (let k = 0; k < this.kernelSize; k++) {
              const i = t + k;
              this.dW.set(o, c, k, this.dW.get(o, c, k) + d * x.get(n, c, i));
              dx.set(n, c, i, dx.get(n, c, i) + d * this.W.get(o, c, k));
            }
          }
        }
      }
    }
    return dx;
  }
}
