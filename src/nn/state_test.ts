import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import { Rng } from "../random.ts";
import { clone, type Tensor, tensor, zeros } from "../tensor.ts";
import { Conv1D } from "./conv1d.ts";
import type { Module, Parameter } from "./module.ts";
import { checkStateDict, countParameters, loadStateDict, stateDict } from "./state.ts";

/** A test module with a child-like prefix and a buffer, as BatchNorm-bearing nets have. */
class Buffered {
  conv = new Conv1D(2, 3, 3, 1, { rng: new Rng(5) });
  runningMean = zeros([3]);
  training = true;
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
  backward(delta: Tensor): Tensor {
    return this.conv.backward(delta);
  }
  parameters(): Parameter[] {
    return this.conv.parameters().map((p) => ({ ...p, name: `0.${p.name}` }));
  }
  buffers() {
    return [{ name: "1.running_mean", value: this.runningMean }];
  }
  namedChildren(): [string, Module][] {
    return [];
  }
  train(mode = true): this {
    this.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
}

Deno.test("parameters, buffers and countParameters list the model's state", () => {
  const conv = new Conv1D(8, 12, 3);
  assert.deepEqual(conv.parameters().map((p) => p.name), ["weight", "bias"]);
  assert.equal(countParameters(conv), 12 * 8 * 3 + 12);
  assert.equal(countParameters(new Conv1D(8, 12, 3, 1, { bias: false })), 12 * 8 * 3);
  assert.deepEqual(conv.buffers(), []);
  const net = new Buffered();
  assert.deepEqual(net.buffers().map((b) => b.name), ["1.running_mean"]);
  assert.deepEqual([...stateDict(net).keys()], ["0.weight", "0.bias", "1.running_mean"]);
  assert.equal(stateDict(net).get("0.weight"), net.conv.W, "the model's own tensors");
});

Deno.test("loadStateDict copies in place, across dtypes, parameters and buffers", () => {
  const source = new Buffered();
  source.runningMean.data.set([1, 2, 3]);
  const target = new Buffered();
  target.conv.W.data.fill(0);
  const W = target.conv.W;
  const result = loadStateDict(target, stateDict(source));
  assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(target.conv.W, W, "the same tensor object, so optimizers keep working");
  assert.deepEqual(target.conv.W.data, source.conv.W.data);
  assert.deepEqual(Array.from(target.runningMean.data), [1, 2, 3]);

  const f32 = new Conv1D(2, 3, 3, 1, { dtype: "float32" });
  loadStateDict(f32, stateDict(source.conv));
  assert.deepEqual(f32.W.data, new Float32Array(source.conv.W.data));
});

Deno.test("loadStateDict refuses a state that does not fit, naming the keys, and changes nothing", () => {
  const net = new Buffered();
  const before = clone(net.conv.W);
  const state = new Map(stateDict(new Buffered()));
  state.get("0.weight")!.data.fill(7);

  const missing = new Map(state);
  missing.delete("1.running_mean");
  const rejects = (s: Map<string, Tensor>, pattern: RegExp) =>
    assert.throws(() => loadStateDict(net, s), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, pattern);
      return true;
    });
  rejects(missing, /lacks 1\.running_mean/);
  rejects(new Map([...state, ["2.weight", zeros([1])]]), /has extra 2\.weight/);
  rejects(
    new Map([...state, ["0.bias", tensor(new Float64Array(4), [4])]]),
    /0\.bias has shape \(4,\) but the model's is \(3,\)/,
  );
  assert.deepEqual(net.conv.W.data, before.data, "nothing was copied");

  assert.deepEqual(loadStateDict(net, missing, { strict: false }), {
    missingKeys: ["1.running_mean"],
    unexpectedKeys: [],
  });
  assert.equal(net.conv.W.data[0], 7);
  assert.doesNotThrow(() => checkStateDict(net, state));
});
