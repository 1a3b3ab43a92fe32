import assert from "node:assert/strict";
import { Conv2D } from "../nn/conv2d.ts";
import { Rng } from "../random.ts";
import { maxAbsDiff, type Tensor, tensor, zeros } from "../tensor.ts";
import {
  WINOGRAD4_DELTA,
  WINOGRAD4_FILTER,
  WINOGRAD4_FILTER_GRAD,
  WINOGRAD4_INPUT,
  WINOGRAD4_OUTPUT,
  WINOGRAD_DELTA,
  WINOGRAD_FILTER,
  WINOGRAD_FILTER_GRAD,
  WINOGRAD_INPUT,
  WINOGRAD_OUTPUT,
} from "./channel_kernels.ts";
import { FastGemm, useFastKernels, useReferenceKernels } from "./gemm_fast.ts";
import { winogradApplies, winogradConv2d, winogradWeightGrad } from "./winograd.ts";
import {
  matrixStride,
  tileGroups,
  winograd4Delta,
  winograd4Filter,
  winograd4FilterGrad,
  winograd4Input,
  winograd4Output,
  winogradDelta,
  winogradFilter,
  winogradFilterGrad,
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

// Sizes that exercise the borders (the tiles at the edges read the zero padding), non-square
// images, several chunks (an image of 64 channels takes 36 × 64 × 64 transformed elements by
// F(4×4) on 32 × 32 and 16 × 64 × 225 by F(2×2) on 30 × 30, so 40 and 20 images take two
// chunks of 2^22) and channel counts that are not multiples of anything.
const CASES: [number, number, number, number, number][] = [
  // images, C, O, H, W: F(2×2) unless both sizes are multiples of 4
  [2, 3, 5, 4, 6],
  [2, 3, 5, 4, 8],
  [2, 4, 3, 12, 4],
  [3, 7, 4, 8, 8],
  [40, 64, 5, 32, 32],
  [20, 64, 5, 30, 30],
  [1, 1, 1, 2, 2],
  // Odd sizes, evened by zeros: airbench's maps (15 runs as 16 by F(4×4)), and mixed ones.
  [3, 6, 4, 15, 15],
  [2, 3, 5, 7, 5],
  [2, 4, 3, 3, 8],
  [40, 64, 5, 31, 31],
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

Deno.test("winogradApplies picks float32 3 × 3 stride-1 padded layers with many channels", () => {
  const k3: [number, number] = [3, 3], one: [number, number] = [1, 1];
  assert.ok(winogradApplies("float32", 64, 256, 16, 16, k3, one, one));
  assert.ok(winogradApplies("float32", 128, 128, 8, 8, k3, one, one));
  assert.ok(!winogradApplies("float64", 128, 128, 8, 8, k3, one, one), "float64 stays direct");
  assert.ok(winogradApplies("float32", 32, 64, 32, 32, k3, one, one));
  assert.ok(!winogradApplies("float32", 16, 512, 8, 8, k3, one, one), "few input channels");
  assert.ok(winogradApplies("float32", 64, 128, 4, 4, k3, one, one));
  assert.ok(winogradApplies("float32", 64, 64, 16, 16, k3, one, one));
  assert.ok(!winogradApplies("float32", 64, 16, 8, 8, k3, one, one), "few output channels");
  assert.ok(!winogradApplies("float32", 128, 128, 2, 2, k3, one, one), "a small image");
  assert.ok(winogradApplies("float32", 128, 128, 7, 7, k3, one, one), "odd sizes are evened");
  assert.ok(!winogradApplies("float32", 256, 256, 3, 3, k3, one, one), "a small odd image");
  assert.ok(!winogradApplies("float32", 128, 128, 8, 8, k3, [2, 2], one), "stride 2");
  assert.ok(!winogradApplies("float32", 128, 128, 8, 8, k3, one, [0, 0]), "no padding");
  assert.ok(!winogradApplies("float32", 128, 128, 8, 8, [5, 5], one, one), "a 5 × 5 window");
});

// Each transform with its number in CHANNEL_KERNELS, its tile, positions per tile, and the
// range its plane transforms run over (`work` in winograd.ts).
const TRANSFORMS = [
  {
    tile: 2,
    positions: 16,
    work: (rows: number, images: number, _: number) => rows * images,
    planes: [
      [WINOGRAD_INPUT, winogradInput],
      [WINOGRAD_DELTA, winogradDelta],
      [WINOGRAD_OUTPUT, winogradOutput],
    ],
    filters: [[WINOGRAD_FILTER, winogradFilter], [WINOGRAD_FILTER_GRAD, winogradFilterGrad]],
  },
  {
    tile: 4,
    positions: 36,
    work: (rows: number, _: number, T: number) => tileGroups(rows, T),
    planes: [
      [WINOGRAD4_INPUT, winograd4Input],
      [WINOGRAD4_DELTA, winograd4Delta],
      [WINOGRAD4_OUTPUT, winograd4Output],
    ],
    filters: [[WINOGRAD4_FILTER, winograd4Filter], [WINOGRAD4_FILTER_GRAD, winograd4FilterGrad]],
  },
] as const;

Deno.test("the transforms split over the threads, in the shared memory, compute what they compute on the calling thread", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    const rng = new Rng(22);
    const fill = (a: Float32Array) => a.forEach((_, i) => a[i] = rng.normal());
    for (const { tile, positions, work, planes, filters } of TRANSFORMS) {
      // images, channels, H, W: square and not, one row of tiles and several, one tile an
      // image, and tile counts that leave F(4×4)'s SIMD a last group of 1, 2 and 3 tiles.
      const sizes = [[3, 5, 8, 8], [2, 3, 4, 12], [2, 2, 12, 4], [3, 7, 16, 16], [2, 3, 32, 8]];
      if (tile === 4) sizes.push([5, 3, 4, 4], [3, 2, 4, 4], [7, 1, 4, 4], [1, 3, 12, 12]);
      for (const [images, rows, H, W] of sizes) {
        const label = `F(${tile}×${tile}) ${images}×${rows}×${H}×${W}`;
        const T = images * (H / tile) * (W / tile), size = images * rows * H * W;
        const stride = matrixStride(rows * T), matrices = positions * stride;
        for (const [kernel, transform] of planes) {
          // The input and delta transforms read images and write matrices; the output one
          // the other way round.
          const output = transform === winogradOutput || transform === winograd4Output;
          const [from, to] = output ? [matrices, size] : [size, matrices];
          const a = fast.allocate(from), b = fast.allocate(to), want = new Float32Array(to);
          fill(a);
          const count = work(rows, images, T);
          assert.ok(fast.forChannels(kernel, [a, b], [rows, H, W, T], count), label);
          transform(a.slice(), 0, want, 0, rows, H, W, T, 0, count);
          // What the matrices hold (their slack is scratch).
          const held = (m: Float32Array) =>
            output ? m : Float32Array.from(
              { length: positions * rows * T },
              (_, i) => m[Math.floor(i / (rows * T)) * stride + i % (rows * T)],
            );
          const [got, expected] = [held(b), held(want)];
          // F(4×4)'s run in SIMD in float32, the TypeScript in float64 between its two passes.
          const exact = tile === 2;
          const error = exact ? 0 : relative(got, tensor(expected, [expected.length]));
          if (exact) assert.deepEqual([...got], [...expected], `${label}: transform ${kernel}`);
          else assert.ok(error < 1e-6, `${label}: transform ${kernel}`);
        }
        const count = rows * 3; // the filters of a rows → 3 layer
        const filterMatrices = positions * matrixStride(count);
        for (const [kernel, transform] of filters) {
          const grad = transform === winogradFilterGrad || transform === winograd4FilterGrad;
          const [from, to] = grad ? [filterMatrices, 9 * count] : [9 * count, filterMatrices];
          const a = fast.allocate(from), b = fast.allocate(to), want = new Float32Array(to);
          fill(a);
          assert.ok(fast.forChannels(kernel, [a, b], [count], count), label);
          transform(a.slice(), 0, want, 0, count, 0, count);
          assert.deepEqual([...b], [...want], `${label}: transform ${kernel}`);
        }
      }
    }
  } finally {
    fast.close();
  }
});
