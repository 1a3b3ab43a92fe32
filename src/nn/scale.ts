/**
 * `Scale`: multiplies its input by a fixed factor (airbench's `Mul`, `torch.mul(x, factor)`).
 *
 * @module
 */

import type { FloatArray } from "../tensor.ts";
import { Elementwise } from "./activation.ts";

/**
 * `y = factor · x` element-wise, with no parameters. After a network's last `Linear` it scales
 * the logits (airbench uses 1/9): an SGD step then moves them factor² as far, and the gradient
 * reaching the layers before is `factor` times the size.
 *
 * @example
 * ```ts
 * const scale = new Scale(0.5);
 * scale.forward(tensor(new Float64Array([2, -4]), [2])); // [1, -2]
 * scale.backward(tensor(new Float64Array([1, 1]), [2])); // [0.5, 0.5]
 * ```
 */
export class Scale extends Elementwise {
  /** The factor, a finite number. */
  readonly factor: number;

  constructor(factor: number) {
    super();
    if (!Number.isFinite(factor)) throw new RangeError(`Scale(${factor}): factor must be finite`);
    this.factor = factor;
  }

  /** `Y = factor · X`. */
  protected apply(X: FloatArray, Y: FloatArray): void {
    for (let i = 0; i < X.length; i++) Y[i] = this.factor * X[i];
  }

  /** `DX = factor · D`. */
  protected gradient(_X: FloatArray, D: FloatArray, DX: FloatArray): void {
    for (let i = 0; i < D.length; i++) DX[i] = this.factor * D[i];
  }
}
