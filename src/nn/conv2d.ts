/**
 * `Conv2D`: a 2-D convolution matching `torch.nn.Conv2d`, lowered onto {@linkcode gemm}: one
 * matrix multiply for a chunk of images side by side, so that the products are large (a
 * small late-stage image alone gives a 4×4 = 16-column product, far too small to run fast).
 * The im2col matrix and the channel-major output are passed as views (`matrix_view.ts`):
 * the fast kernel packs its panels straight from the images, the plain one writes them out.
 * For a stride-1 layer the gradient w.r.t. the input is a convolution too (of the delta with
 * the flipped filters), so backward needs no col2im. Wide float32 3 × 3 layers instead take
 * Winograd's minimal filtering for all three products (`kernels/winograd.ts`).
 *
 * @module
 */

import { chunkImages } from "../kernels/chunks.ts";
import { gemm } from "../kernels/gemm.ts";
import { col2im, type ConvGeometry, convGeometry } from "../kernels/im2col.ts";
import { channelRows, im2colMatrix } from "../kernels/matrix_view.ts";
import { winogradApplies, winogradConv2d, winogradWeightGrad } from "../kernels/winograd.ts";
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
  /**
   * Whether `backward` computes the gradient w.r.t. the input (default true). A network's
   * first layer skips it, as PyTorch does for an input that does not require grad: its
   * `backward` then returns zeros and costs a third less.
   */
  inputGrad?: boolean;
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
  /** Whether `backward` computes the gradient w.r.t. the input (else it returns zeros). */
  readonly inputGrad: boolean;
  /**
   * Whether `W` and `b` are trained (PyTorch's `requires_grad`); set it false to freeze them:
   * `backward` then leaves `dW` and `db` at zero and optimizers skip them.
   */
  requiresGrad = true;
  /**
   * Whether `W` alone is trained (with `requiresGrad`): false freezes the filters and keeps
   * the bias learning (`dW` stays zero; optimizers skip `W`), as airbench trains its whitening
   * layer's bias over fixed whitening filters.
   */
  weightRequiresGrad = true;
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
  /** Scratch reused across calls: the flipped filters (backward)... */
  #wt: FloatArray | null = null;
  /** ...and, for a strided layer, the gradient w.r.t. a chunk's im2col matrix. */
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
    const { padding = 0, bias = true, dtype = "float64", inputGrad = true } = options;
    const name = `Conv2D(${inChannels}, ${outChannels}, ${kernelSize}, ${stride})`;
    checkInteger(name, "inChannels", inChannels, 1);
    checkInteger(name, "outChannels", outChannels, 1);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = pair(name, "kernelSize", kernelSize, 1);
    this.stride = pair(name, "stride", stride, 1);
    this.padding = pair(name, "padding", padding, 0);
    this.inputGrad = inputGrad;

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
    if (this.#winograd(height, width)) {
      winogradConv2d(X, batch, this.inChannels, height, width, this.W.data, O, Y);
    } else {
      const chunk = chunkImages(batch, CKK * L);
      for (let n0 = 0; n0 < batch; n0 += chunk) {
        const images = Math.min(chunk, batch - n0);
        // y (O × images·L, stored image by image) = W (O × CKK) · cols (CKK × images·L).
        gemm(
          false,
          false,
          O,
          images * L,
          CKK,
          this.W.data,
          im2colMatrix(X.subarray(n0 * imageSize), images, g),
          channelRows(Y.subarray(n0 * O * L), images, O, L),
          0,
        );
      }
    }
    if (B) {
      for (let i = 0; i < batch * O; i++) {
        for (let l = i * L, end = l + L, b = B[i % O]; l < end; l++) Y[l] += b;
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
    const [batch, C, height, width] = x.shape;
    const g = this.geometry(height, width);
    const O = this.outChannels, L = g.outH * g.outW, CKK = this.W.size / O;
    checkDelta(this.#name(), [batch, O, g.outH, g.outW], delta);
    const D = contiguous(delta).data, X = x.data, imageSize = X.length / batch;
    const fixedW = !this.requiresGrad || !this.weightRequiresGrad;
    if (fixedW) this.dW.data.fill(0);
    if (!this.requiresGrad) this.db?.data.fill(0);
    const DB = this.requiresGrad ? this.db?.data : undefined;
    if (DB) {
      DB.fill(0);
      for (let i = 0; i < batch * O; i++) {
        let sum = 0;
        for (let l = i * L, end = l + L; l < end; l++) sum += D[l];
        DB[i % O] += sum;
      }
    }
    const flipped = this.#flippedGeometry(g);
    const dx = this.#dx.get(x.shape, dtypeOf(this.W), flipped === null || !this.inputGrad);
    const Wt = flipped && this.inputGrad ? this.#flippedWeights() : null;
    if (this.#winograd(height, width)) {
      if (!fixedW) winogradWeightGrad(X, D, batch, C, height, width, O, this.dW.data);
      if (Wt) winogradConv2d(D, batch, O, height, width, Wt, C, dx.data);
      return dx;
    }
    const chunk = chunkImages(batch, CKK * L);
    for (let n0 = 0; n0 < batch; n0 += chunk) {
      const images = Math.min(chunk, batch - n0), NL = images * L;
      const dOut = channelRows(D.subarray(n0 * O * L), images, O, L);
      const xs = X.subarray(n0 * imageSize);
      // dW (O × CKK) += dOut (O × images·L) · colsᵀ (images·L × CKK).
      if (!fixedW) {
        gemm(
          false,
          false,
          O,
          CKK,
          NL,
          dOut,
          im2colMatrix(xs, images, g, true),
          this.dW.data,
          n0 === 0 ? 0 : 1,
        );
      }
      const dxs = dx.data.subarray(n0 * imageSize);
      if (!this.inputGrad) continue;
      if (Wt && flipped) {
        // dx is the convolution of delta with the flipped, transposed filters.
        const HW = height * width;
        const dcols = im2colMatrix(D.subarray(n0 * O * L), images, flipped);
        gemm(
          false,
          false,
          C,
          images * HW,
          O * this.kernelSize[0] * this.kernelSize[1],
          Wt,
          dcols,
          channelRows(dxs, images, C, HW),
          0,
        );
      } else {
        // dcols (CKK × images·L) = Wᵀ · dOut, folded back onto the images it was read from.
        const dcols = this.#dcols = scratch(this.#dcols, CKK * NL, X);
        gemm(true, false, CKK, NL, O, this.W.data, dOut, dcols, 0);
        for (let i = 0; i < images; i++) col2im(dcols, g, dxs.subarray(i * imageSize), NL, i * L);
      }
    }
    return dx;
  }

  /**
   * For a stride-1 convolution, the gradient w.r.t. its input is itself a convolution: of the
   * delta, padded by `k − 1 − p`, with the filters flipped in space and with in and out
   * channels swapped. This is that convolution's geometry over the delta, or null where the
   * layer's stride (or a padding wider than the window) rules it out.
   */
  #flippedGeometry(g: ConvGeometry): ConvGeometry | null {
    const [kh, kw] = this.kernelSize, [ph, pw] = this.padding;
    if (g.strideH !== 1 || g.strideW !== 1 || ph > kh - 1 || pw > kw - 1) return null;
    return convGeometry(this.outChannels, g.outH, g.outW, [kh, kw], [1, 1], [
      kh - 1 - ph,
      kw - 1 - pw,
    ]);
  }

  /** Whether this layer runs on `height × width` images by Winograd (`winograd.ts`). */
  #winograd(height: number, width: number): boolean {
    return winogradApplies(
      dtypeOf(this.W),
      this.inChannels,
      this.outChannels,
      height,
      width,
      this.kernelSize,
      this.stride,
      this.padding,
    );
  }

  /** The filters flipped in space with in and out channels swapped: `(in, out·kh·kw)`. */
  #flippedWeights(): FloatArray {
    const [kh, kw] = this.kernelSize, O = this.outChannels, C = this.inChannels, W = this.W.data;
    const Wt = this.#wt = scratch(this.#wt, W.length, W);
    for (let o = 0; o < O; o++) {
      for (let c = 0; c < C; c++) {
        for (let ki = 0; ki < kh; ki++) {
          for (let kj = 0; kj < kw; kj++) {
            Wt[((c * O + o) * kh + kh - 1 - ki) * kw + kw - 1 - kj] =
              W[((o * C + c) * kh + ki) * kw + kj];
          }
        }
      }
    }
    return Wt;
  }

  /** `W` as `weight` and `b` as `bias`, with their gradients, as in PyTorch. */
  override ownParameters(): Parameter[] {
    const params = weightAndBias(this.W, this.dW, this.b, this.db);
    const frozen = (p: Parameter) =>
      !this.requiresGrad || (p.name === "weight" && !this.weightRequiresGrad);
    return params.map((p) => frozen(p) ? { ...p, requiresGrad: false } : p);
  }

  #name(): string {
    const [kh, kw] = this.kernelSize, [sh, sw] = this.stride;
    const k = kh === kw ? `${kh}` : `(${kh}, ${kw})`, s = sh === sw ? `${sh}` : `(${sh}, ${sw})`;
    return `Conv2D(${this.inChannels}, ${this.outChannels}, ${k}, ${s})`;
  }
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
