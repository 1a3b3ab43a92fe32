/**
 * `Lookahead` (Zhang et al., 2019, "Lookahead Optimizer: k steps forward, 1 step back"): a
 * slow copy of the weights that the trained (fast) weights are pulled back to now and then,
 * as the fastest CIFAR-10 recipes (airbench) run it.
 *
 * @module
 */

import type { Parameter } from "../nn/module.ts";
import { UserError } from "../errors.ts";
import { clone, dtypeOf, sameShape, type Tensor } from "../tensor.ts";
import {
  type BaseOptions,
  type Optimizer,
  type OptimizerState,
  type ParamState,
  resolveParams,
} from "./optimizer.ts";

/** The name of the slow weights in each parameter's saved state. */
const SLOW = "slow_param";

/**
 * Wraps the optimizer that takes the fast steps and keeps a slow copy of its parameters;
 * `sync(decay)` moves the slow weights toward the fast ones, `slow ← decay·slow +
 * (1 − decay)·fast`, and sets the fast weights to the result. `sync(0)` leaves the weights
 * as they are; `sync(1)` puts the fast weights back to the slow ones. The caller decides how
 * often and with which decay (airbench: every 5 steps, `0.95⁵·(step/steps)³`, then `sync(1)`
 * at the end). Its state, saved in checkpoints, is the optimizer's with the slow weights added
 * to each parameter's state as `slow_param`.
 *
 * @example
 * ```ts
 * const opt = new Lookahead(new SGD(model, { lr: 0.1, momentum: 0.9 }));
 * for (let step = 1; step <= steps; step++) {
 *   model.backward(grad(model));
 *   opt.step();
 *   if (step % 5 === 0) opt.sync(0.95 ** 5 * (step / steps) ** 3);
 * }
 * opt.sync(1); // the model now holds the slow weights
 * ```
 */
export class Lookahead<H extends BaseOptions> {
  /** The optimizer that takes the fast steps. */
  readonly optimizer: Optimizer<H>;
  /** The slow weights, one per parameter in the optimizer's order. */
  #slow: Tensor[];

  /** Starts the slow weights at the optimizer's parameters as they are now. */
  constructor(optimizer: Optimizer<H>) {
    this.optimizer = optimizer;
    this.#slow = this.#params().map((p) => clone(p.value));
  }

  /** One step of the wrapped optimizer. */
  step(): void {
    this.optimizer.step();
  }

  /** Sets the wrapped optimizer's learning rate. */
  setLr(lr: number): void {
    this.optimizer.setLr(lr);
  }

  /** `slow ← decay·slow + (1 − decay)·fast`, then `fast ← slow`, for every parameter. */
  sync(decay: number): void {
    if (!(decay >= 0 && decay <= 1)) {
      throw new RangeError(`Lookahead: decay must be in [0, 1], got ${decay}`);
    }
    const params = this.#params(), pull = 1 - decay;
    if (this.#slow.length === 0) this.#slow = params.map((p) => clone(p.value));
    if (
      params.length !== this.#slow.length ||
      params.some((p, i) => !sameShape(p.value.shape, this.#slow[i].shape))
    ) {
      throw new Error(
        "Lookahead: the optimizer's parameters changed since the slow weights were taken",
      );
    }
    params.forEach((p, i) => {
      const fast = p.value.data, slow = this.#slow[i].data;
      for (let j = 0; j < slow.length; j++) slow[j] += pull * (fast[j] - slow[j]);
      fast.set(slow);
    });
  }

  /** The wrapped optimizer's state with each parameter's slow weights as `slow_param`. */
  stateDict(): OptimizerState {
    const saved = this.optimizer.stateDict();
    this.#slow.forEach((slow, i) => {
      saved.state[i] = { ...(saved.state[i] ?? {}), [SLOW]: clone(slow) };
    });
    return saved;
  }

  /**
   * Restores a state from {@linkcode Lookahead.stateDict}, checked first (a `UserError`
   * changes nothing). A state without slow weights (a plain optimizer's) starts them at the
   * parameters the next `sync` finds.
   */
  loadStateDict(saved: OptimizerState): void {
    const params = this.#params();
    const slow: (Tensor | undefined)[] = params.map(() => undefined);
    const state: Record<number, ParamState> = {};
    for (const [key, s] of Object.entries(saved?.state ?? {})) {
      const { [SLOW]: value, ...rest } = s;
      state[Number(key)] = rest;
      if (value === undefined) continue;
      const p = params[Number(key)];
      if (!p || typeof value === "number" || !sameShape(value.shape, p.value.shape)) {
        throw new UserError(
          `the saved lookahead state has slow weights for parameter ${key} that do not fit the model`,
        );
      }
      slow[Number(key)] = value;
    }
    this.optimizer.loadStateDict({ ...saved, state });
    const complete = slow.every((s) => s !== undefined);
    this.#slow = complete ? slow.map((s, i) => clone(s!, dtypeOf(params[i].value))) : [];
  }

  #params(): Parameter[] {
    return this.optimizer.paramGroups.flatMap((group) => [...resolveParams(group.params)]);
  }
}
