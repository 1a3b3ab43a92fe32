import assert from "node:assert/strict";
import { loadFixtures } from "../../fixtures/mod.ts";
import { Rng } from "../random.ts";
import { type DType, maxAbsDiff, type Tensor, tensor, zeros } from "../tensor.ts";
import { Conv1D } from "./conv1d.ts";
import { ShapeError } from "./module.ts";

const fixtures = await loadFixtures("conv1d");

Deno.test("Conv1D matches torch.nn.Conv1d on every fixture case to 1e-12", () => {
  assert.ok(fixtures.cases.length >= 30);
  for (const c of fixtures.cases) {
    const a = c.args as Record<string, number> & { bias: boolean };
    const conv = new Conv1D(a.in_channel, a.out_channel, a.kernel_size, a.stride, {
      padding: a.padding,
      dilation: a.dilation,
      groups: a.groups,
      bias: a.bias,
    });
    conv.W = fixtures.tensor(c, "W", conv.W.shape);
    if (a.bias) conv.b = fixtures.tensor(c, "b", [a.out_channel]);
    const y = conv.forward(fixtures.tensor(c, "x"));
    const dx = conv.backward(fixtures.tensor(c, "delta"));
    for (const [name, got] of [["y", y], ["dx", dx], ["dW", conv.dW]] as const) {
      const diff = maxAbsDiff(got, fixtures.tensor(c, name));
      assert.ok(diff < 1e-12, `${c.name} ${name}: max abs difference ${diff}`);
    }
    if (a.bias) {
      const diff = maxAbsDiff(conv.db!, fixtures.tensor(c, "db"));
      assert.ok(diff < 1e-12, `${c.name} db: max abs difference ${diff}`);
    } else {
      assert.equal(conv.db, null);
    }
  }
});

/** The textbook definition, one output element at a time, with get/set: slow and plain. */
function naive(conv: Conv1D, x: Tensor, delta: Tensor) {
  const [batch, , width] = x.shape;
  const { outChannel: O, kernelSize: K, stride: s, padding: p, dilation: d, groups: G } = conv;
  const cg = conv.inChannel / G, og = O / G;
  const outW = conv.outputWidth(width);
  const y = zeros([batch, O, outW]), dx = zeros(x.shape), dW = zeros(conv.W.shape);
  const db = zeros([O]);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < O; o++) {
      for (let t = 0; t < outW; t++) {
        let sum = conv.b ? conv.b.get(o) : 0;
        db.set(o, db.get(o) + delta.get(n, o, t));
        for (let c = 0; c < cg; c++) {
          for (let k = 0; k < K; k++) {
            const i = t * s + k * d - p;
            if (i < 0 || i >= width) continue;
            const ci = Math.floor(o / og) * cg + c;
            sum += conv.W.get(o, c, k) * x.get(n, ci, i);
            dx.set(n, ci, i, dx.get(n, ci, i) + conv.W.get(o, c, k) * delta.get(n, o, t));
            dW.set(o, c, k, dW.get(o, c, k) + x.get(n, ci, i) * delta.get(n, o, t));
          }
        }
        y.set(n, o, t, sum);
      }
    }
  }
  return { y, dx, dW, db };
}

function randomTensor(rng: Rng, shape: number[], dtype: DType = "float64"): Tensor {
  return rng.fillNormal(zeros(shape, dtype));
}

Deno.test("Conv1D agrees with a naive direct sum on random shapes and options", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const groups = 1 + rng.int(3);
    const inC = groups * (1 + rng.int(4)), outC = groups * (1 + rng.int(4));
    const K = 1 + rng.int(6), s = 1 + rng.int(4), p = rng.int(4), d = 1 + rng.int(3);
    const width = d * (K - 1) + 1 + rng.int(30);
    const conv = new Conv1D(inC, outC, K, s, {
      padding: p,
      dilation: d,
      groups,
      bias: rng.random() < 0.8,
      rng,
    });
    const x = randomTensor(rng, [1 + rng.int(3), inC, width]);
    const y = conv.forward(x);
    const delta = randomTensor(rng, y.shape);
    const dx = conv.backward(delta);
    const want = naive(conv, x, delta);
    const label =
      `trial ${trial}: Conv1D(${inC}, ${outC}, ${K}, ${s}, p=${p}, d=${d}, g=${groups})`;
    assert.ok(maxAbsDiff(y, want.y) < 1e-12, `${label} y`);
    assert.ok(maxAbsDiff(dx, want.dx) < 1e-12, `${label} dx`);
    assert.ok(maxAbsDiff(conv.dW, want.dW) < 1e-12, `${label} dW`);
    if (conv.db) assert.ok(maxAbsDiff(conv.db, want.db) < 1e-12, `${label} db`);
  }
});

Deno.test("Conv1D works in float32 to float32 precision", () => {
  const rng = new Rng(3);
  const conv64 = new Conv1D(6, 5, 3, 2, { rng: new Rng(1) });
  const conv32 = new Conv1D(6, 5, 3, 2, { rng: new Rng(1), dtype: "float32" });
  assert.ok(conv32.W.data instanceof Float32Array);
  const x = randomTensor(rng, [2, 6, 40]);
  const x32 = tensor(Float32Array.from(x.data), x.shape);
  const y64 = conv64.forward(x), y32 = conv32.forward(x32);
  assert.ok(y32.data instanceof Float32Array);
  assert.ok(maxAbsDiff(y64, y32) < 1e-5);
  const delta = randomTensor(rng, y64.shape);
  const dx32 = conv32.backward(tensor(Float32Array.from(delta.data), delta.shape));
  assert.ok(maxAbsDiff(conv64.backward(delta), dx32) < 1e-5);
  assert.ok(maxAbsDiff(conv64.dW, conv32.dW) < 1e-4);
});

Deno.test("Conv1D takes non-contiguous input views", () => {
  const rng = new Rng(5);
  const conv = new Conv1D(3, 4, 3, 1, { rng });
  const base = randomTensor(rng, [2, 20, 3]); // (batch, width, channels)
  const view = base.transpose(0, 2, 1); // (batch, channels, width), strided
  const dense = zeros(view.shape);
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) for (let i = 0; i < 20; i++) dense.set(n, c, i, view.get(n, c, i));
  }
  assert.equal(maxAbsDiff(conv.forward(view), conv.forward(dense)), 0);
});

Deno.test("Conv1D initialises like PyTorch: uniform within ±1/sqrt(in·k), seeded", () => {
  const a = new Conv1D(8, 12, 3, 2, { rng: new Rng(42) });
  const b = new Conv1D(8, 12, 3, 2, { rng: new Rng(42) });
  const bound = 1 / Math.sqrt(8 * 3);
  assert.deepEqual(a.W.shape, [12, 8, 3]);
  assert.deepEqual(a.b!.shape, [12]);
  assert.deepEqual([...a.W.data], [...b.W.data]);
  assert.ok(a.W.data.every((w) => Math.abs(w) <= bound));
  assert.ok(Math.max(...a.W.data.map(Math.abs)) > 0.8 * bound, "spans the range");
  assert.deepEqual(a.dW.shape, a.W.shape);
  assert.ok(a.dW.data.every((g) => g === 0));
});

Deno.test("Conv1D's handout example has the handout's shapes", () => {
  const conv = new Conv1D(8, 12, 3, 2);
  const y = conv.forward(zeros([3, 8, 20]));
  assert.deepEqual(y.shape, [3, 12, 9]);
  assert.deepEqual(conv.backward(zeros(y.shape)).shape, [3, 8, 20]);
});

Deno.test("Conv1D rejects bad shapes with errors that name the layer and shapes", () => {
  const conv = new Conv1D(8, 12, 3, 2);
  assert.throws(
    () => conv.forward(zeros([3, 7, 20])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("Conv1D(8, 12, 3, 2)") &&
      e.message.includes("(batch, 8, width)") && e.message.includes("(3, 7, 20)"),
  );
  assert.throws(() => conv.forward(zeros([3, 8, 2])), /smaller than the kernel/);
  assert.throws(() => conv.forward(zeros([3, 8, 20], "float32")), /float32/);
  assert.throws(() => conv.backward(zeros([3, 12, 9])), /before forward/);
  conv.forward(zeros([3, 8, 20]));
  assert.throws(() => conv.backward(zeros([3, 12, 8])), /expected delta of shape \(3, 12, 9\)/);
  assert.throws(() => new Conv1D(8, 12, 0, 2), /kernelSize must be an integer >= 1/);
  assert.throws(() => new Conv1D(6, 12, 3, 1, { groups: 4 }), /divide by groups/);
});
