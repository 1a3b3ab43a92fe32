import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { maxAbsDiff, zeros } from "../tensor.ts";
import { ReLU } from "./activation.ts";
import { Conv2D } from "./conv2d.ts";
import { ShapeError } from "./module.ts";
import { Residual } from "./residual.ts";
import { Sequential } from "./sequential.ts";
import { fixtureTests, resnetNet } from "./testing.ts";

// A small ResNet: an identity block and a strided block with a projection shortcut.
fixtureTests("resnet", "A small ResNet of Residual blocks");

Deno.test("Residual names its children body and shortcut, as the PyTorch block does", () => {
  const names = resnetNet("float64").parameters().map((p) => p.name);
  assert.ok(names.includes("3.body.0.weight"));
  assert.ok(names.includes("5.shortcut.1.bias"));
  assert.ok(!names.some((n) => n.startsWith("3.shortcut")));
});

Deno.test("an identity Residual adds the input to the body and the delta to its gradient", () => {
  const rng = new Rng(2);
  const body = new Sequential(new Conv2D(2, 2, 3, 1, { padding: 1, rng }), new ReLU());
  const block = new Residual(body);
  const x = rng.fillNormal(zeros([1, 2, 4, 4]));
  const y = block.forward(x), plain = body.forward(x);
  for (let i = 0; i < y.data.length; i++) {
    assert.ok(Math.abs(y.data[i] - plain.data[i] - x.data[i]) < 1e-15);
  }
  const delta = rng.fillNormal(zeros(y.shape));
  const dx = block.backward(delta), bodyDx = body.backward(delta);
  for (let i = 0; i < dx.data.length; i++) bodyDx.data[i] += delta.data[i];
  assert.ok(maxAbsDiff(dx, bodyDx) < 1e-15);
});

Deno.test("Residual says so when the body changes the shape and there is no shortcut", () => {
  const block = new Residual(new Conv2D(2, 4, 3, 2, { padding: 1 }));
  assert.throws(
    () => block.forward(zeros([1, 2, 6, 6])),
    (e: Error) =>
      e instanceof ShapeError && e.message.includes("(1, 4, 3, 3)") &&
      e.message.includes("(1, 2, 6, 6)") && e.message.includes("add a shortcut"),
  );
});
