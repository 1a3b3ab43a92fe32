/**
 * WAT of GELU's forward and gradient with 128-bit SIMD, for the arrays that lie in the fast
 * kernels' shared memory (`gemm_wat.ts` puts these functions in its module). They compute
 * what `geluForward` and `geluBackward` of `channel_kernels.ts` compute, four lanes at a time
 * in float32:
 *
 * - `gelu(x, y, lo, hi)`: `y = x · Φ(x)` over elements `[lo, hi)`; `x` and `y` are byte
 *   addresses.
 * - `gelu_backward(x, d, dx, lo, hi)`: `dx = d · (Φ(x) + x · φ(x))`.
 *
 * `Φ` comes from the same fit of `erfc` as the TypeScript loops (`ERFC_FIT`), and `exp`, which
 * WebAssembly lacks, from `exp(a) = 2ᵏ · exp(r)`: `k` the integer nearest `a · log₂e`, `r = a −
 * k · ln 2` (|r| ≤ ln 2 / 2, with ln 2 split in two so that `k · ln 2` loses nothing), `exp(r)`
 * its Taylor polynomial to degree 7 (error under 6e-9, below float32's rounding) and `2ᵏ` built
 * in the exponent bits. The arguments here are never above 0; below −87, where `exp` is under
 * float32's smallest normal, it gives 0, so that GELU and its gradient flush to 0 below x ≈
 * −13.2 (where they are under 1e−37). A NaN input gives NaN.
 *
 * The last `(hi − lo) mod 4` elements take the same vector code on one lane.
 *
 * @module
 */

import { ERFC_FIT, INV_SQRT_2PI } from "../channel_kernels.ts";

/** `c` in all four float32 lanes. */
const splat = (c: number) => `(v128.const f32x4 ${c} ${c} ${c} ${c})`;
const get = (v: string) => `(local.get $${v})`;
/** 1.5·2²³: float32 sums with it in [2²³, 2²⁴) are whole numbers, rounded to nearest. */
const MAGIC = 12582912;

/**
 * The functions' WAT lines; `relaxed` fuses the multiply-adds (`f32x4.relaxed_madd`).
 *
 * @example
 * ```ts
 * const lines = geluWat(true); // ["(func (export \"gelu\") ...", ...]
 * ```
 */
export function geluWat(relaxed: boolean): string[] {
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  const madd = (x: string, y: string, z: string) =>
    relaxed ? `(f32x4.relaxed_madd ${x} ${y} ${z})` : `(f32x4.add (f32x4.mul ${x} ${y}) ${z})`;
  const set = (v: string, e: string) => emit(`    (local.set $${v} ${e})`);

  // $out ← exp($a), clobbering $a, $s, $k, $r and $m.
  const exp = (out: string) => {
    // Below −87 (k < −126) 2ᵏ has no normal exponent: flush those to 0. `pmax` (one instruction,
    // where `max` is several for its NaN rules) keeps a NaN `a` as it is.
    set("m", `(f32x4.lt ${get("a")} ${splat(-87)})`);
    set("a", `(f32x4.pmax ${get("a")} ${splat(-87)})`);
    // Adding 1.5·2²³ rounds a·log₂e to the nearest integer k and leaves k in the low bits of s
    // (s = 0x4b400000 + k), which spares the conversions.
    set("s", madd(get("a"), splat(Math.LOG2E), splat(MAGIC)));
    set("k", `(f32x4.sub ${get("s")} ${splat(MAGIC)})`);
    // ln 2 = 0.693359375 − 2.12194440e-4: the first part has 9 bits, so k times it is exact.
    set("r", madd(get("k"), splat(-0.693359375), get("a")));
    set("r", madd(get("k"), splat(2.12194440e-4), get("r")));
    let factorial = 5040;
    set(out, splat(1 / factorial));
    for (let n = 6; n >= 0; n--) {
      factorial /= n + 1;
      set(out, madd(get(out), get("r"), splat(1 / factorial)));
    }
    // 2ᵏ: the exponent bits k + 127, from s's low bits.
    const bias = `(v128.const i32x4 ${Array(4).fill(127 - 0x4b400000).join(" ")})`;
    const twoK = `(i32x4.shl (i32x4.add ${get("s")} ${bias}) (i32.const 23))`;
    set(out, `(f32x4.mul ${get(out)} ${twoK})`);
    set(out, `(v128.andnot ${get(out)} ${get("m")})`);
  };
  // $cdf ← Φ($x), with $z = |x|/√2 and $t = 1/(1 + z/2) as ERFC_FIT takes them.
  const cdf = () => {
    set("z", `(f32x4.mul (f32x4.abs ${get("x")}) ${splat(Math.SQRT1_2)})`);
    set("t", `(f32x4.div ${splat(1)} ${madd(get("z"), splat(0.5), splat(1))})`);
    set("a", splat(ERFC_FIT[9]));
    for (let k = 8; k >= 0; k--) set("a", madd(get("a"), get("t"), splat(ERFC_FIT[k])));
    set("a", `(f32x4.sub ${get("a")} (f32x4.mul ${get("z")} ${get("z")}))`);
    exp("e");
    // Φ(−|x|) = erfc(z)/2, and Φ(x) = 1 − Φ(−x) for x ≥ 0.
    set("e", `(f32x4.mul (f32x4.mul ${get("t")} ${get("e")}) ${splat(0.5)})`);
    set(
      "cdf",
      `(v128.bitselect (f32x4.sub ${splat(1)} ${get("e")}) ${get("e")} (f32x4.ge ${get("x")} ${
        splat(0)
      }))`,
    );
  };
  // Vector loop over [lo, hi) four elements at a time, then the rest one at a time on lane 0:
  // `body(load, store)` emits the work for an element address $i.
  const elements = (
    body: (load: (p: string) => string, store: (p: string, v: string) => void) => void,
  ) => {
    emit(`  (local.set $i (i32.shl (local.get $lo) (i32.const 2)))`);
    emit(`  (local.set $end (i32.shl (local.get $hi) (i32.const 2)))`);
    emit(`  (local.set $vend (i32.sub (local.get $end) (i32.const 16)))`);
    emit(`  (block $vdone (loop $vec`);
    emit(`    (br_if $vdone (i32.gt_s (local.get $i) (local.get $vend)))`);
    body(
      (p) => `(v128.load align=4 (i32.add (local.get $${p}) (local.get $i)))`,
      (p, v) => emit(`    (v128.store align=4 (i32.add (local.get $${p}) (local.get $i)) ${v})`),
    );
    emit(`    (local.set $i (i32.add (local.get $i) (i32.const 16)))`);
    emit(`    (br $vec)))`);
    emit(`  (block $sdone (loop $one`);
    emit(`    (br_if $sdone (i32.ge_u (local.get $i) (local.get $end)))`);
    body(
      (p) => `(f32x4.splat (f32.load (i32.add (local.get $${p}) (local.get $i))))`,
      (p, v) =>
        emit(
          `    (f32.store (i32.add (local.get $${p}) (local.get $i)) (f32x4.extract_lane 0 ${v}))`,
        ),
    );
    emit(`    (local.set $i (i32.add (local.get $i) (i32.const 4)))`);
    emit(`    (br $one)))`);
  };
  const locals =
    `  (local $i i32) (local $end i32) (local $vend i32) (local $x v128) (local $z v128)` +
    ` (local $t v128) (local $a v128) (local $s v128) (local $k v128) (local $r v128) (local $e v128)` +
    ` (local $m v128) (local $cdf v128) (local $pdf v128)`;

  emit(`(func (export "gelu") (param $x_ i32) (param $y i32) (param $lo i32) (param $hi i32)`);
  emit(locals);
  elements((load, store) => {
    set("x", load("x_"));
    cdf();
    store("y", `(f32x4.mul ${get("x")} ${get("cdf")})`);
  });
  emit(`)`);

  emit(`(func (export "gelu_backward") (param $x_ i32) (param $d i32) (param $dx i32)`);
  emit(`  (param $lo i32) (param $hi i32)`);
  emit(locals);
  elements((load, store) => {
    set("x", load("x_"));
    cdf();
    // φ(x) = exp(−z²)/√(2π), z² = x²/2.
    set("a", `(f32x4.neg (f32x4.mul ${get("z")} ${get("z")}))`);
    exp("pdf");
    set("pdf", `(f32x4.mul ${get("pdf")} ${splat(INV_SQRT_2PI)})`);
    store("dx", `(f32x4.mul ${load("d")} ${madd(get("x"), get("pdf"), get("cdf"))})`);
  });
  emit(`)`);
  return lines;
}
