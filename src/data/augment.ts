/**
 * Training-time augmentation for CIFAR-10, fused with the `ToTensor` scaling: each image is
 * translated by up to `padding` pixels (torchvision's `RandomCrop(32, padding, padding_mode)`)
 * and flipped left-right with probability ½ (`RandomHorizontalFlip`), and written straight
 * into a float32 NCHW batch in [0, 1]. One pass over the bytes, a column map per image and
 * typed-array indexing: no per-element ndarray access.
 *
 * Padding is `"reflect"` by default (the border is mirrored without repeating the edge
 * pixel, as `torch.nn.functional.pad(mode="reflect")`; the fast CIFAR-10 recipes such as
 * airbench use it) or `"zeros"` (black borders, torchvision's default).
 *
 * @module
 */

import { UserError } from "../errors.ts";
import type { Rng } from "../random.ts";
import { IMAGE_BYTES } from "./cifar10.ts";
import { BYTE_TO_UNIT } from "./to_tensor.ts";

const SIDE = 32;
const PLANE = SIDE * SIDE;

/** How the pixels outside the image are filled when it is translated. */
export type PaddingMode = "reflect" | "zeros";

/** The augmentation to apply; the defaults are the standard CIFAR-10 ones. */
export interface AugmentOptions {
  /** The largest translation in pixels, each way (default 4; 0 turns cropping off). */
  padding?: number;
  /** How the border is filled (default `"reflect"`). */
  paddingMode?: PaddingMode;
  /**
   * Whether to flip half the images left-right (default true). `"alternate"` (airbench's
   * alternating flip) mirrors each image in every other epoch, starting from a random half:
   * the loader, which knows the epoch, decides; {@linkcode augmentImages} without its flips
   * draws them at random.
   */
  flip?: boolean | "alternate";
}

/**
 * One image's augmentation: shift by `dx`, `dy` (the output pixel at (y, x) comes from
 * (y + dy, x + dx) of the padded input), then mirror left-right when `flip`.
 */
export interface ImageTransform {
  /** Columns to shift by, in [-padding, padding]. */
  dx: number;
  /** Rows to shift by, in [-padding, padding]. */
  dy: number;
  /** Whether to mirror left-right after the shift. */
  flip: boolean;
}

/**
 * Draws one image's transform: shifts uniform in [-padding, padding] (as a random crop of
 * the padded image draws its corner), a flip with probability ½.
 *
 * @example
 * ```ts
 * drawTransform(new Rng(0), { padding: 4 }); // e.g. { dx: -3, dy: 2, flip: true }
 * ```
 */
export function drawTransform(rng: Rng, options: AugmentOptions = {}): ImageTransform {
  const { padding = 4, flip = true } = options;
  checkPadding(padding);
  const dy = padding > 0 ? rng.int(2 * padding + 1) - padding : 0;
  const dx = padding > 0 ? rng.int(2 * padding + 1) - padding : 0;
  return { dx, dy, flip: flip !== false && rng.random() < 0.5 };
}

/**
 * Writes image `src[srcImage]` (uint8, 3×32×32) transformed by `t` into `dst[dstImage]`
 * (float32, 3×32×32), scaled to [0, 1] as `ToTensor` does.
 *
 * @example
 * ```ts
 * const out = new Float32Array(3072);
 * transformImage(set.images, 0, out, 0, { dx: 0, dy: 0, flip: true }); // mirrored image 0
 * ```
 */
export function transformImage(
  src: Uint8Array,
  srcImage: number,
  dst: Float32Array,
  dstImage: number,
  t: ImageTransform,
  paddingMode: PaddingMode = "reflect",
): void {
  checkPadding(Math.max(Math.abs(t.dx), Math.abs(t.dy)));
  // columns[x]: the source column of output column x, or -1 for a zero border
  const columns = new Int32Array(SIDE);
  for (let x = 0; x < SIDE; x++) {
    columns[x] = sourceIndex((t.flip ? SIDE - 1 - x : x) + t.dx, paddingMode);
  }
  const srcBase = srcImage * IMAGE_BYTES;
  const dstBase = dstImage * IMAGE_BYTES;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < SIDE; y++) {
      const sy = sourceIndex(y + t.dy, paddingMode);
      const out = dstBase + c * PLANE + y * SIDE;
      if (sy < 0) {
        dst.fill(0, out, out + SIDE);
        continue;
      }
      const row = srcBase + c * PLANE + sy * SIDE;
      for (let x = 0; x < SIDE; x++) {
        const sx = columns[x];
        dst[out + x] = sx < 0 ? 0 : BYTE_TO_UNIT[src[row + sx]];
      }
    }
  }
}

/**
 * Augments the images at `indices` of `src` into consecutive images of `dst`, drawing each
 * image's transform from `rng` in order (so the same generator state gives the same batch).
 * `flips`, when given, decides each image's flip instead of the draw (the alternating flip).
 *
 * @example
 * ```ts
 * const x = new Float32Array(2 * 3072);
 * augmentImages(set.images, [4, 9], x, new Rng(1), { padding: 4, paddingMode: "reflect" });
 * ```
 */
export function augmentImages(
  src: Uint8Array,
  indices: ArrayLike<number>,
  dst: Float32Array,
  rng: Rng,
  options: AugmentOptions = {},
  flips?: ArrayLike<boolean>,
): void {
  const mode = options.paddingMode ?? "reflect";
  for (let i = 0; i < indices.length; i++) {
    const t = drawTransform(rng, options);
    if (flips) t.flip = flips[i];
    transformImage(src, indices[i], dst, i, t, mode);
  }
}

/** The source row or column for padded position `i`, or -1 where the border is zeros. */
function sourceIndex(i: number, mode: PaddingMode): number {
  if (i >= 0 && i < SIDE) return i;
  if (mode === "zeros") return -1;
  return i < 0 ? -i : 2 * (SIDE - 1) - i;
}

function checkPadding(padding: number): void {
  if (!Number.isInteger(padding) || padding < 0 || padding >= SIDE) {
    throw new UserError(
      `the augmentation padding must be an integer from 0 to 31, got ${padding}.`,
    );
  }
}
