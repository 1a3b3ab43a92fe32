import assert from "node:assert/strict";
import { loadFixtures } from "../../fixtures/mod.ts";
import { Conv1D } from "../nn/conv1d.ts";
import { Rng } from "../random.ts";
import { zeros } from "../tensor.ts";
import { SGD } from "./sgd.ts";
import { fixtureOptimizer, replay, trajectoryParams } from "./testing.ts";

const fixtures = await loadFixtures("optim");
const sgdCases = fixtures.cases.filter((c) => c.args.optimizer === "SGD");

Deno.test("SGD matches torch.optim.SGD trajectories for every option to 1e-10", () => {
  assert.ok(sgdCases.length >= 11);
  for (const c of sgdCases) {
    const params = trajectoryParams(fixtures, c);
    const opt = fixtureOptimizer(
      c.args,
      "group1_weight_decay" in c.args
        ? [{ params: params.slice(0, 1) }, {
          params: params.slice(1),
          weightDecay: c.args.group1_weight_decay as number,
        }]
        : params,
    );
    const worst = replay(fixtures, c, params, opt);
    assert.ok(worst < 1e-10, `${c.name}: max abs difference ${worst}`);
  }
});

Deno.test("SGD's course formulation equals PyTorch's at a constant lr and differs when it changes", () => {
  const c = sgdCases.find((c) => c.name === "sgd-momentum")!;
  const run = (formulation: "pytorch" | "course", lrs: number[]) => {
    const params = trajectoryParams(fixtures, c);
    const opt = new SGD(params, { lr: 0.1, momentum: 0.9, formulation });
    lrs.forEach((lr, t) => {
      opt.setLr(lr);
      params.forEach((p, i) => p.grad.data.set(fixtures.tensor(c, `g${t + 1}_${i}`).data));
      opt.step();
    });
    return params[0].value.data;
  };
  const constant = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1];
  const a = run("pytorch", constant), b = run("course", constant);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-14));
  const changing = [0.1, 0.1, 0.01, 0.01, 0.01, 0.01];
  const x = run("pytorch", changing), y = run("course", changing);
  assert.ok(x.some((v, i) => Math.abs(v - y[i]) > 1e-3), "the formulations differ once lr changes");
});

Deno.test("SGD in float32 follows the float64 trajectory to float32 precision", () => {
  for (const c of sgdCases) {
    if ("group1_weight_decay" in c.args) continue; // the group split is checked in float64
    const params = trajectoryParams(fixtures, c, "float32");
    const opt = fixtureOptimizer(c.args, params);
    const worst = replay(fixtures, c, params, opt);
    assert.ok(worst < 1e-5, `${c.name} float32: max abs difference ${worst}`);
  }
});

Deno.test("SGD reads a Module's parameters afresh each step, so replaced gradient tensors count", () => {
  const conv = new Conv1D(2, 3, 3, 1, { rng: new Rng(1) });
  const opt = new SGD(conv, { lr: 0.5 }); // before backward replaces conv.dW
  const y = conv.forward(new Rng(2).fillNormal(zeros([2, 2, 7])));
  conv.backward(new Rng(3).fillNormal(zeros(y.shape)));
  const expected = conv.W.data.map((w, i) => w + -0.5 * conv.dW.data[i]);
  opt.step();
  assert.deepEqual(conv.W.data, expected);
  assert.ok(conv.dW.data.some((g) => g !== 0));
});

Deno.test("SGD rejects settings PyTorch rejects", () => {
  const params = trajectoryParams(fixtures, sgdCases[0]);
  assert.throws(() => new SGD(params, { lr: -1 }), /lr must be/);
  assert.throws(() => new SGD(params, { lr: 0.1, nesterov: true }), /Nesterov/);
  assert.throws(
    () => new SGD(params, { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }),
    /Nesterov/,
  );
  assert.throws(
    () => new SGD(params, { lr: 0.1, momentum: 0.9, dampening: 0.1, formulation: "course" }),
    /no dampening/,
  );
});
