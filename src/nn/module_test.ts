import assert from "node:assert/strict";
import { Rng } from "../random.ts";
import { type Tensor, zeros } from "../tensor.ts";
import { Conv1D } from "./conv1d.ts";
import { Layer, type Module, type NamedTensor, type Parameter } from "./module.ts";

/** A leaf with one parameter and one buffer, and a container of two of them. */
class Leaf extends Layer {
  w = zeros([2]);
  dw = zeros([2]);
  stat = zeros([1]);
  forward(x: Tensor): Tensor {
    return x;
  }
  backward(delta: Tensor): Tensor {
    return delta;
  }
  override ownParameters(): Parameter[] {
    return [{ name: "weight", value: this.w, grad: this.dw }];
  }
  override ownBuffers(): NamedTensor[] {
    return [{ name: "stat", value: this.stat }];
  }
}

class Pair extends Layer {
  constructor(readonly a: Module, readonly b: Module) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x));
  }
  backward(delta: Tensor): Tensor {
    return this.a.backward(this.b.backward(delta));
  }
  override namedChildren(): [string, Module][] {
    return [["a", this.a], ["b", this.b]];
  }
}

Deno.test("Layer prefixes descendants' parameter and buffer names with the child path", () => {
  const inner = new Leaf();
  const net = new Pair(new Leaf(), new Pair(inner, new Leaf()));
  assert.deepEqual(net.parameters().map((p) => p.name), ["a.weight", "b.a.weight", "b.b.weight"]);
  assert.deepEqual(net.buffers().map((b) => b.name), ["a.stat", "b.a.stat", "b.b.stat"]);
  assert.equal(net.parameters()[1].value, inner.w);
  assert.equal(net.buffers()[1].value, inner.stat);
  // Asking again does not rename anything: names are built fresh each call.
  assert.deepEqual(inner.parameters().map((p) => p.name), ["weight"]);
});

Deno.test("Layer's train(mode) and eval() set the mode recursively and return the module", () => {
  const inner = new Leaf();
  const net = new Pair(new Leaf(), new Pair(inner, new Leaf()));
  assert.equal(inner.training, true);
  assert.equal(net.eval(), net);
  assert.equal(inner.training, false);
  assert.equal(net.train(), net);
  assert.equal(inner.training, true);
});

Deno.test("Conv1D keeps its gradient tensors across backward calls too", () => {
  const conv = new Conv1D(2, 3, 3);
  const [w, b] = conv.parameters();
  conv.backward(new Rng(1).fillNormal(zeros(conv.forward(zeros([2, 2, 8])).shape)));
  assert.equal(conv.dW, w.grad);
  assert.equal(conv.db, b.grad);
  assert.ok(b.grad.data.some((g) => g !== 0));
});
