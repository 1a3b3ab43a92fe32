/**
 * `Flatten`, matching `torch.nn.Flatten`.
 *
 * @module
 */

import { contiguous, formatShape, type Tensor, tensor } from "../tensor.ts";
import { checkDelta, saved } from "./check.ts";
import { Layer, ShapeError } from "./module.ts";

/**
 * Merges the axes `startDim` to `endDim` (inclusive; negative counts from the end) into
 * one: by default `(batch, c, h, w)` to `(batch, c·h·w)`, what a `Linear` after a
 * convolution needs. The data is shared, not copied.
 *
 * @example
 * ```ts
 * const flat = new Flatten();
 * flat.forward(zeros([8, 64, 2, 2])).shape; // [8, 256]
 * ```
 */
export class Flatten extends Layer {
  /** The first axis merged. */
  readonly startDim: number;
  /** The last axis merged (negative counts from the end). */
  readonly endDim: number;
  #shapes: { input: number[]; output: number[] } | null = null;

  /** PyTorch's `Flatten(start_dim=1, end_dim=-1)`. */
  constructor(startDim = 1, endDim = -1) {
    super();
    if (!Number.isInteger(startDim) || !Number.isInteger(endDim)) {
      throw new RangeError(`Flatten(${startDim}, ${endDim}): dims must be integers`);
    }
    this.startDim = startDim;
    this.endDim = endDim;
  }

  /** `x` with axes `startDim..endDim` merged, sharing its data. */
  forward(x: Tensor): Tensor {
    const rank = x.shape.length;
    const start = this.startDim < 0 ? rank + this.startDim : this.startDim;
    const end = this.endDim < 0 ? rank + this.endDim : this.endDim;
    if (start < 0 || end >= rank || start > end) {
      throw new ShapeError(
        `${this.#name()}: expected input with axes ${this.startDim} to ${this.endDim}, got ${
          formatShape(x.shape)
        }`,
      );
    }
    x = contiguous(x);
    const merged = x.shape.slice(start, end + 1).reduce((a, b) => a * b, 1);
    const output = [...x.shape.slice(0, start), merged, ...x.shape.slice(end + 1)];
    this.#shapes = { input: x.shape.slice(), output };
    return tensor(x.data, output);
  }

  /** `delta` reshaped back to the input's shape. */
  backward(delta: Tensor): Tensor {
    const { input, output } = saved(this.#name(), this.#shapes);
    checkDelta(this.#name(), output, delta);
    return tensor(contiguous(delta).data, input);
  }

  #name(): string {
    return `Flatten(${this.startDim}, ${this.endDim})`;
  }
}
