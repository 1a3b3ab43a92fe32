import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { zeros } from "../tensor.ts";
import { ReLU } from "./activation.ts";
import { Conv2D } from "./conv2d.ts";
import { Dropout } from "./dropout.ts";
import { Flatten } from "./flatten.ts";
import { Linear } from "./linear.ts";
import { BatchNorm2D } from "./norm.ts";
import { MaxPool2D } from "./pool.ts";
import { Sequential } from "./sequential.ts";
import { fixtureTests, vggNet } from "./testing.ts";

// A VGG-style net (conv, BN, ReLU, max pool, conv, BN, GELU, avg pool, flatten, linear):
// same weights and buffers in, same output, input gradient, every parameter gradient and
// updated running statistics out as PyTorch, by PyTorch's state_dict names. Two cases run
// end to end through the cross-entropy loss (with and without label smoothing).
fixtureTests("vgg", "A VGG-style Sequential net");

Deno.test("Sequential names parameters and buffers by PyTorch's state_dict keys", () => {
  const net = vggNet("float64");
  assert.deepEqual(net.parameters().map((p) => p.name), [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "4.weight",
    "5.weight",
    "5.bias",
    "9.weight",
    "9.bias",
  ]);
  assert.deepEqual(net.buffers().map((b) => b.name), [
    "1.running_mean",
    "1.running_var",
    "5.running_mean",
    "5.running_var",
  ]);
  assert.deepEqual(net.namedChildren().map(([name]) => name), [
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
  ]);
});

Deno.test("Sequential's parameters are the layers' own tensors, so in-place updates stick", () => {
  const fc = new Linear(3, 2);
  const net = new Sequential(new Flatten(), fc);
  const [w] = net.parameters();
  assert.equal(w.value, fc.W);
  assert.equal(w.grad, fc.dW);
  net.backward(zeros(net.forward(new Rng(1).fillNormal(zeros([4, 3]))).shape));
  assert.equal(net.parameters()[0].grad, fc.dW, "backward keeps the same gradient tensor");
  w.value.data[0] = 42;
  assert.equal(fc.W.data[0], 42);
});

Deno.test("train() and eval() reach every layer of nested containers", () => {
  const drop = new Dropout(0.5), bn = new BatchNorm2D(2);
  const net = new Sequential(
    new Conv2D(1, 2, 1),
    new Sequential(bn, new ReLU(), drop),
    new MaxPool2D(1),
  );
  assert.ok(net.training && bn.training && drop.training);
  assert.equal(net.eval(), net);
  assert.ok(!net.training && !bn.training && !drop.training);
  net.train();
  assert.ok(bn.training && drop.training);
  net.train(false);
  assert.ok(!drop.training);
});
