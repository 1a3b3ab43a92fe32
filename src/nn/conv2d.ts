/**
 * `Conv2D`: a 2-D convolution matching `torch.nn.Conv2d`, as im2col plus one matrix
 * multiply per image through {@linkcode gemm}.
 *
 * @module
 */

import { gemm } from "../kernels/gemm.ts";
import { col2im, type ConvGeometry, convGeometry, im2col } from "../kernels/im2col.ts";
import { defaultRng, type Rng } from "../random.ts";
import {
  allocate,
  contiguous,
  type DType,
  dtypeOf,
  type FloatArray,
  type Tensor,
  zeros,
} from "../tensor.ts";
import { checkDelta, checkDType, checkImage, checkInteger, pair, saved } from "./check.ts";
import { Layer, type Parameter, type Size2, weightAndBias } from "./module.ts";

/** Options beyond the four positional arguments, with PyTorch's meaning and defaults. */
export interface Conv2DOptions {
  /** Zeros added on each side: one number for both axes or `[h, w]` (default 0). */
  padding?: Size2;
  /** Whether the layer has a bias (default true). */
  bias?: boolean;
  /** The parameters' dtype (default float64; training uses float32). */
  dtype?: DType;
  /** The generator for the initial weights (default: the one `manualSeed` sets). */
  rng?: Rng;
}

/**
 * A 2-D convolution (cross-correlation, as in PyTorch) from `(batch, inChannels, h, w)`
 * to `(batch, outChannels, outH, outW)`.
 *
 * `W` has shape `(outChannels, inChannels, kh, kw)` and `b` shape `(outChannels,)`, both
 * initialised uniform in ±1/sqrt(inChannels·kh·kw) as PyTorch's default init gives. After
 * `backward`, `dW` and `db` hold the gradients summed over the batch.
 *
 * @example
 * ```ts
 * const conv = new Conv2D(3, 16, 3, 1, { padding: 1 });
 * const y = conv.forward(zeros([8, 3, 32, 32])); // shape (8, 16, 32, 32)
 * const dx = conv.backward(zeros(y.shape)); // shape (8, 3, 32, 32); conv.dW, conv.db set
 * ```
 */
export class Conv2D extends Layer {
  /** Channels of the input. */
  readonly inChannels: number;
  /** Channels of the output (the number of filters). */
  readonly outChannels: number;
  /** The window `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** The step between windows `[sh, sw]`. */
  readonly stride: [number, number];
  /** Zeros added on each side `[ph, pw]`. */
  readonly padding: [number, number];
  /** The filters, `(outChannels, inChannels, kh, kw)`: PyTorch's `weight`. */
  W: Tensor;
  /** The bias, `(outChannels,)`, or null without one: PyTorch's `bias`. */
  b: Tensor | null;
  /** The gradient of `W` from the last `backward`, summed over the batch. */
  dW: Tensor;
  /** The gradient of `b` from the last `backward`, summed over the batch. */
  db: Tensor | null;
  #x: Tensor | null = null;
  /** One image's im2col matrix, reused across images and calls. */
  #cols: FloatArray | null = null;

  /** PyTorch's `Conv2d(in_channels, out_channels, kernel_size, stride, padding=, bias=)`; sizes are a number or `[h, w]`. */
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Size2,
    stride: Size2 = 1,
    options: Conv2DOptions = {},
  ) {
    super();
    const { padding = 0, bias = true, dtype = "float64" } = options;
    const name = `Conv2D(${inChannels}, ${outChannels}, ${kernelSize}, ${stride})`;
    checkInteger(name, "inChannels", inChannels, 1);
    checkInteger(name, "outChannels", outChannels, 1);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(name, "kernelSize", kernelSize, 1);
    this.stride = pair(name, "stride", stride, 1);
    this.padding = pair(name, "padding", padding, 0);

    const [kh, kw] = this.kernelSize;
    const rng = options.rng ?? defaultRng();
    const bound = 1 / Math.sqrt(inChannels * kh * kw);
    this.W = rng.fillUniform(zeros([outChannels, inChannels, kh, kw], dtype), -bound, bound);
    this.b = bias ? rng.fillUniform(zeros([outChannels], dtype), -bound, bound) : null;
    this.dW = zeros(this.W.shape, dtype);
    this.db = bias ? zeros([outChannels], dtype) : null;
  }

  /** The sizes of the sweep over an input of `height × width`. */
  geometry(height: number, width: number): ConvGeometry {
    return convGeometry(this.inChannels, height, width, this.kernelSize, this.stride, this.padding);
  }

  /** `x` of shape `(batch, inChannels, h, w)` to `(batch, outChannels, outH, outW)`. */
  forward(x: Tensor): Tensor {
    checkImage(this.#name(), x, this.inChannels, this.kernelSize, this.padding);
    checkDType(this.#name(), x, dtypeOf(this.W));
    x = contiguous(x);
    this.#x = x;
    const [batch, , height, width] = x.shape;
    const g = this.geometry(height, width);
    const O = this.outChannels, L = g.outH * g.outW, CKK = this.W.size / O;
    const y = zeros([batch, O, g.outH, g.outW], dtypeOf(this.W));
    const cols = this.#scratch(CKK * L);
    const B = this.b?.data;
    for (let n = 0; n < batch; n++) {
      im2col(x.data.subarray(n * x.size / batch), g, cols);
      // Y_n (O × L) = W (O × CKK) · cols (CKK × L)
      const Yn = y.data.subarray(n * O * L, (n + 1) * O * L);
      gemm(false, false, O, L, CKK, this.W.data, cols, Yn, 0);
      if (B) { for (let o = 0; o < O; o++) for (let l = 0; l < L; l++) Yn[o * L + l] += B[o]; }
    }
    return y;
  }

  /**
   * `delta` (the loss's gradient w.r.t. the last output) to the gradient w.r.t. the last
   * input; sets `dW` and `db` to the parameter gradients summed over the batch.
   */
  backward(delta: Tensor): Tensor {
    const x = saved(this.#name(), this.#x);
    const [batch, , height, width] = x.shape;
    const g = this.geometry(height, width);
    const O = this.outChannels, L = g.outH * g.outW, CKK = this.W.size / O;
    checkDelta(this.#name(), [batch, O, g.outH, g.outW], delta);
    delta = contiguous(delta);
    const dx = zeros(x.shape, dtypeOf(this.W));
    this.dW.data.fill(0);
    this.db?.data.fill(0);
    const cols = this.#scratch(CKK * L);
    const dcols = allocate(CKK * L, dtypeOf(this.W));
    const DB = this.db?.data;
    const imageSize = x.size / batch;
    for (let n = 0; n < batch; n++) {
      const Dn = delta.data.subarray(n * O * L, (n + 1) * O * L);
      if (DB) {
        for (let o = 0; o < O; o++) {
          let sum = 0;
          for (let l = 0; l < L; l++) sum += Dn[o * L + l];
          DB[o] += sum;
        }
      }
      // dW (O × CKK) += dY_n (O × L) · cols_nᵀ; the columns are rebuilt rather than kept
      // from forward, which would cost batch × CKK × L memory.
      im2col(x.data.subarray(n * imageSize), g, cols);
      gemm(false, true, O, CKK, L, Dn, cols, this.dW.data, 1);
      // dcols (CKK × L) = Wᵀ · dY_n, folded back onto the image it was read from.
      gemm(true, false, CKK, L, O, this.W.data, Dn, dcols, 0);
      col2im(dcols, g, dx.data.subarray(n * imageSize, (n + 1) * imageSize));
    }
    return dx;
  }

  /** `W` as `weight` and `b` as `bias`, with their gradients, as in PyTorch. */
  override ownParameters(): Parameter[] {
    return weightAndBias(this.W, this.dW, this.b, this.db);
  }

  #scratch(size: number): FloatArray {
    const dtype = dtypeOf(this.W);
    const wrongType = (this.#cols instanceof Float32Array) !== (dtype === "float32");
    if (!this.#cols || this.#cols.length < size || wrongType) {
      this.#cols = allocate(size, dtype);
    }
    return this.#cols.subarray(0, size);
  }

  #name(): string {
    const [kh, kw] = this.kernelSize, [sh, sw] = this.stride;
    const k = kh === kw ? `${kh}` : `(${kh}, ${kw})`, s = sh === sw ? `${sh}` : `(${sh}, ${sw})`;
    return `Conv2D(${this.inChannels}, ${this.outChannels}, ${k}, ${s})`;
  }
}
