/**
 * The argument and shape checks layers share, so every layer words its errors the same
 * way: the layer's name, what it expected, what it got.
 *
 * @module
 */

import { type DType, dtypeOf, formatShape, sameShape, type Tensor } from "../tensor.ts";
import { ShapeError, type Size2 } from "./module.ts";

/**
 * `value` as an `[h, w]` pair, each an integer `>= min`, or a `RangeError` naming `layer`
 * and the argument.
 *
 * @example
 * ```ts
 * pair("Conv2D(3, 8, 3)", "kernelSize", 3, 1); // [3, 3]
 * ```
 */
export function pair(layer: string, arg: string, value: Size2, min: number): [number, number] {
  const [h, w] = typeof value === "number" ? [value, value] : value;
  for (const v of [h, w]) {
    if (!Number.isInteger(v) || v < min) {
      throw new RangeError(`${layer}: ${arg} must be an integer >= ${min}, got ${value}`);
    }
  }
  return [h, w];
}

/**
 * Throws a `RangeError` naming `layer` unless `value` is an integer `>= min`.
 *
 * @example
 * ```ts
 * checkInteger("Linear(4, 2)", "inFeatures", 4, 1); // passes
 * ```
 */
export function checkInteger(layer: string, arg: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${layer}: ${arg} must be an integer >= ${min}, got ${value}`);
  }
}

/**
 * The state `forward` saved for `backward`, or an error saying `backward` came first.
 *
 * @example
 * ```ts
 * const x = saved("ReLU()", this.#x); // throws if forward never ran
 * ```
 */
export function saved<T>(layer: string, state: T | null): T {
  if (state === null) throw new Error(`${layer}: backward called before forward`);
  return state;
}

/**
 * Throws a {@linkcode ShapeError} unless `delta` has the shape of the last output.
 *
 * @example
 * ```ts
 * checkDelta("ReLU()", [2, 3], delta);
 * ```
 */
export function checkDelta(layer: string, expected: readonly number[], delta: Tensor): void {
  if (!sameShape(expected, delta.shape)) {
    throw new ShapeError(
      `${layer}: backward expected delta of shape ${formatShape(expected)}, got ${
        formatShape(delta.shape)
      }`,
    );
  }
}

/**
 * Throws a `TypeError` unless the input's dtype is the dtype of the layer's parameters.
 *
 * @example
 * ```ts
 * checkDType("Linear(4, 2)", x, "float64");
 * ```
 */
export function checkDType(layer: string, x: Tensor, dtype: DType): void {
  if (dtypeOf(x) !== dtype) {
    throw new TypeError(`${layer}: input is ${dtypeOf(x)} but the weights are ${dtype}`);
  }
}

/**
 * Throws a {@linkcode ShapeError} unless `x` is `(batch, channels, height, width)` with the
 * layer's channel count (any count when `channels` is null) and at least `minHW` in size.
 *
 * @example
 * ```ts
 * checkImage("Conv2D(3, 8, 3)", x, 3, [3, 3]);
 * ```
 */
export function checkImage(
  layer: string,
  x: Tensor,
  channels: number | null,
  window: readonly [number, number] = [1, 1],
  padding: readonly [number, number] = [0, 0],
): void {
  const c = channels ?? "channels";
  if (x.shape.length !== 4 || (channels !== null && x.shape[1] !== channels)) {
    throw new ShapeError(
      `${layer}: expected input of shape (batch, ${c}, height, width), got ${formatShape(x.shape)}`,
    );
  }
  const [, , h, w] = x.shape;
  if (h + 2 * padding[0] < window[0] || w + 2 * padding[1] < window[1]) {
    throw new ShapeError(
      `${layer}: input of shape ${formatShape(x.shape)} (padded by ${formatShape(padding)}) ` +
        `is smaller than the kernel ${formatShape(window)}`,
    );
  }
}
