/**
 * Element-wise activations: `ReLU` and `GELU`, matching `torch.nn.ReLU` and
 * `torch.nn.GELU` (the exact erf form, PyTorch's default). They have no parameters and
 * work in the dtype of their input.
 *
 * @module
 */

import erf from "@stdlib/math-base-special-erf";
import { contiguous, dtypeOf, type Tensor, zeros } from "../tensor.ts";
import { checkDelta, saved } from "./check.ts";
import { Layer } from "./module.ts";

/**
 * `max(x, 0)` element-wise; the gradient passes where the input was positive.
 *
 * @example
 * ```ts
 * const relu = new ReLU();
 * relu.forward(tensor(new Float64Array([-1, 2]), [2])); // [0, 2]
 * relu.backward(tensor(new Float64Array([5, 5]), [2])); // [0, 5]
 * ```
 */
export class ReLU extends Layer {
  #x: Tensor | null = null;

  forward(x: Tensor): Tensor {
    x = contiguous(x);
    this.#x = x;
    const y = zeros(x.shape, dtypeOf(x));
    const X = x.data, Y = y.data;
    for (let i = 0; i < X.length; i++) Y[i] = X[i] > 0 ? X[i] : 0;
    return y;
  }

  backward(delta: Tensor): Tensor {
    const x = saved("ReLU()", this.#x);
    checkDelta("ReLU()", x.shape, delta);
    const D = contiguous(delta).data, X = x.data;
    const dx = zeros(x.shape, dtypeOf(x));
    const DX = dx.data;
    for (let i = 0; i < X.length; i++) DX[i] = X[i] > 0 ? D[i] : 0;
    return dx;
  }
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * The Gaussian error linear unit in its exact form, `x · Φ(x) = x/2 · (1 + erf(x/√2))`,
 * as `torch.nn.GELU()` computes by default (not the tanh approximation). Its derivative
 * is `Φ(x) + x · φ(x)`.
 *
 * @example
 * ```ts
 * const gelu = new GELU();
 * gelu.forward(tensor(new Float64Array([-1, 0, 1]), [3])); // [-0.1587, 0, 0.8413]
 * ```
 */
export class GELU extends Layer {
  #x: Tensor | null = null;

  forward(x: Tensor): Tensor {
    x = contiguous(x);
    this.#x = x;
    const y = zeros(x.shape, dtypeOf(x));
    const X = x.data, Y = y.data;
    for (let i = 0; i < X.length; i++) Y[i] = 0.5 * X[i] * (1 + erf(X[i] * SQRT1_2));
    return y;
  }

  backward(delta: Tensor): Tensor {
    const x = saved("GELU()", this.#x);
    checkDelta("GELU()", x.shape, delta);
    const D = contiguous(delta).data, X = x.data;
    const dx = zeros(x.shape, dtypeOf(x));
    const DX = dx.data;
    for (let i = 0; i < X.length; i++) {
      const v = X[i];
      const cdf = 0.5 * (1 + erf(v * SQRT1_2));
      const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
      DX[i] = D[i] * (cdf + v * pdf);
    }
    return dx;
  }
}
