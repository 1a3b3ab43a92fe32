import assert from "node:assert/strict";
import { Decimal } from "decimal.js";
import { loadFixtures } from "../fixtures/mod.ts";
import { UserError } from "./errors.ts";
import {
  type Enclosure,
  HANDOUT_PROBLEMS,
  type MomentumProblem,
  solveMomentum,
  truncate,
} from "./momentum.ts";
import { ExactDecimal } from "./numeric/exact_decimal.ts";

const fixtures = await loadFixtures("momentum");

function contains(e: Enclosure, v: ExactDecimal): boolean {
  return e.lo.cmp(v) <= 0 && v.cmp(e.hi) <= 0;
}

// PyTorch runs the same loop in float64: every step rounds w, Δw and the gradient to about
// 1e-16 relative, and over at most 200 steps of |w| < 10 that adds up to well under 1e-13.
const FLOAT64_TOLERANCE = 1e-13;

Deno.test("the solver matches PyTorch autograd in float64 on every fixture case, step by step", () => {
  assert.ok(fixtures.cases.length >= 10);
  for (const c of fixtures.cases) {
    const s = solveMomentum(c.args as unknown as MomentumProblem);
    const w = fixtures.tensor(c, "w").data;
    const dw = fixtures.tensor(c, "dw").data;
    const grad = fixtures.tensor(c, "grad").data;
    assert.equal(s.steps.length, w.length, c.name);
    s.steps.forEach((st, i) => {
      const near = (e: Enclosure, want: number, what: string) =>
        assert.ok(
          Math.abs(e.lo.toNumber() - want) < FLOAT64_TOLERANCE &&
            Math.abs(e.hi.toNumber() - want) < FLOAT64_TOLERANCE,
          `${c.name} ${what}(${st.k}): solver ${e.lo.toNumber()}, PyTorch ${want}`,
        );
      near(st.w, w[i], "w");
      near(st.dw, dw[i], "Δw");
      if (i > 0) near(st.grad!, grad[i - 1], "∇Div");
    });
  }
});

Deno.test("the handout's answers: Q1 2.000 (exact), Q2 -7.554 (certified, floor -7.555)", () => {
  const q1 = solveMomentum(HANDOUT_PROBLEMS.q1);
  assert.equal(q1.arithmetic, "exact");
  assert.ok(q1.w.lo === q1.w.hi);
  assert.equal(q1.w.lo.truncate(12).toString(), "2.000020381837");
  assert.equal(q1.steps.length, 167);
  const bare = solveMomentum(HANDOUT_PROBLEMS.q1, { steps: false });
  assert.equal(bare.steps.length, 0, "steps: false keeps no table");
  assert.ok(bare.w.lo.equals(q1.w.lo));
  const t1 = truncate(q1.w, 3);
  assert.ok(t1.certified);
  assert.equal(t1.value.toString(), "2.000");

  const q2 = solveMomentum(HANDOUT_PROBLEMS.q2);
  assert.equal(q2.arithmetic, "interval");
  assert.equal(q2.digits, 50);
  assert.ok(q2.w.hi.sub(q2.w.lo).toNumber() < 1e-40, "50 digits leave at least 40 certain");
  const t2 = truncate(q2.w, 3);
  assert.ok(t2.certified);
  assert.equal(t2.value.toString(), "-7.554");
  assert.equal(t2.floor?.toString(), "-7.555");
  assert.equal(t2.rounded?.toString(), "-7.555");
  assert.ok(q2.assumptions.some((a) => a.includes("binary cross-entropy")));
  assert.ok(q1.assumptions.some((a) => a.includes("½(y − d)²")));
  assert.ok(q1.assumptions.some((a) => a.includes("ReLU'(0) is taken as 0")));
});

Deno.test("exact and interval arithmetic agree: the interval contains the exact value", () => {
  const overlap = (a: Enclosure, b: Enclosure) => a.lo.cmp(b.hi) <= 0 && b.lo.cmp(a.hi) <= 0;
  for (
    const c of fixtures.cases.filter((c) =>
      ["relu", "identity"].includes(String(c.args.activation)) && c.args.divergence !== "bce"
    )
  ) {
    const p = c.args as unknown as MomentumProblem;
    const exact = solveMomentum(p);
    assert.equal(exact.arithmetic, "exact", c.name);
    const interval = solveMomentum(p, { arithmetic: "interval", digits: 40 });
    assert.ok(contains(interval.w, exact.w.lo), `${c.name} w(${p.step})`);
    const width = interval.w.hi.sub(interval.w.lo).toNumber();
    assert.ok(width < 1e-30, `${c.name}: interval width ${width}`);
    // Both tables hold certified enclosures of the same numbers, so they must intersect.
    exact.steps.forEach((st, i) => {
      assert.ok(overlap(interval.steps[i].w, st.w), `${c.name} w(${st.k})`);
      assert.ok(overlap(interval.steps[i].dw, st.dw), `${c.name} Δw(${st.k})`);
    });
  }
});

Deno.test("a wider interval contains a narrower one: 40 digits enclose the 120-digit Q2", () => {
  const coarse = solveMomentum(HANDOUT_PROBLEMS.q2, { digits: 40 }).w;
  const fine = solveMomentum(HANDOUT_PROBLEMS.q2, { digits: 120 }).w;
  assert.ok(coarse.lo.cmp(fine.lo) <= 0 && fine.hi.cmp(coarse.hi) <= 0);
  assert.ok(fine.hi.sub(fine.lo).toNumber() < 1e-110);
});

Deno.test("momentum, Nesterov and plain gradient descent follow the course's formulas", () => {
  // identity, l2, x = 1, d = 0: ∇Div(w) = w. From w(1) = 1, Δw(1) = 1, β = η = 0.5:
  // momentum: Δw(2) = 0.5·1 − 0.5·1 = 0; Nesterov: Δw(2) = 0.5 − 0.5·(1 + 0.5) = −0.25;
  // gd: Δw(2) = −0.5·1.
  const base: MomentumProblem = {
    activation: "identity",
    divergence: "l2",
    rule: "momentum",
    x: "1",
    d: "0",
    w1: "1",
    dw1: "1",
    beta: "0.5",
    eta: "0.5",
    step: 2,
  };
  const w2 = (p: Partial<MomentumProblem>) =>
    solveMomentum({ ...base, ...p }).w.lo.truncate(6).toString();
  assert.equal(w2({}), "1.000000");
  assert.equal(w2({ rule: "nesterov" }), "0.750000");
  assert.equal(w2({ rule: "gd" }), "0.500000");
  // The unscaled squared error doubles the gradient: Δw(2) = 0.5 − 0.5·2 = −0.5.
  assert.equal(w2({ divergence: "squared" }), "0.500000");
  assert.equal(w2({ step: 1 }), "1.000000");
  // Any decimal notation, and numbers from JavaScript callers, mean the same problem.
  assert.equal(w2({ x: " +1e0 ", eta: ".5", beta: 0.5 as unknown as string }), "1.000000");
});

Deno.test("ReLU'(0) is a choice: 0 (PyTorch) keeps a dead start still, 1 lets it move", () => {
  const p: MomentumProblem = { ...HANDOUT_PROBLEMS.q1, w1: "0", dw1: "0", step: 3 };
  assert.equal(solveMomentum(p).w.lo.sign(), 0);
  // With ReLU'(0) = 1: ∇Div = (0 − 1)·1·0.5 = −0.5, Δw(2) = 0.05, then w·x > 0.
  assert.equal(
    solveMomentum({ ...p, reluGradAtZero: 1, step: 2 }).w.lo.truncate(3).toString(),
    "0.050",
  );
});

Deno.test("truncation of negative values is toward zero, and exact values are never refused", () => {
  const p: MomentumProblem = { ...HANDOUT_PROBLEMS.q1, activation: "identity", step: 1 };
  const at = (w1: string, decimals = 3) => truncate(solveMomentum({ ...p, w1 }).w, decimals);
  const neg = at("-1.23456");
  assert.ok(neg.certified);
  assert.equal(neg.value.toString(), "-1.234");
  assert.equal(neg.floor?.toString(), "-1.235");
  // Exactly on a boundary, and a hair below it: exact arithmetic knows which side.
  const on = at("2");
  assert.ok(on.certified && on.value.toString() === "2.000");
  const below = at("1.99999999999999999999999999999999999999999999999999999999999");
  assert.ok(below.certified && below.value.toString() === "1.999");
  const tiny = at("-0.0004");
  assert.ok(
    tiny.certified && tiny.value.toString() === "0.000" && tiny.floor?.toString() === "-0.001",
  );
});

Deno.test("a value within the arithmetic's error of a truncation boundary is refused", () => {
  // gd, sigmoid, BCE, x = d = 1, η = 0.5, two steps: w(2) = w1 + 0.5·(1 − σ(w1)). Choose w1 so
  // that w(2) is within ~1e-90 of the boundary 0.500 (fixed point of w1 = 0.5 − 0.5·(1 − σ(w1)),
  // a contraction, solved at 120 digits independently of the solver).
  const D = Decimal.clone({ precision: 120 });
  let w1 = new D(0);
  for (let i = 0; i < 120; i++) {
    const sigma = new D(1).div(new D(1).plus(w1.neg().exp()));
    w1 = new D("0.5").minus(new D("0.5").times(new D(1).minus(sigma)));
  }
  const p: MomentumProblem = {
    activation: "sigmoid",
    divergence: "bce",
    rule: "gd",
    x: "1",
    d: "1",
    w1: w1.toFixed(100),
    dw1: "0",
    beta: "0",
    eta: "0.5",
    step: 2,
  };
  const s = solveMomentum(p);
  assert.ok(contains(s.w, ExactDecimal.parse("0.5")!), "the bound contains the boundary");
  const t = truncate(s.w, 3);
  assert.equal(t.certified, false);
  assert.ok(!t.certified && /0\.499 to 0\.500/.test(t.reason), !t.certified ? t.reason : "");
  // With 300 digits the bound is narrower than the distance, and the digit is what a direct
  // 300-digit evaluation of the same two-step formula gives.
  const fine = truncate(solveMomentum(p, { digits: 300 }).w, 3);
  const D3 = Decimal.clone({ precision: 300 });
  const w = new D3(p.w1);
  const direct = w.plus(
    new D3("0.5").times(new D3(1).minus(new D3(1).div(new D3(1).plus(w.neg().exp())))),
  );
  assert.ok(fine.certified);
  assert.equal(fine.value.toString(), direct.lt("0.5") ? "0.499" : "0.500");
});

Deno.test("bad problems are UserErrors with one sentence", () => {
  const q1 = HANDOUT_PROBLEMS.q1;
  for (
    const [p, pattern] of [
      [{ ...q1, eta: "abc" }, /eta must be a decimal number/],
      [{ ...q1, step: 0 }, /step must be a whole number from 1/],
      [{ ...q1, step: 1.5 }, /step must be a whole number/],
      [{ ...q1, activation: "gelu" }, /unknown activation "gelu"/],
      [{ ...q1, divergence: "kl" }, /unknown divergence "kl"/],
      [{ ...q1, rule: "adam" }, /unknown update rule "adam"/],
      [{ ...q1, divergence: "bce" }, /binary cross-entropy needs 0 < y < 1/],
    ] as [MomentumProblem, RegExp][]
  ) {
    assert.throws(
      () => solveMomentum(p),
      (e: Error) => e instanceof UserError && pattern.test(e.message),
      String(pattern),
    );
  }
  assert.throws(
    () => solveMomentum(HANDOUT_PROBLEMS.q2, { arithmetic: "exact" }),
    /exact arithmetic needs every step to be rational/,
  );
  assert.throws(() => solveMomentum(HANDOUT_PROBLEMS.q2, { digits: 5 }), /digits must be/);
});
