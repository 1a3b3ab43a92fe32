/**
 * `Linear`: a fully connected layer matching `torch.nn.Linear`, through {@linkcode gemm}.
 *
 * @module
 */

import { gemm } from "../kernels/gemm.ts";
import { defaultRng, type Rng } from "../random.ts";
import { contiguous, type DType, dtypeOf, formatShape, type Tensor, zeros } from "../tensor.ts";
import { checkDelta, checkDType, checkInteger, saved } from "./check.ts";
import { Layer, type Parameter, ShapeError, weightAndBias } from "./module.ts";

/** Options beyond the two sizes, with PyTorch's meaning and defaults. */
export interface LinearOptions {
  /** Whether the layer has a bias (default true). */
  bias?: boolean;
  /** The parameters' dtype (default float64; training uses float32). */
  dtype?: DType;
  /** The generator for the initial weights (default: the one `manualSeed` sets). */
  rng?: Rng;
}

/**
 * `y = x Wᵀ + b` over the last axis of `x`: `(..., inFeatures)` to `(..., outFeatures)`.
 *
 * `W` has shape `(outFeatures, inFeatures)` and `b` shape `(outFeatures,)`, initialised
 * uniform in ±1/sqrt(inFeatures) as PyTorch's default init gives. After `backward`, `dW`
 * and `db` hold the gradients summed over the batch.
 *
 * @example
 * ```ts
 * const fc = new Linear(512, 10);
 * const logits = fc.forward(zeros([64, 512])); // shape (64, 10)
 * const dx = fc.backward(zeros(logits.shape)); // shape (64, 512); fc.dW, fc.db set
 * ```
 */
export class Linear extends Layer {
  /** The size of the input's last axis. */
  readonly inFeatures: number;
  /** The size of the output's last axis. */
  readonly outFeatures: number;
  /** The weights, `(outFeatures, inFeatures)`: PyTorch's `weight`. */
  W: Tensor;
  /** The bias, `(outFeatures,)`, or null without one: PyTorch's `bias`. */
  b: Tensor | null;
  /** The gradient of `W` from the last `backward`, summed over the batch. */
  dW: Tensor;
  /** The gradient of `b` from the last `backward`, summed over the batch. */
  db: Tensor | null;
  #x: Tensor | null = null;

  /** PyTorch's `Linear(in_features, out_features, bias=)`. */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const { bias = true, dtype = "float64" } = options;
    const name = `Linear(${inFeatures}, ${outFeatures})`;
    checkInteger(name, "inFeatures", inFeatures, 1);
    checkInteger(name, "outFeatures", outFeatures, 1);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const rng = options.rng ?? defaultRng();
    const bound = 1 / Math.sqrt(inFeatures);
    this.W = rng.fillUniform(zeros([outFeatures, inFeatures], dtype), -bound, bound);
    this.b = bias ? rng.fillUniform(zeros([outFeatures], dtype), -bound, bound) : null;
    this.dW = zeros(this.W.shape, dtype);
    this.db = bias ? zeros([outFeatures], dtype) : null;
  }

  /** `x` of shape `(..., inFeatures)` to `(..., outFeatures)`. */
  forward(x: Tensor): Tensor {
    const rank = x.shape.length;
    if (rank < 1 || x.shape[rank - 1] !== this.inFeatures) {
      throw new ShapeError(
        `${this.#name()}: expected input of shape (batch, ${this.inFeatures}), got ${
          formatShape(x.shape)
        }`,
      );
    }
    checkDType(this.#name(), x, dtypeOf(this.W));
    x = contiguous(x);
    this.#x = x;
    const rows = x.size / this.inFeatures, O = this.outFeatures;
    const y = zeros([...x.shape.slice(0, -1), O], dtypeOf(this.W));
    // Y (rows × O) = X (rows × in) · Wᵀ
    gemm(false, true, rows, O, this.inFeatures, x.data, this.W.data, y.data, 0);
    const B = this.b?.data, Y = y.data;
    if (B) { for (let r = 0; r < rows; r++) for (let o = 0; o < O; o++) Y[r * O + o] += B[o]; }
    return y;
  }

  /**
   * `delta` (the loss's gradient w.r.t. the last output) to the gradient w.r.t. the last
   * input; sets `dW` and `db` to the parameter gradients summed over the batch.
   */
  backward(delta: Tensor): Tensor {
    const x = saved(this.#name(), this.#x);
    const rows = x.size / this.inFeatures, O = this.outFeatures, I = this.inFeatures;
    checkDelta(this.#name(), [...x.shape.slice(0, -1), O], delta);
    const D = contiguous(delta).data;
    // dX (rows × in) = dY (rows × O) · W;  dW (O × in) = dYᵀ · X;  db = column sums of dY
    const dx = zeros(x.shape, dtypeOf(this.W));
    gemm(false, false, rows, I, O, D, this.W.data, dx.data, 0);
    gemm(true, false, O, I, rows, D, x.data, this.dW.data, 0);
    const DB = this.db?.data;
    if (DB) {
      DB.fill(0);
      for (let r = 0; r < rows; r++) for (let o = 0; o < O; o++) DB[o] += D[r * O + o];
    }
    return dx;
  }

  /** `W` as `weight` and `b` as `bias`, with their gradients, as in PyTorch. */
  override ownParameters(): Parameter[] {
    return weightAndBias(this.W, this.dW, this.b, this.db);
  }

  #name(): string {
    return `Linear(${this.inFeatures}, ${this.outFeatures})`;
  }
}
