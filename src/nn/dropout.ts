/**
 * `Dropout`, with `torch.nn.Dropout`'s semantics and this project's seeded generator.
 *
 * @module
 */

import { defaultRng, type Rng } from "../random.ts";
import { contiguous, dtypeOf, type Tensor, zeros } from "../tensor.ts";
import { checkDelta, saved } from "./check.ts";
import { Layer } from "./module.ts";

/** Options of {@linkcode Dropout}. */
export interface DropoutOptions {
  /** The generator for the masks (default: the one `manualSeed` sets). */
  rng?: Rng;
}

/**
 * In training mode, zeroes each element with probability `p` and scales the rest by
 * `1 / (1 − p)`, so the expected output equals the input; `backward` applies the same
 * mask. In eval mode it is the identity. Masks come from a seeded {@linkcode Rng}, so a
 * run repeats exactly (PyTorch's own random stream cannot be reproduced).
 *
 * @example
 * ```ts
 * const drop = new Dropout(0.5, { rng: new Rng(0) });
 * const y = drop.forward(x); // about half of x zeroed, the rest doubled
 * drop.eval();
 * drop.forward(x); // x unchanged
 * ```
 */
export class Dropout extends Layer {
  /** The probability that an element is zeroed. */
  readonly p: number;
  #rng: Rng;
  /** Per element, 0 or 1/(1 − p) from the last training forward; null after an eval one. */
  #mask: Tensor | null = null;
  #shape: number[] | null = null;

  /** PyTorch's `Dropout(p=0.5)`, with the generator for the masks. */
  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(`Dropout(${p}): p must be a probability in [0, 1], got ${p}`);
    }
    this.p = p;
    this.#rng = options.rng ?? defaultRng();
  }

  /** `x` with a fresh random mask applied in training mode; `x` itself in eval mode. */
  forward(x: Tensor): Tensor {
    x = contiguous(x);
    this.#shape = x.shape.slice();
    if (!this.training || this.p === 0) {
      this.#mask = null;
      return x;
    }
    const mask = zeros(x.shape, dtypeOf(x)), y = zeros(x.shape, dtypeOf(x));
    const M = mask.data, X = x.data, Y = y.data;
    const keep = this.p === 1 ? 0 : 1 / (1 - this.p); // p = 1 drops everything, as in PyTorch
    for (let i = 0; i < X.length; i++) {
      M[i] = this.#rng.random() < this.p ? 0 : keep;
      Y[i] = X[i] * M[i];
    }
    this.#mask = mask;
    return y;
  }

  /** `delta` through the last forward's mask (unchanged after an eval-mode forward). */
  backward(delta: Tensor): Tensor {
    const shape = saved(this.#name(), this.#shape);
    checkDelta(this.#name(), shape, delta);
    if (!this.#mask) return delta;
    const D = contiguous(delta).data, M = this.#mask.data;
    const dx = zeros(shape, dtypeOf(this.#mask));
    const DX = dx.data;
    for (let i = 0; i < D.length; i++) DX[i] = D[i] * M[i];
    return dx;
  }

  #name(): string {
    return `Dropout(${this.p})`;
  }
}
