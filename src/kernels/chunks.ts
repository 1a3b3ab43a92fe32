/**
 * How many images a convolution lowers at once. Putting a chunk of the batch side by side
 * makes the products large (a small late-stage image alone gives a 16-column product, far too
 * small to run fast), while a bound on the chunk keeps the scratch it needs modest whatever
 * the batch. `Conv2D`'s im2col lowering and the Winograd path (`winograd.ts`) share the rule.
 *
 * @module
 */

/**
 * The elements of a chunk's scratch matrix (an im2col matrix, or Winograd's transformed input
 * or output) the lowerings aim for: enough that every product has thousands of columns, few
 * enough (16 MB in float32) to stay a modest buffer.
 */
export const CHUNK_ELEMENTS = 1 << 22;

/**
 * Images per chunk when each takes `perImage` elements of scratch: as many as fit in
 * {@linkcode CHUNK_ELEMENTS} (at least one), evened out so the last chunk is not a sliver.
 *
 * @example
 * ```ts
 * chunkImages(128, 144 * 1024); // 26: five chunks of 26, 26, 26, 26 and 24 images
 * ```
 */
export function chunkImages(images: number, perImage: number): number {
  const most = Math.max(1, Math.min(images, Math.floor(CHUNK_ELEMENTS / perImage)));
  return Math.ceil(images / Math.ceil(images / most));
}
