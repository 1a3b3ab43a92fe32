/**
 * `Conv1D`: the handout's Q3 layer, in pure TypeScript, matching `torch.nn.Conv1d`.
 *
 * @module
 */

import { defaultRng, type Rng } from "../random.ts";
import { convRows, convWeightTiles } from "../kernels/conv_tiles.ts";
import {
  contiguous,
  type DType,
  dtypeOf,
  type FloatArray,
  formatShape,
  type Tensor,
  zeros,
} from "../tensor.ts";
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
  readonly inChannel: number;
  readonly outChannel: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  W: Tensor;
  b: Tensor | null;
  dW: Tensor;
  db: Tensor | null;
  #x: Tensor | null = null;
  /** The last input data with the padding in place, as the backward pass reads it. */
  #xPadded: FloatArray | null = null;

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
    const widthP = width + 2 * p;
    const X = padWidth(x.data, batch * inChannel, width, p);
    this.#xPadded = X;
    const Wd = this.W.data, Y = y.data, B = this.b?.data;
    // y[n, o, t] = b[o] + sum over (c, k) of W[o, c, k] x[n, c0 + c, t*s + k*d]: an
    // implicit GEMM of the weights (og × cg·K) with the im2col of x, four channels a tile.
    for (let g = 0; g < this.groups; g++) {
      const off = tapOffsets(cg, K, g * cg * widthP, widthP, d, 0);
      for (let o0 = g * og; o0 < (g + 1) * og; o0 += 4) {
        const rows = Math.min(4, (g + 1) * og - o0);
        const w = packLanes(rows, cg * K, (r, q) => Wd[(o0 + r) * cg * K + q], Wd);
        for (let n = 0; n < batch; n++) {
          const yAt = (n * outChannel + o0) * outWidth;
          const xAt = n * inChannel * widthP;
          if (B) {
            for (let r = 0; r < rows; r++) {
              Y.fill(B[o0 + r], yAt + r * outWidth, yAt + (r + 1) * outWidth);
            }
          }
          convRows(rows, outWidth, cg * K, w, off, X, xAt, s, Y, yAt, outWidth);
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
    const x = this.#x, X = this.#xPadded;
    if (!x || !X) throw new Error(`${this.#name()}: backward called before forward`);
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
    const widthP = width + 2 * p;
    const Wd = this.W.data, D = delta.data, DX = dx.data, DW = this.dW.data;
    const DB = this.db?.data;
    if (DB) {
      for (let n = 0; n < batch; n++) {
        for (let o = 0; o < outChannel; o++) {
          const row = (n * outChannel + o) * outWidth;
          let sum = 0;
          for (let t = 0; t < outWidth; t++) sum += D[row + t];
          DB[o] += sum;
        }
      }
    }
    // dW[o, c, k] = sum over (n, t) of delta[n, o, t] x[n, c0 + c, t*s + k*d].
    for (let g = 0; g < this.groups; g++) {
      const off = tapOffsets(cg, K, g * cg * widthP, widthP, d, 0);
      for (let o0 = g * og; o0 < (g + 1) * og; o0 += 4) {
        const rows = Math.min(4, (g + 1) * og - o0);
        for (let n = 0; n < batch; n++) {
          const dAt = (n * outChannel + o0) * outWidth, xAt = n * inChannel * widthP;
          convWeightTiles(
            rows,
            cg * K,
            outWidth,
            D,
            dAt,
            outWidth,
            X,
            xAt,
            off,
            s,
            DW,
            o0 * cg * K,
            cg * K,
          );
        }
      }
    }
    // dx is delta spread to stride 1, padded by the kernel's span (z below), convolved with
    // the flipped kernel: dx[n, c, i] = sum over (o, k) of W[o, c, k] z[o, i + p + (K-1-k)*d],
    // where z[o, (K-1)*d + t*s] = delta[n, o, t] and z is zero elsewhere.
    const lead = (K - 1) * d, zWidth = widthP + lead;
    const z = new (D.constructor as typeof Float64Array)(outChannel * zWidth);
    const tiles = [];
    for (let g = 0; g < this.groups; g++) {
      const off = tapOffsets(og, K, g * og * zWidth, zWidth, -d, lead);
      for (let c0 = g * cg; c0 < (g + 1) * cg; c0 += 4) {
        const rows = Math.min(4, (g + 1) * cg - c0);
        const w = packLanes(rows, og * K, (r, q) => {
          const o = g * og + Math.floor(q / K), k = q % K;
          return Wd[(o * cg + c0 - g * cg + r) * K + k];
        }, Wd);
        tiles.push({ c0, rows, w, off });
      }
    }
    for (let n = 0; n < batch; n++) {
      for (let o = 0; o < outChannel; o++) {
        const src = (n * outChannel + o) * outWidth, dst = o * zWidth + lead;
        for (let t = 0; t < outWidth; t++) z[dst + t * s] = D[src + t];
      }
      for (const { c0, rows, w, off } of tiles) {
        const dxAt = (n * inChannel + c0) * width;
        convRows(rows, width, og * K, w, off, z, p, 1, DX, dxAt, width);
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
 * The rows of `data` (`rows` rows of `width`) with `pad` zeros added at both ends of each;
 * `data` itself when `pad` is 0.
 */
function padWidth(data: FloatArray, rows: number, width: number, pad: number): FloatArray {
  if (pad === 0) return data;
  const widthP = width + 2 * pad;
  const out = new (data.constructor as typeof Float64Array)(rows * widthP);
  for (let r = 0; r < rows; r++) {
    out.set(data.subarray(r * width, (r + 1) * width), r * widthP + pad);
  }
  return out;
}

/**
 * The offset table of an implicit im2col: entry `c * K + k` is `base + c * rowWidth + start
 * + k * tapStep`, the element channel `c`'s tap `k` reads for output position 0.
 */
function tapOffsets(
  channels: number,
  K: number,
  base: number,
  rowWidth: number,
  tapStep: number,
  start: number,
): Int32Array {
  const off = new Int32Array(channels * K);
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < K; k++) off[c * K + k] = base + c * rowWidth + start + k * tapStep;
  }
  return off;
}

/** `depth` groups of four lanes, lane `r < rows` of group `q` being `value(r, q)`, the rest 0. */
function packLanes(
  rows: number,
  depth: number,
  value: (r: number, q: number) => number,
  like: FloatArray,
): FloatArray {
  const out = new (like.constructor as typeof Float64Array)(depth * 4);
  for (let q = 0; q < depth; q++) for (let r = 0; r < rows; r++) out[q * 4 + r] = value(r, q);
  return out;
}
