import assert from "node:assert/strict";
import { loadFixtures } from "../../fixtures/mod.ts";
import {
  cosineAnnealingLR,
  linearWarmup,
  multiStepLR,
  oneCycleLR,
  oneCycleMomentum,
  piecewiseLinear,
  type Schedule,
  stepLR,
} from "./schedule.ts";

const fixtures = await loadFixtures("optim");

function scheduleFor(name: string, a: Record<string, number | boolean | string>): Schedule[] {
  const lr = a.lr as number;
  const oneCycle = {
    maxLr: a.max_lr as number,
    totalSteps: a.total_steps as number,
    pctStart: a.pct_start as number | undefined,
    annealStrategy: a.anneal_strategy as "cos" | "linear" | undefined,
    divFactor: a.div_factor as number | undefined,
    finalDivFactor: a.final_div_factor as number | undefined,
    threePhase: a.three_phase as boolean | undefined,
    baseMomentum: a.base_momentum as number | undefined,
    maxMomentum: a.max_momentum as number | undefined,
  };
  const warmup = { warmupSteps: a.warmup_steps as number, startFactor: a.start_factor as number };
  switch (name) {
    case "step-lr":
      return [stepLR({ lr, stepSize: a.step_size as number, gamma: a.gamma as number })];
    case "multistep-lr":
      return [multiStepLR({
        lr,
        milestones: String(a.milestones).split(",").map(Number),
        gamma: a.gamma as number,
      })];
    case "cosine":
    case "cosine-eta-min":
      return [cosineAnnealingLR({ lr, tMax: a.t_max as number, etaMin: a.eta_min as number })];
    case "warmup-cosine":
      return [linearWarmup(
        cosineAnnealingLR({ lr, tMax: a.t_max as number, etaMin: a.eta_min as number }),
        warmup,
      )];
    case "warmup-step":
      return [linearWarmup(
        stepLR({ lr, stepSize: a.step_size as number, gamma: a.gamma as number }),
        warmup,
      )];
    default:
      assert.match(name, /^one-cycle/);
      return [oneCycleLR(oneCycle), oneCycleMomentum(oneCycle)];
  }
}

Deno.test("every schedule matches torch.optim.lr_scheduler at every step to 1e-10", () => {
  const cases = fixtures.cases.filter((c) => c.args.steps !== undefined);
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    const [lr, momentum] = scheduleFor(c.name, c.args);
    const expected = fixtures.tensor(c, "lr").data;
    expected.forEach((want, t) => {
      assert.ok(Math.abs(lr(t) - want) < 1e-10, `${c.name} step ${t}: ${lr(t)} vs ${want}`);
    });
    if (momentum) {
      fixtures.tensor(c, "momentum").data.forEach((want, t) => {
        assert.ok(Math.abs(momentum(t) - want) < 1e-10, `${c.name} momentum step ${t}`);
      });
    }
  }
});

Deno.test("piecewiseLinear interpolates between its points and holds the ends", () => {
  const s = piecewiseLinear([[0, 0], [5, 0.4], [24, 0]]);
  assert.equal(s(0), 0);
  assert.equal(s(5), 0.4);
  assert.ok(Math.abs(s(2) - 0.16) < 1e-15);
  assert.ok(Math.abs(s(15) - 0.4 * 9 / 19) < 1e-15);
  assert.equal(s(30), 0);
  assert.throws(() => piecewiseLinear([[0, 1], [0, 2]]), /increasing/);
});

Deno.test("schedules reject bad steps and settings", () => {
  assert.throws(() => stepLR({ lr: 0.1, stepSize: 0 }), /stepSize/);
  assert.throws(() => cosineAnnealingLR({ lr: 0.1, tMax: 10 })(-1), /step must be/);
  assert.throws(() => oneCycleLR({ maxLr: 0.1, totalSteps: 10 })(11), /past totalSteps/);
  assert.throws(() =>
    linearWarmup(stepLR({ lr: 1, stepSize: 1 }), { warmupSteps: 2, startFactor: 0 })
  );
});
