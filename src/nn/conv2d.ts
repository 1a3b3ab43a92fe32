/**
 * `Conv2D`: a 2-D convolution matching `torch.nn.Conv2d`, lowered onto {@linkcode gemm}:
 * im2col over a chunk of images side by side, then one matrix multiply for the whole chunk,
 * so that the products are large (a small late-stage image alone gives a 4×4 = 16-column
 * product, far too small to run fast).
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
import { OutputBuffer } from "./buffers.ts";
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
 * Its outputs are its own, reused from call to call: the tensor `forward` returns is valid
 * until its next `forward`, the one `backward` returns until its next `backward`; `clone`
 * one to keep it longer (see `buffers.ts`).
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
  /** The outputs of forward and backward, reused (see `buffers.ts` for the ownership rule). */
  #y = new OutputBuffer();
  #dx = new OutputBuffer();
  /** Scratch reused across chunks and calls: the im2col matrix of a chunk of images... */
  #cols: FloatArray | null = null;
  /** ...the chunk's output (forward) or delta (backward), channel-major `(O, images·L)`... */
  #out: FloatArray | null = null;
  /** ...and the gradient w.r.t. the chunk's im2col matrix (backward). */
  #dcols: FloatArray | null = null;

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
    const y = this.#y.get([batch, O, g.outH, g.outW], dtypeOf(this.W));
    const X = x.data, Y = y.data, B = this.b?.data, imageSize = X.length / batch;
    const chunk = chunkSize(batch, CKK, L);
    const cols = this.#cols = scratch(this.#cols, CKK * chunk * L, X);
    const out = this.#out = scratch(this.#out, O * chunk * L, X);
    for (let n0 = 0; n0 < batch; n0 += chunk) {
      const images = Math.min(chunk, batch - n0), NL = images * L;
      for (let i = 0; i < images; i++) im2col(X.subarray((n0 + i) * imageSize), g, cols, NL, i * L);
      // out (O × images·L) = W (O × CKK) · cols (CKK × images·L): one product for the chunk.
      gemm(false, false, O, NL, CKK, this.W.data, cols, out, 0);
      // out holds the chunk channel-major (O, images, L); y is (images, O, L).
      for (let i = 0; i < images; i++) {
        for (let o = 0; o < O; o++) {
          const src = o * NL + i * L, dst = ((n0 + i) * O + o) * L;
          if (B) { for (let l = 0, b = B[o]; l < L; l++) Y[dst + l] = out[src + l] + b; }
          else Y.set(out.subarray(src, src + L), dst);
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
    const x = saved(this.#name(), this.#x);
    const [batch, , height, width] = x.shape;
    const g = this.geometry(height, width);
    const O = this.outChannels, L = g.outH * g.outW, CKK = this.W.size / O;
    checkDelta(this.#name(), [batch, O, g.outH, g.outW], delta);
    const D = contiguous(delta).data, X = x.data, imageSize = X.length / batch;
    const dx = this.#dx.get(x.shape, dtypeOf(this.W), true);
    const DB = this.db?.data;
    DB?.fill(0);
    const chunk = chunkSize(batch, CKK, L);
    const cols = this.#cols = scratch(this.#cols, CKK * chunk * L, X);
    const dOut = this.#out = scratch(this.#out, O * chunk * L, X);
    const dcols = this.#dcols = scratch(this.#dcols, CKK * chunk * L, X);
    for (let n0 = 0; n0 < batch; n0 += chunk) {
      const images = Math.min(chunk, batch - n0), NL = images * L;
      // dOut (O × images·L): the chunk's delta channel-major, as forward's product made it.
      for (let i = 0; i < images; i++) {
        for (let o = 0; o < O; o++) {
          const src = ((n0 + i) * O + o) * L, dst = o * NL + i * L;
          dOut.set(D.subarray(src, src + L), dst);
          if (DB) {
            let sum = 0;
            for (let l = src; l < src + L; l++) sum += D[l];
            DB[o] += sum;
          }
        }
      }
      // dW (O × CKK) += dOut · colsᵀ over the chunk's images at once; the columns are
      // rebuilt rather than kept from forward, which would cost batch × CKK × L memory.
      for (let i = 0; i < images; i++) im2col(X.subarray((n0 + i) * imageSize), g, cols, NL, i * L);
      gemm(false, true, O, CKK, NL, dOut, cols, this.dW.data, n0 === 0 ? 0 : 1);
      // dcols (CKK × images·L) = Wᵀ · dOut, folded back onto the images it was read from.
      gemm(true, false, CKK, NL, O, this.W.data, dOut, dcols, 0);
      for (let i = 0; i < images; i++) {
        col2im(
          dcols,
          g,
          dx.data.subarray((n0 + i) * imageSize, (n0 + i + 1) * imageSize),
          NL,
          i * L,
        );
      }
    }
    return dx;
  }

  /** `W` as `weight` and `b` as `bias`, with their gradients, as in PyTorch. */
  override ownParameters(): Parameter[] {
    return weightAndBias(this.W, this.dW, this.b, this.db);
  }

  #name(): string {
    const [kh, kw] = this.kernelSize, [sh, sw] = this.stride;
    const k = kh === kw ? `${kh}` : `(${kh}, ${kw})`, s = sh === sw ? `${sh}` : `(${sh}, ${sw})`;
    return `Conv2D(${this.inChannels}, ${this.outChannels}, ${k}, ${s})`;
  }
}

/**
 * The elements of a chunk's im2col matrix the lowering aims for: large enough that every
 * product has thousands of columns, small enough (16 MB in float32) to stay a modest scratch
 * buffer whatever the batch.
 */
const CHUNK_ELEMENTS = 1 << 22;

/**
 * How many images go side by side in one product: as many as fit in
 * {@linkcode CHUNK_ELEMENTS} (at least one), evened out so the last chunk is not a sliver.
 */
function chunkSize(batch: number, rows: number, cols: number): number {
  const most = Math.max(1, Math.min(batch, Math.floor(CHUNK_ELEMENTS / (rows * cols))));
  return Math.ceil(batch / Math.ceil(batch / most));
}

/**
 * `buffer` if it holds at least `size` elements of `like`'s dtype, else a new one: scratch
 * that lives as long as the layer and grows to the largest input seen.
 */
function scratch(buffer: FloatArray | null, size: number, like: FloatArray): FloatArray {
  const f32 = like instanceof Float32Array;
  if (buffer && buffer.length >= size && (buffer instanceof Float32Array) === f32) return buffer;
  return allocate(size, f32 ? "float32" : "float64");
}
