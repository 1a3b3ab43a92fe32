/**
 * Pixel scaling exactly as torchvision's `ToTensor` does it for uint8 images: `x / 255`
 * into float32, NCHW, in [0, 1]. Any normalisation belongs inside the model.
 *
 * @module
 */

import { type Tensor, tensor } from "../tensor.ts";
import { CIFAR10_SHAPE, IMAGE_BYTES, type ImageSet } from "./cifar10.ts";

/**
 * Scales `count` images of bytes (NCHW, 3×32×32 each) to a float32 tensor of shape
 * `(count, 3, 32, 32)` in [0, 1]: each value is `Math.fround(x / 255)`, the same float32
 * torchvision's `ToTensor` gives (it divides in float32, and IEEE division rounds once).
 *
 * `out` may be passed to reuse a buffer of at least `count × 3072` floats.
 *
 * @example
 * ```ts
 * const x = toTensor(new Uint8Array(3072).fill(255), 1); // shape (1, 3, 32, 32), all 1
 * ```
 */
export function toTensor(images: Uint8Array, count: number, out?: Float32Array): Tensor {
  const size = count * IMAGE_BYTES;
  if (images.length < size) {
    throw new RangeError(`toTensor: ${count} images need ${size} bytes, got ${images.length}`);
  }
  const data = out && out.length >= size ? out.subarray(0, size) : new Float32Array(size);
  scaleInto(images, 0, data, 0, size);
  return tensor(data, [count, ...CIFAR10_SHAPE]);
}

/**
 * The first `count` images of a set (all by default) as a float32 `(count, 3, 32, 32)`
 * tensor in [0, 1] and their labels.
 *
 * @example
 * ```ts
 * const { x, y } = imageSetToTensor(test); // x: (10000, 3, 32, 32), y: Uint8Array(10000)
 * ```
 */
export function imageSetToTensor(
  set: ImageSet,
  count = set.length,
): { x: Tensor; y: Uint8Array } {
  return { x: toTensor(set.images, count), y: set.labels.slice(0, count) };
}

/**
 * Writes `length` bytes of `src` from `srcStart` into `dst` from `dstStart`, each scaled
 * to `x / 255` in float32.
 *
 * @example
 * ```ts
 * const out = new Float32Array(3072);
 * scaleInto(set.images, 5 * 3072, out, 0, 3072); // image 5, as ToTensor gives it
 * ```
 */
export function scaleInto(
  src: Uint8Array,
  srcStart: number,
  dst: Float32Array,
  dstStart: number,
  length: number,
): void {
  for (let i = 0; i < length; i++) dst[dstStart + i] = BYTE_TO_UNIT[src[srcStart + i]];
}

/**
 * `x / 255` in float32 for every byte `x`: the table the pixel loops look up, which beats
 * a division per pixel.
 *
 * @example
 * ```ts
 * BYTE_TO_UNIT[255]; // 1
 * ```
 */
export const BYTE_TO_UNIT: Float32Array = Float32Array.from({ length: 256 }, (_, x) => x / 255);
