import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { gemmReference } from "./gemm.ts";
import { FastGemm } from "./gemm_fast.ts";
import { type ConvGeometry, convGeometry, im2col } from "./im2col.ts";
import { channelRows, im2colMatrix, materialize } from "./matrix_view.ts";

function randomArray(rng: Rng, size: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.normal());
}

/** Geometries with padding, strides, non-square windows and outputs narrower than a panel. */
const GEOMETRIES: [string, ConvGeometry][] = [
  ["3×3 same", convGeometry(3, 7, 5, [3, 3], [1, 1], [1, 1])],
  ["3×3 stride 2, no padding", convGeometry(5, 9, 9, [3, 3], [2, 2], [0, 0])],
  ["2×3 strides 1×2, padding 1×0", convGeometry(4, 6, 10, [2, 3], [1, 2], [1, 0])],
  ["5×5 padding 2 on 4×4", convGeometry(2, 4, 4, [5, 5], [1, 1], [2, 2])],
  ["3×3 same, 32 wide (streamed)", convGeometry(6, 12, 32, [3, 3], [1, 1], [1, 1])],
];

function assertClose(got: Float32Array, want: Float32Array, tolerance: number, label: string) {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tolerance,
      `${label}: element ${i} is ${got[i]}, want ${want[i]}`,
    );
  }
}

Deno.test("materialize writes an im2col view out as im2col does, image by image", () => {
  const rng = new Rng(1);
  const g = convGeometry(2, 5, 4, [3, 2], [2, 1], [1, 1]);
  const L = g.outH * g.outW, rows = 2 * 3 * 2, images = 3;
  const x = randomArray(rng, images * 2 * 5 * 4);
  const { data, trans } = materialize(im2colMatrix(x, images, g, true));
  assert.equal(trans, true);
  const one = new Float32Array(rows * L);
  for (let i = 0; i < images; i++) {
    im2col(x.subarray(i * 40), g, one);
    for (let r = 0; r < rows; r++) {
      assert.deepEqual(
        [...data.subarray(r * images * L + i * L, r * images * L + (i + 1) * L)],
        [...one.subarray(r * L, (r + 1) * L)],
      );
    }
  }
});

Deno.test("a convolution's three products through views equal the dense products", async () => {
  const rng = new Rng(2);
  const fast = [await FastGemm.start({ threads: 1 }), await FastGemm.start({ threads: 2 })];
  try {
    for (const [name, g] of GEOMETRIES) {
      for (const [images, O] of [[1, 3], [3, 50]]) {
        const L = g.outH * g.outW, NL = images * L, CKK = g.channels * g.kernelH * g.kernelW;
        const imageSize = g.channels * g.height * g.width;
        const x = randomArray(rng, images * imageSize), W = randomArray(rng, O * CKK);
        const delta = randomArray(rng, images * O * L);
        const cols = new Float32Array(CKK * NL);
        for (let i = 0; i < images; i++) im2col(x.subarray(i * imageSize), g, cols, NL, i * L);
        // The delta channel-major, as a dense O × images·L matrix.
        const dOut = new Float32Array(O * NL);
        for (let i = 0; i < images; i++) {
          for (let o = 0; o < O; o++) {
            dOut.set(delta.subarray((i * O + o) * L, (i * O + o + 1) * L), o * NL + i * L);
          }
        }
        const label = (what: string, threads: number) =>
          `${name}, ${images} images, ${O} filters, ${what}, ${threads} thread(s)`;
        const tolerance = 1e-4 * Math.sqrt(Math.max(CKK, NL, O));

        const yDense = new Float32Array(O * NL);
        gemmReference(false, false, O, NL, CKK, W, cols, yDense, 0);
        const dWStart = randomArray(rng, O * CKK), dWDense = dWStart.slice();
        gemmReference(false, true, O, CKK, NL, dOut, cols, dWDense, 1);
        const dcolsDense = new Float32Array(CKK * NL);
        gemmReference(true, false, CKK, NL, O, W, dOut, dcolsDense, 0);

        for (const kernel of [gemmReference, fast[0].gemm, fast[1].gemm]) {
          const threads = kernel === gemmReference ? 0 : kernel === fast[0].gemm ? 1 : 2;
          // Forward: W · im2col(x), written image by image.
          const y = new Float32Array(images * O * L);
          kernel(
            false,
            false,
            O,
            NL,
            CKK,
            W,
            im2colMatrix(x, images, g),
            channelRows(y, images, O, L),
            0,
          );
          const yByImage = new Float32Array(O * NL);
          for (let i = 0; i < images; i++) {
            for (let o = 0; o < O; o++) {
              yByImage.set(y.subarray((i * O + o) * L, (i * O + o + 1) * L), o * NL + i * L);
            }
          }
          assertClose(yByImage, yDense, tolerance, label("forward", threads));
          // dW += delta (channel rows) · im2col(x)ᵀ.
          const dW = dWStart.slice();
          const A = channelRows(delta, images, O, L);
          kernel(false, false, O, CKK, NL, A, im2colMatrix(x, images, g, true), dW, 1);
          assertClose(dW, dWDense, tolerance, label("dW", threads));
          // dcols = Wᵀ · delta (channel rows as B).
          const dcols = new Float32Array(CKK * NL);
          kernel(true, false, CKK, NL, O, W, A, dcols, 0);
          assertClose(dcols, dcolsDense, tolerance, label("dcols", threads));
        }
      }
    }
  } finally {
    for (const f of fast) f.close();
  }
});

Deno.test("a view with a transpose flag is refused", () => {
  const g = convGeometry(1, 3, 3, [2, 2], [1, 1], [0, 0]);
  const view = im2colMatrix(new Float32Array(9), 1, g);
  assert.throws(
    () => gemmReference(false, true, 1, 4, 4, new Float32Array(4), view, new Float32Array(4), 0),
    /transpose flag must be false/,
  );
});
