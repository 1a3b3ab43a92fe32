/**
 * `SGD`: stochastic gradient descent with momentum, dampening, Nesterov and weight decay,
 * matching `torch.optim.SGD`, plus the course's momentum formulation.
 *
 * @module
 */

import type { Parameter } from "../nn/module.ts";
import {
  type BaseOptions,
  Optimizer,
  type ParamGroup,
  type ParamSource,
  type ParamState,
  stateBuffer,
  stripUndefined,
} from "./optimizer.ts";

/** {@linkcode SGD}'s settings, PyTorch's names in camelCase and PyTorch's defaults. */
export interface SGDOptions extends BaseOptions {
  /** μ, the momentum factor (default 0: plain SGD). */
  momentum: number;
  /** Scales the new gradient into the velocity by (1 − dampening) after the first step. */
  dampening: number;
  /** λ; how it is applied depends on `decoupledWeightDecay` (default 0). */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov: boolean;
  /** Ascend instead of descend (PyTorch's `maximize`). */
  maximize: boolean;
  /**
   * `false` (default, PyTorch's SGD): *coupled* weight decay, L2 regularisation — λ·w is added
   * to the gradient, so it also flows through the momentum. `true`: *decoupled* weight decay
   * (as AdamW does, Loshchilov & Hutter) — w ← w·(1 − lr·λ) before the update, outside the
   * momentum.
   */
  decoupledWeightDecay: boolean;
  /**
   * `"pytorch"` (default): v ← μ·v + g (v = g on the first step), w ← w − lr·v.
   * `"course"`: the lecture's Δw ← β·Δw − η·∇, w ← w + Δw, with Δw starting at 0.
   *
   * With a constant learning rate the two are the same trajectory: Δw = −lr·v. They differ
   * when the learning rate changes: PyTorch's velocity holds gradients and is scaled by the
   * *current* lr, while the course's Δw holds steps already scaled by the lr of their time.
   * Nesterov in the course form is w ← w + β·Δw − η·∇ (the same identity). The course form
   * has no dampening.
   */
  formulation: "pytorch" | "course";
}

const DEFAULTS: Omit<SGDOptions, "lr"> = {
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
  decoupledWeightDecay: false,
  formulation: "pytorch",
};

/**
 * Stochastic gradient descent, step for step `torch.optim.SGD` (see {@linkcode SGDOptions}
 * for the momentum formulations and which weight decay is which). State per parameter:
 * `momentum_buffer` (PyTorch's name) or, in the course formulation, `delta_w`.
 *
 * @example
 * ```ts
 * const opt = new SGD(model, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
 * for (const [x, y] of batches) {
 *   opt.zeroGrad();
 *   criterion.forward(model.forward(x), y);
 *   model.backward(criterion.backward());
 *   opt.step();
 * }
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  /** `params`: a model, a parameter list, or groups with their own settings. */
  constructor(
    params: ParamSource | ParamGroup<SGDOptions>[],
    options: Partial<SGDOptions> & { lr: number },
  ) {
    super(params, { ...DEFAULTS, ...stripUndefined(options), lr: options.lr });
  }

  /** `"SGD"`, the type stored in the state dict. */
  protected get type(): string {
    return "SGD";
  }

  /** Rejects what `torch.optim.SGD` rejects, and dampening in the course form. */
  protected validate(o: SGDOptions): void {
    for (const key of ["lr", "momentum", "dampening", "weightDecay"] as const) {
      if (!(o[key] >= 0) || !Number.isFinite(o[key])) {
        throw new RangeError(`SGD: ${key} must be a finite number >= 0, got ${o[key]}`);
      }
    }
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
    }
    if (o.formulation !== "pytorch" && o.formulation !== "course") {
      throw new RangeError(`SGD: formulation must be "pytorch" or "course", got ${o.formulation}`);
    }
    if (o.formulation === "course" && o.dampening !== 0) {
      throw new RangeError("SGD: the course formulation has no dampening; set dampening to 0");
    }
  }

  /** One SGD step for one parameter, in place. */
  protected update(p: Parameter, o: SGDOptions, state: ParamState): void {
    const P = p.value.data, G = p.grad.data, n = P.length;
    const { lr, momentum: mu, nesterov } = o;
    const sign = o.maximize ? -1 : 1;
    const l2 = o.decoupledWeightDecay ? 0 : o.weightDecay;
    if (o.decoupledWeightDecay && o.weightDecay !== 0) {
      const factor = 1 - lr * o.weightDecay;
      for (let i = 0; i < n; i++) P[i] *= factor;
    }
    if (o.formulation === "course") {
      const D = stateBuffer(state, "delta_w", p.value).data;
      for (let i = 0; i < n; i++) {
        const g = sign * G[i] + l2 * P[i];
        D[i] = mu * D[i] - lr * g;
        P[i] += nesterov ? mu * D[i] - lr * g : D[i];
      }
      return;
    }
    if (mu === 0) {
      for (let i = 0; i < n; i++) P[i] += -lr * (sign * G[i] + l2 * P[i]);
      return;
    }
    // PyTorch starts the velocity at the first gradient itself (no dampening on step 1).
    const first = state.momentum_buffer === undefined;
    const B = stateBuffer(state, "momentum_buffer", p.value).data;
    const keep = 1 - o.dampening;
    for (let i = 0; i < n; i++) {
      const g = sign * G[i] + l2 * P[i];
      B[i] = first ? g : mu * B[i] + keep * g;
      P[i] += -lr * (nesterov ? g + mu * B[i] : B[i]);
    }
  }
}
