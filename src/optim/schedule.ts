/**
 * Learning-rate schedules as pure functions of the step: `schedule(t)` is the learning rate
 * for optimizer step t (counting from 0), i.e. the value a `torch.optim.lr_scheduler` gives
 * after `t` calls of `scheduler.step()`. A function of the step, not an object with state,
 * so a resumed run needs only the step count to continue exactly.
 *
 * @example
 * ```ts
 * const lr = linearWarmup(cosineAnnealingLR({ lr: 0.1, tMax: 95 }), { warmupSteps: 5 });
 * for (let t = 0; t < 100; t++) {
 *   opt.setLr(lr(t));
 *   // forward, backward, opt.step()
 * }
 * ```
 *
 * @module
 */

/** A learning rate (or momentum) as a function of the step count, from 0. */
export type Schedule = (step: number) => number;

function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 0) {
    throw new RangeError(`schedule: step must be an integer >= 0, got ${step}`);
  }
}

function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be an integer >= 1, got ${value}`);
  }
}

/**
 * `torch.optim.lr_scheduler.StepLR`: `lr · gamma^⌊t / stepSize⌋`.
 *
 * @example
 * ```ts
 * const s = stepLR({ lr: 0.1, stepSize: 30 }); // s(29) = 0.1, s(30) = 0.01
 * ```
 */
export function stepLR(
  { lr, stepSize, gamma = 0.1 }: { lr: number; stepSize: number; gamma?: number },
): Schedule {
  checkPositiveInteger("stepLR: stepSize", stepSize);
  return (t) => {
    checkStep(t);
    return lr * gamma ** Math.floor(t / stepSize);
  };
}

/**
 * `torch.optim.lr_scheduler.MultiStepLR`: `lr` times `gamma` once for every milestone ≤ t.
 *
 * @example
 * ```ts
 * const s = multiStepLR({ lr: 0.1, milestones: [30, 80] }); // 0.1, then 0.01 from 30, 0.001 from 80
 * ```
 */
export function multiStepLR(
  { lr, milestones, gamma = 0.1 }: { lr: number; milestones: readonly number[]; gamma?: number },
): Schedule {
  return (t) => {
    checkStep(t);
    return lr * gamma ** milestones.filter((m) => m <= t).length;
  };
}

/**
 * `torch.optim.lr_scheduler.CosineAnnealingLR` in its closed form:
 * `etaMin + (lr − etaMin)·(1 + cos(π·t / tMax)) / 2` (PyTorch's recursive form gives the same
 * numbers to rounding; past `tMax` both rise again).
 *
 * @example
 * ```ts
 * const s = cosineAnnealingLR({ lr: 0.1, tMax: 100 }); // s(0) = 0.1, s(50) = 0.05, s(100) = 0
 * ```
 */
export function cosineAnnealingLR(
  { lr, tMax, etaMin = 0 }: { lr: number; tMax: number; etaMin?: number },
): Schedule {
  checkPositiveInteger("cosineAnnealingLR: tMax", tMax);
  return (t) => {
    checkStep(t);
    return etaMin + (lr - etaMin) * (1 + Math.cos((Math.PI * t) / tMax)) / 2;
  };
}

/** The settings of {@linkcode oneCycleLR} and {@linkcode oneCycleMomentum}, PyTorch's defaults. */
export interface OneCycleOptions {
  /** The peak learning rate. */
  maxLr: number;
  /** Steps in the whole cycle; the schedule is defined for 0 ≤ t ≤ totalSteps. */
  totalSteps: number;
  /** The fraction of the steps spent rising (default 0.3). */
  pctStart?: number;
  /** `"cos"` (default) or `"linear"`: linear gives the triangular schedule of fast CIFAR recipes. */
  annealStrategy?: "cos" | "linear";
  /** The start is maxLr / divFactor (default 25). */
  divFactor?: number;
  /** The end is maxLr / divFactor / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Rise, fall back to the start, then anneal to the end (default false: rise, then fall). */
  threePhase?: boolean;
  /** The momentum at the peak learning rate (default 0.85). */
  baseMomentum?: number;
  /** The momentum at the start and end (default 0.95). */
  maxMomentum?: number;
}

function oneCycle(o: OneCycleOptions, which: "lr" | "momentum"): Schedule {
  const {
    maxLr,
    totalSteps,
    pctStart = 0.3,
    annealStrategy = "cos",
    divFactor = 25,
    finalDivFactor = 1e4,
    threePhase = false,
    baseMomentum = 0.85,
    maxMomentum = 0.95,
  } = o;
  checkPositiveInteger("oneCycleLR: totalSteps", totalSteps);
  if (!(pctStart >= 0 && pctStart <= 1)) {
    throw new RangeError(`oneCycleLR: pctStart must be in [0, 1], got ${pctStart}`);
  }
  if (annealStrategy !== "cos" && annealStrategy !== "linear") {
    throw new RangeError(`oneCycleLR: annealStrategy must be "cos" or "linear"`);
  }
  const initial = maxLr / divFactor;
  const min = initial / finalDivFactor;
  // [end step, start lr, end lr, start momentum, end momentum], as PyTorch's phases.
  const phases: [number, number, number, number, number][] = threePhase
    ? [
      [pctStart * totalSteps - 1, initial, maxLr, maxMomentum, baseMomentum],
      [2 * pctStart * totalSteps - 2, maxLr, initial, baseMomentum, maxMomentum],
      [totalSteps - 1, initial, min, maxMomentum, maxMomentum],
    ]
    : [
      [pctStart * totalSteps - 1, initial, maxLr, maxMomentum, baseMomentum],
      [totalSteps - 1, maxLr, min, baseMomentum, maxMomentum],
    ];
  const anneal = annealStrategy === "cos"
    ? (a: number, b: number, pct: number) => b + (a - b) / 2 * (Math.cos(Math.PI * pct) + 1)
    : (a: number, b: number, pct: number) => (b - a) * pct + a;
  return (t) => {
    checkStep(t);
    if (t > totalSteps) {
      throw new RangeError(`oneCycleLR: step ${t} is past totalSteps ${totalSteps}`);
    }
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const [end, lr0, lr1, m0, m1] = phases[i];
      if (t <= end || i === phases.length - 1) {
        const pct = (t - start) / (end - start);
        return which === "lr" ? anneal(lr0, lr1, pct) : anneal(m0, m1, pct);
      }
      start = end;
    }
    throw new Error("unreachable: the last phase always matches");
  };
}

/**
 * `torch.optim.lr_scheduler.OneCycleLR`'s learning rate: from maxLr/divFactor up to maxLr over
 * the first `pctStart` of the steps, then down to maxLr/divFactor/finalDivFactor, by cosine
 * or (`annealStrategy: "linear"`) straight lines — the triangular schedule of fast CIFAR-10
 * recipes.
 *
 * @example
 * ```ts
 * const s = oneCycleLR({ maxLr: 0.4, totalSteps: 1000, annealStrategy: "linear" });
 * s(0); // 0.016
 * ```
 */
export function oneCycleLR(options: OneCycleOptions): Schedule {
  return oneCycle(options, "lr");
}

/**
 * The momentum that `torch.optim.lr_scheduler.OneCycleLR` sets alongside its learning rate
 * (`cycle_momentum`): maxMomentum down to baseMomentum while the lr rises, and back. Set it
 * with `opt.paramGroups[i].momentum = m(t)` (or `betas[0]` for Adam).
 *
 * @example
 * ```ts
 * const m = oneCycleMomentum({ maxLr: 0.4, totalSteps: 1000 });
 * m(0); // 0.95
 * ```
 */
export function oneCycleMomentum(options: OneCycleOptions): Schedule {
  return oneCycle(options, "momentum");
}

/**
 * Straight lines through `points` `[step, lr]` (steps increasing), constant beyond the ends:
 * e.g. the fast CIFAR-10 recipe's 0 → 0.4 over 5 epochs → 0 at 24.
 *
 * @example
 * ```ts
 * const s = piecewiseLinear([[0, 0], [500, 0.4], [2400, 0]]);
 * s(250); // 0.2
 * ```
 */
export function piecewiseLinear(points: readonly (readonly [number, number])[]): Schedule {
  if (points.length === 0 || points.some(([s], i) => i > 0 && !(s > points[i - 1][0]))) {
    throw new RangeError("piecewiseLinear: needs at least one point, with increasing steps");
  }
  return (t) => {
    checkStep(t);
    if (t <= points[0][0]) return points[0][1];
    for (let i = 1; i < points.length; i++) {
      const [s1, v1] = points[i];
      if (t <= s1) {
        const [s0, v0] = points[i - 1];
        return v0 + (v1 - v0) * (t - s0) / (s1 - s0);
      }
    }
    return points[points.length - 1][1];
  };
}

/**
 * A linear warm-up in front of any schedule: for t < warmupSteps the learning rate rises in
 * a straight line from `startFactor · after(0)` towards `after(0)`, then `after(t − warmupSteps)`
 * takes over. This is PyTorch's
 * `SequentialLR([LinearLR(opt, startFactor, total_iters=warmupSteps), after], [warmupSteps])`.
 *
 * @example
 * ```ts
 * const s = linearWarmup(cosineAnnealingLR({ lr: 0.1, tMax: 90 }), { warmupSteps: 10 });
 * s(0); // 0.1 / 3
 * s(10); // 0.1, the cosine's start
 * ```
 */
export function linearWarmup(
  after: Schedule,
  { warmupSteps, startFactor = 1 / 3 }: { warmupSteps: number; startFactor?: number },
): Schedule {
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) {
    throw new RangeError(`linearWarmup: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  }
  if (!(startFactor > 0 && startFactor <= 1)) {
    throw new RangeError(`linearWarmup: startFactor must be in (0, 1], got ${startFactor}`);
  }
  const peak = after(0);
  return (t) => {
    checkStep(t);
    if (t >= warmupSteps) return after(t - warmupSteps);
    return peak * (startFactor + (1 - startFactor) * t / warmupSteps);
  };
}
