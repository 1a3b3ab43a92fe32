import assert from "node:assert/strict";
import { ExactDecimal } from "./exact_decimal.ts";
import { type Interval, IntervalArithmetic } from "./interval.ts";

// Constants to 70 decimals, from Python's decimal module at 80 digits (an independent library).
const E = "2.7182818284590452353602874713526624977572470936999595749669676277240766";
const LN2 = "0.6931471805599453094172321214581765680755001343602552541206800094933936";

function contains(ia: IntervalArithmetic, a: Interval, text: string): boolean {
  const { lo, hi } = ia.bounds(a);
  const v = ExactDecimal.parse(text)!;
  return lo.cmp(v) <= 0 && v.cmp(hi) <= 0;
}

Deno.test("interval operations contain the true value and stay narrow", () => {
  const ia = new IntervalArithmetic(30);
  const third = ia.div(ia.point("1"), ia.point("3"));
  assert.ok(contains(ia, third, "0." + "3".repeat(60)));
  assert.ok(!contains(ia, third, "0." + "3".repeat(28) + "4"), "not wider than needed");
  const e = ia.exp(ia.point("1"));
  assert.ok(contains(ia, e, E));
  assert.ok(ia.width(e).lt("1e-28"));
  const ln2 = ia.ln(ia.point("2"));
  assert.ok(contains(ia, ln2, LN2));
  const negE = ia.neg(e);
  assert.ok(contains(ia, negE, "-" + E));
  // [-1, 2] · [-3, 0.5] = [-6, 3].
  const m = ia.mul({ lo: ia.point("-1").lo, hi: ia.point("2").hi }, {
    lo: ia.point("-3").lo,
    hi: ia.point("0.5").hi,
  });
  assert.equal(m.lo.toString(), "-6");
  assert.equal(m.hi.toString(), "3");
});

Deno.test("interval sign is null when the interval straddles 0; division by it is refused", () => {
  const ia = new IntervalArithmetic(20);
  const s = ia.sub(ia.div(ia.point("1"), ia.point("3")), ia.div(ia.point("1"), ia.point("3")));
  assert.equal(ia.sign(s), null);
  assert.equal(ia.sign(ia.point("0")), 0);
  assert.equal(ia.sign(ia.point("-2")), -1);
  assert.throws(() => ia.div(ia.point("1"), s), RangeError);
  assert.throws(() => ia.ln(ia.point("0")), RangeError);
  assert.throws(() => new IntervalArithmetic(5), RangeError);
});
