/**
 * Test helpers shared by the optimizer tests: replaying a PyTorch trajectory fixture from
 * `fixtures/generate.py`'s `optimizer_case` (initial parameters `p{i}`, gradients `g{t}_{i}`,
 * learning rates `lr`, parameters after each step `p{t}_{i}`).
 *
 * @module
 */

import type { FixtureCase, Fixtures } from "../../fixtures/mod.ts";
import type { Parameter } from "../nn/module.ts";
import { clone, type DType, maxAbsDiff, zeros } from "../tensor.ts";
import { Adam, AdamW } from "./adam.ts";
import type { BaseOptions, Optimizer, ParamGroup } from "./optimizer.ts";
import { SGD } from "./sgd.ts";

/** The number of parameters in every trajectory case. */
export const TRAJECTORY_PARAMS = 3;

/**
 * Fresh parameters holding a case's initial values `p0`, `p1`, … (zero gradients).
 *
 * @example
 * ```ts
 * const params = trajectoryParams(fixtures, c);
 * ```
 */
export function trajectoryParams(
  fixtures: Fixtures,
  c: FixtureCase,
  dtype: DType = "float64",
): Parameter[] {
  return Array.from({ length: TRAJECTORY_PARAMS }, (_, i) => {
    const value = clone(fixtures.tensor(c, `p${i}`), dtype);
    return { name: `p${i}`, value, grad: zeros(value.shape, dtype) };
  });
}

/**
 * Replays steps `from`…`to` (1-based, inclusive) of a case on `opt` and returns the largest
 * difference from PyTorch's parameters over those steps.
 *
 * @example
 * ```ts
 * const worst = replay(fixtures, c, params, new SGD(params, { lr: 0.1 }));
 * ```
 */
export function replay<H extends BaseOptions>(
  fixtures: Fixtures,
  c: FixtureCase,
  params: Parameter[],
  opt: Optimizer<H>,
  from = 1,
  to = fixtures.tensor(c, "lr").size,
): number {
  const lrs = fixtures.tensor(c, "lr").data;
  let worst = 0;
  for (let t = from; t <= to; t++) {
    opt.setLr(lrs[t - 1]);
    params.forEach((p, i) => p.grad.data.set(fixtures.tensor(c, `g${t}_${i}`).data));
    opt.step();
    params.forEach((p, i) => {
      worst = Math.max(worst, maxAbsDiff(p.value, fixtures.tensor(c, `p${t}_${i}`)));
    });
  }
  return worst;
}

/**
 * The optimizer a fixture case describes (`args` as `generate.py` wrote them: PyTorch's
 * names), over `params` or over explicit groups.
 *
 * @example
 * ```ts
 * const opt = fixtureOptimizer(c.args, params);
 * ```
 */
export function fixtureOptimizer(
  args: Record<string, unknown>,
  params: Parameter[] | ParamGroup<BaseOptions & { weightDecay: number }>[],
): Optimizer<BaseOptions> {
  if (args.optimizer === "SGD") {
    return new SGD(params, {
      lr: 0.1,
      momentum: args.momentum as number | undefined,
      dampening: args.dampening as number | undefined,
      nesterov: args.nesterov as boolean | undefined,
      weightDecay: args.weight_decay as number | undefined,
      maximize: args.maximize as boolean | undefined,
      decoupledWeightDecay: args.decoupled as boolean | undefined,
      formulation: args.formulation as "course" | undefined,
    });
  }
  const Class = args.optimizer === "AdamW" ? AdamW : Adam;
  return new Class(params, {
    lr: 0.01,
    betas: "beta1" in args ? [args.beta1 as number, args.beta2 as number] : undefined,
    eps: args.eps as number | undefined,
    weightDecay: args.weight_decay as number | undefined,
    amsgrad: args.amsgrad as boolean | undefined,
    maximize: args.maximize as boolean | undefined,
  });
}
