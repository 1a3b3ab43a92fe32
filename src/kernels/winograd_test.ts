import assert from "node:assert/strict";
import { Conv2D } from "../nn/conv2d.ts";
import { Rng } from "../random.ts";
import { maxAbsDiff, type Tensor, tensor, zeros } from "../tensor.ts";
import { WINOGRAD_DELTA, WINOGRAD_INPUT, WINOGRAD_OUTPUT } from "./channel_kernels.ts";
import { FastGemm, useFastKernels, useReferenceKernels } from "./gemm_fast.ts";
import { winogradApplies, winogradConv2d, winogradWeightGrad } from "./winograd.ts";
import {
  matrixStride,
  winogradDelta,
  winogradInput,
  winogradOutput,
} from "./winograd_transforms.ts";

/** A float64 Conv2D (3 × 3, padding 1, no bias) to check against: the direct sums. */
function reference(C: number, O: number, rng: Rng): Conv2D {
  return new Conv2D(C, O, 3, 1, { padding: 1, bias: false, rng });
}

const f32 = (t: Tensor) => new Float32Array(t.data);

/** The largest difference from `want` relative to `want`'s largest magnitude. */
function relative(got: Float32Array, want: Tensor): number {
  const scale = Array.from(want.data).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return maxAbsDiff(tensor(Float64Array.from(got), want.shape), want) / scale;
}

// Sizes that exercise the borders (the 2 × 2 tiles at the edges read the zero padding),
// non-square images, several chunks (64 channels of 32 × 32 is 2^18 transformed elements an
// image, so 20 images take two) and channel counts that are not multiples of anything.
const CASES: [number, number, number, number, number][] = [
  // images, C, O, H, W: F(2×2) unless both sizes are multiples of 4
  [2, 3, 5, 4, 6],
  [2, 3, 5, 4, 8],
  [2, 4, 3, 12, 4],
  [3, 7, 4, 8, 8],
  [20, 64, 5, 32, 32],
  [1, 1, 1, 2, 2],
];

for (const kernels of ["plain", "fast"] as const) {
  Deno.test(`winogradConv2d and winogradWeightGrad equal the direct sums (${kernels} kernels)`, async () => {
    if (kernels === "fast") await useFastKernels({ threads: 2 });
    try {
      const rng = new Rng(21);
      for (const [images, C, O, H, W] of CASES) {
        const label = `${images} images, ${C}→${O}, ${H}×${W}`;
        const conv = reference(C, O, rng);
        const x = rng.fillNormal(zeros([images, C, H, W]));
        const want = conv.forward(x);
        const delta = rng.fillNormal(zeros(want.shape));
        const wantDx = conv.backward(delta);
        const y = new Float32Array(want.size);
        winogradConv2d(f32(x), images, C, H, W, f32(conv.W), O, y);
        assert.ok(relative(y, want) < 1e-5, `${label}: forward`);
        const dW = new Float32Array(conv.dW.size);
        winogradWeightGrad(f32(x), f32(delta), images, C, H, W, O, dW);
        assert.ok(relative(dW, conv.dW) < 1e-5, `${label}: weight gradient`);
        // The input gradient is the convolution of delta with the flipped, transposed filters.
        const flipped = new Float32Array(conv.W.size);
        for (let o = 0; o < O; o++) {
          for (let c = 0; c < C; c++) {
            for (let k = 0; k < 9; k++) {
              flipped[(c * O + o) * 9 + 8 - k] = conv.W.data[(o * C + c) * 9 + k];
            }
          }
        }
        const dx = new Float32Array(x.size);
        winogradConv2d(f32(delta), images, O, H, W, flipped, C, dx);
        assert.ok(relative(dx, wantDx) < 1e-5, `${label}: input gradient`);
      }
    } finally {
      useReferenceKernels();
    }
  });
}

Deno.test("winogradApplies picks float32 3 × 3 stride-1 layers of even size with many channels", () => {
  const k3: [number, number] = [3, 3], one: [number, number] = [1, 1];
  assert.ok(winogradApplies("float32", 64, 256, 16, 16, k3, one, one));
  assert.ok(winogradApplies("float32", 128, 128, 8, 8, k3, one, one));
  assert.ok(!winogradApplies("float64", 128, 128, 8, 8, k3, one, one), "float64 stays direct");
  assert.ok(!winogradApplies("float32", 32, 512, 8, 8, k3, one, one), "few input channels");
  assert.ok(winogradApplies("float32", 64, 128, 4, 4, k3, one, one));
  assert.ok(winogradApplies("float32", 64, 64, 16, 16, k3, one, one));
  assert.ok(!winogradApplies("float32", 64, 32, 8, 8, k3, one, one), "few output channels");
  assert.ok(!winogradApplies("float32", 128, 128, 2, 2, k3, one, one), "a small image");
  assert.ok(!winogradApplies("float32", 128, 128, 9, 9, k3, one, one), "odd size");
  assert.ok(!winogradApplies("float32", 128, 128, 8, 8, k3, [2, 2], one), "stride 2");
  assert.ok(!winogradApplies("float32", 128, 128, 8, 8, k3, one, [0, 0]), "no padding");
  assert.ok(!winogradApplies("float32", 128, 128, 8, 8, [5, 5], one, one), "a 5 × 5 window");
});

Deno.test("the transforms in the shared memory (SIMD where the width is a multiple of 8) equal the TypeScript loops", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    const rng = new Rng(22);
    // images, channels, H, W: SIMD rows of one and of several groups of four tiles, a row
    // of tiles at the top and bottom edges only, and a width the SIMD code leaves to the loops.
    for (const [images, rows, H, W] of [[3, 5, 8, 8], [2, 3, 6, 16], [2, 2, 2, 32], [2, 3, 4, 6]]) {
      const T = images * (H / 2) * (W / 2), size = images * rows * H * W;
      const matrices = 16 * matrixStride(rows * T);
      const shared = (n: number) => fast.allocate(n);
      const fill = (a: Float32Array) => a.forEach((_, i) => a[i] = rng.normal());
      const close = (got: Float32Array, want: Float32Array, what: string) => {
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        assert.ok(worst < 1e-5, `${images}×${rows}×${H}×${W} ${what}: off by ${worst}`);
      };
      const X = shared(size), M = shared(matrices);
      fill(X);
      fill(M);
      const V = shared(matrices), want = new Float32Array(matrices);
      assert.ok(fast.forChannels(WINOGRAD_INPUT, [X, V], [rows, H, W, T], images * rows));
      winogradInput(X.slice(), 0, want, 0, rows, H, W, T, 0, images * rows);
      close(V, want, "input");
      const Z = shared(matrices), wantZ = new Float32Array(matrices);
      assert.ok(fast.forChannels(WINOGRAD_DELTA, [X, Z], [rows, H, W, T], images * rows));
      winogradDelta(X.slice(), 0, wantZ, 0, rows, H, W, T, 0, images * rows);
      close(Z, wantZ, "delta");
      const Y = shared(size), wantY = new Float32Array(size);
      assert.ok(fast.forChannels(WINOGRAD_OUTPUT, [M, Y], [rows, H, W, T], images * rows));
      winogradOutput(M.slice(), 0, wantY, 0, rows, H, W, T, 0, images * rows);
      close(Y, wantY, "output");
    }
  } finally {
    fast.close();
  }
});
