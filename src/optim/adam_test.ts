import assert from "node:assert/strict";
import { loadFixtures } from "../../fixtures/mod.ts";
import { Adam, AdamW } from "./adam.ts";
import { fixtureOptimizer, replay, trajectoryParams } from "./testing.ts";

const fixtures = await loadFixtures("optim");
const adamCases = fixtures.cases.filter((c) => /^Adam/.test(String(c.args.optimizer)));

Deno.test("Adam and AdamW match torch.optim trajectories for every option to 1e-10", () => {
  assert.ok(adamCases.length >= 8);
  for (const c of adamCases) {
    const params = trajectoryParams(fixtures, c);
    const worst = replay(fixtures, c, params, fixtureOptimizer(c.args, params));
    assert.ok(worst < 1e-10, `${c.name}: max abs difference ${worst}`);
  }
});

Deno.test("Adam in float32 follows the float64 trajectory to float32 precision", () => {
  for (const c of adamCases) {
    const params = trajectoryParams(fixtures, c, "float32");
    const worst = replay(fixtures, c, params, fixtureOptimizer(c.args, params));
    assert.ok(worst < 1e-5, `${c.name} float32: max abs difference ${worst}`);
  }
});

Deno.test("AdamW defaults to PyTorch's weight decay 0.01 and Adam to none", () => {
  const params = trajectoryParams(fixtures, adamCases[0]);
  assert.equal(new AdamW(params).paramGroups[0].weightDecay, 0.01);
  assert.equal(new Adam(params).paramGroups[0].weightDecay, 0);
  assert.deepEqual(new Adam(params).paramGroups[0].betas, [0.9, 0.999]);
});

Deno.test("Adam rejects betas outside [0, 1)", () => {
  const params = trajectoryParams(fixtures, adamCases[0]);
  assert.throws(() => new Adam(params, { betas: [0.9, 1] }), /betas/);
  assert.throws(() => new AdamW(params, { eps: -1 }), /AdamW: eps/);
});
