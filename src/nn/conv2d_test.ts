import assert from "node:assert/strict";
import { type Gemm, gemmReference, setGemm } from "../kernels/gemm.ts";
import { useFastKernels, useReferenceKernels } from "../kernels/gemm_fast.ts";
import { IDLE_MS } from "../kernels/gemm_protocol.ts";
import { Rng } from "../random.ts";
import { clone, maxAbsDiff, type Tensor, tensor, zeros } from "../tensor.ts";
import { ReLU } from "./activation.ts";
import { Conv2D } from "./conv2d.ts";
import { ShapeError } from "./module.ts";
import { Sequential } from "./sequential.ts";
import { fixtureTests } from "./testing.ts";

fixtureTests("conv2d", "Conv2D");

Deno.test("Conv2D does its arithmetic through gemm, so a faster kernel can replace it", () => {
  let calls = 0;
  const counting: Gemm = (...args) => {
    calls++;
    gemmReference(...args);
  };
  const previous = setGemm(counting);
  try {
    const conv = new Conv2D(2, 3, 3, 1, { rng: new Rng(1) });
    const y = conv.forward(zeros([2, 2, 5, 5]));
    assert.equal(calls, 1, "one gemm for both images forward");
    conv.backward(zeros(y.shape));
    assert.equal(calls, 3, "two gemms for both images backward");
  } finally {
    setGemm(previous);
  }
});

Deno.test("Conv2D over a batch equals Conv2D image by image (chunking, stride, padding)", () => {
  const rng = new Rng(3);
  const cases: [number, number, number, number, [number, number], number, number][] = [
    // batch, in, out, size, kernel, stride, padding
    [3, 2, 3, 7, [3, 3], 2, 0],
    [4, 3, 2, 5, [3, 2], 1, 1],
    [2, 1, 4, 6, [5, 5], 2, 2],
    [1, 3, 5, 9, [3, 3], 1, 1],
    [3, 2, 3, 4, [1, 1], 1, 0],
    // 144 × 1024 im2col entries per image: 30 images take two chunks.
    [30, 16, 4, 32, [3, 3], 1, 1],
  ];
  for (const [batch, cin, cout, size, k, stride, padding] of cases) {
    const label = `batch ${batch}, ${cin}→${cout}, ${size}², k ${k}, s ${stride}, p ${padding}`;
    const conv = new Conv2D(cin, cout, k, stride, { padding, rng });
    const x = rng.fillNormal(zeros([batch, cin, size, size]));
    const y = conv.forward(x);
    const delta = rng.fillNormal(zeros(y.shape));
    const dx = conv.backward(delta);
    const dW = clone(conv.dW), db = clone(conv.db!);
    const dWSum = zeros(dW.shape), dbSum = zeros(db.shape);
    for (let n = 0; n < batch; n++) {
      const yn = conv.forward(x.hi(n + 1).lo(n));
      const dxn = conv.backward(delta.hi(n + 1).lo(n));
      assert.ok(maxAbsDiff(yn, y.hi(n + 1).lo(n)) < 1e-12, `${label}: forward image ${n}`);
      assert.ok(maxAbsDiff(dxn, dx.hi(n + 1).lo(n)) < 1e-12, `${label}: dx image ${n}`);
      for (let i = 0; i < dW.size; i++) dWSum.data[i] += conv.dW.data[i];
      for (let i = 0; i < db.size; i++) dbSum.data[i] += conv.db!.data[i];
    }
    assert.ok(maxAbsDiff(dWSum, dW) < 1e-10, `${label}: dW`);
    assert.ok(maxAbsDiff(dbSum, db) < 1e-10, `${label}: db`);
  }
});

Deno.test("Conv2D initialises like PyTorch: uniform within ±1/sqrt(in·kh·kw), seeded", () => {
  const a = new Conv2D(4, 6, [3, 2], 1, { rng: new Rng(42) });
  const b = new Conv2D(4, 6, [3, 2], 1, { rng: new Rng(42) });
  const bound = 1 / Math.sqrt(4 * 3 * 2);
  assert.deepEqual(a.W.shape, [6, 4, 3, 2]);
  assert.deepEqual(a.b!.shape, [6]);
  assert.deepEqual([...a.W.data], [...b.W.data]);
  assert.ok(a.W.data.every((w) => Math.abs(w) <= bound));
  assert.ok(Math.max(...a.W.data.map(Math.abs)) > 0.8 * bound, "spans the range");
  assert.deepEqual(a.parameters().map((p) => p.name), ["weight", "bias"]);
  assert.equal(new Conv2D(4, 6, 3, 1, { bias: false }).parameters().length, 1);
  const c32 = new Conv2D(4, 6, 3, 1, { dtype: "float32" });
  assert.ok(c32.W.data instanceof Float32Array && c32.dW.data instanceof Float32Array);
});

Deno.test("Conv2D takes non-contiguous input views", () => {
  const rng = new Rng(5);
  const conv = new Conv2D(3, 4, 3, 2, { padding: 1, rng });
  const base = rng.fillNormal(zeros([2, 6, 7, 3])); // (batch, h, w, channels)
  const view = base.transpose(0, 3, 1, 2);
  const dense = zeros(view.shape);
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) {
      for (let h = 0; h < 6; h++) {
        for (let w = 0; w < 7; w++) dense.set(n, c, h, w, view.get(n, c, h, w));
      }
    }
  }
  // forward's output is the layer's own until its next forward (buffers.ts): keep a copy.
  const fromView = clone(conv.forward(view));
  assert.equal(maxAbsDiff(fromView, conv.forward(dense)), 0);
});

Deno.test("Conv2D rejects bad shapes with errors that name the layer and shapes", () => {
  const conv = new Conv2D(3, 8, 3, 2);
  assert.throws(
    () => conv.forward(zeros([2, 4, 9, 9])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("Conv2D(3, 8, 3, 2)") &&
      e.message.includes("(batch, 3, height, width)") && e.message.includes("(2, 4, 9, 9)"),
  );
  assert.throws(
    () => conv.forward(zeros([3, 9, 9])),
    /\(batch, 3, height, width\), got \(3, 9, 9\)/,
  );
  assert.throws(
    () => conv.forward(zeros([2, 3, 2, 9])),
    (e: Error) =>
      e instanceof ShapeError && /smaller than the kernel \(3, 3\)/.test(e.message) &&
      e.message.includes("(2, 3, 2, 9)"),
  );
  // Padding makes a small input large enough.
  assert.deepEqual(new Conv2D(3, 8, 3, 1, { padding: 1 }).forward(zeros([1, 3, 2, 2])).shape, [
    1,
    8,
    2,
    2,
  ]);
  assert.throws(() => conv.forward(zeros([2, 3, 9, 9], "float32")), /float32/);
  assert.throws(() => conv.backward(zeros([2, 8, 4, 4])), /before forward/);
  conv.forward(zeros([2, 3, 9, 9]));
  assert.throws(
    () => conv.backward(zeros([2, 8, 4, 5])),
    (e: Error) =>
      e instanceof ShapeError && /expected delta of shape \(2, 8, 4, 4\)/.test(e.message),
  );
  assert.throws(() => new Conv2D(3, 8, 0), /kernelSize must be an integer >= 1/);
  assert.throws(() => new Conv2D(3, 8, 3, 1, { padding: -1 }), /padding must be an integer >= 0/);
});

Deno.test("Conv2D in float32 on the fast kernels equals the plain ones (direct, flipped-filter dx, strided dcols)", async () => {
  const rng = new Rng(11);
  const cases: [number, number, number, number, number, number, number][] = [
    // batch, in, out, size, kernel, stride, padding: 3 × 3 stride 1, run by conv_direct (rows
    // of 16, of 8: one row a tile, of 4: two rows a tile; out channels not a multiple of MR)
    // and, for a multiple of 4 out channels, conv_direct_dw (passes of 4 images of 16², of 64
    // of 4²)...
    [5, 3, 50, 16, 3, 1, 1],
    [6, 4, 8, 16, 3, 1, 1],
    [3, 7, 16, 8, 3, 1, 1],
    [4, 20, 13, 4, 3, 1, 1],
    [2, 5, 8, 4, 3, 1, 1],
    // (without padding, 10 wide: its rows are copied whole vectors and two single floats)
    [2, 3, 8, 10, 3, 1, 0],
    // ...dx by the flipped convolution through packed panels...
    [3, 8, 12, 9, 3, 1, 2],
    [2, 4, 6, 7, 5, 1, 0],
    // ...and by Wᵀ·delta then col2im (a stride, a padding wider than the window).
    [3, 5, 7, 9, 3, 2, 1],
    [2, 3, 4, 5, 3, 1, 3],
  ];
  const fast = await useFastKernels({ threads: 2 });
  try {
    for (const [batch, cin, cout, size, k, stride, padding] of cases) {
      const label = `batch ${batch}, ${cin}→${cout}, ${size}², k ${k}, s ${stride}, p ${padding}`;
      const conv = new Conv2D(cin, cout, k, stride, { padding, dtype: "float32", rng });
      const x = rng.fillNormal(zeros([batch, cin, size, size], "float32"));
      setGemm(gemmReference);
      const y = clone(conv.forward(x));
      const delta = rng.fillNormal(zeros(y.shape, "float32"));
      const dx = clone(conv.backward(delta)), dW = clone(conv.dW), db = clone(conv.db!);
      setGemm(fast.gemm);
      const tolerance = 1e-4 * Math.sqrt(cin * k * k * batch * size * size);
      assert.ok(maxAbsDiff(conv.forward(x), y) < tolerance, `${label}: forward`);
      assert.ok(maxAbsDiff(conv.backward(delta), dx) < tolerance, `${label}: dx`);
      assert.ok(maxAbsDiff(conv.dW, dW) < tolerance, `${label}: dW`);
      assert.ok(maxAbsDiff(conv.db!, db) < tolerance, `${label}: db`);
    }
  } finally {
    useReferenceKernels();
  }
});

Deno.test("Conv2D without inputGrad computes dW and db alike and returns zeros for dx", () => {
  const rng = new Rng(12);
  const make = (inputGrad: boolean) =>
    new Conv2D(3, 4, 3, 1, { padding: 1, inputGrad, rng: new Rng(5) });
  const [full, first] = [make(true), make(false)];
  const x = rng.fillNormal(zeros([2, 3, 6, 6]));
  const delta = rng.fillNormal(zeros(full.forward(x).shape));
  first.forward(x);
  full.backward(delta);
  const dx = first.backward(delta);
  assert.equal(maxAbsDiff(first.dW, full.dW), 0);
  assert.equal(maxAbsDiff(first.db!, full.db!), 0);
  assert.deepEqual(dx.shape, x.shape);
  assert.ok(dx.data.every((v) => v === 0));
});

Deno.test("Conv2D on the fast kernels stays right when a Worker restarts as the memory grows", async () => {
  // A Worker that left when idle is restarted by the first product after; that product also
  // grows the shared memory. The restarted Worker once kept the old length and packed NaNs.
  await useFastKernels({ threads: 2 });
  try {
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS + 300)); // the Worker leaves
    const rng = new Rng(13);
    const stem = new Conv2D(3, 16, 3, 1, { padding: 1, dtype: "float32", rng });
    const conv = new Conv2D(16, 32, 3, 1, { padding: 1, dtype: "float32", rng });
    const x = rng.fillUniform(zeros([128, 3, 32, 32], "float32"), 0, 1);
    const y = conv.forward(stem.forward(x));
    assert.ok(y.data.every(Number.isFinite), "every output is finite");
    const first = clone(y.hi(2));
    setGemm(gemmReference);
    const want = conv.forward(stem.forward(x.hi(2)));
    assert.ok(maxAbsDiff(first, want) < 1e-3, "the first two images match the plain kernels");
  } finally {
    useReferenceKernels();
  }
});

Deno.test("Conv2D on the fast kernels reads and writes their shared memory in place, as the plain kernels compute", async () => {
  const rng = new Rng(14);
  // Convs fed by ReLUs: on the fast kernels every input, output and delta but the first lies
  // in the shared memory (the direct convolution, its weight gradient, and the strided one's
  // packed products all read it in place).
  const make = () => {
    const seeded = new Rng(3), options = { padding: 1, dtype: "float32" as const, rng: seeded };
    return new Sequential(
      new Conv2D(3, 8, 3, 1, options),
      new ReLU(),
      new Conv2D(8, 8, 3, 1, options),
      new ReLU(),
      new Conv2D(8, 12, 3, 2, options),
    );
  };
  const x = rng.fillNormal(zeros([4, 3, 16, 16], "float32"));
  const plain = make();
  const want = clone(plain.forward(x));
  const delta = rng.fillNormal(zeros(want.shape, "float32"));
  const wantDx = clone(plain.backward(delta));
  await useFastKernels({ threads: 2 });
  try {
    const net = make();
    const got = net.forward(x);
    assert.ok(got.data.buffer instanceof SharedArrayBuffer, "the output lies in the shared memory");
    assert.ok(maxAbsDiff(got, want) < 1e-4, "forward");
    assert.ok(maxAbsDiff(net.backward(delta), wantDx) < 1e-4, "dx");
    for (const i of [0, 2, 4]) {
      const [a, b] = [net.layers[i], plain.layers[i]] as Conv2D[];
      assert.ok(maxAbsDiff(a.dW, b.dW) < 1e-3, `layer ${i}: dW`);
    }
  } finally {
    useReferenceKernels();
  }
});

// 128 → 128 channels is a layer winogradApplies picks: on 8 × 8 images by F(4×4) (36
// products, one per position of the 6 × 6 transformed tile), on 6 × 6 by F(2×2) (16), on
// 7 × 7 as on 8 × 8 with a row and a column of zeros.
for (const [size, products] of [[8, 36], [6, 16], [7, 36]]) {
  Deno.test(`Conv2D's Winograd path on ${size} × ${size} images (float32, ${products} products) gives float64's results to float32 rounding`, async () => {
    const rng = new Rng(15);
    const want = new Conv2D(128, 128, 3, 1, { padding: 1, rng: new Rng(4) });
    const x = rng.fillNormal(zeros([3, 128, size, size]));
    const y = want.forward(x);
    const delta = rng.fillNormal(zeros(y.shape));
    const dx = want.backward(delta);
    const f32 = (t: Tensor) => tensor(new Float32Array(t.data), t.shape);
    let calls = 0;
    const previous = setGemm((...args) => {
      calls++;
      gemmReference(...args);
    });
    new Conv2D(128, 128, 3, 1, { padding: 1, dtype: "float32" }).forward(f32(x));
    setGemm(previous);
    assert.equal(calls, products, "one product per position of the transformed tile");
    const scale = (t: Tensor) => Array.from(t.data).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const kernels of ["plain", "fast"]) {
      if (kernels === "fast") await useFastKernels({ threads: 2 });
      try {
        for (const inputGrad of [true, false]) {
          const label = `${kernels} kernels, inputGrad ${inputGrad}`;
          const conv = new Conv2D(128, 128, 3, 1, { padding: 1, dtype: "float32", inputGrad });
          conv.W = f32(want.W), conv.b = f32(want.b!);
          assert.ok(maxAbsDiff(conv.forward(f32(x)), y) < 1e-5 * scale(y), `${label}: forward`);
          const got = conv.backward(f32(delta));
          if (inputGrad) assert.ok(maxAbsDiff(got, dx) < 1e-5 * scale(dx), `${label}: dx`);
          else assert.ok(got.data.every((v) => v === 0), `${label}: dx is zeros`);
          assert.ok(maxAbsDiff(conv.dW, want.dW) < 1e-5 * scale(want.dW), `${label}: dW`);
          assert.ok(maxAbsDiff(conv.db!, want.db!) < 1e-5 * scale(want.db!), `${label}: db`);
          conv.requiresGrad = false;
          conv.forward(f32(x));
          conv.backward(f32(delta));
          assert.ok(conv.dW.data.every((v) => v === 0), `${label}: frozen, dW stays zero`);
        }
      } finally {
        useReferenceKernels();
      }
    }
  });
}

Deno.test("Conv2D with weightRequiresGrad false trains its bias over fixed filters", () => {
  const rng = new Rng(5);
  const x = rng.fillNormal(zeros([2, 3, 6, 6]));
  const trained = new Conv2D(3, 4, 2, 1, { rng: new Rng(6) });
  const delta = rng.fillNormal(zeros(trained.forward(x).shape));
  const dx = clone(trained.backward(delta));
  const conv = new Conv2D(3, 4, 2, 1, { rng: new Rng(6) });
  conv.weightRequiresGrad = false;
  conv.forward(x);
  assert.ok(maxAbsDiff(conv.backward(delta), dx) < 1e-12, "the input gradient is unchanged");
  assert.ok(maxAbsDiff(conv.db!, trained.db!) < 1e-12, "the bias gradient is computed");
  assert.ok(conv.dW.data.every((v) => v === 0), "the filters' gradient stays zero");
  assert.deepEqual(
    conv.parameters().map((p) => [p.name, p.requiresGrad ?? true]),
    [["weight", false], ["bias", true]],
  );
});
