/**
 * `BatchNorm2D`, matching `torch.nn.BatchNorm2d`.
 *
 * @module
 */

import { contiguous, type DType, dtypeOf, type Tensor, zeros } from "../tensor.ts";
import { forChannels } from "../kernels/arena.ts";
import {
  BATCH_NORM_BACKWARD,
  BATCH_NORM_FORWARD,
  BETA,
  BN_SLOTS,
  GAMMA,
  INV_STD,
  MEAN,
  SUM_D,
  SUM_DXC,
  VAR,
} from "../kernels/channel_kernels.ts";
import { OutputBuffer } from "./buffers.ts";
import { checkDelta, checkDType, checkImage, checkInteger, saved } from "./check.ts";
import { Layer, type Module, type NamedTensor, type Parameter, ShapeError } from "./module.ts";

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
  /**
   * The weight of the new batch in the running statistics (PyTorch's convention); settable,
   * as `recalibrateBatchNorm` does to average over batches.
   */
  momentum: number;
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
   * Whether `weight` (γ) is trained (PyTorch's `weight.requires_grad`): false keeps it at its
   * value, as airbench keeps it at 1; it stays part of the state either way.
   */
  weightRequiresGrad = true;
  /** The outputs of forward and backward, reused (see `buffers.ts` for the ownership rule). */
  #y = new OutputBuffer();
  #dx = new OutputBuffer();
  /** The per-channel block (`#perChannel`). */
  #p = new OutputBuffer();
  /**
   * What backward needs besides the block's mean and 1/σ: the input and the mode used. x̂ is
   * recomputed from them rather than kept, which saves allocating and writing a tensor the
   * size of the input on every forward.
   */
  #saved: { x: Tensor; training: boolean } | null = null;

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
    const RM = this.runningMean.data, RV = this.runningVar.data, m = this.momentum;
    const y = this.#y.get(x.shape, dtypeOf(x));
    const P = this.#perChannel(C);
    for (let c = 0; c < C; c++) {
      P[BN_SLOTS * c + GAMMA] = this.weight?.data[c] ?? 1;
      P[BN_SLOTS * c + BETA] = this.bias?.data[c] ?? 0;
      if (!this.training) {
        P[BN_SLOTS * c + MEAN] = RM[c];
        P[BN_SLOTS * c + INV_STD] = 1 / Math.sqrt(RV[c] + this.eps);
      }
    }
    P[BN_SLOTS * C] = this.eps;
    const training = this.training;
    const shape = [batch, C, area, training ? 1 : 0];
    forChannels(BATCH_NORM_FORWARD, [x.data, y.data, P], shape, C);
    if (training) {
      for (let c = 0; c < C; c++) {
        RM[c] = (1 - m) * RM[c] + m * P[BN_SLOTS * c + MEAN];
        RV[c] = (1 - m) * RV[c] + m * P[BN_SLOTS * c + VAR] * count / (count - 1);
      }
    }
    this.#saved = { x, training };
    return y;
  }

  /**
   * In training mode the batch statistics depend on every input, so
   * `dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))` per channel; in eval mode the layer
   * is affine and `dx = γ/σ · dy`. Sets `dWeight = Σ dy · x̂` and `dBias = Σ dy`.
   */
  backward(delta: Tensor): Tensor {
    const { x, training } = saved(this.#name(), this.#saved);
    checkDelta(this.#name(), x.shape, delta);
    const D = contiguous(delta).data;
    const [batch, C, H, W] = x.shape;
    const area = H * W;
    const dx = this.#dx.get(x.shape, dtypeOf(x));
    // The mean and 1/σ are still in the block from the forward pass.
    const P = this.#perChannel(C), shape = [batch, C, area, training ? 1 : 0];
    forChannels(BATCH_NORM_BACKWARD, [D, x.data, dx.data, P], shape, C);
    const DG = this.dWeight?.data, DB = this.dBias?.data;
    if (DG && DB) {
      for (let c = 0; c < C; c++) {
        DG[c] = P[BN_SLOTS * c + SUM_DXC] * P[BN_SLOTS * c + INV_STD];
        DB[c] = P[BN_SLOTS * c + SUM_D];
      }
    }
    return dx;
  }

  /**
   * The float64 block of per-channel values the loops of `channel_kernels.ts` share, kept
   * between forward and backward; in the fast kernels' shared memory when it is installed.
   */
  #perChannel(C: number): Float64Array {
    const block = this.#p.get([2 * (BN_SLOTS * C + 1)], "float32").data;
    return new Float64Array(block.buffer, block.byteOffset, BN_SLOTS * C + 1);
  }

  /** `weight` (γ) and `bias` (β) with their gradients, when affine (γ frozen or not). */
  override ownParameters(): Parameter[] {
    if (!this.weight || !this.bias || !this.dWeight || !this.dBias) return [];
    return [
      {
        name: "weight",
        value: this.weight,
        grad: this.dWeight,
        ...(this.weightRequiresGrad ? {} : { requiresGrad: false }),
      },
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

/**
 * Every BatchNorm2D in `module`'s tree, in order.
 *
 * @example
 * ```ts
 * for (const bn of batchNorms(model)) bn.eval();
 * ```
 */
export function batchNorms(module: Module): BatchNorm2D[] {
  const own = module instanceof BatchNorm2D ? [module] : [];
  return own.concat(module.namedChildren().flatMap(([, child]) => batchNorms(child)));
}
