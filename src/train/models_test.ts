import assert from "node:assert/strict";
import { GELU, ReLU } from "../nn/activation.ts";
import { Conv2D } from "../nn/conv2d.ts";
import { crossEntropy } from "../nn/loss.ts";
import type { Module } from "../nn/module.ts";
import { BatchNorm2D } from "../nn/norm.ts";
import { Residual } from "../nn/residual.ts";
import { Scale } from "../nn/scale.ts";
import type { Sequential } from "../nn/sequential.ts";
import { SGD } from "../optim/sgd.ts";
import { Rng } from "../random.ts";
import { contiguous, zeros } from "../tensor.ts";
import { buildModel, macsPerImage, type ModelSpec } from "./models.ts";

const SPEC: ModelSpec = { arch: "vgg", widths: [4, 6, 6, 8], rng: new Rng(0) };

/** The model's layers, those inside residual blocks included, of type `T`. */
function layersOf<T extends Module>(
  model: Sequential,
  type: abstract new (...args: never[]) => T,
): T[] {
  return model.layers.flatMap((layer) =>
    layer instanceof Residual ? (layer.body as Sequential).layers : [layer]
  ).filter((layer): layer is T => layer instanceof type);
}

for (const arch of ["vgg", "resnet"] as const) {
  Deno.test(`buildModel(${arch}) with identityInit starts every conv after the stem as the identity on its first filters`, () => {
    const model = buildModel({ ...SPEC, arch, identityInit: true, rng: new Rng(0) });
    const [stem, ...convs] = layersOf(model, Conv2D);
    assert.equal(convs.length, 6);
    // The stem keeps PyTorch's random init, like the filters past the identity ones.
    assert.ok(stem.W.data.every((v) => v !== 0));
    for (const conv of convs) {
      const [out, cin] = conv.W.shape;
      for (let o = 0; o < out; o++) {
        const filter = [...conv.W.data.subarray(o * cin * 9, (o + 1) * cin * 9)];
        if (o < cin) {
          assert.deepEqual(filter, filter.map((_, i) => i === o * 9 + 4 ? 1 : 0), `filter ${o}`);
        } else assert.ok(filter.every((v) => v !== 0 && Math.abs(v) < 1), `filter ${o}`);
      }
    }
    // Without it, the same generator gives the same random filters everywhere.
    const plain = layersOf(buildModel({ ...SPEC, arch, rng: new Rng(0) }), Conv2D);
    const last = convs.at(-1)!, lastPlain = plain.at(-1)!;
    const cin = last.W.shape[1];
    assert.deepEqual(
      [...last.W.data.subarray(cin * cin * 9)],
      [...lastPlain.W.data.subarray(cin * cin * 9)],
    );
  });
}

Deno.test("buildModel with bnWeight false: BatchNorm's scale stays 1 while its shift learns", () => {
  const model = buildModel({ ...SPEC, bnWeight: false, rng: new Rng(1) });
  const norms = layersOf(model, BatchNorm2D);
  assert.equal(norms.length, 7);
  const frozen = model.parameters().filter((p) => p.requiresGrad === false).map((p) => p.name);
  assert.deepEqual(frozen, norms.map((_, i) => `${model.layers.indexOf(norms[i])}.weight`));
  const sgd = new SGD(model, { lr: 0.5, momentum: 0.9 });
  const x = new Rng(2).fillNormal(zeros([4, 3, 32, 32], "float32"));
  for (let step = 0; step < 2; step++) {
    const { grad } = crossEntropy(contiguous(model.forward(x)), new Uint8Array([0, 1, 2, 3]));
    model.backward(grad);
    sgd.step();
  }
  for (const bn of norms) {
    assert.ok(bn.weight!.data.every((v) => v === 1));
    assert.ok(bn.bias!.data.some((v) => v !== 0));
  }
  // With the default, the scale learns too.
  const learned = buildModel({ ...SPEC, rng: new Rng(1) });
  assert.ok(learned.parameters().every((p) => p.requiresGrad !== false));
});

Deno.test("buildModel gives every BatchNorm the running-statistics momentum asked (default 0.1)", () => {
  for (const [asked, want] of [[undefined, 0.1], [0.6, 0.6]] as const) {
    const model = buildModel({ ...SPEC, arch: "resnet", bnMomentum: asked, rng: new Rng(1) });
    const norms = layersOf(model, BatchNorm2D);
    assert.equal(norms.length, 7);
    assert.ok(norms.every((bn) => bn.momentum === want), `momentum ${asked}`);
  }
});

Deno.test("buildModel with logitScale ends in a Scale of the logits; at 1 the layers are as before", () => {
  const plain = buildModel({ ...SPEC, rng: new Rng(2) });
  const scaled = buildModel({ ...SPEC, logitScale: 1 / 9, rng: new Rng(2) });
  assert.equal(scaled.layers.length, plain.layers.length + 1);
  assert.ok(scaled.layers.at(-1) instanceof Scale);
  assert.deepEqual(
    scaled.parameters().map((p) => p.name),
    plain.parameters().map((p) => p.name),
    "the same state_dict keys",
  );
  const x = new Rng(3).fillNormal(zeros([2, 3, 32, 32], "float32"), 0, 1);
  const want = contiguous(plain.forward(x)).data.map((v) => v / 9);
  const got = contiguous(scaled.forward(x)).data;
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `logit ${i}`);
});

Deno.test("buildModel with activation gelu puts a GELU wherever the default has a ReLU", () => {
  for (const arch of ["vgg", "resnet"] as const) {
    const kinds = (model: Sequential) =>
      model.layers.flatMap((layer) =>
        layer instanceof Residual ? (layer.body as Sequential).layers : [layer]
      ).map((layer) => layer.constructor.name);
    const plain = buildModel({ ...SPEC, arch, rng: new Rng(4) });
    const gelu = buildModel({ ...SPEC, arch, activation: "gelu", rng: new Rng(4) });
    assert.equal(layersOf(plain, GELU).length, 0);
    assert.equal(layersOf(gelu, ReLU).length, 0);
    assert.deepEqual(kinds(gelu), kinds(plain).map((k) => k === "ReLU" ? "GELU" : k), arch);
    assert.deepEqual(
      gelu.parameters().map((p) => p.name),
      plain.parameters().map((p) => p.name),
      "the same state_dict keys",
    );
  }
});

Deno.test("buildModel with stemKernel 2: an unpadded 2×2 stem, maps of 31, 15, 7 and 3, and the pool to match", () => {
  const model = buildModel({ ...SPEC, stemKernel: 2, stemNorm: false });
  const stem = model.layers[0] as Conv2D;
  assert.deepEqual([stem.kernelSize, stem.padding], [[2, 2], [0, 0]]);
  const sizes: number[] = [];
  let x = zeros([2, 3, 32, 32], "float32");
  for (const layer of model.layers) {
    x = layer.forward(x);
    if (layer instanceof Conv2D) sizes.push(x.shape[2]);
  }
  assert.deepEqual(sizes, [31, 31, 15, 15, 7, 7, 3]);
  assert.deepEqual(x.shape, [2, 10]);
  // The 3×3 stem's sizes are 32, 16, 8, 4, and its multiply-adds are counted as before.
  assert.equal(
    macsPerImage({ widths: [4, 6, 6, 8] }),
    3 * 4 * 9 * 1024 + 4 * 6 * 9 * 1024 +
      6 * 6 * 9 * 256 + 6 * 6 * 9 * 256 + 6 * 6 * 9 * 64 + 6 * 8 * 9 * 64 + 8 * 8 * 9 * 16 + 80,
  );
  assert.equal(
    macsPerImage({ widths: [4, 6, 6, 8], stemKernel: 2 }),
    3 * 4 * 4 * 961 +
      4 * 6 * 9 * 961 + 6 * 6 * 9 * 225 + 6 * 6 * 9 * 225 + 6 * 6 * 9 * 49 + 6 * 8 * 9 * 49 +
      8 * 8 * 9 * 9 + 80,
  );
});
