/**
 * WAT of the Winograd transforms of `winograd_transforms.ts` with 128-bit SIMD, four tiles
 * at a time, for the arrays that lie in the fast kernels' shared memory (`gemm_wat.ts` puts
 * these functions in its module). They compute what the TypeScript loops compute, in float32,
 * for images whose width is a multiple of 8 (a vector of four 2 × 2 tiles covers 8 columns);
 * other widths keep the TypeScript loops. Addresses and `step` (the bytes from one of the 16
 * transformed matrices to the next, `matrixStride`) are in bytes:
 *
 * - `wino_input(x, v, C, H, W, T, step, p0, p1)`: `winogradInput` over planes `[p0, p1)`.
 *   Each row of four tiles reads the 8 columns under them from the four input rows (a row
 *   above or below the image masked to zero), takes `Bᵀ d` down the columns, splits even and
 *   odd columns, and borrows the column left and right of the 8 from the neighbouring groups
 *   (zero at the image's edges) for `(Bᵀ d) B` along the rows.
 * - `wino_output(m, y, O, H, W, T, step, p0, p1)`: `winogradOutput`, interleaving each tile's
 *   two output columns back into rows.
 * - `wino_delta(d, z, O, H, W, T, step, p0, p1)`: `winogradDelta`.
 *
 * @module
 */

/** Byte indices for `i8x16.shuffle` picking f32 lanes `lanes` of two concatenated vectors. */
function lanes(...picks: number[]): string {
  return picks.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)).join(" ");
}
const EVENS = lanes(0, 2, 4, 6), ODDS = lanes(1, 3, 5, 7);
/** `[x₃, y₀, y₁, y₂]`: the vector `y` shifted right by one lane, `x`'s last lane in front. */
const SHIFT_RIGHT = lanes(3, 4, 5, 6);
/** `[x₁, x₂, x₃, y₀]`: `x` shifted left by one lane, `y`'s first lane behind. */
const SHIFT_LEFT = lanes(1, 2, 3, 4);
const ZIP_LO = lanes(0, 4, 1, 5), ZIP_HI = lanes(2, 6, 3, 7);

const get = (name: string) => `(local.get $${name})`;
const add = (a: string, b: string) => `(f32x4.add ${a} ${b})`;
const sub = (a: string, b: string) => `(f32x4.sub ${a} ${b})`;
const shuffle = (pattern: string, a: string, b: string) => `(i8x16.shuffle ${pattern} ${a} ${b})`;
const load = (address: string) => `(v128.load align=4 ${address})`;
const at = (base: string, bytes: string | number) =>
  `(i32.add ${base} ${typeof bytes === "number" ? `(i32.const ${bytes})` : bytes})`;

/**
 * The three functions' WAT lines.
 *
 * @example
 * ```ts
 * const lines = winogradWat(); // ["(func (export \"wino_input\") ...", ...]
 * ```
 */
export function winogradWat(): string[] {
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  const set = (name: string, value: string) => emit(`      (local.set $${name} ${value})`);
  // The 16 matrices' addresses from `base`: `$s1` … `$s15` hold 1·step … 15·step.
  const matrix = (base: string, xi: number) => xi === 0 ? base : at(base, get(`s${xi}`));
  const steps = () => {
    emit(`  (local.set $s1 (local.get $step))`);
    for (let xi = 2; xi < 16; xi++) {
      emit(`  (local.set $s${xi} (i32.add (local.get $s${xi - 1}) (local.get $step)))`);
    }
  };
  const stepLocals = Array.from({ length: 15 }, (_, i) => `(local $s${i + 1} i32)`).join(" ");
  const header = (name: string, a: string, b: string, rows: string) => {
    emit(`(func (export "${name}") (param $${a} i32) (param $${b} i32) (param $${rows} i32)`);
    emit(`  (param $H i32) (param $W i32) (param $T i32) (param $step i32) (param $p0 i32)`);
    emit(`  (param $p1 i32) (local $p i32) (local $n i32) (local $c i32) (local $plane i32)`);
    emit(`  (local $o i32) (local $ty i32) (local $g i32) (local $groups i32) (local $row i32)`);
    emit(`  ${stepLocals}`);
  };
  // For each plane p in [p0, p1): $n its image, $c its channel, $plane its first byte in the
  // images and $o its first tile's byte in the 16 matrices; `body` runs per row of tiles.
  const planes = (images: string, rows: string, body: () => void) => {
    steps();
    emit(`  (local.set $groups (i32.shr_u (local.get $W) (i32.const 3)))`);
    emit(`  (local.set $p (local.get $p0))`);
    emit(`  (block $done (loop $plane`);
    emit(`    (br_if $done (i32.ge_u (local.get $p) (local.get $p1)))`);
    emit(`    (local.set $n (i32.div_u (local.get $p) (local.get $${rows})))`);
    emit(
      `    (local.set $c (i32.sub (local.get $p) (i32.mul (local.get $n) (local.get $${rows}))))`,
    );
    emit(`    (local.set $plane (i32.add (local.get $${images}) (i32.shl (i32.mul (local.get $p)`);
    emit(`      (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))`);
    // Tile n·tilesPerImage of channel c: (c·T + n·H·W/4)·4 bytes.
    emit(`    (local.set $o (i32.add (local.get $o0) (i32.shl (i32.add (i32.mul (local.get $c)`);
    emit(`      (local.get $T)) (i32.shr_u (i32.mul (local.get $n) (i32.mul (local.get $H)`);
    emit(`      (local.get $W))) (i32.const 2))) (i32.const 2))))`);
    emit(`    (local.set $ty (i32.const 0))`);
    emit(`    (loop $tiles`);
    body();
    emit(`      (local.set $ty (i32.add (local.get $ty) (i32.const 2)))`);
    emit(`      (br_if $tiles (i32.lt_u (local.get $ty) (local.get $H))))`);
    emit(`    (local.set $p (i32.add (local.get $p) (i32.const 1)))`);
    emit(`    (br $plane)))`);
    emit(`)`);
  };
  // The groups of four tiles along the row of tiles: $g counts them, `body` runs per group
  // with $row the byte of its first column in the row of the plane it reads or writes.
  const groups = (body: () => void) => {
    emit(`      (local.set $g (i32.const 0))`);
    emit(`      (loop $group`);
    body();
    emit(`        (local.set $row (i32.add (local.get $row) (i32.const 32)))`);
    emit(`        (local.set $o (i32.add (local.get $o) (i32.const 16)))`);
    emit(`        (local.set $g (i32.add (local.get $g) (i32.const 1)))`);
    emit(`        (br_if $group (i32.lt_u (local.get $g) (local.get $groups))))`);
  };
  const store = (xi: number, value: string) =>
    emit(`        (v128.store align=4 ${matrix(get("o"), xi)} ${value})`);

  // Input. Rows k = 0..3 of a row of tiles are image rows ty − 1 + k: $r0..$r3 their first
  // bytes (clamped into the image) and $m0..$m3 all-ones masks, zero for a row outside.
  header("wino_input", "x", "o0", "C");
  emit(`  (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $m0 v128)`);
  emit(`  (local $m1 v128) (local $m2 v128) (local $m3 v128) (local $rowBytes i32)`);
  // $lk: the column combination k of Bᵀ d for the group's first four columns, $hk for the
  // last four, $nk for the next group's first four; $ck the odd columns (kept for the next
  // group's left neighbour), $bk the even ones, $ek the evens shifted by one.
  const vectors = (prefix: string) => [0, 1, 2, 3].map((k) => `(local $${prefix}${k} v128)`);
  emit(`  ${["l", "h", "n", "c", "pc", "b"].flatMap(vectors).join(" ")}`);
  emit(`  (local $e v128) (local $a v128)`);
  emit(`  (local.set $rowBytes (i32.shl (local.get $W) (i32.const 2)))`);
  // Bᵀ d down the columns of `d0`..`d3` (the four rows' vectors): d0 − d2, d1 + d2, d2 − d1,
  // d1 − d3.
  const columns = (d: (k: number) => string, into: string) => {
    set(`${into}0`, sub(d(0), d(2)));
    set(`${into}1`, add(d(1), d(2)));
    set(`${into}2`, sub(d(2), d(1)));
    set(`${into}3`, sub(d(1), d(3)));
  };
  const rowVector = (k: number, offset: string | number) =>
    `(v128.and ${load(at(at(get(`r${k}`), get("row")), offset))} ${get(`m${k}`)})`;
  planes("x", "C", () => {
    for (let k = 0; k < 4; k++) {
      // Image row i = ty − 1 + k, in range when 0 ≤ i < H (unsigned compare of i).
      const i = `(i32.add (local.get $ty) (i32.const ${k - 1}))`;
      const inside = `(i32.lt_u ${i} (local.get $H))`;
      set(`m${k}`, `(i8x16.splat (i32.sub (i32.const 0) ${inside}))`);
      set(
        `r${k}`,
        `(i32.add (local.get $plane) (i32.mul (select ${i} (i32.const 0) ${inside}) (local.get $rowBytes)))`,
      );
    }
    emit(`      (local.set $row (i32.const 0))`);
    columns((k) => rowVector(k, 0), "l");
    for (let k = 0; k < 4; k++) set(`pc${k}`, `(v128.const i32x4 0 0 0 0)`);
    groups(() => {
      columns((k) => rowVector(k, 16), "h");
      // The next group's first four columns, or zeros past the row's end.
      emit(`        (if (i32.lt_u (i32.add (local.get $g) (i32.const 1)) (local.get $groups))`);
      emit(`          (then`);
      columns((k) => rowVector(k, 32), "n");
      emit(`          )`);
      emit(`          (else`);
      for (let k = 0; k < 4; k++) set(`n${k}`, `(v128.const i32x4 0 0 0 0)`);
      emit(`          ))`);
      for (let k = 0; k < 4; k++) {
        // Columns 2tx − 1, 2tx, 2tx + 1, 2tx + 2 of each tile: a, b, c, e.
        set(`b${k}`, shuffle(EVENS, get(`l${k}`), get(`h${k}`)));
        set(`c${k}`, shuffle(ODDS, get(`l${k}`), get(`h${k}`)));
        set("a", shuffle(SHIFT_RIGHT, get(`pc${k}`), get(`c${k}`)));
        set("e", shuffle(SHIFT_LEFT, get(`b${k}`), get(`n${k}`)));
        // (Bᵀ d) B along the row: a − c, b + c, c − b, b − e.
        store(4 * k, sub(get("a"), get(`c${k}`)));
        store(4 * k + 1, add(get(`b${k}`), get(`c${k}`)));
        store(4 * k + 2, sub(get(`c${k}`), get(`b${k}`)));
        store(4 * k + 3, sub(get(`b${k}`), get("e")));
        set(`pc${k}`, get(`c${k}`));
        set(`l${k}`, get(`n${k}`));
      }
    });
  });

  // Output: Aᵀ m A, the two rows of each tile from the 16 matrices, each tile's two columns
  // interleaved back into the image's rows.
  header("wino_output", "o0", "y", "O");
  emit(`  (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $q4 v128)`);
  emit(`  (local $q5 v128) (local $q6 v128) (local $q7 v128) (local $q8 v128) (local $q9 v128)`);
  emit(
    `  (local $q10 v128) (local $q11 v128) (local $q12 v128) (local $q13 v128) (local $q14 v128)`,
  );
  emit(`  (local $q15 v128) (local $s0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)`);
  emit(`  (local $left v128) (local $right v128) (local $rowBytes i32)`);
  emit(`  (local.set $rowBytes (i32.shl (local.get $W) (i32.const 2)))`);
  planes("y", "O", () => {
    emit(`      (local.set $row (i32.add (local.get $plane) (i32.mul (local.get $ty)`);
    emit(`        (local.get $rowBytes))))`);
    groups(() => {
      for (let xi = 0; xi < 16; xi++) set(`q${xi}`, load(matrix(get("o"), xi)));
      // Row 0 of Aᵀ m is m0 + m1 + m2, row 1 is m1 − m2 − m3 (rows of four); along each, the
      // tile's two outputs are [a + b + c, b − c − e].
      const q = (i: number) => get(`q${i}`);
      const emitRow = (v: (j: number) => string, offset: string) => {
        set("s0", v(0));
        set("t1", v(1));
        set("t2", v(2));
        set("t3", v(3));
        set("left", add(add(get("s0"), get("t1")), get("t2")));
        set("right", sub(sub(get("t1"), get("t2")), get("t3")));
        const address = at(get("row"), offset);
        emit(
          `        (v128.store align=4 ${address} ${shuffle(ZIP_LO, get("left"), get("right"))})`,
        );
        emit(
          `        (v128.store align=4 ${at(address, 16)} ${
            shuffle(ZIP_HI, get("left"), get("right"))
          })`,
        );
      };
      emitRow((j) => add(add(q(j), q(4 + j)), q(8 + j)), "(i32.const 0)");
      emitRow((j) => sub(sub(q(4 + j), q(8 + j)), q(12 + j)), get("rowBytes"));
    });
  });

  // Delta: A δ Aᵀ from each tile's 2 × 2 block (even and odd columns of two rows).
  header("wino_delta", "d", "o0", "O");
  emit(`  (local $top0 v128) (local $top1 v128) (local $a v128) (local $b v128) (local $cc v128)`);
  emit(`  (local $e v128) (local $f v128) (local $gg v128) (local $h v128) (local $k v128)`);
  emit(`  (local $rowBytes i32)`);
  emit(`  (local.set $rowBytes (i32.shl (local.get $W) (i32.const 2)))`);
  planes("d", "O", () => {
    emit(`      (local.set $row (i32.add (local.get $plane) (i32.mul (local.get $ty)`);
    emit(`        (local.get $rowBytes))))`);
    groups(() => {
      set("top0", load(get("row")));
      set("top1", load(at(get("row"), 16)));
      set("a", shuffle(EVENS, get("top0"), get("top1")));
      set("b", shuffle(ODDS, get("top0"), get("top1")));
      set("top0", load(at(get("row"), get("rowBytes"))));
      set("top1", load(at(at(get("row"), get("rowBytes")), 16)));
      set("cc", shuffle(EVENS, get("top0"), get("top1")));
      set("e", shuffle(ODDS, get("top0"), get("top1")));
      // A δ: rows δ0, δ0 + δ1, δ0 − δ1, −δ1; along each row [x, y] → [x, x + y, x − y, −y].
      set("f", add(get("a"), get("cc")));
      set("gg", add(get("b"), get("e")));
      set("h", sub(get("a"), get("cc")));
      set("k", sub(get("b"), get("e")));
      const rows: [string, string][] = [
        [get("a"), get("b")],
        [get("f"), get("gg")],
        [get("h"), get("k")],
        [`(f32x4.neg ${get("cc")})`, `(f32x4.neg ${get("e")})`],
      ];
      rows.forEach(([x, y], r) => {
        store(4 * r, x);
        store(4 * r + 1, add(x, y));
        store(4 * r + 2, sub(x, y));
        store(4 * r + 3, `(f32x4.neg ${y})`);
      });
    });
  });
  return lines;
}
