/**
 * `BatchNorm2D`, matching `torch.nn.BatchNorm2d`.
 *
 * @module
 */

import { contiguous, type DType, dtypeOf, type Tensor, zeros } from "../tensor.ts";
import { OutputBuffer } from "./buffers.ts";
import { checkDelta, checkDType, checkImage, checkInteger, saved } from "./check.ts";
import { Layer, type NamedTensor, type Parameter, ShapeError } from "./module.ts";

/** Options with PyTorch's meaning and defaults. */
export interface BatchNorm2DOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /**
   * PyTorch's convention: `running = (1 − momentum) · running + momentum · batch`
   * (default 0.1). Note this is the opposite of the optimizer's momentum.
   */
  momentum?: number;
  /** Whether the layer has a learned scale `weight` and shift `bias` (default true). */
  affine?: boolean;
  /** The parameters' and running statistics' dtype (default float64). */
  dtype?: DType;
}

/**
 * Normalises each channel of `(batch, numFeatures, h, w)` input, then scales by `weight`
 * (γ, initially 1) and shifts by `bias` (β, initially 0).
 *
 * In training mode it uses the batch's mean and biased variance over `(batch, h, w)`, and
 * updates the buffers `runningMean` and `runningVar` (the latter with the unbiased
 * variance, as PyTorch does). In eval mode it uses the running statistics instead, and the
 * layer is a fixed per-channel affine map. The running statistics are buffers
 * (`running_mean`, `running_var` in {@linkcode Layer.buffers}), not parameters. PyTorch's
 * `num_batches_tracked` buffer is not kept: with a fixed momentum it has no effect.
 *
 * Its outputs are its own, reused from call to call: the tensor `forward` returns is valid
 * until its next `forward`, the one `backward` returns until its next `backward`; `clone`
 * one to keep it longer (see `buffers.ts`).
 *
 * @example
 * ```ts
 * const bn = new BatchNorm2D(16);
 * const y = bn.forward(x); // x of shape (batch, 16, h, w); updates bn.runningMean/Var
 * const dx = bn.backward(delta); // bn.dWeight, bn.dBias set
 * bn.eval(); // now normalises with the running statistics
 * ```
 */
export class BatchNorm2D extends Layer {
  /** The number of channels it normalises. */
  readonly numFeatures: number;
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** The weight of the new batch in the running statistics (PyTorch's convention). */
  readonly momentum: number;
  /** γ, shape `(numFeatures,)`, or null without `affine`. */
  weight: Tensor | null;
  /** β, shape `(numFeatures,)`, or null without `affine`. */
  bias: Tensor | null;
  /** The gradient of `weight` from the last `backward`, summed over the batch. */
  dWeight: Tensor | null;
  /** The gradient of `bias` from the last `backward`, summed over the batch. */
  dBias: Tensor | null;
  /** The running mean per channel, initially 0: the buffer `running_mean`. */
  runningMean: Tensor;
  /** The running (unbiased) variance per channel, initially 1: the buffer `running_var`. */
  runningVar: Tensor;
  /**
   * What backward needs: the input, the mean and 1/σ per channel, and the mode used. x̂ is
   * recomputed from them rather than kept, which saves allocating and writing a tensor the
   * size of the input on every forward.
   */
  /** The outputs of forward and backward, reused (see `buffers.ts` for the ownership rule). */
  #y = new OutputBuffer();
  #dx = new OutputBuffer();
  #saved: { x: Tensor; mean: Float64Array; invStd: Float64Array; training: boolean } | null = null;

  /** PyTorch's `BatchNorm2d(num_features, eps=, momentum=, affine=)`. */
  constructor(numFeatures: number, options: BatchNorm2DOptions = {}) {
    super();
    const { eps = 1e-5, momentum = 0.1, affine = true, dtype = "float64" } = options;
    checkInteger(`BatchNorm2D(${numFeatures})`, "numFeatures", numFeatures, 1);
    if (!(eps > 0) || !(momentum >= 0 && momentum <= 1)) {
      throw new RangeError(
        `BatchNorm2D(${numFeatures}): eps must be > 0 and momentum in [0, 1], got eps=${eps}, momentum=${momentum}`,
      );
    }
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.weight = affine ? zeros([numFeatures], dtype) : null;
    this.weight?.data.fill(1);
    this.bias = affine ? zeros([numFeatures], dtype) : null;
    this.dWeight = affine ? zeros([numFeatures], dtype) : null;
    this.dBias = affine ? zeros([numFeatures], dtype) : null;
    this.runningMean = zeros([numFeatures], dtype);
    this.runningVar = zeros([numFeatures], dtype);
    this.runningVar.data.fill(1);
  }

  /** `x` of shape `(batch, numFeatures, h, w)` to the same shape, normalised per channel. */
  forward(x: Tensor): Tensor {
    const name = this.#name();
    checkImage(name, x, this.numFeatures);
    checkDType(name, x, dtypeOf(this.runningMean));
    x = contiguous(x);
    const [batch, C, H, W] = x.shape;
    const area = H * W, count = batch * area;
    if (this.training && count < 2) {
      throw new ShapeError(
        `${name}: training needs more than one value per channel, got input of shape (${batch}, ${C}, ${H}, ${W})`,
      );
    }
    const X = x.data, RM = this.runningMean.data, RV = this.runningVar.data;
    const mean = new Float64Array(C), invStd = new Float64Array(C);
    const y = this.#y.get(x.shape, dtypeOf(x));
    const Y = y.data, G = this.weight?.data, B = this.bias?.data, m = this.momentum;
    for (let c = 0; c < C; c++) {
      if (this.training) {
        // One pass for the sum and the sum of squares of the deviations from a shift `k`,
        // the channel's first value: Σ(x − μ)² = Σ(x − k)² − (Σ(x − k))²/count exactly, and
        // its rounding error is about ε·(1 + (μ − k)²/σ²) relative, small since a value of
        // the channel lies a few σ from μ, unlike E[x²] − E[x]², whose error grows with
        // μ²/σ². Half the work of a pass summing x and a second summing (x − μ)².
        const k = X[c * area];
        let s = 0, q = 0;
        for (let n = 0; n < batch; n++) {
          for (let i = (n * C + c) * area, end = i + area; i < end; i++) {
            const d = X[i] - k;
            s += d;
            q += d * d;
          }
        }
        const mu = k + s / count, sq = Math.max(0, q - s * s / count);
        mean[c] = mu;
        invStd[c] = 1 / Math.sqrt(sq / count + this.eps);
        RM[c] = (1 - m) * RM[c] + m * mu;
        RV[c] = (1 - m) * RV[c] + m * sq / (count - 1);
      } else {
        mean[c] = RM[c];
        invStd[c] = 1 / Math.sqrt(RV[c] + this.eps);
      }
      // y = (x − μ)·s·γ + β, as one multiply-add per element, written right after the
      // channel's statistics so that its input is read again from cache, not memory.
      const s = invStd[c] * (G ? G[c] : 1), shift = (B ? B[c] : 0) - mean[c] * s;
      for (let n = 0; n < batch; n++) {
        for (let i = (n * C + c) * area, end = i + area; i < end; i++) Y[i] = X[i] * s + shift;
      }
    }
    this.#saved = { x, mean, invStd, training: this.training };
    return y;
  }

  /**
   * In training mode the batch statistics depend on every input, so
   * `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))` per channel; in eval mode the layer
   * is affine and `dx = γ/σ · dy`. Sets `dWeight = Σ dy · x̂` and `dBias = Σ dy`.
   */
  backward(delta: Tensor): Tensor {
    const { x, mean, invStd, training } = saved(this.#name(), this.#saved);
    checkDelta(this.#name(), x.shape, delta);
    const D = contiguous(delta).data, X = x.data, G = this.weight?.data;
    const [batch, C, H, W] = x.shape;
    const area = H * W, count = batch * area;
    const dx = this.#dx.get(x.shape, dtypeOf(x));
    const DX = dx.data, DG = this.dWeight?.data, DB = this.dBias?.data;
    for (let c = 0; c < C; c++) {
      // Σ dy·x̂ = s·(Σ dy·x − μ·Σ dy) would cancel badly; sum dy·(x − μ) directly instead.
      const mu = mean[c], s = invStd[c];
      let sumD = 0, sumDXc = 0;
      for (let n = 0; n < batch; n++) {
        for (let i = (n * C + c) * area, end = i + area; i < end; i++) {
          sumD += D[i];
          sumDXc += D[i] * (X[i] - mu);
        }
      }
      const sumDX = sumDXc * s;
      if (DG && DB) {
        DG[c] = sumDX;
        DB[c] = sumD;
      }
      // dx = γs·(dy − mean(dy) − x̂·mean(dy·x̂)) = a·dy + b·x + k, with x̂ = (x − μ)·s.
      const scale = (G ? G[c] : 1) * s;
      const meanD = training ? sumD / count : 0, meanDX = training ? sumDX / count : 0;
      const a = scale, b = -scale * meanDX * s, k = -scale * meanD + scale * meanDX * s * mu;
      for (let n = 0; n < batch; n++) {
        for (let i = (n * C + c) * area, end = i + area; i < end; i++) {
          DX[i] = a * D[i] + b * X[i] + k;
        }
      }
    }
    return dx;
  }

  /** `weight` (γ) and `bias` (β) with their gradients, when affine. */
  override ownParameters(): Parameter[] {
    if (!this.weight || !this.bias || !this.dWeight || !this.dBias) return [];
    return [
      { name: "weight", value: this.weight, grad: this.dWeight },
      { name: "bias", value: this.bias, grad: this.dBias },
    ];
  }

  /** `running_mean` and `running_var`, PyTorch's buffer names. */
  override ownBuffers(): NamedTensor[] {
    return [
      { name: "running_mean", value: this.runningMean },
      { name: "running_var", value: this.runningVar },
    ];
  }

  #name(): string {
    return `BatchNorm2D(${this.numFeatures})`;
  }
}
