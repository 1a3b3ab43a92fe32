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
import type { BaseOptions, Optimizer } from "./optimizer.ts";

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
