/**
 * WAT of the F(4×4, 3×3) Winograd transforms of `winograd_transforms.ts` with 128-bit SIMD,
 * for the arrays that lie in the fast kernels' shared memory (`gemm_wat.ts` puts these
 * functions in its module). They compute what the TypeScript loops compute, in float32 where
 * those carry float64 between the two 1-D passes, so they agree within float32 rounding.
 *
 * A vector holds four consecutive tiles of the transformed layout (lane `k` is tile
 * `i + k` of `(rows, T)`), so the 36 transformed matrices are read and written a whole vector
 * at a time; on the image's side each lane's tile is found from its position, which serves
 * every size alike: four tiles along a row of a wide image, the four tiles of an 8 × 8 plane,
 * or the planes of four images of 4 × 4. Each lane's four-pixel rows are loaded as one vector
 * and the four transposed (the left and right neighbouring columns from the vectors beside
 * them, masked to zero outside the image). The functions run over groups `[g0, g1)` of four
 * tiles (`winograd4Input` and the others in TypeScript take the same range); a last group past
 * the end writes its spare lanes into the slack `matrixStride` leaves after each matrix, and
 * never into the images. Addresses and `step` (bytes from one matrix to the next) are in
 * bytes:
 *
 * - `wino4_input(x, v, C, H, W, T, step, g0, g1)`: `winograd4Input`.
 * - `wino4_output(m, y, O, H, W, T, step, g0, g1)`: `winograd4Output`.
 * - `wino4_delta(d, z, O, H, W, T, step, g0, g1)`: `winograd4Delta`.
 *
 * @module
 */

/** Byte indices for `i8x16.shuffle` picking f32 lanes `picks` of two concatenated vectors. */
function lanes(...picks: number[]): string {
  return picks.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)).join(" ");
}

const get = (name: string) => `(local.get $${name})`;
const add = (a: string, b: string) => `(f32x4.add ${a} ${b})`;
const sub = (a: string, b: string) => `(f32x4.sub ${a} ${b})`;
const mul = (c: number, a: string) => `(f32x4.mul (v128.const f32x4 ${c} ${c} ${c} ${c}) ${a})`;
const and = (a: string, b: string) => `(v128.and ${a} ${b})`;
const shuffle = (picks: number[], a: string, b: string) =>
  `(i8x16.shuffle ${lanes(...picks)} ${a} ${b})`;
const plus = (a: string, b: string) => `(i32.add ${a} ${b})`;

/**
 * The three functions' WAT lines.
 *
 * @example
 * ```ts
 * const lines = winogradWat(); // ["(func (export \"wino4_input\") ...", ...]
 * ```
 */
export function winogradWat(): string[] {
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);
  const set = (name: string, value: string) => emit(`    (local.set $${name} ${value})`);
  const vectors = (names: string[]) => names.map((n) => `(local $${n} v128)`).join(" ");
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);

  /**
   * A function over groups of four tiles: the header, then for each group the lanes' tiles
   * found (`$a0`..`$a3` the byte of each tile's top-left pixel, and masks `$mT`, `$mB`,
   * `$mL`, `$mR` whose lanes are all ones where the tile has a row above, a row below, a
   * column left, a column right of its block inside the image), then `body`, with `$i` the
   * group's first tile and `$at` its byte in the first matrix.
   *
   * Tile `i` is channel `c = i / T`, image `n = (i mod T) / tilesPerImage`, tile row `ty` and
   * column `tx`; they are kept as counters and stepped lane by lane, and a lane past the last
   * tile repeats the lane before it.
   */
  const func = (
    name: string,
    [image, matrices]: [string, string],
    isMatrixFirst: boolean,
    locals: string[],
    body: () => void,
  ) => {
    const [a, b] = isMatrixFirst ? [matrices, image] : [image, matrices];
    emit(`(func (export "${name}") (param $${a} i32) (param $${b} i32) (param $rows i32)`);
    emit(`  (param $H i32) (param $W i32) (param $T i32) (param $step i32) (param $g0 i32)`);
    emit(`  (param $g1 i32) (local $i i32) (local $end i32) (local $at i32) (local $c i32)`);
    emit(`  (local $n i32) (local $ty i32) (local $tx i32) (local $s i32) (local $tilesW i32)`);
    emit(`  (local $tilesH i32) (local $perImage i32) (local $images i32) (local $plane i32)`);
    emit(`  (local $rowBytes i32) (local $planeBytes i32) (local $mT v128) (local $mB v128)`);
    emit(`  (local $mL v128) (local $mR v128) (local $a0 i32) (local $a1 i32) (local $a2 i32)`);
    emit(`  (local $a3 i32) ${range(36).map((x) => `(local $s${x} i32)`).join(" ")}`);
    for (const l of locals) emit(`  ${l}`);
    const local = (n: string, v: string) => emit(`  (local.set $${n} ${v})`);
    local("tilesW", `(i32.shr_u ${get("W")} (i32.const 2))`);
    local("tilesH", `(i32.shr_u ${get("H")} (i32.const 2))`);
    local("perImage", `(i32.mul ${get("tilesW")} ${get("tilesH")})`);
    local("images", `(i32.div_u ${get("T")} ${get("perImage")})`);
    local("rowBytes", `(i32.shl ${get("W")} (i32.const 2))`);
    local("planeBytes", `(i32.mul ${get("rowBytes")} ${get("H")})`);
    // $sξ: the bytes from the first matrix to matrix ξ.
    local("s0", `(i32.const 0)`);
    for (let x = 1; x < 36; x++) local(`s${x}`, plus(get(`s${x - 1}`), get("step")));
    local("i", `(i32.shl ${get("g0")} (i32.const 2))`);
    local("end", `(i32.mul ${get("rows")} ${get("T")})`);
    local(
      "end",
      `(select (i32.shl ${get("g1")} (i32.const 2)) ${get("end")} (i32.lt_u (i32.shl ${
        get("g1")
      } (i32.const 2)) ${get("end")}))`,
    );
    // The first tile's counters.
    local("c", `(i32.div_u ${get("i")} ${get("T")})`);
    local("s", `(i32.sub ${get("i")} (i32.mul ${get("c")} ${get("T")}))`);
    local("n", `(i32.div_u ${get("s")} ${get("perImage")})`);
    local("s", `(i32.sub ${get("s")} (i32.mul ${get("n")} ${get("perImage")}))`);
    local("ty", `(i32.div_u ${get("s")} ${get("tilesW")})`);
    local("tx", `(i32.sub ${get("s")} (i32.mul ${get("ty")} ${get("tilesW")}))`);
    const planeOf = () =>
      plus(
        get(image),
        `(i32.mul (i32.add (i32.mul ${get("n")} ${get("rows")}) ${get("c")}) ${get("planeBytes")})`,
      );
    local("plane", planeOf());
    emit(`  (block $done (loop $group`);
    emit(`    (br_if $done (i32.ge_u ${get("i")} ${get("end")}))`);
    emit(`    (local.set $at (i32.add ${get(matrices)} (i32.shl ${get("i")} (i32.const 2))))`);
    for (let k = 0; k < 4; k++) {
      // Lane k's tile: its top-left pixel, and whether it has neighbours on each side.
      set(
        `a${k}`,
        plus(
          get("plane"),
          `(i32.shl (i32.add (i32.mul ${get("ty")} ${get("rowBytes")}) (i32.shl ${
            get("tx")
          } (i32.const 2))) (i32.const 2))`,
        ),
      );
      const flag = (cond: string) => `(i32.sub (i32.const 0) ${cond})`;
      const flags: [string, string][] = [
        ["mT", `(i32.ne ${get("ty")} (i32.const 0))`],
        ["mB", `(i32.ne ${get("ty")} (i32.sub ${get("tilesH")} (i32.const 1)))`],
        ["mL", `(i32.ne ${get("tx")} (i32.const 0))`],
        ["mR", `(i32.ne ${get("tx")} (i32.sub ${get("tilesW")} (i32.const 1)))`],
      ];
      for (const [m, cond] of flags) {
        set(
          m,
          k === 0
            ? `(i32x4.splat ${flag(cond)})`
            : `(i32x4.replace_lane ${k} ${get(m)} ${flag(cond)})`,
        );
      }
      // The next tile, unless this lane's is the last one.
      emit(`    (if (i32.lt_u (i32.add ${get("i")} (i32.const ${k + 1})) ${get("end")}) (then`);
      set("tx", `(i32.add ${get("tx")} (i32.const 1))`);
      emit(`    (if (i32.eq ${get("tx")} ${get("tilesW")}) (then`);
      set("tx", `(i32.const 0)`);
      set("ty", `(i32.add ${get("ty")} (i32.const 1))`);
      emit(`    (if (i32.eq ${get("ty")} ${get("tilesH")}) (then`);
      set("ty", `(i32.const 0)`);
      set("n", `(i32.add ${get("n")} (i32.const 1))`);
      emit(`    (if (i32.eq ${get("n")} ${get("images")}) (then`);
      set("n", `(i32.const 0)`);
      set("c", `(i32.add ${get("c")} (i32.const 1))`);
      emit(`    ))`);
      set("plane", planeOf());
      emit(`    ))))))`);
    }
    body();
    emit(`    (local.set $i (i32.add ${get("i")} (i32.const 4)))`);
    emit(`    (br $group)))`);
    emit(`)`);
  };
  const matrix = (x: number) => plus(get("at"), get(`s${x}`));
  const store = (x: number, value: string) =>
    emit(`    (v128.store align=4 ${matrix(x)} ${value})`);
  const load = (address: string) => `(v128.load align=4 ${address})`;
  /** The 4 × 4 transpose of vectors `v[0..3]` into locals `into0..3` (scratch `$u0..$u3`). */
  const transpose = (v: string[], into: string) => {
    set("u0", shuffle([0, 4, 1, 5], v[0], v[1]));
    set("u1", shuffle([2, 6, 3, 7], v[0], v[1]));
    set("u2", shuffle([0, 4, 1, 5], v[2], v[3]));
    set("u3", shuffle([2, 6, 3, 7], v[2], v[3]));
    set(`${into}0`, shuffle([0, 1, 4, 5], get("u0"), get("u2")));
    set(`${into}1`, shuffle([2, 3, 6, 7], get("u0"), get("u2")));
    set(`${into}2`, shuffle([0, 1, 4, 5], get("u1"), get("u3")));
    set(`${into}3`, shuffle([2, 3, 6, 7], get("u1"), get("u3")));
  };
  /** Lane `lane` of each of `v[0..3]`, as one vector. */
  const gather = (v: string[], lane: number) =>
    shuffle(
      [0, 1, 4, 5],
      shuffle([lane, 4 + lane, lane, 4 + lane], v[0], v[1]),
      shuffle([lane, 4 + lane, lane, 4 + lane], v[2], v[3]),
    );
  const scratch = vectors(["u0", "u1", "u2", "u3"]);

  // Input: Bᵀ d B of each lane's 6 × 6 patch (rows 4ty − 1 … 4ty + 4, the same columns).
  // `$rb` is a lane's row in the image (a row outside it reads the block's top row, masked).
  const inputLocals = [
    scratch,
    vectors(range(36).map((x) => `e${x}`)),
    vectors(["w0", "w1", "w2", "w3", "left", "right"]),
    vectors(["d0", "d1", "d2", "d3", "d4", "d5"]),
    "(local $rb0 i32) (local $rb1 i32) (local $rb2 i32) (local $rb3 i32)",
  ];
  /** Bᵀ of six vectors `d(0..5)` (`inputLine`): its six values, as expressions of locals. */
  const inputLine = (d: (j: number) => string) => [
    add(sub(mul(4, d(0)), mul(5, d(2))), d(4)),
    sub(add(d(3), d(4)), mul(4, add(d(1), d(2)))),
    add(sub(d(4), d(3)), mul(4, sub(d(1), d(2)))),
    add(sub(d(4), d(2)), mul(2, sub(d(3), d(1)))),
    add(sub(d(4), d(2)), mul(2, sub(d(1), d(3)))),
    add(sub(mul(4, d(1)), mul(5, d(3))), d(5)),
  ];
  func("wino4_input", ["x", "v"], false, inputLocals, () => {
    const lane = (m: string, k: number) => `(i32x4.extract_lane ${k} ${get(m)})`;
    const rb = (k: number) => get(`rb${k}`);
    for (let r = 0; r < 6; r++) {
      // Row r of each lane's patch: image row 4ty − 1 + r.
      const rowMask = r === 0 ? "mT" : r === 5 ? "mB" : null;
      for (let k = 0; k < 4; k++) {
        const a = get(`a${k}`);
        const offset = r === 1
          ? a
          : `(i32.add ${a} (i32.mul (i32.const ${r - 1}) ${get("rowBytes")}))`;
        set(`rb${k}`, rowMask ? `(select ${offset} ${a} ${lane(rowMask, k)})` : offset);
      }
      for (let k = 0; k < 4; k++) set(`w${k}`, load(rb(k)));
      transpose(range(4).map((k) => get(`w${k}`)), "w");
      // Column 4tx − 1 (lane 3 of the vector left of the block) and 4tx + 4 (lane 0 of the one
      // right of it), each read from the block itself where that column is outside the image.
      set(
        "left",
        gather(
          range(4).map((k) =>
            load(`(select (i32.sub ${rb(k)} (i32.const 16)) ${rb(k)} ${lane("mL", k)})`)
          ),
          3,
        ),
      );
      set(
        "right",
        gather(
          range(4).map((k) =>
            load(`(select (i32.add ${rb(k)} (i32.const 16)) ${rb(k)} ${lane("mR", k)})`)
          ),
          0,
        ),
      );
      const row = [
        and(get("left"), get("mL")),
        get("w0"),
        get("w1"),
        get("w2"),
        get("w3"),
        and(get("right"), get("mR")),
      ];
      row.forEach((v, j) => set(`d${j}`, rowMask ? and(v, get(rowMask)) : v));
      // Bᵀ down this row of the patch (the TypeScript's first pass runs down the columns; the
      // order of the two passes does not change the result, only its rounding).
      inputLine((j) => get(`d${j}`)).forEach((v, j) => set(`e${6 * r + j}`, v));
    }
    // Then down each column: matrix 6ρ + j gets value ρ of column j.
    for (let j = 0; j < 6; j++) {
      inputLine((r) => get(`e${6 * r + j}`)).forEach((v, rho) => store(6 * rho + j, v));
    }
  });

  // Output: Aᵀ m A from the 36 matrices, each lane's 4 × 4 block back into its image, a row
  // of four pixels at a time (the lanes transposed), lanes past the last tile not written.
  const outputLocals = [
    scratch,
    vectors(range(36).map((x) => `q${x}`)),
    vectors(range(24).map((x) => `t${x}`)),
    vectors(["y0", "y1", "y2", "y3", "p", "q", "r", "w"]),
  ];
  /** Aᵀ of six vectors `m(0..5)` (`outputLine`): four values. */
  const outputLine = (m: (j: number) => string) => {
    set("p", add(m(1), m(2)));
    set("q", sub(m(1), m(2)));
    set("r", add(m(3), m(4)));
    set("w", sub(m(3), m(4)));
    return [
      add(add(m(0), get("p")), get("r")),
      add(get("q"), mul(2, get("w"))),
      add(get("p"), mul(4, get("r"))),
      add(add(get("q"), mul(8, get("w"))), m(5)),
    ];
  };
  func("wino4_output", ["y", "m"], true, outputLocals, () => {
    for (let x = 0; x < 36; x++) set(`q${x}`, load(matrix(x)));
    // Down each column j of the 6 × 6: t[ρ][j] for the block's rows ρ.
    for (let j = 0; j < 6; j++) {
      outputLine((i) => get(`q${6 * i + j}`)).forEach((v, rho) => set(`t${6 * rho + j}`, v));
    }
    for (let rho = 0; rho < 4; rho++) {
      outputLine((j) => get(`t${6 * rho + j}`)).forEach((v, kappa) => set(`y${kappa}`, v));
      transpose(range(4).map((k) => get(`y${k}`)), "y");
      for (let k = 0; k < 4; k++) {
        const address = plus(get(`a${k}`), `(i32.mul (i32.const ${rho}) ${get("rowBytes")})`);
        emit(`    (if (i32.lt_u (i32.add ${get("i")} (i32.const ${k})) ${get("end")}) (then`);
        emit(`      (v128.store align=4 ${address} ${get(`y${k}`)})))`);
      }
    }
  });

  // Delta: A δ Aᵀ of each lane's 4 × 4 block of output gradient.
  const deltaLocals = [
    scratch,
    vectors(range(16).map((x) => `b${x >> 2}_${x & 3}`)),
    vectors(range(24).map((x) => `t${x}`)),
    vectors(["even", "odd", "even4", "odd4"]),
  ];
  /** A of four vectors `d(0..3)` (`deltaLine`): six values. */
  const deltaLine = (d: (j: number) => string) => {
    set("even", add(d(0), d(2)));
    set("odd", add(d(1), d(3)));
    set("even4", add(d(0), mul(4, d(2))));
    set("odd4", add(mul(2, d(1)), mul(8, d(3))));
    return [
      d(0),
      add(get("even"), get("odd")),
      sub(get("even"), get("odd")),
      add(get("even4"), get("odd4")),
      sub(get("even4"), get("odd4")),
      d(3),
    ];
  };
  func("wino4_delta", ["d", "z"], false, deltaLocals, () => {
    for (let rho = 0; rho < 4; rho++) {
      for (let k = 0; k < 4; k++) {
        set(
          `b${rho}_${k}`,
          load(plus(get(`a${k}`), `(i32.mul (i32.const ${rho}) ${get("rowBytes")})`)),
        );
      }
      transpose(range(4).map((k) => get(`b${rho}_${k}`)), `b${rho}_`);
    }
    // Down each column j: t[i][j] for the six rows i of A δ.
    for (let j = 0; j < 4; j++) {
      deltaLine((rho) => get(`b${rho}_${j}`)).forEach((v, i) => set(`t${4 * i + j}`, v));
    }
    for (let i = 0; i < 6; i++) {
      deltaLine((j) => get(`t${4 * i + j}`)).forEach((v, kappa) => store(6 * i + kappa, v));
    }
  });
  return lines;
}
