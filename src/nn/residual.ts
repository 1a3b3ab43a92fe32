/**
 * `Residual`: a skip connection with addition, the building block of a ResNet.
 *
 * @module
 */

import { contiguous, dtypeOf, formatShape, sameShape, type Tensor, zeros } from "../tensor.ts";
import { Layer, type Module, ShapeError } from "./module.ts";

/**
 * `body(x) + shortcut(x)`, or `body(x) + x` without a shortcut. Use a shortcut (usually a
 * strided 1×1 `Conv2D` and a `BatchNorm2D`) when the body changes the shape. Its children
 * are `body` and `shortcut`, so parameter names are `body.0.weight`, `shortcut.1.bias`, ….
 * The activation after the addition, if any, is a separate layer after the block.
 *
 * @example
 * ```ts
 * const block = new Sequential(
 *   new Residual(
 *     new Sequential(
 *       new Conv2D(16, 32, 3, 2, { padding: 1, bias: false }), new BatchNorm2D(32), new ReLU(),
 *       new Conv2D(32, 32, 3, 1, { padding: 1, bias: false }), new BatchNorm2D(32),
 *     ),
 *     new Sequential(new Conv2D(16, 32, 1, 2, { bias: false }), new BatchNorm2D(32)),
 *   ),
 *   new ReLU(),
 * );
 * ```
 */
export class Residual extends Layer {
  /** The main branch. */
  readonly body: Module;
  /** The projection on the skip branch, or null for the identity. */
  readonly shortcut: Module | null;

  /** A block computing `body(x) + shortcut(x)`, or `body(x) + x` without a shortcut. */
  constructor(body: Module, shortcut: Module | null = null) {
    super();
    this.body = body;
    this.shortcut = shortcut;
  }

  /** `body(x)` plus the shortcut's output or `x`; the shapes must agree. */
  forward(x: Tensor): Tensor {
    const a = contiguous(this.body.forward(x));
    const b = contiguous(this.shortcut ? this.shortcut.forward(x) : x);
    if (!sameShape(a.shape, b.shape)) {
      throw new ShapeError(
        `Residual: the body's output ${formatShape(a.shape)} and the ${
          this.shortcut ? "shortcut's output" : "input"
        } ${formatShape(b.shape)} differ, so they cannot be added; ${
          this.shortcut ? "fix the shortcut" : "add a shortcut that projects the input"
        }`,
      );
    }
    const y = zeros(a.shape, dtypeOf(a));
    const Y = y.data, A = a.data, B = b.data;
    for (let i = 0; i < Y.length; i++) Y[i] = A[i] + B[i];
    return y;
  }

  /** The gradient flows through both branches and adds up at the input. */
  backward(delta: Tensor): Tensor {
    const a = contiguous(this.body.backward(delta));
    const b = contiguous(this.shortcut ? this.shortcut.backward(delta) : delta);
    const dx = zeros(a.shape, dtypeOf(a));
    const DX = dx.data, A = a.data, B = b.data;
    for (let i = 0; i < DX.length; i++) DX[i] = A[i] + B[i];
    return dx;
  }

  /** `body`, and `shortcut` when there is one. */
  override namedChildren(): [string, Module][] {
    return this.shortcut
      ? [["body", this.body], ["shortcut", this.shortcut]]
      : [["body", this.body]];
  }
}
