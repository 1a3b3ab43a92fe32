/**
 * Test support for the layers: builds the layer each `layers` fixture case describes and
 * checks it against PyTorch's numbers. Used by the layers' `*_test.ts`; not public API.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type FixtureCase, type Fixtures, loadFixtures } from "../../fixtures/mod.ts";
import { allocate, clone, type DType, maxAbsDiff, type Tensor, tensor } from "../tensor.ts";
import { GELU, ReLU } from "./activation.ts";
import { Conv2D } from "./conv2d.ts";
import { Flatten } from "./flatten.ts";
import { Linear } from "./linear.ts";
import { crossEntropy } from "./loss.ts";
import type { Module } from "./module.ts";
import { BatchNorm2D } from "./norm.ts";
import { AvgPool2D, GlobalAvgPool2D, MaxPool2D } from "./pool.ts";
import { Residual } from "./residual.ts";
import { Sequential } from "./sequential.ts";

/** The `layers` suite, loaded once. */
export const layerFixtures: Fixtures = await loadFixtures("layers");

/** The cases of one kind (`conv2d`, `batchnorm2d`, `vgg`, …), at least one. */
export function casesOf(kind: string): FixtureCase[] {
  const cases = layerFixtures.cases.filter((c) => c.args.kind === kind);
  assert.ok(cases.length > 0, `no "${kind}" cases in fixtures/layers.json`);
  return cases;
}

/** The VGG-style net of `fixtures/generate.py`'s `vgg_net`. */
export function vggNet(dtype: DType): Module {
  return new Sequential(
    new Conv2D(3, 6, 3, 1, { padding: 1, dtype }),
    new BatchNorm2D(6, { dtype }),
    new ReLU(),
    new MaxPool2D(2),
    new Conv2D(6, 8, 3, 1, { padding: 1, bias: false, dtype }),
    new BatchNorm2D(8, { dtype }),
    new GELU(),
    new AvgPool2D(2),
    new Flatten(),
    new Linear(8 * 2 * 2, 5, { dtype }),
  );
}

/** The small ResNet of `fixtures/generate.py`'s `resnet_net`. */
export function resnetNet(dtype: DType): Module {
  const conv = (i: number, o: number, k: number, s: number, padding: number) =>
    new Conv2D(i, o, k, s, { padding, bias: false, dtype });
  const bn = (c: number) => new BatchNorm2D(c, { dtype });
  return new Sequential(
    conv(3, 4, 3, 1, 1),
    bn(4),
    new ReLU(),
    new Residual(
      new Sequential(conv(4, 4, 3, 1, 1), bn(4), new ReLU(), conv(4, 4, 3, 1, 1), bn(4)),
    ),
    new ReLU(),
    new Residual(
      new Sequential(conv(4, 6, 3, 2, 1), bn(6), new ReLU(), conv(6, 6, 3, 1, 1), bn(6)),
      new Sequential(conv(4, 6, 1, 2, 0), bn(6)),
    ),
    new ReLU(),
    new GlobalAvgPool2D(),
    new Flatten(),
    new Linear(6, 3, { dtype }),
  );
}

/** The layer a fixture case describes, in `dtype`, with its own (not PyTorch's) weights. */
export function buildLayer(c: FixtureCase, dtype: DType): Module {
  const a = c.args as Record<string, number> & Record<string, boolean>;
  const hw = (name: string) => [a[`${name}_h`], a[`${name}_w`]] as [number, number];
  switch (c.args.kind) {
    case "conv2d":
      return new Conv2D(a.in_channels, a.out_channels, hw("kernel"), hw("stride"), {
        padding: hw("pad"),
        bias: a.bias,
        dtype,
      });
    case "linear":
      return new Linear(a.in_features, a.out_features, { bias: a.bias, dtype });
    case "relu":
      return new ReLU();
    case "gelu":
      return new GELU();
    case "maxpool2d":
      return new MaxPool2D(hw("kernel"), hw("stride"), hw("pad"));
    case "avgpool2d":
      return new AvgPool2D(hw("kernel"), hw("stride"), hw("pad"), {
        countIncludePad: a.count_include_pad ?? true,
      });
    case "global_avg_pool":
      return new GlobalAvgPool2D();
    case "batchnorm2d":
      return new BatchNorm2D(a.num_features, {
        eps: a.eps,
        momentum: a.momentum,
        affine: a.affine,
        dtype,
      });
    case "flatten":
      return new Flatten(a.start_dim, a.end_dim);
    case "vgg":
      return vggNet(dtype);
    case "resnet":
      return resnetNet(dtype);
  }
  throw new Error(`unknown layer kind ${c.args.kind}`);
}

/**
 * Runs case `c` through a fresh layer in `dtype` with PyTorch's weights and buffers: a
 * training step (output, input gradient, parameter gradients, updated buffers), then, for
 * layers with buffers, eval mode (output, input gradient). Asserts that every result is
 * within `tolerance` of PyTorch's, relative to the larger of 1 and the reference's
 * largest magnitude; returns the worst such error.
 */
export function checkCase(c: FixtureCase, dtype: DType, tolerance: number): number {
  const f = layerFixtures;
  const layer = buildLayer(c, dtype);
  const input = (name: string, shape?: readonly number[]) => clone(f.tensor(c, name, shape), dtype);
  const tensorNames = [...c.tensors.keys()];
  const names = (prefix: string) =>
    tensorNames.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();

  // The names must be PyTorch's state_dict keys, exactly.
  assert.deepEqual(layer.parameters().map((p) => p.name).sort(), names("param:"), c.name);
  assert.deepEqual(layer.buffers().map((b) => b.name).sort(), names("buffer:"), c.name);
  for (const p of layer.parameters()) {
    p.value.data.set(input(`param:${p.name}`, p.value.shape).data);
  }
  for (const b of layer.buffers()) b.value.data.set(input(`buffer:${b.name}`, b.value.shape).data);

  let worst = 0;
  const compare = (got: Tensor, name: string) => {
    const want = f.tensor(c, name);
    assert.equal(got.data instanceof Float32Array, dtype === "float32", `${c.name} ${name} dtype`);
    let scale = 1;
    for (const v of want.data) scale = Math.max(scale, Math.abs(v));
    const err = maxAbsDiff(got, want) / scale;
    assert.ok(err < tolerance, `${c.name} ${name} (${dtype}): relative error ${err}`);
    worst = Math.max(worst, err);
  };

  const grads = layer.parameters().map((p) => p.grad);
  layer.train();
  const y = layer.forward(input("x"));
  compare(y, "y");
  if (c.tensors.has("loss")) {
    // End to end: the delta is the cross-entropy's gradient, as PyTorch's loss.backward().
    const targets = Array.from(f.tensor(c, "target").data);
    const { loss, grad } = crossEntropy(y, targets, {
      labelSmoothing: c.args.label_smoothing as number,
    });
    compare(tensor(allocate(1, dtype).fill(loss), [1]), "loss");
    compare(layer.backward(grad), "dx");
  } else {
    compare(layer.backward(input("delta")), "dx");
  }
  // backward writes into the gradient tensors it handed out, so an optimizer may keep them.
  layer.parameters().forEach((p, i) => assert.equal(p.grad, grads[i], `${c.name} ${p.name}`));
  for (const p of layer.parameters()) compare(p.grad, `grad:${p.name}`);
  for (const b of layer.buffers()) compare(b.value, `buffer_after:${b.name}`);
  if (c.tensors.has("y_eval")) {
    layer.eval();
    compare(layer.forward(input("x")), "y_eval");
    compare(layer.backward(input("delta")), "dx_eval");
  }
  return worst;
}

/**
 * The standard pair of fixture tests for one kind of layer: every case in float64 to
 * 1e-10, and in float32 to `float32Tolerance` (relative to the reference's scale).
 */
export function fixtureTests(kind: string, label: string, float32Tolerance = 1e-5): void {
  Deno.test(`${label} matches PyTorch on every fixture case to 1e-10 (float64)`, () => {
    for (const c of casesOf(kind)) checkCase(c, "float64", 1e-10);
  });
  Deno.test(`${label} matches PyTorch in float32 to float32 precision`, () => {
    for (const c of casesOf(kind)) checkCase(c, "float32", float32Tolerance);
  });
}
