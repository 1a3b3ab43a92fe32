/**
 * The scalar momentum solver behind the handout's Q1 and Q2: one weight `w`, one training
 * pair `(x, d)`, output `y = f(w·x)`, and a fixed number of momentum (or Nesterov, or plain
 * gradient descent) updates in the course's notation. It answers beyond doubt:
 *
 * - with ReLU or identity and an L2 divergence every step only adds and multiplies finite
 *   decimals, so it computes **exactly** (BigInt, {@linkcode ExactDecimal});
 * - otherwise it uses **interval arithmetic** (decimal.js, 50 significant digits by
 *   default), which ends with a certified bound on w(K);
 * - {@linkcode truncate} cuts w(K) to N decimals toward zero and refuses when the bound
 *   contains a truncation boundary, rather than guess.
 *
 * @module
 */

import { UserError } from "./errors.ts";
import { ExactDecimal } from "./numeric/exact_decimal.ts";
import { type Interval, IntervalArithmetic } from "./numeric/interval.ts";

/** The output function f in y = f(w·x). */
export type Activation = "relu" | "sigmoid" | "tanh" | "identity" | "softplus";
/**
 * The divergence between y and the target d:
 * `l2` ½(y−d)² (the L2 divergence as CMU 11-785 defines it), `squared` (y−d)² (unscaled),
 * `bce` binary cross-entropy −d·ln y − (1−d)·ln(1−y) (natural log).
 */
export type Divergence = "l2" | "squared" | "bce";
/** The update rule; see {@linkcode MomentumProblem}. */
export type UpdateRule = "momentum" | "nesterov" | "gd";

/** Every activation, divergence and update rule, for parsers and help texts. */
export const ACTIVATIONS: readonly Activation[] = [
  "relu",
  "sigmoid",
  "tanh",
  "identity",
  "softplus",
];
export const DIVERGENCES: readonly Divergence[] = ["l2", "squared", "bce"];
export const UPDATE_RULES: readonly UpdateRule[] = ["momentum", "nesterov", "gd"];

/**
 * A one-parameter problem. Numbers are decimal strings so that `0.1` means exactly 0.1.
 *
 * The updates, in the course's notation, start from the given w(1) and Δw(1) (the last
 * step taken), so the first computed step is Δw(2):
 * - `momentum`: Δw(k) = β·Δw(k−1) − η·∇Div(w(k−1)); w(k) = w(k−1) + Δw(k)
 * - `nesterov`: Δw(k) = β·Δw(k−1) − η·∇Div(w(k−1) + β·Δw(k−1)); w(k) = w(k−1) + Δw(k)
 * - `gd`: Δw(k) = −η·∇Div(w(k−1)); w(k) = w(k−1) + Δw(k) (Δw(1) and β are unused)
 */
export interface MomentumProblem {
  activation: Activation;
  divergence: Divergence;
  rule: UpdateRule;
  /** The training input and target. */
  x: string;
  d: string;
  /** The current estimate w(1) and the last step taken Δw(1). */
  w1: string;
  dw1: string;
  beta: string;
  eta: string;
  /** The step whose weight is wanted: the answer is w(step). */
  step: number;
  /**
   * ReLU'(0), which is undefined; the default 0 is PyTorch's choice (its ReLU backward
   * passes gradient only where the input is positive).
   */
  reluGradAtZero?: 0 | 1;
}

/** How to compute: `auto` is exact where every step is rational, intervals elsewhere. */
export interface SolveOptions {
  arithmetic?: "auto" | "exact" | "interval";
  /** Significant digits of interval arithmetic (default 50). */
  digits?: number;
  /** Whether to keep every step for the table (default true); without them long runs are faster. */
  steps?: boolean;
}

/** A certified range `[lo, hi]` for a quantity; `lo` equals `hi` when it is exact. */
export interface Enclosure {
  lo: ExactDecimal;
  hi: ExactDecimal;
}

/**
 * One row of the step table: w(k), y at w(k), the gradient in Δw(k)'s formula, Δw(k), each
 * a certified enclosure (exact values are rounded outward to 40 decimals here; the
 * solution's `w` keeps w(step) in full).
 */
export interface MomentumStep {
  k: number;
  w: Enclosure;
  y: Enclosure;
  /** ∇Div used to compute Δw(k) (at w(k−1), or the look-ahead point); `null` for k = 1. */
  grad: Enclosure | null;
  dw: Enclosure;
}

/** What {@linkcode solveMomentum} returns. */
export interface MomentumSolution {
  problem: MomentumProblem;
  arithmetic: "exact" | "interval";
  /** Significant digits of the interval arithmetic; `null` when exact. */
  digits: number | null;
  /** w(step), in full: exact (`lo` is `hi`) or the interval's bounds. */
  w: Enclosure;
  /** Every step from k = 1 to `step`, for the table; empty when `steps: false` was asked. */
  steps: MomentumStep[];
  /** Sentences that state every convention the answer depends on. */
  assumptions: string[];
}

/** The result of {@linkcode truncate}: the certified digits, or why there are none. */
export type Truncation =
  | {
    certified: true;
    decimals: number;
    /** Toward zero: the digits after the last kept decimal are dropped. */
    value: ExactDecimal;
    /** Rounded down (toward −∞), and rounded to nearest; `null` where not certified. */
    floor: ExactDecimal | null;
    rounded: ExactDecimal | null;
  }
  | { certified: false; decimals: number; reason: string };

/**
 * The largest `step` the solver accepts: exact numbers gain about three decimals a step, and
 * 10 000 steps take a few seconds either way.
 */
export const MAX_STEP = 10_000;

/**
 * The handout's two questions as problems (`solveMomentum(HANDOUT_PROBLEMS.q1)`). Q2's handout writes y = 1/(1 + exp(0.5w)): that
 * is the logistic function of w·x with x = −0.5, as its second sentence says.
 */
export const HANDOUT_PROBLEMS: Readonly<Record<"q1" | "q2", MomentumProblem>> = {
  q1: {
    activation: "relu",
    divergence: "l2",
    rule: "momentum",
    x: "0.5",
    d: "1",
    w1: "1",
    dw1: "0.5",
    beta: "0.9",
    eta: "0.1",
    step: 167,
  },
  q2: {
    activation: "sigmoid",
    divergence: "bce",
    rule: "momentum",
    x: "-0.5",
    d: "1",
    w1: "0",
    dw1: "0.5",
    beta: "0.9",
    eta: "0.1",
    step: 167,
  },
};

/** The operations the update loop needs, over exact decimals or intervals. */
interface Arithmetic<T> {
  point(text: string): T;
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  exp(a: T): T;
  ln(a: T): T;
  sign(a: T): -1 | 0 | 1 | null;
  bounds(a: T): Enclosure;
  /** Bounds kept for the step table: exact values are rounded outward to bound memory. */
  tableBounds(a: T): Enclosure;
}

/**
 * Decimals the step table keeps of exact values. Exact values gain about three decimals a
 * step, so keeping each step in full would take memory quadratic in the number of steps.
 */
const TABLE_DECIMALS = 40;

const EXACT: Arithmetic<ExactDecimal> = {
  point: (text) => ExactDecimal.parse(text)!,
  add: (a, b) => a.add(b),
  sub: (a, b) => a.sub(b),
  mul: (a, b) => a.mul(b),
  // Exact mode is chosen only for problems that never divide or take exp/ln.
  div: () => {
    throw new Error("exact arithmetic cannot divide");
  },
  exp: () => {
    throw new Error("exact arithmetic cannot take exp");
  },
  ln: () => {
    throw new Error("exact arithmetic cannot take ln");
  },
  sign: (a) => a.sign(),
  bounds: (a) => ({ lo: a, hi: a }),
  tableBounds: (a) =>
    a.scale <= TABLE_DECIMALS ? { lo: a, hi: a } : {
      lo: a.floor(TABLE_DECIMALS),
      hi: a.neg().floor(TABLE_DECIMALS).neg(),
    },
};

function intervalArithmetic(digits: number): Arithmetic<Interval> {
  const ia = new IntervalArithmetic(digits);
  return {
    point: (t) => ia.point(t),
    add: (a, b) => ia.add(a, b),
    sub: (a, b) => ia.sub(a, b),
    mul: (a, b) => ia.mul(a, b),
    div: (a, b) => ia.div(a, b),
    exp: (a) => ia.exp(a),
    ln: (a) => ia.ln(a),
    sign: (a) => ia.sign(a),
    bounds: (a) => ia.bounds(a),
    tableBounds: (a) => ia.bounds(a),
  };
}

/**
 * Whether every step of `problem` is rational with finite decimals: ReLU or identity (no
 * exp) and an L2 divergence (no division), so exact arithmetic applies.
 *
 * @example
 * ```ts
 * isExact(HANDOUT_PROBLEMS.q1); // true
 * isExact(HANDOUT_PROBLEMS.q2); // false: the logistic function needs exp
 * ```
 */
export function isExact(problem: MomentumProblem): boolean {
  return (problem.activation === "relu" || problem.activation === "identity") &&
    (problem.divergence === "l2" || problem.divergence === "squared");
}

/** Checks a problem, with one sentence per mistake a person can make. */
function validate(problem: MomentumProblem): void {
  if (!ACTIVATIONS.includes(problem.activation)) {
    throw new UserError(
      `unknown activation "${problem.activation}"; use one of ${ACTIVATIONS.join(", ")}.`,
    );
  }
  if (!DIVERGENCES.includes(problem.divergence)) {
    throw new UserError(
      `unknown divergence "${problem.divergence}"; use one of ${DIVERGENCES.join(", ")}.`,
    );
  }
  if (!UPDATE_RULES.includes(problem.rule)) {
    throw new UserError(
      `unknown update rule "${problem.rule}"; use one of ${UPDATE_RULES.join(", ")}.`,
    );
  }
  for (const key of ["x", "d", "w1", "dw1", "beta", "eta"] as const) {
    if (ExactDecimal.parse(String(problem[key])) === null) {
      throw new UserError(`${key} must be a decimal number such as 0.5, got "${problem[key]}".`);
    }
  }
  if (!Number.isInteger(problem.step) || problem.step < 1 || problem.step > MAX_STEP) {
    throw new UserError(`step must be a whole number from 1 to ${MAX_STEP}, got ${problem.step}.`);
  }
  const g0 = problem.reluGradAtZero ?? 0;
  if (g0 !== 0 && g0 !== 1) {
    throw new UserError(`ReLU'(0) must be 0 or 1, got ${g0}.`);
  }
}

/** y = f(z) and, where the divergence needs it, dy/dz. */
function activate<T>(
  ar: Arithmetic<T>,
  p: MomentumProblem,
  z: T,
  k: number,
): { y: T; dydz: () => T } {
  const one = ar.point("1");
  switch (p.activation) {
    case "identity":
      return { y: z, dydz: () => one };
    case "relu": {
      const s = ar.sign(z);
      if (s === null) {
        throw new UserError(
          `at step ${k} the ReLU input w·x is within the arithmetic's error of 0, so ReLU'(w·x) is undecided; raise the digits.`,
        );
      }
      const slope = s > 0 ? one : s < 0 ? ar.point("0") : ar.point(String(p.reluGradAtZero ?? 0));
      return { y: s > 0 ? z : ar.point("0"), dydz: () => slope };
    }
    case "sigmoid": {
      const y = ar.div(one, ar.add(one, ar.exp(ar.sub(ar.point("0"), z))));
      return { y, dydz: () => ar.mul(y, ar.sub(one, y)) };
    }
    case "tanh": {
      // tanh z = 1 − 2/(e^{2z} + 1): one occurrence of z keeps the interval tight.
      const two = ar.point("2");
      const y = ar.sub(one, ar.div(two, ar.add(ar.exp(ar.mul(two, z)), one)));
      return { y, dydz: () => ar.sub(one, ar.mul(y, y)) };
    }
    case "softplus":
      return {
        y: ar.ln(ar.add(one, ar.exp(z))),
        dydz: () => ar.div(one, ar.add(one, ar.exp(ar.sub(ar.point("0"), z)))),
      };
  }
}

/** dDiv/dw from the activation at weight `w` (y = f(w·x) and dy/dz there). */
function gradient<T>(
  ar: Arithmetic<T>,
  p: MomentumProblem,
  { y, dydz }: { y: T; dydz: () => T },
  k: number,
): T {
  const x = ar.point(p.x);
  const d = ar.point(p.d);
  let dDivdz: T;
  if (p.divergence === "l2") {
    dDivdz = ar.mul(ar.sub(y, d), dydz());
  } else if (p.divergence === "squared") {
    dDivdz = ar.mul(ar.mul(ar.point("2"), ar.sub(y, d)), dydz());
  } else if (p.activation === "sigmoid") {
    // BCE after the logistic function: dDiv/dz = y − d, the same value without the
    // cancellation of (y−d)/(y(1−y)) · y(1−y).
    dDivdz = ar.sub(y, d);
  } else {
    const oneMinusY = ar.sub(ar.point("1"), y);
    if (ar.sign(y) !== 1 || ar.sign(oneMinusY) !== 1) {
      throw new UserError(
        `binary cross-entropy needs 0 < y < 1, but at step ${k} y = f(w·x) is ${
          fmt(ar.bounds(y))
        }; choose an activation and start with outputs in (0, 1), or another divergence.`,
      );
    }
    dDivdz = ar.mul(ar.div(ar.sub(y, d), ar.mul(y, oneMinusY)), dydz());
  }
  return ar.mul(dDivdz, x);
}

function run<T>(
  ar: Arithmetic<T>,
  p: MomentumProblem,
  keepSteps: boolean,
): { steps: MomentumStep[]; w: Enclosure } {
  const beta = ar.point(p.beta);
  const eta = ar.point(p.eta);
  const x = ar.point(p.x);
  let w = ar.point(p.w1);
  let dw = ar.point(p.dw1);
  // The activation at w(k) gives the table's y(k) and, except for Nesterov's look-ahead,
  // the gradient of the next step.
  let here = activate(ar, p, ar.mul(w, x), 1);
  const steps: MomentumStep[] = keepSteps
    ? [{
      k: 1,
      w: ar.tableBounds(w),
      y: ar.tableBounds(here.y),
      grad: null,
      dw: ar.tableBounds(dw),
    }]
    : [];
  for (let k = 2; k <= p.step; k++) {
    const at = p.rule === "nesterov"
      ? activate(ar, p, ar.mul(ar.add(w, ar.mul(beta, dw)), x), k)
      : here;
    const g = gradient(ar, p, at, k);
    const step = ar.mul(eta, g);
    dw = p.rule === "gd" ? ar.sub(ar.point("0"), step) : ar.sub(ar.mul(beta, dw), step);
    w = ar.add(w, dw);
    here = activate(ar, p, ar.mul(w, x), k);
    if (!keepSteps) continue;
    steps.push({
      k,
      w: ar.tableBounds(w),
      y: ar.tableBounds(here.y),
      grad: ar.tableBounds(g),
      dw: ar.tableBounds(dw),
    });
  }
  return { steps, w: ar.bounds(w) };
}

const ACTIVATION_TEXT: Record<Activation, string> = {
  relu: "relu",
  sigmoid: "σ",
  tanh: "tanh",
  identity: "identity",
  softplus: "softplus",
};

const FORMULA: Record<Activation, string> = {
  relu: "",
  sigmoid: ", σ(z) = 1/(1 + e^−z) the logistic function,",
  tanh: "",
  identity: "",
  softplus: ", softplus(z) = ln(1 + e^z),",
};

const DIVERGENCE_TEXT: Record<Divergence, string> = {
  l2: "L2 divergence as defined in class (CMU 11-785): Div = ½(y − d)²",
  squared: "unscaled squared error: Div = (y − d)²",
  bce: "binary cross-entropy: Div = −d·ln y − (1 − d)·ln(1 − y)",
};

const RULE_TEXT: Record<UpdateRule, string> = {
  momentum: "momentum: Δw(k) = β·Δw(k−1) − η·∇Div(w(k−1)), w(k) = w(k−1) + Δw(k)",
  nesterov: "Nesterov: Δw(k) = β·Δw(k−1) − η·∇Div(w(k−1) + β·Δw(k−1)), w(k) = w(k−1) + Δw(k)",
  gd: "plain gradient descent: Δw(k) = −η·∇Div(w(k−1)), w(k) = w(k−1) + Δw(k)",
};

/**
 * The conventions `problem`'s answer depends on, one sentence each.
 *
 * @example
 * ```ts
 * describeProblem(HANDOUT_PROBLEMS.q1)[1]; // "Divergence: L2 divergence as defined in class ..."
 * ```
 */
export function describeProblem(p: MomentumProblem): string[] {
  const lines = [
    `Model: y = ${ACTIVATION_TEXT[p.activation]}(w·x)${
      FORMULA[p.activation]
    } with x = ${p.x}, target d = ${p.d}.`,
    `Divergence: ${DIVERGENCE_TEXT[p.divergence]}.`,
    p.rule === "gd"
      ? `Update: ${RULE_TEXT.gd}; η = ${p.eta}; starting at w(1) = ${p.w1} (Δw(1) and β are unused).`
      : `Update: ${
        RULE_TEXT[p.rule]
      }; β = ${p.beta}, η = ${p.eta}; starting at w(1) = ${p.w1} with last step Δw(1) = ${p.dw1}, so the first computed step is Δw(2).`,
  ];
  if (p.activation === "relu") {
    lines.push(`ReLU'(0) is taken as ${p.reluGradAtZero ?? 0} (PyTorch's ReLU uses 0).`);
  }
  return lines;
}

/**
 * Runs the updates from w(1) to w(`problem.step`) and returns every step with certified
 * bounds. Throws a `UserError` for a malformed problem, or when a step is undefined (binary
 * cross-entropy with y outside (0, 1)).
 *
 * @example
 * ```ts
 * const s = solveMomentum(HANDOUT_PROBLEMS.q1);
 * s.arithmetic; // "exact"
 * truncate(s.w, 3); // { certified: true, value: 2.000, ... }
 * ```
 */
export function solveMomentum(
  problem: MomentumProblem,
  options: SolveOptions = {},
): MomentumSolution {
  validate(problem);
  // Canonical decimals ("+.5 " → "0.5", 1e-3 → "0.001"), also when a caller passed numbers.
  const canonical = (v: string) => ExactDecimal.parse(String(v))!.toString();
  const p: MomentumProblem = {
    ...problem,
    x: canonical(problem.x),
    d: canonical(problem.d),
    w1: canonical(problem.w1),
    dw1: canonical(problem.dw1),
    beta: canonical(problem.beta),
    eta: canonical(problem.eta),
    reluGradAtZero: problem.reluGradAtZero ?? 0,
  };
  const mode = options.arithmetic ?? "auto";
  const digits = options.digits ?? 50;
  if (mode === "exact" && !isExact(p)) {
    throw new UserError(
      "exact arithmetic needs every step to be rational with finite decimals (ReLU or identity with l2 or squared); use auto or interval for this problem.",
    );
  }
  if (!Number.isInteger(digits) || digits < 10 || digits > 1000) {
    throw new UserError(`digits must be a whole number from 10 to 1000, got ${digits}.`);
  }
  const exact = mode === "exact" || (mode === "auto" && isExact(p));
  const keep = options.steps ?? true;
  const { steps, w } = exact ? run(EXACT, p, keep) : run(intervalArithmetic(digits), p, keep);
  const assumptions = describeProblem(p);
  assumptions.push(
    exact
      ? "Arithmetic: exact (every step adds and multiplies finite decimals; BigInt, no rounding)."
      : `Arithmetic: ${digits}-digit interval arithmetic (decimal.js), so w(${p.step}) is certified to lie within the bounds shown.`,
  );
  return {
    problem: p,
    arithmetic: exact ? "exact" : "interval",
    digits: exact ? null : digits,
    w,
    steps,
    assumptions,
  };
}

/**
 * Truncates a certified value to `decimals` decimals toward zero (2.00038 → 2.000,
 * −7.5548 → −7.554). Where the enclosure straddles a truncation boundary the digit is not
 * known, and the result says so instead of guessing.
 *
 * @example
 * ```ts
 * const t = truncate(solveMomentum(HANDOUT_PROBLEMS.q2).w, 3);
 * if (t.certified) console.log(t.value.toString(), t.floor?.toString()); // -7.554 -7.555
 * ```
 */
export function truncate(value: Enclosure, decimals: number): Truncation {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 1000) {
    throw new UserError(`decimals must be a whole number from 0 to 1000, got ${decimals}.`);
  }
  const lo = value.lo.truncate(decimals);
  const hi = value.hi.truncate(decimals);
  if (!lo.equals(hi)) {
    return {
      certified: false,
      decimals,
      reason: `the value is only known to lie in ${
        fmt(value)
      }, which reaches from ${lo} to ${hi} when truncated to ${decimals} decimals, so the last digit is not certain; compute with more digits.`,
    };
  }
  const same = (f: (v: ExactDecimal) => ExactDecimal) => {
    const a = f(value.lo);
    return a.equals(f(value.hi)) ? a : null;
  };
  return {
    certified: true,
    decimals,
    value: lo,
    floor: same((v) => v.floor(decimals)),
    rounded: same((v) => v.round(decimals)),
  };
}

/**
 * An enclosure for people: the value when it is exact, else `[lo, hi]`. Values with more
 * than `decimals` decimals are cut with an ellipsis, outward for the bounds of an interval
 * (lo rounded down, hi rounded up) so that what is shown still contains the value.
 *
 * @example
 * ```ts
 * formatEnclosure(solveMomentum(HANDOUT_PROBLEMS.q1).w, 12); // "2.000020381837…"
 * ```
 */
export function formatEnclosure(e: Enclosure, decimals = 40): string {
  const show = (v: ExactDecimal, cut: (v: ExactDecimal) => ExactDecimal) =>
    v.scale > decimals
      ? `${cut(v)}…`
      : v.toString().replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  if (e.lo.equals(e.hi)) return show(e.lo, (v) => v.truncate(decimals));
  return `[${show(e.lo, (v) => v.floor(decimals))}, ${
    show(e.hi, (v) => v.neg().floor(decimals).neg())
  }]`;
}

function fmt(e: Enclosure): string {
  return formatEnclosure(e, 20);
}
