/**
 * The fast float32 matrix multiply: WebAssembly SIMD (relaxed-SIMD fused multiply-add where
 * the runtime has it) built from `wasm/gemm_wat.ts`, cache-blocked and register-tiled over
 * packed panels, split across Workers that share its memory. Operands may be views of a batch
 * of images (`matrix_view.ts`): the threads then pack their panels straight from the images
 * (im2col runs and taps copied by the module's `pack_run` and `pack_tap`), and stream each
 * panel of an im2col `B` through cache when `A` has enough rows. A 3 × 3 stride-1 convolution
 * (forward, and the input gradient, which is one too) packs nothing of `B`: the module's
 * `conv_direct` reads each tap's values from the zero-padded images themselves, its tiles
 * two vectors of four output positions. Operands in ordinary memory are copied into the shared
 * memory for the threads; those the layers allocated from its arena ({@linkcode FastGemm.allocate},
 * installed by {@linkcode useFastKernels}) are read and written in place. Float64 calls fall through to
 * {@linkcode gemmReference}, which also stays the oracle the tests compare against.
 *
 * @module
 */

import { UserError } from "../errors.ts";
import { type OutputArena, setOutputArena } from "./arena.ts";
import type { ChannelArray } from "./channel_kernels.ts";
import { type Gemm, gemmReference, setGemm } from "./gemm.ts";
import {
  A_VIEW,
  ARGS,
  B_VIEW,
  BYTES,
  CHANNEL_VIEWS,
  CHANNELS,
  CLAIMED,
  CONTROL_BYTES,
  DIRECT,
  DIRECT_DW,
  DONE,
  GONE,
  IDLE,
  JOB,
  MAX_WORKERS,
  PACK,
  PACKED,
  PACKED_B,
  PAGE_BYTES,
  PARAMS,
  PART,
  SLOT,
  spinWait,
  STATE,
  STREAMED_B,
} from "./gemm_protocol.ts";
import { cut, encodeView, type Kernels, kernelsOf, packA, runShare } from "./gemm_pack.ts";
import {
  type ChannelRows,
  checkTransposes,
  gatherChannels,
  type Im2ColMatrix,
  isView,
  type Operand,
  scatterChannels,
  storage,
  storageSize,
} from "./matrix_view.ts";
import { GEMM_RELAXED, GEMM_SIMD } from "./wasm/gemm_wasm.ts";
import { DIRECT_KERNEL, MR, NR, UNROLL } from "./wasm/gemm_wat.ts";
import type { FloatArray } from "../tensor.ts";

const decode = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));

/** Whether this runtime runs relaxed SIMD (then the GEMM uses its fused multiply-add). */
export const hasRelaxedSimd: boolean = WebAssembly.validate(decode(GEMM_RELAXED));

let compiled: WebAssembly.Module | null = null;
function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(decode(hasRelaxedSimd ? GEMM_RELAXED : GEMM_SIMD));
  return compiled;
}

/**
 * Below this many multiply-adds (`m·n·k`) a call runs on the calling thread alone: waking a
 * Worker costs tens of microseconds, more than it saves on a small product.
 */
export const PARALLEL_MIN_WORK = 1 << 18;

/**
 * Streaming `B` (see `runShare`) pays from this many panels of `A` on: measured on the
 * default network's convolutions, 32 output channels (6 panels) ran slower streamed, 64 (11)
 * faster.
 */
const STREAM_MIN_PANELS = 8;

/**
 * `bytes` rounded up to a multiple of 64. In floating point, not `& ~63`: a layout past 2 GiB
 * must come out past it, for `#reserve` to refuse it, not wrap to a negative offset.
 */
const align = (bytes: number) => Math.ceil(bytes / 64) * 64;

/**
 * The shared memory's size limit: 2 GiB, so that every byte offset fits the int32 arithmetic
 * the kernels address it with (`>> 2`, the control block's fields).
 */
const MEMORY_BYTES = 2 ** 31;

/**
 * The most bytes the arena's blocks take of the shared memory: three quarters, so that the
 * products' scratch has room above them (a product whose operands lie in the arena needs
 * little: 4 MB for the strong recipe's network at batch 256, whose buffers take 1,012 MiB; one
 * whose operands lie outside needs room for their copies). The default recipe's buffers take
 * about 560 MB; at batch 512 the strong one's do not fit, and `onArenaFull` tells.
 */
const ARENA_BYTES = 1.5 * 2 ** 30;

/**
 * A running fast GEMM: {@linkcode FastGemm.gemm} to call it, `close()` to stop its Workers.
 * It is also an {@linkcode OutputArena}: layers' float32 outputs allocated from it lie in the
 * memory its threads share, at the bottom (each product's scratch goes above them), and a
 * product whose operands lie there reads and writes them in place instead of copying.
 */
export class FastGemm implements OutputArena {
  /** Threads a large product is split over (the caller's plus the Workers). */
  readonly threads: number;
  readonly #memory: WebAssembly.Memory;
  readonly #kernels: Kernels;
  /** Each slot's Worker, or null where none runs (never started, left when idle, closed). */
  readonly #workers: (Worker | null)[];
  /** The slots whose Worker has been started and is not yet waiting for jobs, and when it will be. */
  readonly #starting = new Map<number, Promise<void>>();
  #closed = false;
  #f32: Float32Array;
  #ctrl: Int32Array;
  /** Every `buffer` the memory has had (a grow makes a new one): what its arrays view. */
  readonly #buffers = new WeakSet<ArrayBufferLike>();
  /** The byte where the arena's blocks end and each product's scratch begins. */
  #base = CONTROL_BYTES;
  /** The most bytes the arena's blocks take (see {@linkcode ARENA_BYTES}). */
  readonly #arenaBytes: number;
  /** The arena's released blocks: byte offsets by size in floats. */
  readonly #free = new Map<number, number[]>();
  /**
   * Called the first time the arena is full and {@linkcode FastGemm.allocate} gives ordinary
   * memory, with the size asked in bytes: the layers whose outputs lie there run several times
   * slower (their data is copied in and out of every product, and their BatchNorm, ReLU and
   * Winograd loops run on one thread in TypeScript), which a program may want to tell its
   * user about.
   */
  onArenaFull: ((bytes: number) => void) | null = null;
  #full = false;

  private constructor(memory: WebAssembly.Memory, helpers: number, arenaBytes: number) {
    this.#memory = memory;
    this.#arenaBytes = Math.min(arenaBytes, ARENA_BYTES);
    this.#workers = new Array(helpers).fill(null);
    this.threads = helpers + 1;
    const instance = new WebAssembly.Instance(wasmModule(), { env: { memory } });
    this.#kernels = kernelsOf(instance);
    this.#f32 = new Float32Array(memory.buffer);
    this.#ctrl = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
    this.#buffers.add(memory.buffer);
  }

  /**
   * `size` float32 zeros in the shared memory, the caller's until it calls
   * {@linkcode FastGemm.release} (the {@linkcode OutputArena} contract).
   *
   * @example
   * ```ts
   * const y = fast.allocate(1024); // a product reads and writes it without a copy
   * fast.release(y);
   * ```
   */
  allocate(size: number): Float32Array {
    let offset = this.#free.get(size)?.pop();
    if (offset === undefined) {
      // Past its share of the memory the arena gives ordinary memory (copied in and out like
      // any other), so that the products' scratch always has room above it.
      if (this.#base + size * 4 > this.#arenaBytes) {
        if (!this.#full) this.onArenaFull?.(size * 4);
        this.#full = true;
        return new Float32Array(size);
      }
      offset = this.#base;
      this.#reserve(this.#base = align(offset + size * 4));
    }
    return new Float32Array(this.#f32.buffer, offset, size).fill(0);
  }

  /** Takes back a block {@linkcode FastGemm.allocate} gave (anything else is ignored). */
  release(data: Float32Array): void {
    const offset = this.#offsetOf(data);
    if (offset < 0) return;
    const blocks = this.#free.get(data.length);
    if (blocks) blocks.push(offset);
    else this.#free.set(data.length, [offset]);
  }

  /**
   * Runs loop `kernel` of `channel_kernels.ts` over `[0, count)` split across the threads, on
   * `arrays` in the shared memory (the {@linkcode OutputArena} contract), as the module's SIMD
   * version where it has one (`wasm/channel_wat.ts`): false, running nothing, if one lies
   * elsewhere.
   *
   * @example
   * ```ts
   * fast.forChannels(RELU_BITS, [x, x, y], [], x.length); // y = relu(x), x and y from fast.allocate
   * ```
   */
  forChannels(
    kernel: number,
    arrays: ChannelArray[],
    ints: number[],
    count: number,
  ): boolean {
    const at = arrays.map((a) => this.#offsetOf(a) / a.BYTES_PER_ELEMENT);
    if (at.some((offset) => offset < 0)) return false;
    const helpers = this.#claim(Math.min(this.threads, count) - 1);
    const parts = helpers.length + 1, ctrl = this.#ctrl;
    ctrl[PACK] = kernel;
    ctrl[PACK + 10] = parts;
    ctrl[PACK + 11] = CHANNELS;
    // The arrays' count, each one's kind and position, then the integers (see CHANNELS).
    const kinds = arrays.map((a) => CHANNEL_VIEWS.indexOf(a.constructor as typeof Float32Array));
    ctrl.set([arrays.length, ...kinds, ...at, ...ints], A_VIEW);
    this.#dispatch(helpers, (part) => [cut(count, parts, part), cut(count, parts, part + 1)]);
    return true;
  }

  /** The byte offset of `array` in the shared memory, or -1 if it lies elsewhere. */
  #offsetOf(array: FloatArray | Int32Array): number {
    return this.#buffers.has(array.buffer) ? array.byteOffset : -1;
  }

  /**
   * Starts a fast GEMM on `threads` threads (default: every hardware thread); the calling
   * thread is one of them, so `threads - 1` Workers start. A Worker idle for a second
   * leaves, so a program exits without `close()`; the next large product starts it again
   * (and runs with the threads that are ready meanwhile). Its arena's blocks take at most
   * `arenaBytes` (default and most: 1.5 GiB) of the shared memory; past that it gives ordinary
   * memory.
   *
   * @example
   * ```ts
   * const fast = await FastGemm.start({ threads: 2 });
   * fast.gemm(false, false, 2, 2, 2, a, a, c, 0);
   * fast.close();
   * ```
   */
  static async start(
    options: { threads?: number; arenaBytes?: number } = {},
  ): Promise<FastGemm> {
    const wanted = options.threads ?? navigator.hardwareConcurrency;
    const threads = Math.max(1, Math.min(MAX_WORKERS + 1, wanted));
    const memory = new WebAssembly.Memory({
      initial: 16,
      maximum: MEMORY_BYTES / PAGE_BYTES,
      shared: true,
    });
    const fast = new FastGemm(memory, threads - 1, options.arenaBytes ?? ARENA_BYTES);
    await Promise.all(fast.#workers.map((_, slot) => fast.#spawn(slot)));
    return fast;
  }

  /** Starts the Worker of `slot`; resolves once it waits for jobs. */
  #spawn(slot: number): Promise<void> {
    const worker = new Worker(new URL("./gemm_worker.ts", import.meta.url), { type: "module" });
    this.#workers[slot] = worker;
    const started = new Promise<void>((resolve, reject) => {
      worker.onmessage = () => {
        worker.onmessage = null;
        this.#starting.delete(slot);
        resolve();
      };
      worker.onerror = (event) => {
        this.#workers[slot] = null;
        this.#starting.delete(slot);
        reject(new Error(`GEMM worker failed: ${event.message}`));
      };
      worker.postMessage({ module: wasmModule(), memory: this.#memory, slot });
    });
    this.#starting.set(slot, started);
    return started;
  }

  /**
   * Resolves once every Worker waits for jobs, restarting those that left when idle. A
   * Worker restarted during a long synchronous stretch (no `await` in between) only comes
   * up when the event loop runs, so a caller about to run many products back to back (a
   * benchmark, a training step) awaits this first to have all its threads.
   *
   * @example
   * ```ts
   * await fast.ready(); // both threads from the next product on
   * ```
   */
  async ready(): Promise<void> {
    if (this.#closed) return;
    for (let slot = 0; slot < this.#workers.length; slot++) {
      const state = Atomics.load(this.#ctrl, PARAMS + slot * SLOT + STATE);
      if (state === GONE && !this.#starting.has(slot)) {
        this.#workers[slot]?.terminate();
        this.#spawn(slot).catch(() => {});
      }
    }
    await Promise.all([...this.#starting.values()]);
  }

  /**
   * How many Workers wait for jobs right now (the others run one, are starting, or have
   * left when idle).
   *
   * @example
   * ```ts
   * await fast.ready();
   * fast.waitingWorkers; // fast.threads - 1
   * ```
   */
  get waitingWorkers(): number {
    let waiting = 0;
    for (let slot = 0; slot < this.#workers.length; slot++) {
      if (Atomics.load(this.#ctrl, PARAMS + slot * SLOT + STATE) === IDLE) waiting++;
    }
    return waiting;
  }

  /** Stops the Workers; afterwards `gemm` runs on the calling thread only. */
  close(): void {
    this.#closed = true;
    for (const [slot, worker] of this.#workers.entries()) {
      worker?.terminate();
      this.#workers[slot] = null;
      Atomics.store(this.#ctrl, PARAMS + slot * SLOT + STATE, GONE);
      Atomics.notify(this.#ctrl, PARAMS + slot * SLOT + JOB); // it sees GONE and leaves
    }
  }

  /**
   * Claims the idle Workers for a job (at most `wanted`) and restarts, for later calls,
   * those that left when idle. Returns the claimed slots.
   */
  #claim(wanted: number): number[] {
    const ctrl = this.#ctrl, claimed: number[] = [];
    for (let slot = 0; slot < this.#workers.length; slot++) {
      const at = PARAMS + slot * SLOT + STATE;
      if (claimed.length < wanted && Atomics.compareExchange(ctrl, at, IDLE, CLAIMED) === IDLE) {
        claimed.push(slot);
      } else if (!this.#closed && !this.#starting.has(slot) && Atomics.load(ctrl, at) === GONE) {
        const worker = this.#workers[slot];
        // A Worker that marked itself gone has left (or is about to); start a fresh one.
        worker?.terminate();
        this.#spawn(slot).catch(() => {});
      }
    }
    return claimed;
  }

  /** The {@linkcode Gemm} contract: float32 runs here, anything else in the reference. */
  gemm: Gemm = (transA, transB, m, n, k, a, b, c, beta) =>
    this.#run(this.threads, transA, transB, m, n, k, a, b, c, beta);

  /**
   * The same GEMM limited to `threads` threads (at most {@linkcode FastGemm.threads}), to
   * measure the speed-up of more threads.
   *
   * @example
   * ```ts
   * const oneThread = fast.withThreads(1);
   * oneThread(false, false, 2, 2, 2, a, a, c, 0);
   * ```
   */
  withThreads(threads: number): Gemm {
    const t = Math.max(1, Math.min(this.threads, threads));
    return (transA, transB, m, n, k, a, b, c, beta) =>
      this.#run(t, transA, transB, m, n, k, a, b, c, beta);
  }

  #run(
    threads: number,
    ...[transA, transB, m, n, k, a, b, c, beta]: Parameters<Gemm>
  ): void {
    if (
      !(storage(a) instanceof Float32Array && storage(b) instanceof Float32Array &&
        storage(c) instanceof Float32Array)
    ) return gemmReference(transA, transB, m, n, k, a, b, c, beta);
    checkTransposes(transA, a, transB, b);
    if (m === 0 || n === 0) return;
    if (k === 0) {
      if (beta === 0) storage(c).fill(0, 0, m * n);
      return;
    }
    if (beta === 0 && directConvolution(transA, a, b, c)) {
      return this.#runDirect(threads, m, k, a as Float32Array, b as Im2ColMatrix, c as ChannelRows);
    }
    if (directWeightGradient(transA, a, b, c, m)) {
      return this.#runDirectDW(threads, m, n, a as ChannelRows, b as Im2ColMatrix, c, beta);
    }
    const mp = Math.ceil(m / MR), np = Math.ceil(n / NR), ldc = np * NR;
    const kp = Math.ceil(k / UNROLL) * UNROLL; // the depth of the packed panels
    const helpers = m * n * k >= PARALLEL_MIN_WORK
      ? this.#claim(Math.min(threads, Math.max(mp, np)) - 1)
      : [];
    // Arrays outside the shared memory are out of the Workers' reach: such an A or B (or the
    // images a view reads) is copied in, where every thread packs its share of the panels.
    const sizeA = isView(a) ? storageSize(a) : m * k, sizeB = isView(b) ? storageSize(b) : k * n;
    const inA = this.#offsetOf(storage(a)), inB = this.#offsetOf(storage(b));
    const pa = this.#base;
    const pb = align(pa + mp * MR * kp * 4);
    const pc = align(pb + np * NR * kp * 4);
    const copyA = align(pc + mp * MR * ldc * 4);
    const copyB = align(copyA + (inA < 0 ? sizeA * 4 : 0));
    const rawA = inA < 0 ? copyA : inA, rawB = inB < 0 ? copyB : inB;
    // Split the longer side in panels; part 0 is the calling thread's, the rest the Workers'.
    const parts = helpers.length + 1;
    const byRows = mp >= np;
    const total = byRows ? mp : np;
    // An im2col B split by columns is streamed: each thread packs its panels one at a time
    // into a buffer of its own (kp × NR floats each, after the copy of B) and uses them at
    // once, while they are in cache. (A transposed one is as deep as the batch's positions:
    // its panels are too long to stay in cache; with few rows of A, a panel's tiles are too
    // little work for a call of their own.)
    const stream = isView(b) && b.kind === "im2col" && !b.transposed && !byRows &&
      mp >= STREAM_MIN_PANELS;
    const scratch = align(copyB + (inB < 0 ? sizeB * 4 : 0));
    this.#reserve(scratch + (stream ? parts * kp * NR * 4 : 0));
    const f = this.#f32, c0 = pc >> 2;
    if (inA < 0) f.set(storage(a).subarray(0, sizeA), rawA >> 2);
    if (inB < 0) f.set(storage(b).subarray(0, sizeB), rawB >> 2);
    if (beta === 1) {
      if (isView(c)) gatherChannels(c, f, c0, ldc);
      else if (ldc === n) f.set(c.subarray(0, m * n), c0);
      else for (let i = 0; i < m; i++) f.set(c.subarray(i * n, i * n + n), c0 + i * ldc);
    }

    const ctrl = this.#ctrl;
    ctrl.set(
      [+transA, +transB, m, n, k, kp, rawA >> 2, rawB >> 2, pa >> 2, pb >> 2, parts]
        .concat([stream ? STREAMED_B : PACKED_B, scratch >> 2]),
      PACK,
    );
    encodeView(ctrl, A_VIEW, a);
    encodeView(ctrl, B_VIEW, b);
    this.#dispatch(helpers, (part) => {
      const lo = cut(total, parts, part), hi = cut(total, parts, part + 1);
      return [...(byRows ? [lo, hi, 0, np] : [0, mp, lo, hi]), kp, pa, pb, pc, ldc * 4, beta];
    });
    if (isView(c)) scatterChannels(f, c, c0, ldc);
    else if (ldc === n) c.set(f.subarray(c0, c0 + m * n));
    else for (let i = 0; i < m; i++) c.set(f.subarray(c0 + i * ldc, c0 + i * ldc + n), i * n);
  }

  /**
   * `C = A · B` for a 3 × 3 stride-1 convolution (see {@linkcode directConvolution}): `A` the
   * filters, `B` the im2col view of a chunk of images, `C` its output channels. The filters
   * are packed here; the images are copied in (unless they lie in the shared memory) and each
   * thread pads and convolves its share of them with the module's `conv_direct`, writing its
   * outputs where `C` expects them (in place, when `C` lies in the shared memory).
   */
  #runDirect(
    threads: number,
    m: number,
    k: number,
    a: Float32Array,
    b: Im2ColMatrix,
    c: ChannelRows,
  ): void {
    const { images, geometry: g } = b;
    const C = g.channels, HW = g.height * g.width, L = g.outH * g.outW;
    const padded = (g.height + 2 * g.padH) * (g.width + 2 * g.padW);
    const mp = Math.ceil(m / MR);
    const inX = this.#offsetOf(b.x), inY = this.#offsetOf(c.data);
    const pa = this.#base;
    const pb = align(pa + mp * MR * k * 4);
    let end = align(pb + images * C * padded * 4);
    const pc = inY < 0 ? end : inY;
    if (inY < 0) end = align(end + images * m * L * 4);
    const raw = inX < 0 ? end : inX;
    this.#reserve(inX < 0 ? end + images * C * HW * 4 : end);
    const f = this.#f32, ctrl = this.#ctrl;
    packA(f, pa >> 2, { data: a, offset: 0 }, false, m, k, k, 0, mp);
    if (inX < 0) f.set(b.x.subarray(0, images * C * HW), raw >> 2);
    const helpers = m * images * L * k >= PARALLEL_MIN_WORK
      ? this.#claim(Math.min(threads, images) - 1)
      : [];
    const parts = helpers.length + 1;
    ctrl.set([0, 0, m, images * L, k, k, 0, raw >> 2, pa >> 2, pb >> 2, parts, DIRECT, 0], PACK);
    encodeView(ctrl, B_VIEW, b);
    // Where gemm_tiles would have its column panels, a direct job has its images.
    this.#dispatch(
      helpers,
      (part) =>
        [0, mp, cut(images, parts, part), cut(images, parts, part + 1)]
          .concat([k, pa, pb, pc, L * 4, 0]),
    );
    if (inY < 0) c.data.set(f.subarray(pc >> 2, (pc >> 2) + images * m * L));
  }

  /**
   * `dW (+)= dOut · colsᵀ` for a 3 × 3 stride-1 convolution (see
   * {@linkcode directWeightGradient}): `a` the output gradient's channels, `b` the transposed
   * im2col view of the images, `c` the dense `m × n` weight gradient. The threads pad a share
   * of the images each, then sum the rows of `dW` of a share of the output channels.
   */
  #runDirectDW(
    threads: number,
    m: number,
    n: number,
    a: ChannelRows,
    b: Im2ColMatrix,
    c: Float32Array,
    beta: 0 | 1,
  ): void {
    const { images, geometry: g } = b;
    const C = g.channels, HW = g.height * g.width, L = g.outH * g.outW;
    const padded = (g.height + 2 * g.padH) * (g.width + 2 * g.padW);
    const inA = this.#offsetOf(a.data), inB = this.#offsetOf(b.x);
    const pc = this.#base;
    const pb = align(pc + m * n * 4);
    const copyA = align(pb + images * C * padded * 4);
    const copyB = align(copyA + (inA < 0 ? images * m * L * 4 : 0));
    const rawA = inA < 0 ? copyA : inA, rawB = inB < 0 ? copyB : inB;
    this.#reserve(copyB + (inB < 0 ? images * C * HW * 4 : 0));
    const f = this.#f32, ctrl = this.#ctrl;
    if (inA < 0) f.set(a.data.subarray(0, images * m * L), rawA >> 2);
    if (inB < 0) f.set(b.x.subarray(0, images * C * HW), rawB >> 2);
    if (beta === 1) f.set(c.subarray(0, m * n), pc >> 2);
    else f.fill(0, pc >> 2, (pc >> 2) + m * n);
    const blocks = m / 4;
    const helpers = m * n * images * L >= PARALLEL_MIN_WORK
      ? this.#claim(Math.min(threads, blocks) - 1)
      : [];
    const parts = helpers.length + 1;
    // Images per pass: enough positions (about 1024) that summing the lanes at the end of a
    // pass costs little, few enough that the pass's rows of dOut stay in the L1 cache.
    const nb = Math.max(1, Math.floor(1024 / L));
    ctrl.set(
      [0, 0, m, n, images * L, 0, rawA >> 2, rawB >> 2, 0, pb >> 2, parts, DIRECT_DW, 0],
      PACK,
    );
    encodeView(ctrl, B_VIEW, b);
    this.#dispatch(helpers, (part) =>
      [cut(images, parts, part), cut(images, parts, part + 1)]
        .concat([cut(blocks, parts, part), cut(blocks, parts, part + 1), nb, pb, pc, 0, 0, 0]));
    c.set(f.subarray(pc >> 2, (pc >> 2) + m * n));
  }

  /**
   * Runs the job whose fields are in the control block: resets its counters, hands part
   * `i + 1` to the Worker of `helpers[i]` with its ten arguments `args(i + 1)`, runs part 0 on
   * this thread, and waits until every Worker is done.
   */
  #dispatch(helpers: number[], args: (part: number) => number[]): void {
    const ctrl = this.#ctrl;
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, PACKED, 0);
    ctrl[BYTES] = this.#memory.buffer.byteLength / PAGE_BYTES;
    for (const [i, slot] of helpers.entries()) {
      const at = PARAMS + slot * SLOT;
      ctrl.set(args(i + 1), at + ARGS);
      ctrl[at + PART] = i + 1;
      Atomics.store(ctrl, at + JOB, 1);
      Atomics.notify(ctrl, at + JOB);
    }
    runShare(this.#f32, ctrl, 0, this.#kernels, args(0));
    for (
      let done = Atomics.load(ctrl, DONE);
      done < helpers.length;
      done = Atomics.load(ctrl, DONE)
    ) {
      spinWait(ctrl, DONE, done);
    }
  }

  /** Grows the memory to at least `bytes` and refreshes the views on it. */
  #reserve(bytes: number): void {
    const have = this.#memory.buffer.byteLength;
    if (bytes <= have) return;
    if (bytes > MEMORY_BYTES) {
      throw new UserError(
        `a matrix product needs ${(bytes / 2 ** 30).toFixed(1)} GiB of the fast kernels' ` +
          `memory, more than its 2 GiB; a smaller batch fits.`,
      );
    }
    this.#memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
    this.#f32 = new Float32Array(this.#memory.buffer);
    this.#ctrl = new Int32Array(this.#memory.buffer, 0, CONTROL_BYTES / 4);
    this.#buffers.add(this.#memory.buffer);
  }
}

/**
 * Whether `op(A) · B` into `C` is a convolution `conv_direct` runs: `A` the dense filters of a
 * 3 × 3, stride-1 convolution, `B` the im2col view of its images, `C` its output channels,
 * with output rows a multiple of 4 wide and a multiple of 8 positions per image (a tile is two
 * vectors of four positions).
 *
 * @example
 * ```ts
 * directConvolution(false, W, im2colMatrix(x, 8, g), channelRows(y, 8, 16, 1024)); // true
 * ```
 */
export function directConvolution(
  transA: boolean,
  a: Operand,
  b: Operand,
  c: FloatArray | ChannelRows,
): boolean {
  if (transA || isView(a) || !isView(b) || b.kind !== "im2col" || b.transposed) return false;
  if (!isView(c) || c.kind !== "channels") return false;
  const g = b.geometry;
  return g.kernelH === DIRECT_KERNEL && g.kernelW === DIRECT_KERNEL && g.strideH === 1 &&
    g.strideW === 1 && g.outW % 4 === 0 && (g.outH * g.outW) % 8 === 0 &&
    c.L === g.outH * g.outW && c.images === b.images;
}

/**
 * Whether `A · B` into `C` is a weight gradient `conv_direct_dw` runs: `A` the output gradient
 * of a 3 × 3, stride-1 convolution as channel rows (a multiple of 4 of them), `B` the
 * transposed im2col view of its images, `C` dense, with output rows a multiple of 4 wide.
 *
 * @example
 * ```ts
 * directWeightGradient(false, channelRows(dy, 8, 16, 1024), im2colMatrix(x, 8, g, true), dW, 16); // true
 * ```
 */
export function directWeightGradient(
  transA: boolean,
  a: Operand,
  b: Operand,
  c: FloatArray | ChannelRows,
  m: number,
): c is Float32Array {
  if (transA || !isView(a) || a.kind !== "channels" || !isView(b) || b.kind !== "im2col") {
    return false;
  }
  const g = b.geometry;
  return b.transposed && !isView(c) && m % 4 === 0 && a.rows === m &&
    a.images === b.images && a.L === g.outH * g.outW && g.kernelH === DIRECT_KERNEL &&
    g.kernelW === DIRECT_KERNEL && g.strideH === 1 && g.strideW === 1 && g.outW % 4 === 0;
}

let running: FastGemm | null = null;

/**
 * Installs the fast GEMM behind `gemm` (float32 only; float64 keeps the reference) on
 * `threads` threads (default: all), replacing any fast GEMM installed before. Returns it;
 * call {@linkcode useReferenceKernels} to go back to plain TypeScript and stop its Workers.
 *
 * @example
 * ```ts
 * await useFastKernels(); // every Float32Array gemm from here on runs in WebAssembly
 * // ... train ...
 * useReferenceKernels();
 * ```
 */
export async function useFastKernels(options: { threads?: number } = {}): Promise<FastGemm> {
  const fast = await FastGemm.start(options);
  running?.close();
  running = fast;
  setGemm(fast.gemm);
  setOutputArena(fast);
  return fast;
}

/**
 * Puts the plain TypeScript GEMM back behind `gemm` and stops the fast one's Workers.
 *
 * @example
 * ```ts
 * useReferenceKernels();
 * ```
 */
export function useReferenceKernels(): void {
  setGemm(gemmReference);
  setOutputArena(null);
  running?.close();
  running = null;
}
