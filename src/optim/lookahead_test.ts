import assert from "node:assert/strict";
import { UserError } from "../errors.ts";
import type { Parameter } from "../nn/module.ts";
import { tensor } from "../tensor.ts";
import { Lookahead } from "./lookahead.ts";
import { SGD } from "./sgd.ts";

/** One float64 parameter with the given values and a gradient of ones. */
function param(values: number[]): Parameter {
  return {
    name: "w",
    value: tensor(Float64Array.from(values), [values.length]),
    grad: tensor(new Float64Array(values.length).fill(1), [values.length]),
  };
}

Deno.test("Lookahead pulls the slow weights toward the fast ones and sets the fast to them", () => {
  const p = param([1, 2]);
  const opt = new Lookahead(new SGD([p], { lr: 0.5 }));
  opt.step(); // fast = [0.5, 1.5], slow still [1, 2]
  assert.deepEqual([...p.value.data], [0.5, 1.5]);
  opt.sync(0.75); // slow = 0.75·[1, 2] + 0.25·[0.5, 1.5]
  assert.deepEqual([...p.value.data], [0.875, 1.875]);
  opt.step(); // fast = [0.375, 1.375]
  opt.sync(0); // slow follows the fast weights entirely
  assert.deepEqual([...p.value.data], [0.375, 1.375]);
  opt.step(); // fast = [-0.125, 0.875]
  opt.sync(1); // back to the slow weights
  assert.deepEqual([...p.value.data], [0.375, 1.375]);
  assert.throws(() => opt.sync(1.5), RangeError);
});

Deno.test("Lookahead's state holds the slow weights and restores them exactly", () => {
  const p = param([1, 2]);
  const opt = new Lookahead(new SGD([p], { lr: 0.5, momentum: 0.9 }));
  opt.step();
  const saved = opt.stateDict();
  assert.deepEqual([...(saved.state[0].slow_param as { data: Float64Array }).data], [1, 2]);
  assert.ok(saved.state[0].momentum_buffer);

  const q = param([0.5, 1.5]);
  const other = new Lookahead(new SGD([q], { lr: 0.1 }));
  other.loadStateDict(saved);
  other.sync(1);
  assert.deepEqual([...q.value.data], [1, 2]);
  assert.equal(other.optimizer.paramGroups[0].momentum, 0.9);
});

Deno.test("Lookahead refuses slow weights of another shape and changes nothing", () => {
  const opt = new Lookahead(new SGD([param([1, 2, 3])], { lr: 0.5 }));
  const saved = new Lookahead(new SGD([param([1, 2])], { lr: 0.1, momentum: 0.9 }));
  saved.step();
  assert.throws(() => opt.loadStateDict(saved.stateDict()), UserError);
  assert.equal(opt.optimizer.paramGroups[0].lr, 0.5);
});

Deno.test("Lookahead loads a plain optimizer's state and starts its slow weights there", () => {
  const p = param([1, 2]);
  const plain = new SGD([p], { lr: 0.5 });
  plain.step(); // p = [0.5, 1.5]
  const opt = new Lookahead(new SGD([p], { lr: 0.1 }));
  opt.loadStateDict(plain.stateDict());
  p.value.data.set([4, 5]); // as a checkpoint loads the model after the optimizer
  opt.sync(1);
  assert.deepEqual([...p.value.data], [4, 5]);
});
