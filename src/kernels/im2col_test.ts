import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { col2im, convGeometry, im2col } from "./im2col.ts";

Deno.test("im2col lays out each window tap as a row, zeros where it reads padding", () => {
  const g = convGeometry(1, 3, 3, [2, 2], [1, 1], [0, 0]);
  const cols = new Float64Array(16);
  im2col(new Float64Array([1, 2, 3, 4, 5, 6, 7, 8, 9]), g, cols);
  assert.deepEqual([...cols], [1, 2, 4, 5, 2, 3, 5, 6, 4, 5, 7, 8, 5, 6, 8, 9]);
  const padded = convGeometry(1, 2, 2, [3, 3], [1, 1], [1, 1]);
  const pc = new Float64Array(9 * 4).fill(NaN); // every entry must be written
  im2col(new Float64Array([1, 2, 3, 4]), padded, pc);
  assert.deepEqual([...pc.subarray(0, 4)], [0, 0, 0, 1]); // tap (0, 0)
  assert.deepEqual([...pc.subarray(16, 20)], [1, 2, 3, 4]); // the centre tap
});

Deno.test("col2im sums overlapping windows back onto the input", () => {
  const g = convGeometry(1, 3, 3, [2, 2], [1, 1], [0, 0]);
  const dx = new Float64Array(9);
  col2im(new Float64Array(16).fill(1), g, dx);
  assert.deepEqual([...dx], [1, 2, 1, 2, 4, 2, 1, 2, 1]);
});

Deno.test("col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)>", () => {
  const rng = new Rng(9);
  for (let trial = 0; trial < 50; trial++) {
    const k: [number, number] = [1 + rng.int(4), 1 + rng.int(4)];
    const s: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const p: [number, number] = [rng.int(3), rng.int(3)];
    const C = 1 + rng.int(3), H = k[0] + rng.int(6), W = k[1] + rng.int(6);
    const g = convGeometry(C, H, W, k, s, p);
    const x = Float64Array.from({ length: C * H * W }, () => rng.normal());
    const c = Float64Array.from({ length: C * k[0] * k[1] * g.outH * g.outW }, () => rng.normal());
    const cols = new Float64Array(c.length), dx = new Float64Array(x.length);
    im2col(x, g, cols);
    col2im(c, g, dx);
    let lhs = 0, rhs = 0;
    for (let i = 0; i < c.length; i++) lhs += cols[i] * c[i];
    for (let i = 0; i < x.length; i++) rhs += x[i] * dx[i];
    assert.ok(Math.abs(lhs - rhs) < 1e-10, `trial ${trial}: ${lhs} vs ${rhs}`);
  }
});
