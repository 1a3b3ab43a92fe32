/**
 * Packing for the fast GEMM: copies `op(A)` and `op(B)` into the panel layout that the
 * WebAssembly tiles read (`wasm/gemm_wat.ts`), zero-padded to whole panels and to the padded
 * depth `kp`. Each function packs a range of panels, so that the threads of one product
 * (`gemm_fast.ts` and `gemm_worker.ts`) can each pack their share.
 *
 * @module
 */

import { PACK, PACKED, spinWait } from "./gemm_protocol.ts";
import { MR, NR } from "./wasm/gemm_wat.ts";

/**
 * The WebAssembly module's `pack_b(src, n, k, kp, dst, q0, q1)`: packs whole panels
 * `[q0, q1)` of a row-major `k × n` matrix at byte `src` of its memory to byte `dst`.
 */
export type WasmPackB = (...args: number[]) => void;

/** Where a matrix to pack lives: an array and the index of its first element. */
export interface Source {
  data: Float32Array;
  offset: number;
}

/**
 * Packs panels `[q0, q1)` of `op(A)` (`m × k`; `A` is stored `k × m` when `trans`) into
 * panels of {@linkcode MR} rows at `f[at…]`: panel `q` holds, for each `p < kp`, the `MR`
 * values of column `p` of its rows.
 *
 * @example
 * ```ts
 * const f = new Float32Array(MR * 2);
 * packA(f, 0, { data: new Float32Array([1, 2]), offset: 0 }, false, 1, 2, 2, 0, 1);
 * // f = [1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]
 * ```
 */
export function packA(
  f: Float32Array,
  at: number,
  { data: a, offset }: Source,
  trans: boolean,
  m: number,
  k: number,
  kp: number,
  q0: number,
  q1: number,
): void {
  zeroPadding(f, at, q0, q1, MR, m, k, kp);
  const i1 = Math.min(m, q1 * MR);
  if (trans) {
    // A is stored k × m: row p of storage is column p of op(A).
    for (let p = 0; p < k; p++) {
      const src = offset + p * m;
      for (let i0 = q0 * MR; i0 < i1; i0 += MR) {
        const dst = at + i0 * kp + p * MR, rows = Math.min(MR, m - i0);
        for (let r = 0; r < rows; r++) f[dst + r] = a[src + i0 + r];
      }
    }
  } else {
    for (let i = q0 * MR; i < i1; i++) {
      const src = offset + i * k, r = i % MR;
      const dst = at + (i - r) * kp + r;
      for (let p = 0; p < k; p++) f[dst + p * MR] = a[src + p];
    }
  }
}

/**
 * Packs panels `[q0, q1)` of `op(B)` (`k × n`; `B` is stored `n × k` when `trans`) into
 * panels of {@linkcode NR} columns at `f[at…]`: panel `q` holds, for each `p < kp`, the `NR`
 * values of row `p` in its columns. With `wasm`, whole panels of a `B` stored `k × n` go
 * through the WebAssembly packer (the source must then be `f` itself).
 *
 * @example
 * ```ts
 * const f = new Float32Array(NR * 2);
 * packB(f, 0, { data: new Float32Array([1, 2]), offset: 0 }, false, 1, 2, 2, 0, 1);
 * // f = [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, ...]
 * ```
 */
export function packB(
  f: Float32Array,
  at: number,
  { data: b, offset }: Source,
  trans: boolean,
  n: number,
  k: number,
  kp: number,
  q0: number,
  q1: number,
  wasm?: WasmPackB,
): void {
  zeroPadding(f, at, q0, q1, NR, n, k, kp);
  if (wasm && !trans) {
    const whole = Math.min(q1, Math.floor(n / NR));
    wasm(offset * 4, n, k, kp, at * 4, q0, whole);
    q0 = Math.max(q0, whole);
  }
  const j1 = Math.min(n, q1 * NR);
  if (trans) {
    // B is stored n × k: row j of storage is column j of op(B).
    for (let j = q0 * NR; j < j1; j++) {
      const src = offset + j * k, col = j % NR;
      const dst = at + (j - col) * kp + col;
      for (let p = 0; p < k; p++) f[dst + p * NR] = b[src + p];
    }
  } else {
    for (let p = 0; p < k; p++) {
      const src = offset + p * n;
      for (let j0 = q0 * NR; j0 < j1; j0 += NR) {
        const dst = at + j0 * kp + p * NR, cols = Math.min(NR, n - j0);
        for (let col = 0; col < cols; col++) f[dst + col] = b[src + j0 + col];
      }
    }
  }
}

/**
 * Zeroes what packing panels `[q0, q1)` of `width` lanes leaves unwritten: the lanes past
 * `count` in the last panel, and the depth rows `k..kp` of each panel.
 */
function zeroPadding(
  f: Float32Array,
  at: number,
  q0: number,
  q1: number,
  width: number,
  count: number,
  k: number,
  kp: number,
): void {
  const size = width * kp, panels = Math.ceil(count / width);
  if (count % width !== 0 && q0 < panels && panels <= q1) {
    f.fill(0, at + (panels - 1) * size, at + panels * size);
  }
  if (kp !== k) {
    for (let q = q0; q < q1; q++) f.fill(0, at + q * size + k * width, at + (q + 1) * size);
  }
}

/**
 * The `w`-th of `parts` boundaries that split `total` panels evenly (`cut(0) = 0`,
 * `cut(parts) = total`): part `w` of a product gets panels `[cut(w), cut(w + 1))`.
 *
 * @example
 * ```ts
 * cut(10, 2, 1); // 5
 * ```
 */
export function cut(total: number, parts: number, w: number): number {
  return Math.round((total * w) / parts);
}

/**
 * One thread's packing phase of a product split in parts (see `gemm_protocol.ts`): packs
 * part `part` of the panels of `op(A)` and `op(B)` from the plain copies in the shared memory
 * `f` (whole panels of a plain `B` with the module's `wasm` packer), then counts itself in `PACKED` and waits until every part is packed, since its tiles
 * read the others' panels.
 *
 * @example
 * ```ts
 * packShare(f32, ctrl, 1); // in a Worker given part 1 of the current job
 * ```
 */
export function packShare(
  f: Float32Array,
  ctrl: Int32Array,
  part: number,
  wasm: WasmPackB,
): void {
  const [transA, transB, m, n, k, kp, rawA, rawB, pa, pb, parts] = ctrl.subarray(
    PACK,
    PACK + 11,
  );
  const mp = Math.ceil(m / MR), np = Math.ceil(n / NR);
  const a = { data: f, offset: rawA }, b = { data: f, offset: rawB };
  packA(f, pa, a, transA === 1, m, k, kp, cut(mp, parts, part), cut(mp, parts, part + 1));
  packB(f, pb, b, transB === 1, n, k, kp, cut(np, parts, part), cut(np, parts, part + 1), wasm);
  if (Atomics.add(ctrl, PACKED, 1) + 1 === parts) Atomics.notify(ctrl, PACKED);
  for (let done = Atomics.load(ctrl, PACKED); done < parts; done = Atomics.load(ctrl, PACKED)) {
    spinWait(ctrl, PACKED, done);
  }
}
