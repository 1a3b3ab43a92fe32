/**
 * The layer contract every layer follows (the assignment's, and `torch.nn.Module`'s names).
 *
 * A layer is a {@linkcode Module}: `forward`, `backward`, its parameters with their
 * gradients, its buffers (state that is saved but not trained, such as BatchNorm's running
 * statistics), its child modules, and a train/eval mode. {@linkcode Layer} implements the
 * bookkeeping once so that a layer only declares what it owns.
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";

/**
 * A named tensor of a module, named as PyTorch's `state_dict` names it: `weight` for a
 * leaf, `0.weight` or `body.1.running_mean` inside containers.
 */
export interface NamedTensor {
  /** The `state_dict` key, prefixed by the path of child names from the module asked. */
  name: string;
  /** The tensor itself (the layer's own, not a copy). */
  value: Tensor;
}

/** A trainable tensor and the gradient `backward` stores for it, in the same shape. */
export interface Parameter extends NamedTensor {
  /** Its gradient from the last `backward`, summed over the batch; the layer's own tensor. */
  grad: Tensor;
  /**
   * False for a frozen parameter (PyTorch's `requires_grad`): its layer computes no gradient
   * for it and optimizers leave it alone; it is still part of the model's state.
   */
  requiresGrad?: boolean;
}

/**
 * A layer: `forward(x)` returns the output and remembers what `backward` needs;
 * `backward(delta)` takes the loss's gradient w.r.t. that output, returns the gradient
 * w.r.t. the input, and stores parameter gradients summed over the batch (never averaged).
 * Each `backward` overwrites the gradients of the last one (it does not accumulate).
 */
export interface Module {
  /** The output for input `x`; remembers what `backward` needs. */
  forward(x: Tensor): Tensor;
  /** The gradient w.r.t. the last input, given `delta`, the gradient w.r.t. the last output; stores the parameter gradients. */
  backward(delta: Tensor): Tensor;
  /**
   * The parameters of this module and of all its descendants with their gradients, in
   * PyTorch's `state_dict` order and with its keys (`named_parameters()` in PyTorch).
   * The `value` and `grad` tensors are the layer's own, so updating their `data` in place
   * updates the layer.
   */
  parameters(): Parameter[];
  /**
   * The buffers of this module and its descendants — state that is saved and exported but
   * not trained, such as BatchNorm's `running_mean` and `running_var` — in `state_dict`
   * order with its keys (`named_buffers()` in PyTorch). Checkpoints and ONNX export need
   * `parameters()` and `buffers()` together.
   */
  buffers(): NamedTensor[];
  /** The direct children with their names (`"0"`, `"1"` in a `Sequential`), in order. */
  namedChildren(): [string, Module][];
  /** True in training mode (the default), false in evaluation mode. */
  training: boolean;
  /** Sets training mode (`mode = true`) or evaluation mode on this module and all below. */
  train(mode?: boolean): this;
  /** Evaluation mode: the same as `train(false)`. */
  eval(): this;
}

/**
 * The base class of every layer: it implements the recursive parts of {@linkcode Module}
 * (prefixed names, train/eval) from what a layer declares about itself —
 * {@linkcode Layer.ownParameters}, {@linkcode Layer.ownBuffers} and
 * {@linkcode Layer.namedChildren}.
 *
 * @example
 * ```ts
 * // y = w · x with one learned scalar w, named "weight" as PyTorch would name it.
 * class Scale extends Layer {
 *   w = tensor(new Float64Array([2]), [1]);
 *   dw = zeros([1]);
 *   #x: Tensor | null = null;
 *   forward(x: Tensor): Tensor {
 *     this.#x = contiguous(x);
 *     return tensor(this.#x.data.map((v) => v * this.w.data[0]), x.shape);
 *   }
 *   backward(delta: Tensor): Tensor {
 *     const d = contiguous(delta).data;
 *     this.dw.data[0] = this.#x!.data.reduce((sum, v, i) => sum + v * d[i], 0);
 *     return tensor(d.map((v) => v * this.w.data[0]), delta.shape);
 *   }
 *   override ownParameters(): Parameter[] {
 *     return [{ name: "weight", value: this.w, grad: this.dw }];
 *   }
 * }
 * new Sequential(new Scale(), new Scale()).parameters().map((p) => p.name); // ["0.weight", "1.weight"]
 * ```
 */
export abstract class Layer implements Module {
  /** True in training mode (the default), false in evaluation mode. */
  training = true;

  /** The output for input `x`; remembers what `backward` needs. */
  abstract forward(x: Tensor): Tensor;
  /** The gradient w.r.t. the last input; stores the parameter gradients. */
  abstract backward(delta: Tensor): Tensor;

  /** This layer's own parameters (not its children's), unprefixed, e.g. `weight`. */
  ownParameters(): Parameter[] {
    return [];
  }

  /** This layer's own buffers (not its children's), unprefixed, e.g. `running_mean`. */
  ownBuffers(): NamedTensor[] {
    return [];
  }

  /** The direct children with their names; none for a leaf layer. */
  namedChildren(): [string, Module][] {
    return [];
  }

  /** Own parameters, then each child's, prefixed `child.` (PyTorch's `named_parameters()`). */
  parameters(): Parameter[] {
    const own = this.ownParameters();
    for (const [prefix, child] of this.namedChildren()) {
      for (const p of child.parameters()) own.push({ ...p, name: `${prefix}.${p.name}` });
    }
    return own;
  }

  /** Own buffers, then each child's, prefixed `child.` (PyTorch's `named_buffers()`). */
  buffers(): NamedTensor[] {
    const own = this.ownBuffers();
    for (const [prefix, child] of this.namedChildren()) {
      for (const b of child.buffers()) own.push({ ...b, name: `${prefix}.${b.name}` });
    }
    return own;
  }

  /** Sets training mode (`mode = true`) or eval mode here and in every descendant. */
  train(mode = true): this {
    this.training = mode;
    for (const [, child] of this.namedChildren()) child.train(mode);
    return this;
  }

  /** Evaluation mode, as `train(false)`. */
  eval(): this {
    return this.train(false);
  }
}

/**
 * The `weight` and (when there is one) `bias` parameters of a layer that keeps them as
 * `W`, `dW`, `b`, `db`, as `Conv1D`, `Conv2D` and `Linear` do.
 *
 * @example
 * ```ts
 * override ownParameters(): Parameter[] {
 *   return weightAndBias(this.W, this.dW, this.b, this.db);
 * }
 * ```
 */
export function weightAndBias(
  W: Tensor,
  dW: Tensor,
  b: Tensor | null,
  db: Tensor | null,
): Parameter[] {
  const params: Parameter[] = [{ name: "weight", value: W, grad: dW }];
  if (b && db) params.push({ name: "bias", value: b, grad: db });
  return params;
}

/**
 * A 2-D size (kernel, stride, padding) as PyTorch's layers accept it: one number for both
 * axes, or `[h, w]`.
 *
 * @example
 * ```ts
 * const k: Size2 = [3, 1]; // 3 high, 1 wide
 * ```
 */
export type Size2 = number | readonly [number, number];

/** The error a layer raises for input it cannot take; the message names the layer. */
export class ShapeError extends Error {
  /** `"ShapeError"`, so that printed errors say what kind they are. */
  override name = "ShapeError";
}
