/**
 * Element-wise activations: `ReLU` and `GELU`, matching `torch.nn.ReLU` and
 * `torch.nn.GELU` (the exact erf form, PyTorch's default). They have no parameters and
 * work in the dtype of their input.
 *
 * @module
 */

import erf from "@stdlib/math-base-special-erf";
import { contiguous, dtypeOf, type FloatArray, type Tensor } from "../tensor.ts";
import { forChannels } from "../kernels/arena.ts";
import {
  GELU_BACKWARD,
  GELU_FORWARD,
  INV_SQRT_2PI,
  RELU_BITS,
} from "../kernels/channel_kernels.ts";
import { OutputBuffer } from "./buffers.ts";
import { checkDelta, saved } from "./check.ts";
import { Layer } from "./module.ts";

/**
 * An element-wise activation: the bookkeeping once, so that each activation is only its
 * function (`apply`) and its derivative (`gradient`), written side by side. Works in the
 * dtype of its input.
 *
 * Its outputs are its own, reused from call to call: the tensor `forward` returns is valid
 * until its next `forward`, the one `backward` returns until its next `backward`; `clone`
 * one to keep it longer (see `buffers.ts`).
 *
 * @example
 * ```ts
 * class Square extends Elementwise {
 *   protected apply(X: FloatArray, Y: FloatArray) {
 *     for (let i = 0; i < X.length; i++) Y[i] = X[i] * X[i];
 *   }
 *   protected gradient(X: FloatArray, D: FloatArray, DX: FloatArray) {
 *     for (let i = 0; i < X.length; i++) DX[i] = 2 * X[i] * D[i];
 *   }
 * }
 * ```
 */
export abstract class Elementwise extends Layer {
  #x: Tensor | null = null;
  /** The outputs of forward and backward, reused (see `buffers.ts` for the ownership rule). */
  #y = new OutputBuffer();
  #dx = new OutputBuffer();

  /** `Y[i] = f(X[i])` for every element. */
  protected abstract apply(X: FloatArray, Y: FloatArray): void;
  /** `DX[i] = f'(X[i]) · D[i]` for every element. */
  protected abstract gradient(X: FloatArray, D: FloatArray, DX: FloatArray): void;

  /** `f` applied to every element of `x`. */
  forward(x: Tensor): Tensor {
    x = contiguous(x);
    this.#x = x;
    const y = this.#y.get(x.shape, dtypeOf(x));
    this.apply(x.data, y.data);
    return y;
  }

  /** `f'(x) · delta` element-wise, with the last input `x`. */
  backward(delta: Tensor): Tensor {
    const name = `${this.constructor.name}()`;
    const x = saved(name, this.#x);
    checkDelta(name, x.shape, delta);
    const dx = this.#dx.get(x.shape, dtypeOf(x));
    this.gradient(x.data, contiguous(delta).data, dx.data);
    return dx;
  }
}

/**
 * `max(x, 0)` element-wise; the gradient passes where the input was positive (at 0 it is
 * 0, as in PyTorch).
 *
 * @example
 * ```ts
 * const relu = new ReLU();
 * relu.forward(tensor(new Float64Array([-1, 2]), [2])); // [0, 2]
 * relu.backward(tensor(new Float64Array([5, 5]), [2])); // [0, 5]
 * ```
 */
export class ReLU extends Elementwise {
  /** `Y = max(X, 0)`. */
  protected apply(X: FloatArray, Y: FloatArray): void {
    // Y has X's dtype (see `Elementwise.forward`).
    if (X instanceof Float32Array) relu32(X, X, Y as Float32Array);
    else relu64(X, Y as Float64Array);
  }

  /** `DX = D` where `X > 0`, else 0. */
  protected gradient(X: FloatArray, D: FloatArray, DX: FloatArray): void {
    // DX has X's dtype; delta's is not checked, so a mixed pair takes the plain loop.
    if (X instanceof Float32Array && D instanceof Float32Array) {
      relu32(X, D, DX as Float32Array);
    } else {
      for (let i = 0, n = X.length; i < n; i++) DX[i] = X[i] > 0 ? D[i] : 0;
    }
  }
}

/** `Y = X > 0 ? X : 0` in float64 (so NaN gives 0). */
function relu64(X: Float64Array, Y: Float64Array): void {
  for (let i = 0, n = X.length; i < n; i++) Y[i] = X[i] > 0 ? X[i] : 0;
}

/**
 * `OUT = V` where `X > 0`, else 0, on float32 bits (`reluBits` in `channel_kernels.ts`), split
 * across the fast kernels' threads when the three lie in their shared memory.
 */
function relu32(X: Float32Array, V: Float32Array, OUT: Float32Array): void {
  forChannels(RELU_BITS, [X, V, OUT], [], X.length);
}

/**
 * The Gaussian error linear unit in its exact form, `x · Φ(x) = x/2 · (1 + erf(x/√2))`,
 * as `torch.nn.GELU()` computes by default (not the tanh approximation). Its derivative
 * is `Φ(x) + x · φ(x)`. In float64 it takes the exact `erf`; in float32 a fit of `erfc`
 * accurate to float32 precision (`geluForward` in `channel_kernels.ts`), split across the fast
 * kernels' threads in SIMD when the arrays lie in their shared memory, as ReLU is.
 *
 * @example
 * ```ts
 * const gelu = new GELU();
 * gelu.forward(tensor(new Float64Array([-1, 0, 1]), [3])); // [-0.1587, 0, 0.8413]
 * ```
 */
export class GELU extends Elementwise {
  /** `Y = X · Φ(X)`. */
  protected apply(X: FloatArray, Y: FloatArray): void {
    // Y has X's dtype (see `Elementwise.forward`).
    if (X instanceof Float32Array) {
      forChannels(GELU_FORWARD, [X, Y as Float32Array], [], X.length);
      return;
    }
    for (let i = 0; i < X.length; i++) Y[i] = 0.5 * X[i] * (1 + erf(X[i] * Math.SQRT1_2));
  }

  /** `DX = (Φ(X) + X · φ(X)) · D`. */
  protected gradient(X: FloatArray, D: FloatArray, DX: FloatArray): void {
    // DX has X's dtype; delta's is not checked, so a mixed pair takes the float64 loop.
    if (X instanceof Float32Array && D instanceof Float32Array) {
      forChannels(GELU_BACKWARD, [X, D, DX as Float32Array], [], X.length);
      return;
    }
    for (let i = 0; i < X.length; i++) {
      const v = X[i];
      const cdf = 0.5 * (1 + erf(v * Math.SQRT1_2));
      const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
      DX[i] = D[i] * (cdf + v * pdf);
    }
  }
}
