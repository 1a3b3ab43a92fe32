/**
 * `Adam` and `AdamW`, matching `torch.optim.Adam` and `torch.optim.AdamW` (bias correction,
 * ε added to the bias-corrected √v, AMSGrad).
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

/** {@linkcode Adam}'s and {@linkcode AdamW}'s settings, PyTorch's names in camelCase. */
export interface AdamOptions extends BaseOptions {
  /** (β1, β2), the decay rates of the first and second moment averages (default (0.9, 0.999)). */
  betas: [number, number];
  /** Added to the bias-corrected √v in the denominator (default 1e-8). */
  eps: number;
  /**
   * λ. In `Adam` it is *coupled* (L2: λ·w added to the gradient, so it is rescaled by the
   * adaptive denominator; default 0); in `AdamW` it is *decoupled* (w ← w·(1 − lr·λ) before
   * the Adam update; default 0.01).
   */
  weightDecay: number;
  /** Use the running maximum of v (AMSGrad). */
  amsgrad: boolean;
  /** Ascend instead of descend. */
  maximize: boolean;
}

const DEFAULTS: AdamOptions = {
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
};

/**
 * Adam, step for step `torch.optim.Adam`: with t the parameter's step count,
 * m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g², and
 * w ← w − lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + ε). Weight decay is coupled (L2).
 * State per parameter, PyTorch's names: `step`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`.
 *
 * @example
 * ```ts
 * const opt = new Adam(model, { lr: 1e-3 });
 * opt.zeroGrad();
 * model.backward(criterion.backward());
 * opt.step();
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  /** `params`: a model, a parameter list, or groups with their own settings. */
  constructor(
    params: ParamSource | ParamGroup<AdamOptions>[],
    options: Partial<AdamOptions> = {},
  ) {
    super(params, { ...DEFAULTS, ...stripUndefined(options) });
  }

  /** `"Adam"`, the type stored in the state dict. */
  protected get type(): string {
    return "Adam";
  }

  /** Whether weight decay is decoupled (AdamW) rather than L2 (Adam). */
  protected get decoupled(): boolean {
    return false;
  }

  /** Rejects negative lr, eps or weight decay and betas outside [0, 1). */
  protected validate(o: AdamOptions): void {
    for (const key of ["lr", "eps", "weightDecay"] as const) {
      if (!(o[key] >= 0) || !Number.isFinite(o[key])) {
        throw new RangeError(`${this.type}: ${key} must be a finite number >= 0, got ${o[key]}`);
      }
    }
    const [b1, b2] = Array.isArray(o.betas) ? o.betas : [NaN, NaN];
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) {
      throw new RangeError(`${this.type}: betas must both be in [0, 1), got ${o.betas}`);
    }
  }

  /** One Adam step for one parameter, in place. */
  protected update(p: Parameter, o: AdamOptions, state: ParamState): void {
    const P = p.value.data, G = p.grad.data, n = P.length;
    const { lr, eps, weightDecay: wd, amsgrad } = o;
    const [b1, b2] = o.betas;
    const sign = o.maximize ? -1 : 1;
    const l2 = this.decoupled ? 0 : wd;
    if (this.decoupled && wd !== 0) {
      const factor = 1 - lr * wd;
      for (let i = 0; i < n; i++) P[i] *= factor;
    }
    const step = (state.step as number | undefined ?? 0) + 1;
    state.step = step;
    const M = stateBuffer(state, "exp_avg", p.value).data;
    const V = stateBuffer(state, "exp_avg_sq", p.value).data;
    const Vmax = amsgrad ? stateBuffer(state, "max_exp_avg_sq", p.value).data : null;
    const stepSize = lr / (1 - b1 ** step);
    const correction2 = Math.sqrt(1 - b2 ** step);
    for (let i = 0; i < n; i++) {
      const g = sign * G[i] + l2 * P[i];
      M[i] = M[i] * b1 + (1 - b1) * g;
      V[i] = V[i] * b2 + (1 - b2) * g * g;
      let v = V[i];
      if (Vmax) v = Vmax[i] = Math.max(Vmax[i], v);
      P[i] += -stepSize * (M[i] / (Math.sqrt(v) / correction2 + eps));
    }
  }
}

/**
 * AdamW, step for step `torch.optim.AdamW`: Adam with *decoupled* weight decay,
 * w ← w·(1 − lr·λ) before the Adam update, and PyTorch's default λ = 0.01.
 *
 * @example
 * ```ts
 * const opt = new AdamW(model, { lr: 1e-3, weightDecay: 0.05 });
 * ```
 */
export class AdamW extends Adam {
  /** As Adam's, with PyTorch's AdamW default `weightDecay: 0.01`. */
  constructor(
    params: ParamSource | ParamGroup<AdamOptions>[],
    options: Partial<AdamOptions> = {},
  ) {
    super(params, { weightDecay: 1e-2, ...stripUndefined(options) });
  }

  /** `"AdamW"`, the type stored in the state dict. */
  protected override get type(): string {
    return "AdamW";
  }

  /** True: AdamW's weight decay is decoupled. */
  protected override get decoupled(): boolean {
    return true;
  }
}
