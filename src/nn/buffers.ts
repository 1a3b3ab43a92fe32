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
import {
  type DType,
  dtypeOf,
  type FloatArray,
  sameShape,
  type Tensor,
  tensor,
  zeros,
} from "../tensor.ts";

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
  /**
   * The memory `#tensor` views a prefix of: as large as the largest shape since it was
   * allocated, so that a smaller batch (an epoch's last, a validation pass's) reuses it
   * instead of taking more.
   */
  #data: FloatArray | null = null;
  /** The arena `#data` came from, to give it back there. */
  #from: OutputArena | null = null;

  /**
   * A dense tensor of `shape` and `dtype`: the last one returned if it matches (its old
   * contents still in it, or zeros with `zero`), otherwise a new one of zeros (in the memory
   * of the last one where that is large enough).
   */
  get(shape: readonly number[], dtype: DType, zero = false): Tensor {
    const t = this.#tensor;
    if (t && dtypeOf(t) === dtype && sameShape(t.shape, shape)) {
      if (zero) t.data.fill(0);
      return t;
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const data = this.#data, from = dtype === "float32" ? outputArena() : null;
    if (data && dtypeOf(t!) === dtype && this.#from === from && data.length >= size) {
      return this.#tensor = tensor(data.subarray(0, size).fill(0), shape);
    }
    if (data) this.#from?.release(data as Float32Array);
    this.#from = from;
    this.#tensor = from ? tensor(from.allocate(size), shape) : zeros(shape, dtype);
    this.#data = this.#tensor.data;
    return this.#tensor;
  }
}
