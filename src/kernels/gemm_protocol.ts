/**
 * The layout of the control block at the start of the fast GEMM's shared memory, through
 * which the calling thread hands work to the helper Workers (`gemm_worker.ts`).
 *
 * A product runs in two phases. First every thread packs its share of the panels of `op(A)`
 * and `op(B)` from plain copies of `A` and `B` (or of the images a view reads) that the caller
 * put in the shared memory (the product's shape and where everything lies are in the
 * {@linkcode PACK}, {@linkcode A_VIEW} and {@linkcode B_VIEW} fields), and counts
 * itself in {@linkcode PACKED}; once all have, each runs its share of the tiles.
 *
 * Each Worker has a slot of {@linkcode SLOT} int32s at `PARAMS + slot * SLOT`: its state
 * ({@linkcode STATE}), a job flag ({@linkcode JOB}), the ten `gemm_tiles` arguments from
 * {@linkcode ARGS} and its part of the product ({@linkcode PART}). A Worker that waits {@linkcode IDLE_MS} without a job leaves (so that a
 * program that never closes the GEMM still exits); the caller claims a Worker before giving
 * it a job, and the two compare-and-swap the state so that a job never goes to a Worker
 * that has left.
 *
 * @module
 */

/** Int32 index of the count of Workers done with the current job. */
export const DONE = 0;
/** Int32 index of the count of threads done packing their panels for the current job. */
export const PACKED = 1;
/**
 * Int32 index of the current job's packing fields, in this order: `transA`, `transB`, `m`,
 * `n`, `k`, `kp`, the float32 indices of the plain copies of `A` and `B` and of the packed
 * `A` and `B`, the number of parts the job is split in, how `B` is read (one of
 * {@linkcode PACKED_B}, {@linkcode STREAMED_B}, {@linkcode DIRECT}, {@linkcode DIRECT_DW}; see `runShare` in
 * `gemm_pack.ts`) and the float32 index of the streaming threads' buffers.
 */
export const PACK = 2;
/** Mode: every thread packs its share of `B`'s panels, then all run their tiles. */
export const PACKED_B = 0;
/** Mode: each thread packs its own panels of `B` one at a time and runs their tiles at once. */
export const STREAMED_B = 1;
/**
 * Mode: a 3 × 3 stride-1 convolution run by `conv_direct`, which reads `B`'s values from the
 * zero-padded images rather than from packed panels; the threads split the images (the
 * packed-`B` field then locates the padded images).
 */
export const DIRECT = 2;
/**
 * Mode: the weight gradient of a 3 × 3 stride-1 convolution run by `conv_direct_dw`, which
 * reads the images zero-padded rather than packed: each thread pads its share of the images,
 * counts itself in {@linkcode PACKED}, then sums the rows of its output channels.
 */
export const DIRECT_DW = 3;
/**
 * Mode: a loop of `channel_kernels.ts` over a range, each thread its own share: the
 * {@linkcode PACK} field's first int32 is the loop's number; at {@linkcode A_VIEW} follow the
 * number of its arrays, each one's kind (an index into {@linkcode CHANNEL_VIEWS}), each one's
 * position in the shared memory (in elements), then the loop's integers.
 */
export const CHANNELS = 4;
/** The kinds of array a {@linkcode CHANNELS} job passes, by the index it is sent as. */
export const CHANNEL_VIEWS = [Float32Array, Float64Array, Int32Array] as const;
/** Int32 index of the memory's size, in 64 KiB pages, when the current job was posted. */
export const BYTES = 15;
/** Bytes of a WebAssembly memory page. */
export const PAGE_BYTES = 65536;
/**
 * Int32 index of the description of `A` (16 int32s, see `encodeView` in `gemm_pack.ts`): dense, or a
 * view (`matrix_view.ts`) that the threads pack their panels from directly.
 */
export const A_VIEW = 16;
/** Int32 index of the description of `B`, as {@linkcode A_VIEW}. */
export const B_VIEW = 32;
/** Int32 index of the first Worker's slot. */
export const PARAMS = 48;
/** Int32s per Worker slot. */
export const SLOT = 16;
/** Offset in a slot of the Worker's state: one of {@linkcode GONE}, {@linkcode IDLE}, {@linkcode CLAIMED}. */
export const STATE = 0;
/** Offset in a slot of the job flag: 1 from when the caller posts a job until the Worker takes it. */
export const JOB = 1;
/** Offset in a slot of the ten `gemm_tiles` arguments. */
export const ARGS = 2;
/** Offset in a slot of the Worker's part of the job (the caller's is part 0). */
export const PART = 12;
/** State: no Worker runs in this slot (not started, left when idle, or stopped). */
export const GONE = 0;
/** State: the Worker waits for a job. */
export const IDLE = 1;
/** State: the caller has claimed the Worker for a job (or the job runs). */
export const CLAIMED = 2;
/** Milliseconds a Worker waits for a job before it leaves. */
export const IDLE_MS = 1000;
/** The most Workers a control block has room for. */
export const MAX_WORKERS = 63;
/** Bytes the control block takes; the packed data follows it. */
export const CONTROL_BYTES = (PARAMS + MAX_WORKERS * SLOT) * 4;

/**
 * Milliseconds a thread spins on a flag before it sleeps in `Atomics.wait`. Waking a
 * sleeping thread takes the scheduler tens of microseconds on an idle machine and
 * milliseconds on a loaded one — as long as a per-image product — while a layer's products
 * come back to back, so a Worker that just finished one spins for the next.
 */
export const SPIN_MS = 2;

/**
 * `Atomics.wait(ctrl, index, value, timeoutMs)`, after spinning up to {@linkcode SPIN_MS}
 * for `ctrl[index]` to change.
 *
 * @example
 * ```ts
 * if (spinWait(ctrl, at + JOB, 0, IDLE_MS) === "timed-out") leave();
 * ```
 */
export function spinWait(
  ctrl: Int32Array,
  index: number,
  value: number,
  timeoutMs = Infinity,
): "ok" | "not-equal" | "timed-out" {
  const until = performance.now() + SPIN_MS;
  while (Atomics.load(ctrl, index) === value) {
    if (performance.now() >= until) return Atomics.wait(ctrl, index, value, timeoutMs);
  }
  return "not-equal";
}
