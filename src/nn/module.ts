/**
 * The layer contract every layer follows (the assignment's, and `torch.nn.Module`'s names).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";

/** A trainable tensor and the gradient `backward` accumulates for it, in the same shape. */
export interface Parameter {
  /** The name PyTorch's `state_dict` uses for it, e.g. `weight` or `bias`. */
  name: string;
  value: Tensor;
  grad: Tensor;
}

/**
 * A layer: `forward(x)` returns the output and remembers what `backward` needs;
 * `backward(delta)` takes the loss's gradient w.r.t. that output, returns the gradient
 * w.r.t. the input, and stores parameter gradients summed over the batch (never averaged).
 */
export interface Module {
  forward(x: Tensor): Tensor;
  backward(delta: Tensor): Tensor;
  /** The layer's parameters with their gradients, in PyTorch's `state_dict` order. */
  parameters(): Parameter[];
}

/** The error a layer raises for input it cannot take; the message names the layer. */
export class ShapeError extends Error {
  override name = "ShapeError";
}
