/**
 * The fast float32 matrix multiply: WebAssembly SIMD (relaxed-SIMD fused multiply-add where
 * the runtime has it) built from `wasm/gemm_wat.ts`, cache-blocked and register-tiled over
 * packed panels, split across Workers that share its memory. Float64 calls fall through to
 * {@linkcode gemmReference}, which also stays the oracle the tests compare against.
 *
 * @module
 */

import { type Gemm, gemmReference, setGemm } from "./gemm.ts";
import {
  ARGS,
  CLAIMED,
  CONTROL_BYTES,
  DONE,
  GONE,
  IDLE,
  JOB,
  MAX_WORKERS,
  PACK,
  PACKED,
  PARAMS,
  PART,
  SLOT,
  spinWait,
  STATE,
} from "./gemm_protocol.ts";
import { cut, packA, packB, packShare, type WasmPackB } from "./gemm_pack.ts";
import { GEMM_RELAXED, GEMM_SIMD } from "./wasm/gemm_wasm.ts";
import { MR, NR, UNROLL } from "./wasm/gemm_wat.ts";

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

const PAGE = 65536;
const align = (bytes: number) => (bytes + 63) & ~63;

/** A running fast GEMM: {@linkcode FastGemm.gemm} to call it, `close()` to stop its Workers. */
export class FastGemm {
  /** Threads a large product is split over (the caller's plus the Workers). */
  readonly threads: number;
  readonly #memory: WebAssembly.Memory;
  readonly #tiles: (...args: number[]) => void;
  readonly #packB: WasmPackB;
  /** Each slot's Worker, or null where none runs (never started, left when idle, closed). */
  readonly #workers: (Worker | null)[];
  /** The slots whose Worker has been started and is not yet waiting for jobs, and when it will be. */
  readonly #starting = new Map<number, Promise<void>>();
  #closed = false;
  #f32: Float32Array;
  #ctrl: Int32Array;

  private constructor(memory: WebAssembly.Memory, helpers: number) {
    this.#memory = memory;
    this.#workers = new Array(helpers).fill(null);
    this.threads = helpers + 1;
    const instance = new WebAssembly.Instance(wasmModule(), { env: { memory } });
    this.#tiles = instance.exports.gemm_tiles as (...args: number[]) => void;
    this.#packB = instance.exports.pack_b as WasmPackB;
    this.#f32 = new Float32Array(memory.buffer);
    this.#ctrl = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
  }

  /**
   * Starts a fast GEMM on `threads` threads (default: every hardware thread); the calling
   * thread is one of them, so `threads - 1` Workers start. A Worker idle for a second
   * leaves, so a program exits without `close()`; the next large product starts it again
   * (and runs with the threads that are ready meanwhile).
   *
   * @example
   * ```ts
   * const fast = await FastGemm.start({ threads: 2 });
   * fast.gemm(false, false, 2, 2, 2, a, a, c, 0);
   * fast.close();
   * ```
   */
  static async start(options: { threads?: number } = {}): Promise<FastGemm> {
    const wanted = options.threads ?? navigator.hardwareConcurrency;
    const threads = Math.max(1, Math.min(MAX_WORKERS + 1, wanted));
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
    const fast = new FastGemm(memory, threads - 1);
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
      !(a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array)
    ) return gemmReference(transA, transB, m, n, k, a, b, c, beta);
    if (m === 0 || n === 0) return;
    if (k === 0) {
      if (beta === 0) c.fill(0, 0, m * n);
      return;
    }
    const mp = Math.ceil(m / MR), np = Math.ceil(n / NR), ldc = np * NR;
    const kp = Math.ceil(k / UNROLL) * UNROLL; // the depth of the packed panels
    const helpers = m * n * k >= PARALLEL_MIN_WORK
      ? this.#claim(Math.min(threads, Math.max(mp, np)) - 1)
      : [];
    const pa = CONTROL_BYTES;
    const pb = align(pa + mp * MR * kp * 4);
    const pc = align(pb + np * NR * kp * 4);
    // Several threads pack from plain copies of A and B in the shared memory (the caller's
    // arrays are out of the Workers' reach); one thread packs A straight from the caller's,
    // and B too when it is stored transposed (a plain B is copied in, then packed with
    // 128-bit moves, which is faster than packing it from JavaScript).
    const copyB = helpers.length > 0 || !transB;
    const rawA = align(pc + mp * MR * ldc * 4);
    const rawB = align(rawA + (helpers.length > 0 ? m * k * 4 : 0));
    this.#reserve(rawB + (copyB ? k * n * 4 : 0));
    const f = this.#f32;
    const c0 = pc >> 2;
    if (beta === 1) {
      if (ldc === n) f.set(c.subarray(0, m * n), c0);
      else for (let i = 0; i < m; i++) f.set(c.subarray(i * n, i * n + n), c0 + i * ldc);
    }

    if (helpers.length === 0) {
      packA(f, pa >> 2, { data: a, offset: 0 }, transA, m, k, kp, 0, mp);
      if (copyB) {
        f.set(b.subarray(0, k * n), rawB >> 2);
        packB(f, pb >> 2, { data: f, offset: rawB >> 2 }, transB, n, k, kp, 0, np, this.#packB);
      } else packB(f, pb >> 2, { data: b, offset: 0 }, transB, n, k, kp, 0, np);
      this.#tiles(0, mp, 0, np, kp, pa, pb, pc, ldc * 4, beta);
    } else {
      f.set(a.subarray(0, m * k), rawA >> 2);
      f.set(b.subarray(0, k * n), rawB >> 2);
      // Split the longer side in panels; part 0 is the calling thread's, the rest the Workers'.
      const parts = helpers.length + 1;
      const byRows = mp >= np;
      const total = byRows ? mp : np;
      const ctrl = this.#ctrl;
      Atomics.store(ctrl, DONE, 0);
      Atomics.store(ctrl, PACKED, 0);
      ctrl.set(
        [+transA, +transB, m, n, k, kp, rawA >> 2, rawB >> 2, pa >> 2, pb >> 2, parts],
        PACK,
      );
      for (const [i, slot] of helpers.entries()) {
        const at = PARAMS + slot * SLOT, lo = cut(total, parts, i + 1);
        const hi = cut(total, parts, i + 2);
        ctrl.set(byRows ? [lo, hi, 0, np] : [0, mp, lo, hi], at + ARGS);
        ctrl.set([kp, pa, pb, pc, ldc * 4, beta], at + ARGS + 4);
        ctrl[at + PART] = i + 1;
        Atomics.store(ctrl, at + JOB, 1);
        Atomics.notify(ctrl, at + JOB);
      }
      packShare(f, ctrl, 0, this.#packB);
      const mine = cut(total, parts, 1);
      if (byRows) this.#tiles(0, mine, 0, np, kp, pa, pb, pc, ldc * 4, beta);
      else this.#tiles(0, mp, 0, mine, kp, pa, pb, pc, ldc * 4, beta);
      for (let done = Atomics.load(ctrl, DONE); done < parts - 1; done = Atomics.load(ctrl, DONE)) {
        spinWait(ctrl, DONE, done);
      }
    }
    if (ldc === n) c.set(f.subarray(c0, c0 + m * n));
    else for (let i = 0; i < m; i++) c.set(f.subarray(c0 + i * ldc, c0 + i * ldc + n), i * n);
  }

  /** Grows the memory to at least `bytes` and refreshes the views on it. */
  #reserve(bytes: number): void {
    const have = this.#memory.buffer.byteLength;
    if (bytes <= have) return;
    this.#memory.grow(Math.ceil((bytes - have) / PAGE));
    this.#f32 = new Float32Array(this.#memory.buffer);
    this.#ctrl = new Int32Array(this.#memory.buffer, 0, CONTROL_BYTES / 4);
  }
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
  running?.close();
  running = null;
}
