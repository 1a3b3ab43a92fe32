import assert from "node:assert/strict";
import { loadFixtures } from "../../fixtures/mod.ts";
import { UserError } from "../errors.ts";
import { Conv1D } from "../nn/conv1d.ts";
import { clone, zeros } from "../tensor.ts";
import { Adam } from "./adam.ts";
import { type BaseOptions, type Optimizer, resolveParams, splitWeightDecay } from "./optimizer.ts";
import { SGD } from "./sgd.ts";
import { fixtureOptimizer, replay, trajectoryParams } from "./testing.ts";

const fixtures = await loadFixtures("optim");

Deno.test("stateDict/loadStateDict mid-trajectory resumes every optimizer on PyTorch's path", () => {
  const cases = fixtures.cases.filter((c) =>
    typeof c.args.optimizer === "string" && !("group1_weight_decay" in c.args)
  );
  assert.ok(cases.length >= 18);
  for (const c of cases) {
    const params = trajectoryParams(fixtures, c);
    const opt = fixtureOptimizer(c.args, params);
    replay(fixtures, c, params, opt, 1, 3);
    const saved = opt.stateDict();
    // Another process: new parameter objects holding the saved values, a new optimizer.
    const copies = params.map((p) => ({ ...p, value: clone(p.value), grad: zeros(p.value.shape) }));
    const resumed = fixtureOptimizer(c.args, copies);
    resumed.loadStateDict(saved);
    const worst = replay(fixtures, c, copies, resumed, 4);
    assert.ok(worst < 1e-10, `${c.name}: max abs difference ${worst} after resuming`);
  }
});

Deno.test("stateDict is a copy, and loadStateDict restores the settings too", () => {
  const c = fixtures.cases.find((c) => c.name === "sgd-momentum")!;
  const params = trajectoryParams(fixtures, c);
  const opt = new SGD(params, { lr: 0.1, momentum: 0.9 });
  replay(fixtures, c, params, opt, 1, 2);
  const saved = opt.stateDict();
  assert.deepEqual(saved.paramGroups[0].params, [0, 1, 2]);
  const buffer = saved.state[0].momentum_buffer;
  assert.ok(typeof buffer === "object");
  const copy = buffer.data.slice();
  replay(fixtures, c, params, opt, 3, 3);
  assert.deepEqual(buffer.data, copy, "stepping does not change a saved state");
  opt.setLr(0.7);
  opt.paramGroups[0].momentum = 0.5;
  opt.loadStateDict(saved);
  assert.equal(opt.paramGroups[0].lr, c.tensors.get("lr")!.data[1]);
  assert.equal(opt.paramGroups[0].momentum, 0.9);
});

Deno.test("loadStateDict refuses a state that does not fit with a UserError and changes nothing", () => {
  const conv = new Conv1D(2, 3, 3);
  const opt = new SGD(conv, { lr: 0.1, momentum: 0.9 });
  conv.dW.data.fill(1);
  opt.step();
  const saved = opt.stateDict();
  const expect = (o: Optimizer<BaseOptions>, state: typeof saved, pattern: RegExp) =>
    assert.throws(() => o.loadStateDict(state), (e: Error) => {
      assert.ok(e instanceof UserError, String(e));
      assert.match(e.message, pattern);
      return true;
    });
  const other = new SGD(new Conv1D(2, 4, 3), { lr: 0.3, momentum: 0.9 });
  expect(other, saved, /momentum_buffer of shape \(3, 2, 3\) .* model's is \(4, 2, 3\)/);
  expect(new SGD(new Conv1D(2, 3, 3, 1, { bias: false }), { lr: 0.1 }), saved, /2 parameters/);
  expect(new SGD(splitWeightDecay(conv), { lr: 0.1 }), saved, /1 parameter groups .* has 2/);
  expect(new Adam(conv), saved, /SGD state is not for Adam/);
  expect(other, { ...saved, paramGroups: [{ ...saved.paramGroups[0], lr: -1 }] }, /invalid/);
  assert.equal(other.paramGroups[0].lr, 0.3, "settings unchanged");
  assert.deepEqual(other.stateDict().state, {}, "state unchanged");
});

Deno.test("zeroGrad zeroes gradients in place and splitWeightDecay exempts rank-1 tensors", () => {
  const conv = new Conv1D(2, 3, 3);
  const grad = conv.dW;
  grad.data.fill(2);
  conv.db!.data.fill(3);
  new SGD(conv, { lr: 0.1 }).zeroGrad();
  assert.equal(conv.dW, grad);
  assert.ok(conv.dW.data.every((g) => g === 0) && conv.db!.data.every((g) => g === 0));

  const [decay, noDecay] = splitWeightDecay(conv);
  assert.deepEqual(resolveParams(decay.params).map((p) => p.name), ["weight"]);
  assert.deepEqual(resolveParams(noDecay.params).map((p) => p.name), ["bias"]);
  const opt = new SGD([decay, noDecay], { lr: 1, weightDecay: 0.5 });
  assert.deepEqual(opt.paramGroups.map((g) => g.weightDecay), [0.5, 0]);
  const w = conv.W.data.slice(), b = conv.b!.data.slice();
  opt.step(); // zero gradients: only weight decay moves anything
  conv.W.data.forEach((v, i) => assert.equal(v, w[i] + -1 * (0.5 * w[i])));
  assert.deepEqual(conv.b!.data, b);
});
