/**
 * Holding a validation set out of the training set: a seeded random choice of images, so
 * the same size and seed always hold out the same images.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import { Rng } from "../random.ts";
import { IMAGE_BYTES, type ImageSet } from "./cifar10.ts";

/**
 * The images of `set` at `indices`, in that order, copied into a new compact set.
 *
 * @example
 * ```ts
 * const firstTen = subset(train, Uint32Array.from({ length: 10 }, (_, i) => i));
 * ```
 */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const length = indices.length;
  const images = new Uint8Array(length * IMAGE_BYTES);
  const labels = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const k = indices[i];
    if (!(k >= 0 && k < set.length)) {
      throw new RangeError(`subset: index ${k} outside 0..${set.length - 1}`);
    }
    images.set(set.images.subarray(k * IMAGE_BYTES, (k + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
    labels[i] = set.labels[k];
  }
  return { images, labels, length };
}

/**
 * Splits `set` into a training part and a validation part of `valSize` images chosen at
 * random by `seed`. Both keep the images' original order; together they hold every image
 * exactly once. A `valSize` of 0 gives an empty validation set.
 *
 * @throws {UserError} when `valSize` is not an integer from 0 to `set.length - 1`.
 *
 * @example
 * ```ts
 * const { train, val } = trainValSplit(fullTrain, 5000, 0); // 45000 + 5000 images
 * ```
 */
export function trainValSplit(
  set: ImageSet,
  valSize: number,
  seed: number,
): { train: ImageSet; val: ImageSet } {
  if (!Number.isInteger(valSize) || valSize < 0 || valSize >= set.length) {
    throw new UserError(
      `the validation size must be an integer from 0 to ${set.length - 1} (the training set has ` +
        `${set.length} images), got ${valSize}.`,
    );
  }
  const order = new Rng(seed).shuffle(Uint32Array.from({ length: set.length }, (_, i) => i));
  const val = order.slice(0, valSize).sort();
  const train = order.slice(valSize).sort();
  return { train: subset(set, train), val: subset(set, val) };
}
