/**
 * `CrossEntropyLoss`: softmax cross-entropy on logits, matching `torch.nn.CrossEntropyLoss`
 * (integer class targets, optional label smoothing, mean or sum reduction).
 *
 * @module
 */

import { contiguous, dtypeOf, formatShape, type Tensor, zeros } from "../tensor.ts";
import { ShapeError } from "./module.ts";

/** Options of {@linkcode CrossEntropyLoss} and {@linkcode crossEntropy}, PyTorch's defaults. */
export interface CrossEntropyOptions {
  /**
   * ε in [0, 1]: the target becomes (1 − ε)·one-hot + ε/C, as PyTorch's `label_smoothing`
   * (default 0).
   */
  labelSmoothing?: number;
  /** `"mean"` over the batch (default, as PyTorch) or `"sum"`. */
  reduction?: "mean" | "sum";
}

/** The loss and its gradient w.r.t. the logits, from {@linkcode crossEntropy}. */
export interface CrossEntropyResult {
  /** The loss, a mean or a sum over the batch as `reduction` says. */
  loss: number;
  /** d loss / d logits, shape `(N, C)`, in the logits' dtype. */
  grad: Tensor;
}

/**
 * Softmax cross-entropy of `logits` `(N, C)` against integer class `targets` (length N),
 * numerically stable (log-sum-exp around each row's maximum, so logits of ±1000 are fine).
 *
 * Per sample, with log-probabilities `l = logits − logsumexp(logits)` and target
 * `q = (1 − ε)·onehot(y) + ε/C`, the loss is `−Σ_c q_c l_c` and its gradient
 * `softmax(logits) − q`. With `reduction: "mean"` (the default) both are divided by N: the
 * gradient is that of the **mean** loss. Layers sum their parameter gradients over the batch,
 * so feeding this gradient to `backward` gives parameter gradients of the mean loss — exactly
 * what PyTorch's `loss.backward()` leaves in `.grad`. The arithmetic is done in float64 and the
 * gradient is returned in the logits' dtype (float64 or float32).
 *
 * @example
 * ```ts
 * const logits = tensor(new Float64Array([2, 0, -1, 0.5, 0.5, 3]), [2, 3]);
 * const { loss, grad } = crossEntropy(logits, [0, 2], { labelSmoothing: 0.1 });
 * // loss ≈ 0.3276 (as PyTorch), grad has shape (2, 3), rows sum to 0
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  targets: ArrayLike<number>,
  options: CrossEntropyOptions = {},
): CrossEntropyResult {
  const { labelSmoothing: eps = 0, reduction = "mean" } = options;
  if (!(eps >= 0 && eps <= 1)) {
    throw new RangeError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${eps}`);
  }
  if (reduction !== "mean" && reduction !== "sum") {
    throw new RangeError(`CrossEntropyLoss: reduction must be "mean" or "sum", got ${reduction}`);
  }
  if (logits.shape.length !== 2 || logits.shape[0] < 1 || logits.shape[1] < 1) {
    throw new ShapeError(
      `CrossEntropyLoss: expected logits of shape (N, C), got ${formatShape(logits.shape)}`,
    );
  }
  const [n, c] = logits.shape;
  if (targets.length !== n) {
    throw new ShapeError(
      `CrossEntropyLoss: expected ${n} targets for logits of shape ${
        formatShape(logits.shape)
      }, got ${targets.length}`,
    );
  }
  const x = contiguous(logits).data;
  const grad = zeros([n, c], dtypeOf(logits));
  const g = grad.data;
  const scale = reduction === "mean" ? 1 / n : 1;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const y = targets[i];
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw new RangeError(
        `CrossEntropyLoss: target ${i} is ${y}, but class indices must be integers in [0, ${c})`,
      );
    }
    const row = i * c;
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (x[row + j] > max) max = x[row + j];
    let sum = 0;
    for (let j = 0; j < c; j++) sum += Math.exp(x[row + j] - max);
    const logSumExp = max + Math.log(sum);
    // −Σ q_j l_j = (1 − ε)(lse − x_y) + (ε/C) Σ_j (lse − x_j); each term is >= 0.
    let smooth = 0;
    for (let j = 0; j < c; j++) smooth += logSumExp - x[row + j];
    total += (1 - eps) * (logSumExp - x[row + y]) + (eps / c) * smooth;
    for (let j = 0; j < c; j++) {
      const q = (j === y ? 1 - eps : 0) + eps / c;
      g[row + j] = (Math.exp(x[row + j] - logSumExp) - q) * scale;
    }
  }
  return { loss: total * scale, grad };
}

/**
 * The cross-entropy criterion in the layers' style: `forward(logits, targets)` returns the
 * loss and remembers the gradient, `backward()` returns d loss / d logits to pass to the
 * network's `backward`. See {@linkcode crossEntropy} for the exact semantics: with the
 * default mean reduction the gradient includes the 1/N, and the layers' batch-summed
 * parameter gradients are then the gradients of the mean loss, as PyTorch's.
 *
 * @example
 * ```ts
 * const criterion = new CrossEntropyLoss({ labelSmoothing: 0.1 });
 * const loss = criterion.forward(model.forward(x), labels);
 * model.backward(criterion.backward());
 * ```
 */
export class CrossEntropyLoss {
  /** ε, PyTorch's `label_smoothing`. */
  readonly labelSmoothing: number;
  /** `"mean"` (the default) or `"sum"` over the batch. */
  readonly reduction: "mean" | "sum";
  #grad: Tensor | null = null;

  /** A criterion with PyTorch's defaults: no smoothing, mean reduction. */
  constructor(options: CrossEntropyOptions = {}) {
    this.labelSmoothing = options.labelSmoothing ?? 0;
    this.reduction = options.reduction ?? "mean";
  }

  /** The loss of `logits` `(N, C)` against class indices `targets` (length N). */
  forward(logits: Tensor, targets: ArrayLike<number>): number {
    const { loss, grad } = crossEntropy(logits, targets, this);
    this.#grad = grad;
    return loss;
  }

  /** d loss / d logits of the last `forward`, shape `(N, C)`. */
  backward(): Tensor {
    if (!this.#grad) throw new Error("CrossEntropyLoss: backward called before forward");
    return this.#grad;
  }
}
