/**
 * `Conv1D`: the handout's Q3 layer, in pure TypeScript, matching `torch.nn.Conv1d`.
 *
 * @module
 */

import { defaultRng, type Rng } from "../random.ts";
import { contiguous, type DType, dtypeOf, formatShape, type Tensor, zeros } from "../tensor.ts";
import { Layer, type Parameter, ShapeError, weightAndBias } from "./module.ts";

/** Options beyond the handout's four arguments, with PyTorch's meaning and defaults. */
export interface Conv1DOptions {
  /** Zeros added to both ends of the width (default 0). */
  padding?: number;
  /** Spacing between kernel taps (default 1). */
  dilation?: number;
  /** Channel groups; `inChannel` and `outChannel` must both divide by it (default 1). */
  groups?: number;
  /** Whether the layer has a bias (default true). */
  bias?: boolean;
  /** The parameters' dtype (default float64, the grading precision). */
  dtype?: DType;
  /** The generator for the initial weights (default: the one `manualSeed` sets). */
  rng?: Rng;
}

/**
 * A 1-D convolution (cross-correlation, as in PyTorch) over input of shape
 * `(batch, inChannel, width)`.
 *
 * `W` has shape `(outChannel, inChannel / groups, kernelSize)` and `b` shape
 * `(outChannel,)`, both initialised uniform in ±1/sqrt(inChannel / groups · kernelSize)
 * as PyTorch does. After `backward`, `dW` and `db` hold the gradients summed over the
 * batch.
 *
 * @example
 * ```ts
 * const conv = new Conv1D(8, 12, 3, 2);
 * const y = conv.forward(zeros([3, 8, 20])); // shape (3, 12, 9)
 * const dx = conv.backward(zeros(y.shape)); // shape (3, 8, 20); conv.dW, conv.db set
 * ```
 */
export class Conv1D extends Layer {
  /** Channels of the input. */
  readonly inChannel: number;
  /** Channels of the output (the number of filters). */
  readonly outChannel: number;
  /** The window width. */
  readonly kernelSize: number;
  /** The step between windows. */
  readonly stride: number;
  /** Zeros added at each end. */
  readonly padding: number;
  /** The spacing between kernel taps. */
  readonly dilation: number;
  /** Channel groups. */
  readonly groups: number;
  /** The filters, `(outChannel, inChannel / groups, kernelSize)`: PyTorch's `weight`. */
  W: Tensor;
  /** The bias, `(outChannel,)`, or null without one: PyTorch's `bias`. */
  b: Tensor | null;
  /** The gradient of `W` from the last `backward`, summed over the batch. */
  dW: Tensor;
  /** The gradient of `b` from the last `backward`, summed over the batch. */
  db: Tensor | null;
  #x: Tensor | null = null;

  /** The handout's `Conv1D(in_channel, out_channel, kernel_size, stride)`, plus PyTorch's options. */
  constructor(
    inChannel: number,
    outChannel: number,
    kernelSize: number,
    stride = 1,
    options: Conv1DOptions = {},
  ) {
    super();
    const { padding = 0, dilation = 1, groups = 1, bias = true, dtype = "float64" } = options;
    const name = `Conv1D(${inChannel}, ${outChannel}, ${kernelSize}, ${stride})`;
    for (
      const [arg, value, min] of [
        ["inChannel", inChannel, 1],
        ["outChannel", outChannel, 1],
        ["kernelSize", kernelSize, 1],
        ["stride", stride, 1],
        ["padding", padding, 0],
        ["dilation", dilation, 1],
        ["groups", groups, 1],
      ] as const
    ) {
      if (!Number.isInteger(value) || value < min) {
        throw new RangeError(`${name}: ${arg} must be an integer >= ${min}, got ${value}`);
      }
    }
    if (inChannel % groups !== 0 || outChannel % groups !== 0) {
      throw new RangeError(`${name}: inChannel and outChannel must divide by groups=${groups}`);
    }
    this.inChannel = inChannel;
    this.outChannel = outChannel;
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
    this.dilation = dilation;
    this.groups = groups;

    const rng = options.rng ?? defaultRng();
    const bound = 1 / Math.sqrt((inChannel / groups) * kernelSize);
    this.W = rng.fillUniform(
      zeros([outChannel, inChannel / groups, kernelSize], dtype),
      -bound,
      bound,
    );
    this.b = bias ? rng.fillUniform(zeros([outChannel], dtype), -bound, bound) : null;
    this.dW = zeros(this.W.shape, dtype);
    this.db = bias ? zeros([outChannel], dtype) : null;
  }

  /** The output width for an input of width `width`, as PyTorch computes it. */
  outputWidth(width: number): number {
    const span = this.dilation * (this.kernelSize - 1) + 1;
    return Math.floor((width + 2 * this.padding - span) / this.stride) + 1;
  }

  /** `x` of shape `(batch, inChannel, width)` to `(batch, outChannel, outputWidth(width))`. */
  forward(x: Tensor): Tensor {
    this.#check(x);
    x = contiguous(x);
    this.#x = x;
    const [batch, , width] = x.shape;
    const outWidth = this.outputWidth(width);
    const y = zeros([batch, this.outChannel, outWidth], dtypeOf(this.W));
    const { inChannel, outChannel, kernelSize: K, stride: s, dilation: d, padding: p } = this;
    const cg = inChannel / this.groups; // input channels per group
    const og = outChannel / this.groups; // output channels per group
    const X = x.data, Wd = this.W.data, Y = y.data, B = this.b?.data;
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < outChannel; o++) {
        const yRow = (n * outChannel + o) * outWidth;
        if (B) Y.fill(B[o], yRow, yRow + outWidth);
        const c0 = Math.floor(o / og) * cg;
        for (let c = 0; c < cg; c++) {
          const xRow = (n * inChannel + c0 + c) * width;
          for (let k = 0; k < K; k++) {
            const w = Wd[(o * cg + c) * K + k];
            const shift = k * d - p; // y[t] reads x[t*s + shift]
            const [t0, t1] = validRange(shift, s, width, outWidth);
            for (let t = t0, i = xRow + t0 * s + shift; t < t1; t++, i += s) {
              Y[yRow + t] += w * X[i];
            }
          }
        }
      }
    }
    return y;
  }

  /**
   * `delta` (the loss's gradient w.r.t. the last output) to the gradient w.r.t. the last
   * input; sets `dW` and `db` to the parameter gradients summed over the batch.
   */
  backward(delta: Tensor): Tensor {
    const x = this.#x;
    if (!x) throw new Error(`${this.#name()}: backward called before forward`);
    const [batch, , width] = x.shape;
    const outWidth = this.outputWidth(width);
    const expected = [batch, this.outChannel, outWidth];
    if (delta.shape.length !== 3 || delta.shape.some((n, i) => n !== expected[i])) {
      throw new ShapeError(
        `${this.#name()}: backward expected delta of shape ${formatShape(expected)}, got ${
          formatShape(delta.shape)
        }`,
      );
    }
    delta = contiguous(delta);
    const dtype = dtypeOf(this.W);
    const dx = zeros(x.shape, dtype);
    // Zeroed in place, not reallocated, so the `grad` of `parameters()` stays the same tensor.
    this.dW.data.fill(0);
    this.db?.data.fill(0);
    const { inChannel, outChannel, kernelSize: K, stride: s, dilation: d, padding: p } = this;
    const cg = inChannel / this.groups;
    const og = outChannel / this.groups;
    const X = x.data, Wd = this.W.data, D = delta.data, DX = dx.data, DW = this.dW.data;
    const DB = this.db?.data;
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < outChannel; o++) {
        const dRow = (n * outChannel + o) * outWidth;
        if (DB) {
          let sum = 0;
          for (let t = 0; t < outWidth; t++) sum += D[dRow + t];
          DB[o] += sum;
        }
        const c0 = Math.floor(o / og) * cg;
        for (let c = 0; c < cg; c++) {
          const xRow = (n * inChannel + c0 + c) * width;
          for (let k = 0; k < K; k++) {
            const wi = (o * cg + c) * K + k;
            const w = Wd[wi];
            const shift = k * d - p;
            const [t0, t1] = validRange(shift, s, width, outWidth);
            let g = 0;
            for (let t = t0, i = xRow + t0 * s + shift; t < t1; t++, i += s) {
              g += D[dRow + t] * X[i];
              DX[i] += w * D[dRow + t];
            }
            DW[wi] += g;
          }
        }
      }
    }
    return dx;
  }

  /** `W` as `weight` and `b` as `bias`, with their gradients, as in PyTorch. */
  override ownParameters(): Parameter[] {
    return weightAndBias(this.W, this.dW, this.b, this.db);
  }

  #name(): string {
    return `Conv1D(${this.inChannel}, ${this.outChannel}, ${this.kernelSize}, ${this.stride})`;
  }

  #check(x: Tensor): void {
    const expected = `(batch, ${this.inChannel}, width)`;
    if (x.shape.length !== 3 || x.shape[1] !== this.inChannel) {
      throw new ShapeError(
        `${this.#name()}: expected input of shape ${expected}, got ${formatShape(x.shape)}`,
      );
    }
    if (this.outputWidth(x.shape[2]) < 1) {
      const span = this.dilation * (this.kernelSize - 1) + 1;
      throw new ShapeError(
        `${this.#name()}: input width ${x.shape[2]} (padded by ${this.padding} each side) ` +
          `is smaller than the kernel's span ${span}`,
      );
    }
    if (dtypeOf(x) !== dtypeOf(this.W)) {
      throw new TypeError(
        `${this.#name()}: input is ${dtypeOf(x)} but the weights are ${dtypeOf(this.W)}`,
      );
    }
  }
}

/**
 * The output positions `[t0, t1)` whose input index `t * stride + shift` falls inside
 * `[0, width)`; positions outside read the zero padding and contribute nothing.
 */
function validRange(
  shift: number,
  stride: number,
  width: number,
  outWidth: number,
): [number, number] {
  const t0 = shift >= 0 ? 0 : Math.ceil(-shift / stride);
  const t1 = Math.min(outWidth, Math.floor((width - 1 - shift) / stride) + 1);
  return [t0, Math.max(t0, t1)];
}
