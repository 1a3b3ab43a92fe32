import assert from "node:assert/strict";
import { GELU, ReLU } from "../nn/activation.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { MaxPool2D } from "../nn/pool.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { clone, type Tensor, tensor, zeros } from "../tensor.ts";
import {
  GELU_BACKWARD,
  GELU_FORWARD,
  geluBackward,
  geluForward,
  RELU_BITS,
  reluBits,
} from "./channel_kernels.ts";
import { FastGemm, useFastKernels, useReferenceKernels } from "./gemm_fast.ts";

/** BatchNorm → ReLU → 2×2 max-pool, with the same non-trivial affine parameters each time. */
function bnReluPool(channels: number): Sequential {
  const bn = new BatchNorm2D(channels, { dtype: "float32" });
  const rng = new Rng(3);
  bn.weight!.data.forEach((_, i, w) => w[i] = rng.uniform(0.5, 1.5));
  bn.bias!.data.forEach((_, i, b) => b[i] = rng.uniform(-0.5, 0.5));
  return new Sequential(bn, new ReLU(), new MaxPool2D(2));
}

/** Forward and backward in training mode, then forward in evaluation mode. */
function run(net: Sequential, x: Tensor, delta: Tensor) {
  const y = clone(net.forward(x));
  const dx = clone(net.backward(delta));
  const bn = net.layers[0] as BatchNorm2D;
  const grads = [clone(bn.dWeight!), clone(bn.dBias!), clone(bn.runningMean), clone(bn.runningVar)];
  net.eval();
  const evaluated = clone(net.forward(x));
  net.train();
  return [y, dx, ...grads, evaluated].map((t) => [...t.data]);
}

/** `run` on the fast kernels with `threads` threads, the arrays in their shared memory. */
async function runShared(threads: number, shape: number[], x: Tensor, delta: Tensor) {
  const fast = await useFastKernels({ threads });
  try {
    // Input and delta in the shared memory too, as a conv before and a layer after would give.
    const shared = (t: Tensor) => {
      const data = fast.allocate(t.size);
      data.set(t.data);
      return tensor(data, t.shape);
    };
    const sx = shared(x), sd = shared(delta);
    assert.ok(sx.data.buffer instanceof SharedArrayBuffer);
    return run(bnReluPool(shape[1]), sx, sd);
  } finally {
    useReferenceKernels();
  }
}

const NAMES = ["y", "dx", "dWeight", "dBias", "running_mean", "running_var", "eval y"];

// 12 × 12 planes are whole SIMD vectors; 14 × 9 ones end in a partial one.
for (const shape of [[6, 8, 12, 12], [5, 3, 14, 9]]) {
  Deno.test(`BatchNorm2D, ReLU and MaxPool2D of shape (${shape}) on the fast kernels: the same on 1 and 2 threads, and as the plain loops within float32 rounding`, async () => {
    const rng = new Rng(9);
    const x = rng.fillNormal(zeros(shape, "float32"));
    // A channel far from zero mean, whose variance a naive E[x²] − E[x]² would lose.
    for (let n = 0; n < shape[0]; n++) {
      const plane = shape[2] * shape[3], at = (n * shape[1] + 1) * plane;
      for (let i = at; i < at + plane; i++) x.data[i] = 300 + x.data[i];
    }
    const delta = rng.fillNormal(
      zeros([shape[0], shape[1], shape[2] >> 1, shape[3] >> 1], "float32"),
    );
    const want = run(bnReluPool(shape[1]), x, delta);
    const one = await runShared(1, shape, x, delta);
    const two = await runShared(2, shape, x, delta);
    NAMES.forEach((name, i) => {
      assert.deepEqual(two[i], one[i], name);
      const scale = Math.max(1, ...want[i].map(Math.abs));
      const worst = Math.max(...two[i].map((v, j) => Math.abs(v - want[i][j])));
      assert.ok(worst <= 2e-5 * scale, `${name}: off by ${worst} (scale ${scale})`);
    });
  });
}

Deno.test("ReLU on the fast kernels keeps exactly the values above zero, NaN and -0 included", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    const special = [NaN, -NaN, 0, -0, 1e-45, -1e-45, Infinity, -Infinity, 3.5, -2, 1e-38];
    const n = 4 * 1000 + 3; // a partial vector at the end
    const x = fast.allocate(n), v = fast.allocate(n), y = fast.allocate(n);
    const rng = new Rng(4);
    for (let i = 0; i < n; i++) {
      x[i] = i % 3 === 0 ? special[i % special.length] : rng.normal();
      v[i] = rng.normal();
    }
    x.set([NaN, 0, -0, 0, -0, 0, -0], n - 7); // zeros in every split's partial vector
    assert.equal(fast.forChannels(RELU_BITS, [x, v, y], [], n), true);
    const want = new Int32Array(n);
    reluBits(
      new Int32Array(x.buffer, x.byteOffset, n),
      0,
      new Int32Array(v.buffer, v.byteOffset, n),
      0,
      want,
      0,
      0,
      n,
    );
    assert.deepEqual([...new Int32Array(y.buffer, y.byteOffset, n)], [...want]);
    assert.equal(Object.is(y[3], 0), true); // x = -0: +0 out, not v
  } finally {
    fast.close();
  }
});

Deno.test("forChannels runs a loop on arrays in the shared memory, and refuses others", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    const n = 10_001;
    const x = fast.allocate(n), y = fast.allocate(n);
    x.forEach((_, i) => x[i] = (i % 7) - 3);
    assert.equal(fast.forChannels(RELU_BITS, [x, x, y], [], n), true);
    assert.deepEqual([...y], [...x].map((v) => Math.max(v, 0)));
    assert.equal(fast.forChannels(RELU_BITS, [x, x, new Float32Array(n)], [], n), false);
  } finally {
    fast.close();
  }
});

Deno.test("GELU's float32 loops agree with the erf form to float32 precision, and with the normal tail's series beyond", () => {
  // −5 … 13.3, rounded to float32 first (in the tail GELU's relative change is x² times its
  // input's). Below −5 the erf form itself fails: 1 + erf(x/√2) cancels.
  const xs = Float64Array.from(new Float32Array(2751).map((_, i) => -5 + i / 150));
  const exact = new GELU();
  const y = [...exact.forward(tensor(xs, [xs.length])).data];
  const dx = [...exact.backward(tensor(new Float64Array(xs.length).fill(1), [xs.length])).data];
  // −13.3 … −10 against Φ(x) = φ(x)/|x| · (1 − 1/x² + 3/x⁴ − 15/x⁶ + 105/x⁸ − …), whose next
  // term is under 1e−7 of it there.
  const tail = Float64Array.from(new Float32Array(501).map((_, i) => -10 - i / 150));
  const pdf = (x: number) => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  const series = (x: number) =>
    pdf(x) / -x * (1 - 1 / x ** 2 + 3 / x ** 4 - 15 / x ** 6 + 105 / x ** 8);
  const all = [...xs, ...tail];
  const wantY = [...y, ...[...tail].map((x) => x * series(x))];
  const wantDx = [...dx, ...[...tail].map((x) => series(x) + x * pdf(x))];
  const x32 = Float32Array.from(all), gotY = new Float32Array(all.length);
  const gotDx = new Float32Array(all.length);
  geluForward(x32, 0, gotY, 0, 0, all.length);
  geluBackward(x32, 0, new Float32Array(all.length).fill(1), 0, gotDx, 0, 0, all.length);
  all.forEach((x, i) => {
    // Relative to the value itself, down to float32's subnormals (at x = −13.3 GELU is 1e−39);
    // the gradient's Φ(x) + x·φ(x) cancels near x = −0.75, so there relative to its terms.
    const close = (got: number, want: number, scale: number) =>
      Math.abs(got - want) <= 3e-7 * scale + 2e-45;
    const terms = Math.abs(wantDx[i]) + 2 * Math.abs(x) * pdf(x);
    assert.ok(close(gotY[i], wantY[i], Math.abs(wantY[i])), `gelu(${x}) = ${gotY[i]}`);
    assert.ok(close(gotDx[i], wantDx[i], terms), `gelu'(${x}) = ${gotDx[i]}`);
  });
});

Deno.test("GELU on the fast kernels agrees with its plain loops to float32 rounding, tails, NaN and ±∞ included", async () => {
  const fast = await FastGemm.start({ threads: 2 });
  try {
    const n = 4 * 1000 + 3; // a partial vector at the end
    const x = fast.allocate(n), d = fast.allocate(n), y = fast.allocate(n), dx = fast.allocate(n);
    const rng = new Rng(5);
    for (let i = 0; i < n; i++) {
      x[i] = i % 2 === 0 ? 3 * rng.normal() : (i - n / 2) / 150; // up to ±13
      d[i] = rng.normal();
    }
    x.set([NaN, Infinity, -0, 0, 1e-40, -1e-40], 1000);
    x.set([NaN, -6, 5], n - 3); // in the one-lane tail
    x.set([-13, -13.3, -20, -Infinity], 2000); // about 1e−37, flushed to 0, 0, NaN
    assert.equal(fast.forChannels(GELU_FORWARD, [x, y], [], n), true);
    assert.equal(fast.forChannels(GELU_BACKWARD, [x, d, dx], [], n), true);
    const wantY = new Float64Array(n), wantDx = new Float64Array(n);
    geluForward(x, 0, wantY, 0, 0, n);
    geluBackward(x, 0, d, 0, wantDx, 0, 0, n);
    for (let i = 0; i < n; i++) {
      for (const [name, got, want] of [["y", y, wantY], ["dx", dx, wantDx]] as const) {
        if (Number.isNaN(want[i])) {
          assert.ok(Number.isNaN(got[i]), `${name}[${i}] = ${got[i]} for x = ${x[i]}, want NaN`);
          continue;
        }
        if (got[i] === want[i]) continue; // ±∞ too
        // In float32 the tails' exp(−x²/2) is as good as x²/2's rounding: relative error x²·ε.
        // And the gradient's Φ(x) + x·φ(x) cancels near x = −0.75: its rounding is relative to
        // its terms, |Φ(x)| + |x·φ(x)| < 1 + |x|.
        const tail = 2e-7 * (8 + x[i] ** 2) * Math.abs(want[i]);
        const terms = name === "y" ? 0 : 2e-6 * Math.abs(d[i]) * (1 + Math.abs(x[i]));
        const err = Math.abs(got[i] - want[i]);
        assert.ok(
          // Below x ≈ −13.2 the SIMD exp flushes to 0 what is under 1e−37.
          err <= tail + terms + 1e-37 * (1 + Math.abs(d[i])),
          `${name}[${i}] = ${got[i]} for x = ${x[i]}, want ${want[i]}`,
        );
      }
    }
    assert.equal(y[1001], Infinity);
  } finally {
    fast.close();
  }
});
