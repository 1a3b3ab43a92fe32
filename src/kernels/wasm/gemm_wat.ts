/**
 * The generator of the float32 GEMM's WebAssembly: emits the WAT text that
 * `src/kernels/wasm/build.ts` assembles (with npm `wabt`) into `gemm_wasm.ts`.
 *
 * The module imports a shared memory (so that Workers run the same code on the same data)
 * and exports `pack_b`, which packs whole panels of a row-major `B` in that memory with
 * 128-bit moves, and `gemm_tiles`, which multiplies packed panels: `A` packed in panels of
 * {@linkcode MR} rows (for each `p`, the panel's `MR` values of column `p`), `B` packed in
 * panels of {@linkcode NR} columns (for each `p`, the panel's `NR` values of row `p`), into a
 * padded row-major `C`. The caller (`gemm_fast.ts`) packs, pads and splits the work.
 *
 * @module
 */

import { channelWat } from "./channel_wat.ts";
import { geluWat } from "./gelu_wat.ts";
import { winogradWat } from "./winograd_wat.ts";

/** Rows of `C` per register tile: each row is `NR / 4` accumulators of four lanes. */
export const MR = 6;
const MR_ = MR;
/** Columns of `C` per register tile (a multiple of 4). */
export const NR = 8;
const NR_ = NR;
/**
 * Steps of `p` per trip of the tile's inner loop; the caller pads `k` to a multiple of it
 * with zero rows in the packed panels.
 */
export const UNROLL = 2;
const UNROLL_ = UNROLL;
/** Depth of one cache block (a multiple of `UNROLL`): a `KC × NR` panel of `B` stays in L1 across the `A` panels. */
export const KC = 256;
const KC_ = KC;
/** Rows of `A` per cache block (a multiple of `MR`): an `MC × KC` block stays in L2. */
export const MC = 120;
const MC_ = MC;

/**
 * The WAT source of the GEMM module. With `relaxed` the multiply-add is relaxed SIMD's
 * `f32x4.relaxed_madd` (one fused instruction where the CPU has FMA); without it, a
 * separate `f32x4.mul` and `f32x4.add`, for runtimes without relaxed SIMD.
 *
 * @example
 * ```ts
 * const wat = gemmWat(true); // "(module (import \"env\" \"memory\" ..."
 * ```
 */
export function gemmWat(
  relaxed: boolean,
  { MR, NR, KC, MC, UNROLL } = { MR: MR_, NR: NR_, KC: KC_, MC: MC_, UNROLL: UNROLL_ },
): string {
  const VR = NR / 4; // vectors per row of the tile
  const acc = (r: number, v: number) => `$c${r}_${v}`;
  const madd = (x: string, y: string, z: string) =>
    relaxed ? `(f32x4.relaxed_madd ${x} ${y} ${z})` : `(f32x4.add (f32x4.mul ${x} ${y}) ${z})`;
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);

  // One register tile: C[MR × NR] (+)= Apanel[kc × MR]ᵀ · Bpanel[kc × NR].
  emit(`(func $tile (param $kc i32) (param $a i32) (param $b i32) (param $c i32)`);
  emit(`  (param $ldc i32) (param $load i32)`);
  for (let r = 0; r < MR; r++) for (let v = 0; v < VR; v++) emit(`  (local ${acc(r, v)} v128)`);
  for (let v = 0; v < VR; v++) emit(`  (local $b${v} v128)`);
  emit(`  (local $av v128) (local $end i32) (local $row i32)`);
  emit(
    `  (local.set $end (i32.add (local.get $a) (i32.mul (local.get $kc) (i32.const ${MR * 4}))))`,
  );
  emit(`  (loop $p`);
  for (let u = 0; u < UNROLL; u++) {
    for (let v = 0; v < VR; v++) {
      emit(`    (local.set $b${v} (v128.load offset=${16 * v + u * NR * 4} (local.get $b)))`);
    }
    for (let r = 0; r < MR; r++) {
      // The address advances by a step per splat: V8 does not fold a splat load's offset
      // into the address, and a register per offset spills the accumulators.
      emit(`    (local.set $av (v128.load32_splat (local.get $a)))`);
      emit(`    (local.set $a (i32.add (local.get $a) (i32.const 4)))`);
      for (let v = 0; v < VR; v++) {
        emit(
          `    (local.set ${acc(r, v)} ${
            madd("(local.get $av)", `(local.get $b${v})`, `(local.get ${acc(r, v)})`)
          })`,
        );
      }
    }
  }
  emit(`    (local.set $b (i32.add (local.get $b) (i32.const ${UNROLL * NR * 4})))`);
  emit(`    (br_if $p (i32.lt_u (local.get $a) (local.get $end))))`);
  // Write the tile back, adding what C held when asked to (beta = 1, or a later k block).
  emit(`  (local.set $row (local.get $c))`);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < VR; v++) {
      const at = `offset=${16 * v} (local.get $row)`;
      emit(
        `  (if (local.get $load) (then (local.set ${acc(r, v)} (f32x4.add (local.get ${
          acc(r, v)
        }) (v128.load ${at})))))`,
      );
      emit(`  (v128.store ${at} (local.get ${acc(r, v)}))`);
    }
    if (r < MR - 1) emit(`  (local.set $row (i32.add (local.get $row) (local.get $ldc)))`);
  }
  emit(`)`);

  // The blocked loops over the tiles of rows [ip0, ip1) × columns [jp0, jp1) (in panels).
  emit(`(func (export "gemm_tiles") (param $ip0 i32) (param $ip1 i32) (param $jp0 i32)`);
  emit(`  (param $jp1 i32) (param $k i32) (param $pa i32) (param $pb i32) (param $pc i32)`);
  emit(`  (param $ldc i32) (param $beta i32)`);
  emit(`  (local $p0 i32) (local $kc i32) (local $ic i32) (local $icEnd i32) (local $jp i32)`);
  emit(`  (local $ip i32) (local $load i32)`);
  emit(`  (loop $pBlock`);
  emit(`    (local.set $kc (select (i32.const ${KC}) (i32.sub (local.get $k) (local.get $p0))`);
  emit(`      (i32.lt_u (i32.const ${KC}) (i32.sub (local.get $k) (local.get $p0)))))`);
  emit(`    (local.set $load (i32.or (local.get $beta) (local.get $p0)))`);
  emit(`    (local.set $ic (local.get $ip0))`);
  emit(`    (loop $icBlock`);
  emit(
    `      (local.set $icEnd (select (i32.add (local.get $ic) (i32.const ${
      MC / MR
    })) (local.get $ip1)`,
  );
  emit(`        (i32.lt_u (i32.add (local.get $ic) (i32.const ${MC / MR})) (local.get $ip1))))`);
  emit(`      (local.set $jp (local.get $jp0))`);
  emit(`      (loop $jLoop`);
  emit(`        (local.set $ip (local.get $ic))`);
  emit(`        (loop $iLoop`);
  emit(`          (call $tile (local.get $kc)`);
  emit(
    `            (i32.add (local.get $pa) (i32.shl (i32.add (i32.mul (local.get $ip) (i32.mul (local.get $k) (i32.const ${MR}))) (i32.mul (local.get $p0) (i32.const ${MR}))) (i32.const 2)))`,
  );
  emit(
    `            (i32.add (local.get $pb) (i32.shl (i32.add (i32.mul (local.get $jp) (i32.mul (local.get $k) (i32.const ${NR}))) (i32.mul (local.get $p0) (i32.const ${NR}))) (i32.const 2)))`,
  );
  emit(
    `            (i32.add (local.get $pc) (i32.add (i32.mul (i32.mul (local.get $ip) (i32.const ${MR})) (local.get $ldc)) (i32.mul (local.get $jp) (i32.const ${
      NR * 4
    }))))`,
  );
  emit(`            (local.get $ldc) (local.get $load))`);
  emit(`          (local.set $ip (i32.add (local.get $ip) (i32.const 1)))`);
  emit(`          (br_if $iLoop (i32.lt_u (local.get $ip) (local.get $icEnd))))`);
  emit(`        (local.set $jp (i32.add (local.get $jp) (i32.const 1)))`);
  emit(`        (br_if $jLoop (i32.lt_u (local.get $jp) (local.get $jp1))))`);
  emit(`      (local.set $ic (local.get $icEnd))`);
  emit(`      (br_if $icBlock (i32.lt_u (local.get $ic) (local.get $ip1))))`);
  emit(`    (local.set $p0 (i32.add (local.get $p0) (local.get $kc)))`);
  emit(`    (br_if $pBlock (i32.lt_u (local.get $p0) (local.get $k))))`);
  emit(`)`);

  // Packing of whole panels of a row-major B already in this memory (the common case of a
  // layer's products): for each p, each panel's NR values are one contiguous run of row p.
  emit(`(func (export "pack_b") (param $src i32) (param $n i32) (param $k i32) (param $kp i32)`);
  emit(`  (param $dst i32) (param $q0 i32) (param $q1 i32)`);
  emit(`  (local $p i32) (local $q i32) (local $s i32) (local $d i32)`);
  emit(`  (if (i32.lt_u (local.get $q0) (local.get $q1)) (then`);
  emit(`    (loop $pLoop`);
  emit(`      (local.set $q (local.get $q0))`);
  emit(
    `      (local.set $s (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $n)) (i32.mul (local.get $q0) (i32.const ${NR}))) (i32.const 2))))`,
  );
  emit(
    `      (local.set $d (i32.add (local.get $dst) (i32.mul (i32.add (i32.mul (local.get $q0) (local.get $kp)) (local.get $p)) (i32.const ${
      NR * 4
    }))))`,
  );
  emit(`      (loop $qLoop`);
  for (let v = 0; v < VR; v++) {
    emit(
      `        (v128.store offset=${16 * v} (local.get $d) (v128.load offset=${
        16 * v
      } (local.get $s)))`,
    );
  }
  emit(`        (local.set $s (i32.add (local.get $s) (i32.const ${NR * 4})))`);
  emit(
    `        (local.set $d (i32.add (local.get $d) (i32.mul (local.get $kp) (i32.const ${
      NR * 4
    }))))`,
  );
  emit(`        (local.set $q (i32.add (local.get $q) (i32.const 1)))`);
  emit(`        (br_if $qLoop (i32.lt_u (local.get $q) (local.get $q1))))`);
  emit(`      (local.set $p (i32.add (local.get $p) (i32.const 1)))`);
  emit(`      (br_if $pLoop (i32.lt_u (local.get $p) (local.get $k))))))`);
  emit(`)`);

  // One run of an im2col panel straight from an image (see packBIm2col in gemm_pack.ts): for
  // each window tap (c, ki, kj), the `len` output positions of one output row whose windows
  // start at input (ih0, iw0 + r·sw), written to one lane range of the panel's row; zeros
  // where a tap reads padding. Interior runs of a stride-1 layer are 128-bit copies.
  emit(`(func (export "pack_run") (param $dst i32) (param $src i32) (param $ih0 i32)`);
  emit(`  (param $iw0 i32) (param $len i32) (param $C i32) (param $H i32) (param $W i32)`);
  emit(`  (param $kh i32) (param $kw i32) (param $sw i32)`);
  emit(`  (local $c i32) (local $ki i32) (local $kj i32) (local $ih i32) (local $iw i32)`);
  emit(`  (local $row i32) (local $r i32) (local $w i32) (local $chan i32) (local $plane i32)`);
  emit(`  (local.set $chan (local.get $src))`);
  emit(`  (local.set $plane (i32.shl (i32.mul (local.get $H) (local.get $W)) (i32.const 2)))`);
  emit(`  (loop $cLoop`);
  emit(`    (local.set $ki (i32.const 0))`);
  emit(`    (loop $kiLoop`);
  emit(`      (local.set $ih (i32.add (local.get $ih0) (local.get $ki)))`);
  emit(
    `      (local.set $row (i32.add (local.get $chan) (i32.shl (i32.mul (local.get $ih) (local.get $W)) (i32.const 2))))`,
  );
  emit(`      (local.set $kj (i32.const 0))`);
  emit(`      (loop $kjLoop`);
  emit(`        (local.set $iw (i32.add (local.get $iw0) (local.get $kj)))`);
  emit(`        (local.set $r (i32.const 0))`);
  emit(`        (if (i32.ge_u (local.get $ih) (local.get $H)) (then`);
  emit(`          (loop $zero (if (i32.lt_u (local.get $r) (local.get $len)) (then`);
  emit(
    `            (f32.store (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))) (f32.const 0))`,
  );
  emit(`            (local.set $r (i32.add (local.get $r) (i32.const 1))) (br $zero)))))`);
  emit(`        (else (if (i32.and (i32.eq (local.get $sw) (i32.const 1))`);
  emit(`            (i32.and (i32.ge_s (local.get $iw) (i32.const 0))`);
  emit(`              (i32.le_s (i32.add (local.get $iw) (local.get $len)) (local.get $W))))`);
  emit(`          (then`);
  emit(
    `            (loop $vec (if (i32.le_u (i32.add (local.get $r) (i32.const 4)) (local.get $len)) (then`,
  );
  emit(
    `              (v128.store (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2)))`,
  );
  emit(
    `                (v128.load (i32.add (local.get $row) (i32.shl (i32.add (local.get $iw) (local.get $r)) (i32.const 2)))))`,
  );
  emit(`              (local.set $r (i32.add (local.get $r) (i32.const 4))) (br $vec))))`);
  emit(`            (loop $tail (if (i32.lt_u (local.get $r) (local.get $len)) (then`);
  emit(
    `              (f32.store (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2)))`,
  );
  emit(
    `                (f32.load (i32.add (local.get $row) (i32.shl (i32.add (local.get $iw) (local.get $r)) (i32.const 2)))))`,
  );
  emit(`              (local.set $r (i32.add (local.get $r) (i32.const 1))) (br $tail)))))`);
  emit(`          (else`);
  emit(`            (local.set $w (local.get $iw))`);
  emit(`            (loop $edge (if (i32.lt_u (local.get $r) (local.get $len)) (then`);
  emit(
    `              (f32.store (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2)))`,
  );
  emit(`                (if (result f32) (i32.lt_u (local.get $w) (local.get $W))`);
  emit(
    `                  (then (f32.load (i32.add (local.get $row) (i32.shl (local.get $w) (i32.const 2)))))`,
  );
  emit(`                  (else (f32.const 0))))`);
  emit(`              (local.set $w (i32.add (local.get $w) (local.get $sw)))`);
  emit(`              (local.set $r (i32.add (local.get $r) (i32.const 1))) (br $edge))))))))`);
  emit(`        (local.set $dst (i32.add (local.get $dst) (i32.const ${NR * 4})))`);
  emit(`        (local.set $kj (i32.add (local.get $kj) (i32.const 1)))`);
  emit(`        (br_if $kjLoop (i32.lt_u (local.get $kj) (local.get $kw))))`);
  emit(`      (local.set $ki (i32.add (local.get $ki) (i32.const 1)))`);
  emit(`      (br_if $kiLoop (i32.lt_u (local.get $ki) (local.get $kh))))`);
  emit(`    (local.set $chan (i32.add (local.get $chan) (local.get $plane)))`);
  emit(`    (local.set $c (i32.add (local.get $c) (i32.const 1)))`);
  emit(`    (br_if $cLoop (i32.lt_u (local.get $c) (local.get $C))))`);
  emit(`)`);

  // One lane of a panel of the transposed im2col matrix (see packBIm2colT in gemm_pack.ts):
  // window tap (ki, kj) of one channel, at every output position of every image in turn,
  // one position per panel row (NR floats apart); zeros where the tap reads padding.
  emit(`(func (export "pack_tap") (param $dst i32) (param $src i32) (param $ki i32)`);
  emit(`  (param $kj i32) (param $sh i32) (param $sw i32) (param $ph i32) (param $pw i32)`);
  emit(`  (param $H i32) (param $W i32) (param $outH i32) (param $outW i32) (param $images i32)`);
  emit(`  (param $imageBytes i32)`);
  emit(`  (local $n i32) (local $oh i32) (local $ow i32) (local $ih i32) (local $iw i32)`);
  emit(`  (local $row i32)`);
  emit(`  (loop $image`);
  emit(`    (local.set $oh (i32.const 0))`);
  emit(`    (loop $rows`);
  emit(
    `      (local.set $ih (i32.add (i32.sub (i32.mul (local.get $oh) (local.get $sh)) (local.get $ph)) (local.get $ki)))`,
  );
  emit(
    `      (local.set $row (i32.add (local.get $src) (i32.shl (i32.mul (local.get $ih) (local.get $W)) (i32.const 2))))`,
  );
  emit(
    `      (local.set $iw (i32.sub (local.get $kj) (local.get $pw)))`,
  );
  emit(`      (local.set $ow (i32.const 0))`);
  emit(`      (loop $cols`);
  emit(`        (f32.store (local.get $dst)`);
  emit(
    `          (if (result f32) (i32.and (i32.lt_u (local.get $ih) (local.get $H)) (i32.lt_u (local.get $iw) (local.get $W)))`,
  );
  emit(
    `            (then (f32.load (i32.add (local.get $row) (i32.shl (local.get $iw) (i32.const 2)))))`,
  );
  emit(`            (else (f32.const 0))))`);
  emit(`        (local.set $dst (i32.add (local.get $dst) (i32.const ${NR * 4})))`);
  emit(`        (local.set $iw (i32.add (local.get $iw) (local.get $sw)))`);
  emit(`        (local.set $ow (i32.add (local.get $ow) (i32.const 1)))`);
  emit(`        (br_if $cols (i32.lt_u (local.get $ow) (local.get $outW))))`);
  emit(`      (local.set $oh (i32.add (local.get $oh) (i32.const 1)))`);
  emit(`      (br_if $rows (i32.lt_u (local.get $oh) (local.get $outH))))`);
  emit(`    (local.set $src (i32.add (local.get $src) (local.get $imageBytes)))`);
  emit(`    (local.set $n (i32.add (local.get $n) (i32.const 1)))`);
  emit(`    (br_if $image (i32.lt_u (local.get $n) (local.get $images))))`);
  emit(`)`);

  lines.push(
    ...directWat(MR, relaxed),
    ...channelWat(relaxed),
    ...geluWat(relaxed),
    ...winogradWat(),
  );

  return [
    `(module`,
    `(import "env" "memory" (memory 1 65536 shared))`,
    ...lines,
    `)`,
    "",
  ].join("\n");
}

/** The window the direct convolution (`conv_direct`) is generated for: 3 × 3, stride 1. */
export const DIRECT_KERNEL = 3;

/**
 * WAT of the direct convolution, which multiplies a 3 × 3, stride-1 convolution's filters by
 * its im2col matrix without packing that matrix: the `8` output positions of a tile are two
 * vectors of four consecutive positions, each a row segment of the zero-padded images, so
 * every tap's `B` values are one unaligned 128-bit load from the image itself.
 *
 * - `pad_images(dst, src, planes, H, W, ph, pw)` copies `planes` planes of `H × W` floats
 *   into planes of `(H + 2ph) × (W + 2pw)` with a border of zeros.
 * - `conv_direct(pa, x, n0, n1, C, Hp, Wp, outW, L, y, O, kp)` computes, for images `[n0,
 *   n1)` of the padded images at `x` (`C` planes of `Hp × Wp` each), the `O` output channels
 *   (`L` positions each, image after image, from `y`) as `A · im2col`, `A` packed by panels
 *   of `MR` rows and depth `kp = 9C` at `pa`. Needs `outW` and `L` multiples of 4 and 8.
 * - `conv_direct_dw(d, x, n0, n1, O, C, Hp, Wp, outH, outW, dw, ob0, ob1, nb)` adds to the
 *   weight gradient `dw` (`O × 9C`, row-major) the rows of output channels `[4·ob0, 4·ob1)`
 *   summed over images `[n0, n1)` of the padded images `x` and the output gradient `d` (`O`
 *   channels of `outH × outW` per image), `nb` images at a time. Needs `outW` a multiple of 4.
 */
function directWat(MR: number, relaxed: boolean): string[] {
  const K = DIRECT_KERNEL;
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  const acc = (r: number, v: number) => `$c${r}_${v}`;
  const madd = (x: string, y: string, z: string) =>
    relaxed ? `(f32x4.relaxed_madd ${x} ${y} ${z})` : `(f32x4.add (f32x4.mul ${x} ${y}) ${z})`;

  // One tile: rows [0, rows) of C at c (rows ldc bytes apart; its two vectors at c and c + 16)
  // = Apanel · the window taps of the two position vectors whose windows start at b0 and b1.
  emit(`(func $dtile (param $C i32) (param $a i32) (param $b0 i32) (param $b1 i32)`);
  emit(`  (param $c i32) (param $ldc i32) (param $wp i32) (param $plane i32) (param $rows i32)`);
  for (let r = 0; r < MR; r++) for (let v = 0; v < 2; v++) emit(`  (local ${acc(r, v)} v128)`);
  emit(`  (local $x0 v128) (local $x1 v128) (local $av v128) (local $ch i32)`);
  emit(`  (local $r0 i32) (local $r1 i32)`);
  emit(`  (loop $channel`);
  for (let ki = 0; ki < K; ki++) {
    emit(
      `    (local.set $r0 (i32.add (local.get $b0) (i32.mul (local.get $wp) (i32.const ${ki}))))`,
    );
    emit(
      `    (local.set $r1 (i32.add (local.get $b1) (i32.mul (local.get $wp) (i32.const ${ki}))))`,
    );
    for (let kj = 0; kj < K; kj++) {
      emit(`    (local.set $x0 (v128.load offset=${4 * kj} align=4 (local.get $r0)))`);
      emit(`    (local.set $x1 (v128.load offset=${4 * kj} align=4 (local.get $r1)))`);
      for (let r = 0; r < MR; r++) {
        emit(`    (local.set $av (v128.load32_splat (local.get $a)))`);
        emit(`    (local.set $a (i32.add (local.get $a) (i32.const 4)))`);
        for (let v = 0; v < 2; v++) {
          emit(
            `    (local.set ${acc(r, v)} ${
              madd("(local.get $av)", `(local.get $x${v})`, `(local.get ${acc(r, v)})`)
            })`,
          );
        }
      }
    }
  }
  emit(`    (local.set $b0 (i32.add (local.get $b0) (local.get $plane)))`);
  emit(`    (local.set $b1 (i32.add (local.get $b1) (local.get $plane)))`);
  emit(`    (local.set $ch (i32.add (local.get $ch) (i32.const 1)))`);
  emit(`    (br_if $channel (i32.lt_u (local.get $ch) (local.get $C))))`);
  // Rows past `rows` are the zero padding of the last panel: not stored.
  for (let r = 0; r < MR; r++) {
    const store = [0, 1].map((v) =>
      `(v128.store offset=${16 * v} (local.get $c) (local.get ${acc(r, v)}))`
    )
      .join(" ");
    emit(
      r === 0
        ? `  ${store}`
        : `  (if (i32.gt_u (local.get $rows) (i32.const ${r})) (then ${store}))`,
    );
    if (r < MR - 1) emit(`  (local.set $c (i32.add (local.get $c) (local.get $ldc)))`);
  }
  emit(`)`);

  emit(
    `(func (export "conv_direct") (param $pa i32) (param $x i32) (param $n0 i32) (param $n1 i32)`,
  );
  emit(`  (param $C i32) (param $Hp i32) (param $Wp i32) (param $outW i32) (param $L i32)`);
  emit(`  (param $y i32) (param $O i32) (param $kp i32)`);
  emit(`  (local $n i32) (local $ip i32) (local $mp i32) (local $l i32) (local $oh i32)`);
  emit(`  (local $img i32) (local $out i32) (local $a i32) (local $rows i32)`);
  emit(`  (local $wp i32) (local $plane i32) (local $b0 i32) (local $b1 i32)`);
  emit(`  (local.set $wp (i32.shl (local.get $Wp) (i32.const 2)))`);
  emit(`  (local.set $plane (i32.mul (local.get $Hp) (local.get $wp)))`);
  emit(
    `  (local.set $mp (i32.div_u (i32.add (local.get $O) (i32.const ${
      MR - 1
    })) (i32.const ${MR})))`,
  );
  emit(`  (local.set $n (local.get $n0))`);
  emit(`  (block $done (loop $image`);
  emit(`    (br_if $done (i32.ge_u (local.get $n) (local.get $n1)))`);
  emit(
    `    (local.set $img (i32.add (local.get $x) (i32.mul (local.get $n) (i32.mul (local.get $C) (local.get $plane)))))`,
  );
  emit(`    (local.set $ip (i32.const 0))`);
  emit(`    (loop $panel`);
  emit(
    `      (local.set $a (i32.add (local.get $pa) (i32.mul (local.get $ip) (i32.mul (local.get $kp) (i32.const ${
      4 * MR
    })))))`,
  );
  emit(
    `      (local.set $rows (i32.sub (local.get $O) (i32.mul (local.get $ip) (i32.const ${MR}))))`,
  );
  emit(`      (local.set $out (i32.add (local.get $y) (i32.shl (i32.mul (local.get $L)`);
  emit(
    `        (i32.add (i32.mul (local.get $n) (local.get $O)) (i32.mul (local.get $ip) (i32.const ${MR})))) (i32.const 2))))`,
  );
  emit(`      (local.set $l (i32.const 0))`);
  emit(`      (loop $positions`);
  // Position l sits at (oh, l − oh·outW) of the output and its window at the same place of
  // the padded image.
  for (const [b, shift] of [["$b0", 0], ["$b1", 4]] as const) {
    emit(
      `        (local.set $oh (i32.div_u (i32.add (local.get $l) (i32.const ${shift})) (local.get $outW)))`,
    );
    emit(
      `        (local.set ${b} (i32.add (local.get $img) (i32.shl (i32.add (i32.mul (local.get $oh) (local.get $Wp))`,
    );
    emit(
      `          (i32.sub (i32.add (local.get $l) (i32.const ${shift})) (i32.mul (local.get $oh) (local.get $outW)))) (i32.const 2))))`,
    );
  }
  emit(`        (call $dtile (local.get $C) (local.get $a) (local.get $b0) (local.get $b1)`);
  emit(`          (i32.add (local.get $out) (i32.shl (local.get $l) (i32.const 2)))`);
  emit(
    `          (i32.shl (local.get $L) (i32.const 2)) (local.get $wp) (local.get $plane) (local.get $rows))`,
  );
  emit(`        (local.set $l (i32.add (local.get $l) (i32.const 8)))`);
  emit(`        (br_if $positions (i32.lt_u (local.get $l) (local.get $L))))`);
  emit(`      (local.set $ip (i32.add (local.get $ip) (i32.const 1)))`);
  emit(`      (br_if $panel (i32.lt_u (local.get $ip) (local.get $mp))))`);
  emit(`    (local.set $n (i32.add (local.get $n) (i32.const 1)))`);
  emit(`    (br $image)))`);
  emit(`)`);

  // The weight gradient dW[o, (c, ki, kj)] += Σ over positions of dOut[o, pos] · xpad[c, pos
  // shifted by (ki, kj)]: dot products along the positions, four lanes wide, for a tile of 4
  // output channels × the 3 taps of one window row (kj = 0, 1, 2: the same row of the padded
  // image shifted by one float each), summed across lanes at the end of each pass.
  const dw = (o: number, kj: number) => `$w${o}_${kj}`;
  emit(
    `(func (export "conv_direct_dw") (param $d i32) (param $x i32) (param $n0 i32) (param $n1 i32)`,
  );
  emit(`  (param $O i32) (param $C i32) (param $Hp i32) (param $Wp i32) (param $outH i32)`);
  emit(`  (param $outW i32) (param $dw i32) (param $ob0 i32) (param $ob1 i32) (param $nb i32)`);
  for (let o = 0; o < 4; o++) for (let kj = 0; kj < K; kj++) emit(`  (local ${dw(o, kj)} v128)`);
  emit(`  (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $dv v128)`);
  emit(`  (local $blk i32) (local $blkEnd i32) (local $ob i32) (local $c i32) (local $ki i32)`);
  emit(`  (local $n i32) (local $oh i32) (local $xr i32) (local $xEnd i32) (local $d0 i32)`);
  emit(`  (local $L4 i32) (local $wp i32) (local $plane i32) (local $at i32)`);
  emit(`  (local.set $L4 (i32.shl (i32.mul (local.get $outH) (local.get $outW)) (i32.const 2)))`);
  emit(`  (local.set $wp (i32.shl (local.get $Wp) (i32.const 2)))`);
  emit(`  (local.set $plane (i32.mul (local.get $Hp) (local.get $wp)))`);
  emit(`  (local.set $blk (local.get $n0))`);
  emit(`  (block $done (loop $block`);
  emit(`    (br_if $done (i32.ge_u (local.get $blk) (local.get $n1)))`);
  emit(`    (local.set $blkEnd (select (local.get $n1) (i32.add (local.get $blk) (local.get $nb))`);
  emit(`      (i32.lt_u (local.get $n1) (i32.add (local.get $blk) (local.get $nb)))))`);
  emit(`    (local.set $ob (local.get $ob0))`);
  emit(`    (block $obDone (loop $oBlock`);
  emit(`      (br_if $obDone (i32.ge_u (local.get $ob) (local.get $ob1)))`);
  emit(`      (local.set $c (i32.const 0))`);
  emit(`      (loop $channel`);
  emit(`        (local.set $ki (i32.const 0))`);
  emit(`        (loop $row`);
  for (let o = 0; o < 4; o++) {
    for (let kj = 0; kj < K; kj++) {
      emit(`          (local.set ${dw(o, kj)} (v128.const i32x4 0 0 0 0))`);
    }
  }
  emit(`          (local.set $n (local.get $blk))`);
  emit(`          (loop $image`);
  emit(
    `            (local.set $xr (i32.add (local.get $x) (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (local.get $C)) (local.get $c)) (local.get $plane))`,
  );
  emit(`              (i32.mul (local.get $ki) (local.get $wp)))))`);
  emit(
    `            (local.set $d0 (i32.add (local.get $d) (i32.mul (i32.add (i32.mul (local.get $n) (local.get $O)) (i32.shl (local.get $ob) (i32.const 2))) (local.get $L4))))`,
  );
  emit(`            (local.set $oh (i32.const 0))`);
  // One vector of positions: its three taps' x against four rows of dOut.
  const vector = (pad: string) => {
    for (let kj = 0; kj < K; kj++) {
      emit(`${pad}(local.set $x${kj} (v128.load offset=${4 * kj} align=4 (local.get $xr)))`);
    }
    for (let o = 0; o < 4; o++) {
      const at = o === 0
        ? `(local.get $d0)`
        : `(i32.add (local.get $d0) (i32.mul (local.get $L4) (i32.const ${o})))`;
      emit(`${pad}(local.set $dv (v128.load ${at}))`);
      for (let kj = 0; kj < K; kj++) {
        emit(
          `${pad}(local.set ${dw(o, kj)} ${
            madd("(local.get $dv)", `(local.get $x${kj})`, `(local.get ${dw(o, kj)})`)
          })`,
        );
      }
    }
    emit(`${pad}(local.set $xr (i32.add (local.get $xr) (i32.const 16)))`);
    emit(`${pad}(local.set $d0 (i32.add (local.get $d0) (i32.const 16)))`);
  };
  // On to the next output row: the padded row is wider than the output row by Wp − outW.
  const nextRow = (pad: string, loop: string) => {
    emit(
      `${pad}(local.set $xr (i32.add (local.get $xr) (i32.shl (i32.sub (local.get $Wp) (local.get $outW)) (i32.const 2))))`,
    );
    emit(`${pad}(local.set $oh (i32.add (local.get $oh) (i32.const 1)))`);
    emit(`${pad}(br_if ${loop} (i32.lt_u (local.get $oh) (local.get $outH))))`);
  };
  // Rows of one or two vectors (4 × 4 and 8 × 8 planes) go without the loop along the row,
  // whose upkeep cost as much as a vector's work.
  for (const vectors of [1, 2]) {
    emit(`            (if (i32.eq (local.get $outW) (i32.const ${4 * vectors})) (then`);
    emit(`            (loop $row${4 * vectors}`);
    for (let v = 0; v < vectors; v++) vector("              ");
    nextRow("              ", `$row${4 * vectors}`);
    emit(`            ) (else`);
  }
  emit(`            (loop $outRow`);
  emit(
    `              (local.set $xEnd (i32.add (local.get $xr) (i32.shl (local.get $outW) (i32.const 2))))`,
  );
  emit(`              (loop $vector`);
  vector("                ");
  emit(`                (br_if $vector (i32.lt_u (local.get $xr) (local.get $xEnd))))`);
  nextRow("              ", "$outRow");
  emit(`            ))))`);
  emit(`            (local.set $n (i32.add (local.get $n) (i32.const 1)))`);
  emit(`            (br_if $image (i32.lt_u (local.get $n) (local.get $blkEnd))))`);
  // dW[ob·4 + o, c·9 + ki·3 + kj] += the four lanes' sum.
  emit(
    `          (local.set $at (i32.add (local.get $dw) (i32.shl (i32.add (i32.mul (i32.shl (local.get $ob) (i32.const 2))`,
  );
  emit(
    `            (i32.mul (local.get $C) (i32.const ${
      K * K
    }))) (i32.add (i32.mul (local.get $c) (i32.const ${
      K * K
    })) (i32.mul (local.get $ki) (i32.const ${K})))) (i32.const 2))))`,
  );
  for (let o = 0; o < 4; o++) {
    for (let kj = 0; kj < K; kj++) {
      const v = `(local.get ${dw(o, kj)})`;
      const sum =
        `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;
      emit(
        `          (f32.store offset=${4 * kj} (local.get $at) (f32.add (f32.load offset=${
          4 * kj
        } (local.get $at)) ${sum}))`,
      );
    }
    if (o < 3) {
      emit(
        `          (local.set $at (i32.add (local.get $at) (i32.mul (local.get $C) (i32.const ${
          4 * K * K
        }))))`,
      );
    }
  }
  emit(`          (local.set $ki (i32.add (local.get $ki) (i32.const 1)))`);
  emit(`          (br_if $row (i32.lt_u (local.get $ki) (i32.const ${K}))))`);
  emit(`        (local.set $c (i32.add (local.get $c) (i32.const 1)))`);
  emit(`        (br_if $channel (i32.lt_u (local.get $c) (local.get $C))))`);
  emit(`      (local.set $ob (i32.add (local.get $ob) (i32.const 1)))`);
  emit(`      (br $oBlock)))`);
  emit(`    (local.set $blk (local.get $blkEnd))`);
  emit(`    (br $block)))`);
  emit(`)`);

  // The top and bottom border rows of a plane are one memory.fill each; a row's side borders
  // and its copy are stores in line, since a memory.fill or memory.copy is a call that cost
  // more than the 16 to 128 bytes of a row of the small planes.
  // The `edge` bytes of a side border from `at`, zeroed.
  const zeroEdge = (at: string, loop: string) => {
    emit(`      (local.set $i (i32.const 0))`);
    emit(`      (block ${loop}Done (loop ${loop}`);
    emit(`        (br_if ${loop}Done (i32.ge_u (local.get $i) (local.get $edge)))`);
    emit(`        (i32.store (i32.add (local.get ${at}) (local.get $i)) (i32.const 0))`);
    emit(`        (local.set $i (i32.add (local.get $i) (i32.const 4)))`);
    emit(`        (br ${loop})))`);
  };
  emit(`(func (export "pad_images") (param $dst i32) (param $src i32) (param $planes i32)`);
  emit(`  (param $H i32) (param $W i32) (param $ph i32) (param $pw i32)`);
  emit(
    `  (local $p i32) (local $h i32) (local $rowBytes i32) (local $wpBytes i32) (local $edge i32)`,
  );
  emit(`  (local $i i32) (local $vend i32) (local $to i32)`);
  emit(`  (local.set $rowBytes (i32.shl (local.get $W) (i32.const 2)))`);
  emit(
    `  (local.set $wpBytes (i32.shl (i32.add (local.get $W) (i32.shl (local.get $pw) (i32.const 1))) (i32.const 2)))`,
  );
  emit(`  (local.set $edge (i32.shl (local.get $pw) (i32.const 2)))`);
  emit(`  (local.set $vend (i32.sub (local.get $rowBytes) (i32.const 16)))`);
  emit(`  (block $done (loop $plane`);
  emit(`    (br_if $done (i32.ge_u (local.get $p) (local.get $planes)))`);
  emit(
    `    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $ph) (local.get $wpBytes)))`,
  );
  emit(
    `    (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $ph) (local.get $wpBytes))))`,
  );
  emit(`    (local.set $h (i32.const 0))`);
  emit(`    (block $rowsDone (loop $row`);
  emit(`      (br_if $rowsDone (i32.ge_u (local.get $h) (local.get $H)))`);
  // Left border, the row (whole vectors, then single floats), right border.
  zeroEdge("$dst", "$left");
  emit(`      (local.set $to (i32.add (local.get $dst) (local.get $edge)))`);
  emit(`      (local.set $i (i32.const 0))`);
  emit(`      (block $vecDone (loop $vec`);
  emit(`        (br_if $vecDone (i32.gt_s (local.get $i) (local.get $vend)))`);
  emit(`        (v128.store align=4 (i32.add (local.get $to) (local.get $i))`);
  emit(`          (v128.load align=4 (i32.add (local.get $src) (local.get $i))))`);
  emit(`        (local.set $i (i32.add (local.get $i) (i32.const 16)))`);
  emit(`        (br $vec)))`);
  emit(`      (block $oneDone (loop $one`);
  emit(`        (br_if $oneDone (i32.ge_u (local.get $i) (local.get $rowBytes)))`);
  emit(`        (i32.store (i32.add (local.get $to) (local.get $i))`);
  emit(`          (i32.load (i32.add (local.get $src) (local.get $i))))`);
  emit(`        (local.set $i (i32.add (local.get $i) (i32.const 4)))`);
  emit(`        (br $one)))`);
  emit(`      (local.set $to (i32.add (local.get $to) (local.get $rowBytes)))`);
  zeroEdge("$to", "$right");
  emit(`      (local.set $dst (i32.add (local.get $dst) (local.get $wpBytes)))`);
  emit(`      (local.set $src (i32.add (local.get $src) (local.get $rowBytes)))`);
  emit(`      (local.set $h (i32.add (local.get $h) (i32.const 1)))`);
  emit(`      (br $row)))`);
  emit(
    `    (memory.fill (local.get $dst) (i32.const 0) (i32.mul (local.get $ph) (local.get $wpBytes)))`,
  );
  emit(
    `    (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $ph) (local.get $wpBytes))))`,
  );
  emit(`    (local.set $p (i32.add (local.get $p) (i32.const 1)))`);
  emit(`    (br $plane)))`);
  emit(`)`);
  return lines;
}
