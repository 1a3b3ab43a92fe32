/**
 * Gradient accumulation: one optimizer step over a batch taken in several forward/backward
 * passes (micro-batches), so that a large batch's step costs no more memory than a small
 * one's. The step is the full batch's: each micro-batch's mean gradient counts by its share of
 * the images, so the sum is the batch's mean gradient. Only BatchNorm sees the difference: its
 * statistics are each micro-batch's ("ghost" batches).
 *
 * @module
 */

import type { Parameter } from "../nn/module.ts";
import { allocate, dtypeOf, type FloatArray, type Tensor, tensor } from "../tensor.ts";

/**
 * The most images one forward pass takes when each batch of `batchSize` is taken in
 * `accumulate` passes ({@linkcode microBatches}): the size every pass, evaluations included, is
 * held to.
 *
 * @example
 * ```ts
 * passSize({ batchSize: 1024, accumulate: 3 }); // 342
 * ```
 */
export function passSize(
  { batchSize, accumulate }: { batchSize: number; accumulate: number },
): number {
  return Math.ceil(batchSize / accumulate);
}

/** A slice of a batch: its images and their labels. */
export interface MicroBatch {
  x: Tensor;
  y: Uint8Array;
}

/**
 * `x` (n, …) and its labels `y` cut along the batch into `parts` consecutive micro-batches of
 * nearly equal size (the first ones one image larger where `n` does not divide); fewer when
 * `n < parts`. The slices share `x`'s memory.
 *
 * @example
 * ```ts
 * const x = zeros([10, 3, 32, 32], "float32");
 * microBatches(x, new Uint8Array(10), 4).map((b) => b.y.length); // [3, 3, 2, 2]
 * ```
 */
export function microBatches(x: Tensor, y: Uint8Array, parts: number): MicroBatch[] {
  const n = y.length;
  if (parts === 1) return [{ x, y }];
  const per = x.size / n; // values per image (x is the loader's: contiguous, batch first)
  const count = Math.min(parts, n);
  const slices: MicroBatch[] = [];
  for (let i = 0, start = 0; i < count; i++) {
    const size = Math.floor(n / count) + (i < n % count ? 1 : 0);
    slices.push({
      x: tensor(x.data.subarray(start * per, (start + size) * per), [size, ...x.shape.slice(1)]),
      y: y.subarray(start, start + size),
    });
    start += size;
  }
  return slices;
}

/**
 * The weighted sum of the gradients that several `backward` calls store (each overwrites the
 * last): `add` after each micro-batch's backward, `store` before the optimizer's step.
 *
 * @example
 * ```ts
 * const sum = new GradientSum(model.parameters());
 * for (const part of microBatches(x, y, 4)) {
 *   const { grad } = crossEntropy(contiguous(model.forward(part.x)), part.y);
 *   model.backward(grad);
 *   sum.add(part.y.length / y.length); // the loss is each micro-batch's mean
 * }
 * sum.store();
 * optimizer.step();
 * ```
 */
export class GradientSum {
  #params: Parameter[];
  #sums: FloatArray[];
  #empty = true;

  /** Sums the gradients of `params` (frozen ones, `requiresGrad: false`, are left out). */
  constructor(params: Parameter[]) {
    this.#params = params.filter((p) => p.requiresGrad !== false);
    this.#sums = this.#params.map((p) => allocate(p.grad.size, dtypeOf(p.grad)));
  }

  /** Adds `weight` times the gradients the last `backward` stored. */
  add(weight: number): void {
    this.#params.forEach((p, k) => {
      const g = p.grad.data, s = this.#sums[k];
      if (this.#empty) { for (let i = 0; i < s.length; i++) s[i] = weight * g[i]; }
      else for (let i = 0; i < s.length; i++) s[i] += weight * g[i];
    });
    this.#empty = false;
  }

  /** Puts the sum into the parameters' gradients, where the optimizer reads them, and starts afresh. */
  store(): void {
    this.#params.forEach((p, k) => p.grad.data.set(this.#sums[k]));
    this.#empty = true;
  }
}
