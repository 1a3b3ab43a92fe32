import assert from "node:assert/strict";
import { ReLU } from "../nn/activation.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { MaxPool2D } from "../nn/pool.ts";
import { Sequential } from "../nn/sequential.ts";
import { Rng } from "../random.ts";
import { clone, type Tensor, tensor, zeros } from "../tensor.ts";
import { RELU_BITS } from "./channel_kernels.ts";
import { FastGemm, useFastKernels, useReferenceKernels } from "./gemm_fast.ts";

/** BatchNorm → ReLU → 2×2 max-pool, with the same non-trivial affine parameters each time. */
function bnReluPool(): Sequential {
  const bn = new BatchNorm2D(8, { dtype: "float32" });
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

Deno.test("BatchNorm2D, ReLU and MaxPool2D split across the fast kernels' threads give the one-thread results exactly", async () => {
  const rng = new Rng(9);
  const shape = [6, 8, 12, 12];
  const x = rng.fillNormal(zeros(shape, "float32"));
  const delta = rng.fillNormal(zeros([6, 8, 6, 6], "float32"));
  const want = run(bnReluPool(), x, delta);
  const fast = await useFastKernels({ threads: 2 });
  try {
    // Input and delta in the shared memory too, as a conv before and a layer after would give.
    const shared = (t: Tensor) => {
      const data = fast.allocate(t.size);
      data.set(t.data);
      return tensor(data, t.shape);
    };
    const sx = shared(x), sd = shared(delta);
    assert.ok(sx.data.buffer instanceof SharedArrayBuffer);
    const got = run(bnReluPool(), sx, sd);
    const names = ["y", "dx", "dWeight", "dBias", "running_mean", "running_var", "eval y"];
    names.forEach((name, i) => assert.deepEqual(got[i], want[i], name));
  } finally {
    useReferenceKernels();
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
