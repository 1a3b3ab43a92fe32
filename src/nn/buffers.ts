/**
 * Output buffers a layer reuses from call to call, and the ownership rule that comes with
 * them.
 *
 * Allocating a fresh typed array for every activation and gradient costs more than
 * computing it: a training step of the default network would allocate and page in close to
 * a gigabyte. So the layers that produce large tensors (`Conv2D`, `BatchNorm2D`, `ReLU` and
 * the other element-wise activations, `MaxPool2D`) keep their outputs and write the next
 * call's result into the same memory when the shape and dtype are unchanged.
 *
 * **The rule:** the tensor `forward` returns belongs to the layer and stays valid until that
 * layer's next `forward`; the tensor `backward` returns stays valid until its next
 * `backward`. To keep one longer, `clone` it. A network running forward, then backward,
 * then the next batch (the trainer, `evaluate`, the grader) never holds one past that point;
 * a `Sequential`'s output is its last layer's, and the default network ends in a `Linear`,
 * which always returns a fresh tensor.
 *
 * Float32 buffers come from the {@linkcode OutputArena} installed, if any (`kernels/arena.ts`).
 *
 * @module
 */

import { type OutputArena, outputArena } from "../kernels/arena.ts";
import { type DType, dtypeOf, sameShape, type Tensor, tensor, zeros } from "../tensor.ts";

/**
 * One reusable output tensor of a layer.
 *
 * @example
 * ```ts
 * class Double extends Layer {
 *   #y = new OutputBuffer();
 *   forward(x: Tensor): Tensor {
 *     const y = this.#y.get(x.shape, dtypeOf(x)); // the same memory on every same-shape call
 *     for (let i = 0; i < y.size; i++) y.data[i] = 2 * contiguous(x).data[i];
 *     return y;
 *   }
 *   // ...
 * }
 * ```
 */
export class OutputBuffer {
  #tensor: Tensor | null = null;
  /** The arena `#tensor`'s memory came from, to give it back there. */
  #from: OutputArena | null = null;

  /**
   * A dense tensor of `shape` and `dtype`: the last one returned if it matches (its old
   * contents still in it, or zeros with `zero`), otherwise a new one of zeros.
   */
  get(shape: readonly number[], dtype: DType, zero = false): Tensor {
    const t = this.#tensor;
    if (t && dtypeOf(t) === dtype && sameShape(t.shape, shape)) {
      if (zero) t.data.fill(0);
      return t;
    }
    if (t) this.#from?.release(t.data as Float32Array);
    this.#from = dtype === "float32" ? outputArena() : null;
    const size = shape.reduce((a, b) => a * b, 1);
    return this.#tensor = this.#from
      ? tensor(this.#from.allocate(size), shape)
      : zeros(shape, dtype);
  }
}
