/**
 * Batching CIFAR-10 for training and evaluation: a seeded shuffle, optional augmentation,
 * and float32 NCHW batches in [0, 1] with their labels.
 *
 * Everything random is a pure function of the seed, the epoch and the batch's position, so
 * a run resumed from a checkpoint at (epoch, batch) sees exactly the batches an
 * uninterrupted run would have seen.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import { Rng } from "../random.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { augmentImages, type AugmentOptions, drawTransform } from "./augment.ts";
import { CIFAR10_SHAPE, IMAGE_BYTES, type ImageSet } from "./cifar10.ts";
import { scaleInto } from "./to_tensor.ts";

/** How a {@linkcode Cifar10Loader} batches. */
export interface LoaderOptions {
  /** Images per batch. */
  batchSize: number;
  /** Whether each epoch visits the images in a new random order (default true). */
  shuffle?: boolean;
  /** Seeds the order and the augmentation (default 0). */
  seed?: number;
  /** Whether to drop a last batch smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** The augmentation, or `false` for none (default none: pass `{}` for the standard one). */
  augment?: AugmentOptions | false;
}

/** One batch: images `x` of shape (n, 3, 32, 32), float32 in [0, 1], and their labels. */
export interface Batch {
  /** The images, float32 (n, 3, 32, 32) in [0, 1]. */
  x: Tensor;
  /** Class indices (0–9), one per image. */
  y: Uint8Array;
  /** The epoch this batch belongs to. */
  epoch: number;
  /** Its position in the epoch (0-based); resume with `batches(epoch, index + 1)`. */
  index: number;
}

/**
 * Batches an {@linkcode ImageSet}. The order of epoch `e` depends only on the seed and `e`,
 * and the augmentation of batch `b` only on the seed, `e` and `b`, so `batches(e, b)` starts
 * mid-epoch exactly where an uninterrupted run would be.
 *
 * @example
 * ```ts
 * const loader = new Cifar10Loader(train, { batchSize: 256, seed: 1, augment: {} });
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for (const { x, y } of loader.batches(epoch)) {
 *     // x: (256, 3, 32, 32) float32 in [0, 1]; y: Uint8Array of 256 labels
 *   }
 * }
 * ```
 */
export class Cifar10Loader {
  /** The images batched. */
  readonly set: ImageSet;
  /** Images per batch (the last may have fewer unless `dropLast`). */
  readonly batchSize: number;
  /** Whether each epoch has its own random order. */
  readonly shuffle: boolean;
  /** The seed of the order and the augmentation. */
  readonly seed: number;
  /** Whether a short last batch is dropped. */
  readonly dropLast: boolean;
  /** The augmentation, or `false` for none. */
  readonly augment: AugmentOptions | false;
  /** For the alternating flip: whether each image is mirrored in even epochs. */
  #evenFlips: Uint8Array | null = null;

  /**
   * A loader over `set`.
   *
   * @throws {UserError} for a batch size below 1 or a padding outside 0–31 (flags a person
   * sets), at once rather than mid-epoch.
   */
  constructor(set: ImageSet, options: LoaderOptions) {
    const { batchSize, shuffle = true, seed = 0, dropLast = false, augment = false } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new UserError(`the batch size must be a positive integer, got ${batchSize}.`);
    }
    if (augment) drawTransform(new Rng(0), augment); // rejects a bad padding now, not mid-epoch
    this.set = set;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed;
    this.dropLast = dropLast;
    this.augment = augment;
  }

  /** The number of batches in one epoch. */
  get batchesPerEpoch(): number {
    const n = this.set.length / this.batchSize;
    return this.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /**
   * The order in which epoch `epoch` visits the images: a permutation of 0..length-1,
   * depending only on the seed and the epoch (the identity when not shuffling).
   */
  epochOrder(epoch: number): Uint32Array {
    const order = Uint32Array.from({ length: this.set.length }, (_, i) => i);
    return this.shuffle ? new Rng(mixSeed(this.seed, epoch, 0x5eed)).shuffle(order) : order;
  }

  /** The batches of epoch `epoch`, from batch `start` (default 0) to its end. */
  *batches(epoch: number, start = 0): Generator<Batch> {
    const order = this.epochOrder(epoch);
    for (let index = start; index < this.batchesPerEpoch; index++) {
      const indices = order.subarray(
        index * this.batchSize,
        Math.min((index + 1) * this.batchSize, order.length),
      );
      yield { ...this.#gather(indices, epoch, index), epoch, index };
    }
  }

  /**
   * With the alternating flip, whether each of the images at `indices` is mirrored in epoch
   * `epoch`: a random half in even epochs (drawn once from the seed), the other half in odd
   * ones, so every image is seen both ways in any two epochs running.
   */
  #flips(indices: Uint32Array, epoch: number): boolean[] | undefined {
    if (!this.augment || this.augment.flip !== "alternate") return undefined;
    if (!this.#evenFlips) {
      const rng = new Rng(mixSeed(this.seed, 0, 0xf11b));
      this.#evenFlips = Uint8Array.from(
        { length: this.set.length },
        () => rng.random() < 0.5 ? 1 : 0,
      );
    }
    const even = this.#evenFlips, odd = epoch % 2;
    return Array.from(indices, (i) => (even[i] ^ odd) === 1);
  }

  #gather(indices: Uint32Array, epoch: number, index: number): { x: Tensor; y: Uint8Array } {
    const n = indices.length;
    const data = new Float32Array(n * IMAGE_BYTES);
    const y = new Uint8Array(n);
    const { images, labels } = this.set;
    for (let i = 0; i < n; i++) y[i] = labels[indices[i]];
    if (this.augment) {
      const rng = new Rng(mixSeed(this.seed, epoch, index));
      augmentImages(images, indices, data, rng, this.augment, this.#flips(indices, epoch));
    } else {
      for (let i = 0; i < n; i++) {
        scaleInto(images, indices[i] * IMAGE_BYTES, data, i * IMAGE_BYTES, IMAGE_BYTES);
      }
    }
    return { x: tensor(data, [n, ...CIFAR10_SHAPE]), y };
  }
}

/**
 * A 32-bit seed mixed from several integers (murmur3's finaliser after each), so that
 * nearby tuples like (seed, epoch) and (seed, epoch + 1) give unrelated streams.
 *
 * @example
 * ```ts
 * new Rng(mixSeed(seed, epoch, batch)); // the same stream for the same three numbers
 * ```
 */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x9e3779b1);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}
