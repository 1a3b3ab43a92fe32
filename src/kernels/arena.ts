/**
 * Where layers' float32 output buffers (`nn/buffers.ts`) come from. By default, ordinary
 * memory; the fast kernels (`gemm_fast.ts`) install an arena in the memory their threads
 * share, so that a convolution reads its input and writes its output there in place instead
 * of copying them in and out.
 *
 * @module
 */

import { CHANNEL_KERNELS, type ChannelArray } from "./channel_kernels.ts";

/**
 * Memory for float32 output buffers: `allocate` returns `size` zeros that stay the caller's
 * until it passes them to `release`.
 */
export interface OutputArena {
  allocate(size: number): Float32Array;
  release(data: Float32Array): void;
  /**
   * Runs loop `kernel` of `channel_kernels.ts` over `[0, count)`, split across the arena's
   * threads, on `arrays` (their positions first, then `ints`, are the loop's integers), and
   * returns true; returns false, running nothing, where an array does not lie in the arena.
   */
  forChannels?(
    kernel: number,
    arrays: ChannelArray[],
    ints: number[],
    count: number,
  ): boolean;
}

let installed: OutputArena | null = null;

/**
 * Installs the arena output buffers allocated from now on come from (`null`: ordinary
 * memory). Buffers allocated before keep their memory until their layer replaces them.
 *
 * @example
 * ```ts
 * setOutputArena(fastGemm); // what useFastKernels does
 * ```
 */
export function setOutputArena(arena: OutputArena | null): void {
  installed = arena;
}

/**
 * The arena installed by {@linkcode setOutputArena}, or null.
 *
 * @example
 * ```ts
 * const data = outputArena()?.allocate(1024) ?? new Float32Array(1024);
 * ```
 */
export function outputArena(): OutputArena | null {
  return installed;
}

/**
 * Runs loop `kernel` of `channel_kernels.ts` over `[0, count)` on `arrays` with the integers
 * `ints`: split across the installed arena's threads where the arrays lie in it (BatchNorm's
 * and ReLU's as the SIMD versions of `wasm/channel_wat.ts`, which agree within float32
 * rounding), else whole on this thread in TypeScript. Either way each channel gets the same
 * arithmetic whatever the thread count.
 *
 * @example
 * ```ts
 * forChannels(RELU_BITS, [x, x, y], [], x.length); // y = relu(x)
 * ```
 */
export function forChannels(
  kernel: number,
  arrays: ChannelArray[],
  ints: number[],
  count: number,
): void {
  if (installed?.forChannels?.(kernel, arrays, ints, count)) return;
  CHANNEL_KERNELS[kernel](arrays, arrays.map(() => 0), ints, 0, count);
}
