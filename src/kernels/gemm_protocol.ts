/**
 * The layout of the control block at the start of the fast GEMM's shared memory, through
 * which the calling thread hands work to the helper Workers (`gemm_worker.ts`).
 *
 * @module
 */

/** Int32 index of the job counter: the caller bumps it to start a job, -1 stops the workers. */
export const SEQ = 0;
/** Int32 index of the count of workers done with the current job. */
export const DONE = 1;
/** Int32 index of the first worker's slot of `gemm_tiles` arguments. */
export const PARAMS = 16;
/** Int32s per worker slot (ten arguments, padded). */
export const SLOT = 16;
/** Bytes the control block takes (room for 63 workers); the packed data follows it. */
export const CONTROL_BYTES = (PARAMS + 64 * SLOT) * 4;
