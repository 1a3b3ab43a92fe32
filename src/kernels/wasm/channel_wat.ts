/**
 * WAT of BatchNorm's forward and backward and ReLU with 128-bit SIMD, for the arrays that lie
 * in the fast kernels' shared memory (`gemm_wat.ts` puts these functions in its module). They
 * compute what the TypeScript loops of `channel_kernels.ts` compute, four lanes at a time in
 * float32, with the per-channel sums carried in float64 in BatchNorm's block `P`:
 *
 * - `bn_forward(x, y, p, batch, C, area, training, c0, c1)`: `batchNormForward` over channels
 *   `[c0, c1)`; `x`, `y` and `p` are byte addresses.
 * - `bn_backward(d, x, dx, p, batch, C, area, training, c0, c1)`: `batchNormBackward`.
 * - `relu(x, v, out, lo, hi)`: `reluBits` over elements `[lo, hi)` (`out = x > 0 ? v : 0`).
 *
 * A channel's sums are taken four lanes wide over each image's plane (at most a few hundred
 * values a lane), then added across lanes into float64, so their rounding stays that of a
 * short float32 sum.
 *
 * @module
 */

import { BETA, BN_SLOTS, GAMMA, INV_STD, MEAN, SUM_D, SUM_DXC, VAR } from "../channel_kernels.ts";

/**
 * The functions' WAT lines; `relaxed` fuses the multiply-adds (`f32x4.relaxed_madd`).
 *
 * @example
 * ```ts
 * const lines = channelWat(true); // ["(func (export \"bn_forward\") ...", ...]
 * ```
 */
export function channelWat(relaxed: boolean): string[] {
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  const madd = (x: string, y: string, z: string) =>
    relaxed ? `(f32x4.relaxed_madd ${x} ${y} ${z})` : `(f32x4.add (f32x4.mul ${x} ${y}) ${z})`;
  const slot = (name: number) => `offset=${8 * name} (local.get $pc)`;
  // The four lanes of `v` summed, as a float64.
  const lanes = (v: string) =>
    `(f64.promote_f32 (f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v}))` +
    ` (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v}))))`;
  // For each image n of the channel: $i runs over its plane (from $base + n·$stride) and $o
  // over the output's ($i − $delta), $vend ends the plane's whole vectors and $end the plane;
  // `vector` and `scalar` are the two loops' bodies.
  const planes = (before: string[], vector: string[], scalar: string[], after: string[]) => {
    emit(`    (local.set $n (i32.const 0))`);
    emit(`    (loop $image`);
    emit(
      `      (local.set $i (i32.add (local.get $base) (i32.mul (local.get $n) (local.get $stride))))`,
    );
    emit(`      (local.set $o (i32.sub (local.get $i) (local.get $delta)))`);
    emit(`      (local.set $end (i32.add (local.get $i) (local.get $area4)))`);
    emit(
      `      (local.set $vend (i32.add (local.get $i) (i32.and (local.get $area4) (i32.const -16))))`,
    );
    for (const s of before) emit(`      ${s}`);
    emit(`      (block $vdone (loop $v`);
    emit(`        (br_if $vdone (i32.ge_u (local.get $i) (local.get $vend)))`);
    for (const s of vector) emit(`        ${s}`);
    emit(`        (local.set $i (i32.add (local.get $i) (i32.const 16)))`);
    emit(`        (local.set $o (i32.add (local.get $o) (i32.const 16)))`);
    emit(`        (br $v)))`);
    emit(`      (block $sdone (loop $s`);
    emit(`        (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))`);
    for (const s of scalar) emit(`        ${s}`);
    emit(`        (local.set $i (i32.add (local.get $i) (i32.const 4)))`);
    emit(`        (local.set $o (i32.add (local.get $o) (i32.const 4)))`);
    emit(`        (br $s)))`);
    for (const s of after) emit(`      ${s}`);
    emit(`      (local.set $n (i32.add (local.get $n) (i32.const 1)))`);
    emit(`      (br_if $image (i32.lt_u (local.get $n) (local.get $batch))))`);
  };
  const locals = [
    `  (local $c i32) (local $n i32) (local $i i32) (local $o i32) (local $end i32) (local $vend i32)`,
    `  (local $pc i32) (local $base i32) (local $delta i32) (local $area4 i32) (local $stride i32)`,
    `  (local $count f64) (local $s f64) (local $q f64) (local $av v128) (local $bv v128)`,
    `  (local $kv v128) (local $sv v128) (local $qv v128) (local $dv v128)`,
    `  (local $k f32) (local $e f32) (local $a f64) (local $b f64) (local $mu f64) (local $r f64)`,
  ];
  // Per channel: $pc its slots in P, $base its plane in the first image.
  const channelStart = (array: string) => {
    emit(`  (local.set $area4 (i32.shl (local.get $area) (i32.const 2)))`);
    emit(`  (local.set $stride (i32.mul (local.get $C) (local.get $area4)))`);
    emit(`  (local.set $count (f64.convert_i32_u (i32.mul (local.get $batch) (local.get $area))))`);
    emit(`  (local.set $c (local.get $c0))`);
    emit(`  (block $done (loop $channel`);
    emit(`    (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))`);
    emit(
      `    (local.set $pc (i32.add (local.get $p) (i32.mul (local.get $c) (i32.const ${
        8 * BN_SLOTS
      }))))`,
    );
    emit(
      `    (local.set $base (i32.add (local.get ${array}) (i32.mul (local.get $c) (local.get $area4))))`,
    );
  };
  const channelEnd = () => {
    emit(`    (local.set $c (i32.add (local.get $c) (i32.const 1)))`);
    emit(`    (br $channel)))`);
  };

  // Forward. Training: Σ(x − k) and Σ(x − k)² with k the channel's first value (see
  // batchNormForward), then y = x·a + b with a = γ/σ, b = β − μ·a.
  emit(
    `(func (export "bn_forward") (param $x i32) (param $y i32) (param $p i32) (param $batch i32)`,
  );
  emit(`  (param $C i32) (param $area i32) (param $training i32) (param $c0 i32) (param $c1 i32)`);
  lines.push(...locals);
  channelStart("$x");
  emit(`    (local.set $delta (i32.sub (local.get $x) (local.get $y)))`);
  emit(`    (if (local.get $training) (then`);
  emit(`    (local.set $k (f32.load (local.get $base)))`);
  emit(`    (local.set $kv (f32x4.splat (local.get $k)))`);
  emit(`    (local.set $s (f64.const 0))`);
  emit(`    (local.set $q (f64.const 0))`);
  planes(
    [`(local.set $sv (v128.const i32x4 0 0 0 0))`, `(local.set $qv (v128.const i32x4 0 0 0 0))`],
    [
      `(local.set $dv (f32x4.sub (v128.load align=4 (local.get $i)) (local.get $kv)))`,
      `(local.set $sv (f32x4.add (local.get $sv) (local.get $dv)))`,
      `(local.set $qv ${madd("(local.get $dv)", "(local.get $dv)", "(local.get $qv)")})`,
    ],
    [
      `(local.set $e (f32.sub (f32.load (local.get $i)) (local.get $k)))`,
      `(local.set $s (f64.add (local.get $s) (f64.promote_f32 (local.get $e))))`,
      `(local.set $q (f64.add (local.get $q) (f64.promote_f32 (f32.mul (local.get $e) (local.get $e)))))`,
    ],
    [
      `(local.set $s (f64.add (local.get $s) ${lanes("(local.get $sv)")}))`,
      `(local.set $q (f64.add (local.get $q) ${lanes("(local.get $qv)")}))`,
    ],
  );
  emit(`    (local.set $r (f64.div (f64.max (f64.const 0) (f64.sub (local.get $q)`);
  emit(
    `      (f64.div (f64.mul (local.get $s) (local.get $s)) (local.get $count)))) (local.get $count)))`,
  );
  emit(`    (f64.store ${slot(MEAN)} (f64.add (f64.promote_f32 (local.get $k))`);
  emit(`      (f64.div (local.get $s) (local.get $count))))`);
  emit(`    (f64.store ${slot(VAR)} (local.get $r))`);
  emit(`    (f64.store ${slot(INV_STD)} (f64.div (f64.const 1) (f64.sqrt (f64.add (local.get $r)`);
  emit(
    `      (f64.load (i32.add (local.get $p) (i32.mul (local.get $C) (i32.const ${
      8 * BN_SLOTS
    }))))))))`,
  );
  emit(`    ))`);
  emit(`    (local.set $a (f64.mul (f64.load ${slot(INV_STD)}) (f64.load ${slot(GAMMA)})))`);
  emit(
    `    (local.set $b (f64.sub (f64.load ${slot(BETA)}) (f64.mul (f64.load ${
      slot(MEAN)
    }) (local.get $a))))`,
  );
  emit(`    (local.set $av (f32x4.splat (f32.demote_f64 (local.get $a))))`);
  emit(`    (local.set $bv (f32x4.splat (f32.demote_f64 (local.get $b))))`);
  planes(
    [],
    [
      `(v128.store align=4 (local.get $o) ${
        madd("(v128.load align=4 (local.get $i))", "(local.get $av)", "(local.get $bv)")
      })`,
    ],
    [
      `(f32.store (local.get $o) (f32.demote_f64 (f64.add (f64.mul (f64.promote_f32 (f32.load (local.get $i))) (local.get $a)) (local.get $b))))`,
    ],
    [],
  );
  channelEnd();
  emit(`)`);

  // Backward: Σdy and Σdy·(x − μ), then dx = a·dy + b·x + k (see batchNormBackward).
  emit(`(func (export "bn_backward") (param $d i32) (param $x i32) (param $dx i32) (param $p i32)`);
  emit(
    `  (param $batch i32) (param $C i32) (param $area i32) (param $training i32) (param $c0 i32)`,
  );
  emit(`  (param $c1 i32) (local $xd i32) (local $kk f64)`);
  lines.push(...locals);
  channelStart("$d");
  // $i walks dy; x and dx lie at fixed distances from it.
  emit(`    (local.set $xd (i32.sub (local.get $x) (local.get $d)))`);
  emit(`    (local.set $delta (i32.sub (local.get $d) (local.get $dx)))`);
  emit(`    (local.set $mu (f64.load ${slot(MEAN)}))`);
  emit(`    (local.set $kv (f32x4.splat (f32.demote_f64 (local.get $mu))))`);
  emit(`    (local.set $k (f32.demote_f64 (local.get $mu)))`);
  emit(`    (local.set $s (f64.const 0))`);
  emit(`    (local.set $q (f64.const 0))`);
  planes(
    [`(local.set $sv (v128.const i32x4 0 0 0 0))`, `(local.set $qv (v128.const i32x4 0 0 0 0))`],
    [
      `(local.set $dv (v128.load align=4 (local.get $i)))`,
      `(local.set $sv (f32x4.add (local.get $sv) (local.get $dv)))`,
      `(local.set $qv ${
        madd(
          "(local.get $dv)",
          "(f32x4.sub (v128.load align=4 (i32.add (local.get $i) (local.get $xd))) (local.get $kv))",
          "(local.get $qv)",
        )
      })`,
    ],
    [
      `(local.set $e (f32.load (local.get $i)))`,
      `(local.set $s (f64.add (local.get $s) (f64.promote_f32 (local.get $e))))`,
      `(local.set $q (f64.add (local.get $q) (f64.promote_f32 (f32.mul (local.get $e)`,
      `  (f32.sub (f32.load (i32.add (local.get $i) (local.get $xd))) (local.get $k))))))`,
    ],
    [
      `(local.set $s (f64.add (local.get $s) ${lanes("(local.get $sv)")}))`,
      `(local.set $q (f64.add (local.get $q) ${lanes("(local.get $qv)")}))`,
    ],
  );
  emit(`    (f64.store ${slot(SUM_D)} (local.get $s))`);
  emit(`    (f64.store ${slot(SUM_DXC)} (local.get $q))`);
  // r = 1/σ; a = γ·r; with training, b = −a·r·mean(dy·x̂), k = −a·mean(dy) − b·μ.
  emit(`    (local.set $r (f64.load ${slot(INV_STD)}))`);
  emit(`    (local.set $a (f64.mul (f64.load ${slot(GAMMA)}) (local.get $r)))`);
  emit(`    (local.set $b (f64.const 0))`);
  emit(`    (local.set $kk (f64.const 0))`);
  emit(`    (if (local.get $training) (then`);
  emit(`      (local.set $b (f64.neg (f64.mul (f64.mul (local.get $a) (local.get $r))`);
  emit(`        (f64.div (f64.mul (local.get $q) (local.get $r)) (local.get $count)))))`);
  emit(`      (local.set $kk (f64.sub (f64.neg (f64.mul (local.get $a) (f64.div (local.get $s)`);
  emit(`        (local.get $count)))) (f64.mul (local.get $b) (local.get $mu))))))`);
  emit(`    (local.set $av (f32x4.splat (f32.demote_f64 (local.get $a))))`);
  emit(`    (local.set $bv (f32x4.splat (f32.demote_f64 (local.get $b))))`);
  emit(`    (local.set $kv (f32x4.splat (f32.demote_f64 (local.get $kk))))`);
  planes(
    [],
    [
      `(v128.store align=4 (local.get $o) ${
        madd(
          "(v128.load align=4 (local.get $i))",
          "(local.get $av)",
          madd(
            "(v128.load align=4 (i32.add (local.get $i) (local.get $xd)))",
            "(local.get $bv)",
            "(local.get $kv)",
          ),
        )
      })`,
    ],
    [
      `(f32.store (local.get $o) (f32.demote_f64 (f64.add (f64.add`,
      `  (f64.mul (f64.promote_f32 (f32.load (local.get $i))) (local.get $a))`,
      `  (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $i) (local.get $xd)))) (local.get $b)))`,
      `  (local.get $kk))))`,
    ],
    [],
  );
  channelEnd();
  emit(`)`);

  // ReLU on bits: out = v where x > 0 (false for ±0, negatives and NaN), else +0.
  emit(`(func (export "relu") (param $x i32) (param $v i32) (param $out i32) (param $lo i32)`);
  emit(`  (param $hi i32) (local $i i32) (local $end i32) (local $vend i32)`);
  emit(`  (local.set $i (i32.shl (local.get $lo) (i32.const 2)))`);
  emit(`  (local.set $end (i32.shl (local.get $hi) (i32.const 2)))`);
  emit(`  (local.set $vend (i32.sub (local.get $end) (i32.const 16)))`);
  emit(`  (block $vdone (loop $vec`);
  emit(`    (br_if $vdone (i32.gt_s (local.get $i) (local.get $vend)))`);
  emit(`    (v128.store align=4 (i32.add (local.get $out) (local.get $i)) (v128.and`);
  emit(`      (v128.load align=4 (i32.add (local.get $v) (local.get $i)))`);
  emit(
    `      (f32x4.gt (v128.load align=4 (i32.add (local.get $x) (local.get $i))) (v128.const i32x4 0 0 0 0))))`,
  );
  emit(`    (local.set $i (i32.add (local.get $i) (i32.const 16)))`);
  emit(`    (br $vec)))`);
  emit(`  (block $sdone (loop $one`);
  emit(`    (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))`);
  emit(`    (i32.store (i32.add (local.get $out) (local.get $i)) (select`);
  emit(`      (i32.load (i32.add (local.get $v) (local.get $i))) (i32.const 0)`);
  emit(`      (f32.gt (f32.load (i32.add (local.get $x) (local.get $i))) (f32.const 0))))`);
  emit(`    (local.set $i (i32.add (local.get $i) (i32.const 4)))`);
  emit(`    (br $one)))`);
  emit(`)`);
  return lines;
}
