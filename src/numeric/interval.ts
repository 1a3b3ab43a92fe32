/**
 * Interval arithmetic over decimal.js: every value is a pair `[lo, hi]` of decimals that is
 * guaranteed to contain the true real number, so a long computation ends with a certified
 * bound on its own rounding error.
 *
 * Addition, subtraction, multiplication and division are rounded outward with decimal.js's
 * directed rounding modes (ROUND_FLOOR for `lo`, ROUND_CEIL for `hi`), which decimal.js
 * applies exactly. `exp` and `ln` are computed with 10 extra digits and then widened by a
 * relative 10^-digits: decimal.js evaluates them with guard digits to within about one unit
 * in the last of those extra digits, so the widening leaves a margin of about 10^9 over its
 * error.
 *
 * @module
 */

import { Decimal } from "decimal.js";
import { ExactDecimal } from "./exact_decimal.ts";

/** A closed interval `[lo, hi]` that contains the true value. */
export interface Interval {
  lo: Decimal;
  hi: Decimal;
}

/**
 * Outward-rounded interval operations at a fixed number of significant digits.
 *
 * @example
 * ```ts
 * const ia = new IntervalArithmetic(50);
 * const third = ia.div(ia.point("1"), ia.point("3")); // [0.333…33, 0.333…34]
 * const e = ia.exp(ia.point("1")); // contains Euler's number
 * ia.width(third).toNumber() <= 1e-49; // true
 * ```
 */
export class IntervalArithmetic {
  /** Significant digits of every bound. */
  readonly digits: number;
  readonly #down: Decimal.Constructor;
  readonly #up: Decimal.Constructor;
  readonly #wide: Decimal.Constructor;
  readonly #eps: Decimal;

  constructor(digits: number) {
    if (!Number.isInteger(digits) || digits < 10 || digits > 1000) {
      // decimal.js's ln keeps ln(10) to 1025 digits, which bounds the precision.
      throw new RangeError(`interval digits must be a whole number in 10..1000, got ${digits}`);
    }
    this.digits = digits;
    this.#down = Decimal.clone({ precision: digits, rounding: Decimal.ROUND_FLOOR });
    this.#up = Decimal.clone({ precision: digits, rounding: Decimal.ROUND_CEIL });
    this.#wide = Decimal.clone({ precision: digits + 10, rounding: Decimal.ROUND_HALF_EVEN });
    this.#eps = new this.#up(10).pow(-digits);
  }

  /** The exact value of a decimal string, as a zero-width interval (not rounded). */
  point(text: string): Interval {
    const v = new this.#down(text);
    return { lo: v, hi: v };
  }

  add(a: Interval, b: Interval): Interval {
    return { lo: this.#down.add(a.lo, b.lo), hi: this.#up.add(a.hi, b.hi) };
  }

  sub(a: Interval, b: Interval): Interval {
    return { lo: this.#down.sub(a.lo, b.hi), hi: this.#up.sub(a.hi, b.lo) };
  }

  neg(a: Interval): Interval {
    return { lo: a.hi.neg(), hi: a.lo.neg() };
  }

  mul(a: Interval, b: Interval): Interval {
    const pairs = [[a.lo, b.lo], [a.lo, b.hi], [a.hi, b.lo], [a.hi, b.hi]];
    return {
      lo: Decimal.min(...pairs.map(([p, q]) => this.#down.mul(p, q))),
      hi: Decimal.max(...pairs.map(([p, q]) => this.#up.mul(p, q))),
    };
  }

  /** `a / b`; `b` must not contain 0 (callers check with {@linkcode sign} first). */
  div(a: Interval, b: Interval): Interval {
    if (this.sign(b) === 0 || this.sign(b) === null) {
      throw new RangeError("interval division by an interval that contains 0");
    }
    const pairs = [[a.lo, b.lo], [a.lo, b.hi], [a.hi, b.lo], [a.hi, b.hi]];
    return {
      lo: Decimal.min(...pairs.map(([p, q]) => this.#down.div(p, q))),
      hi: Decimal.max(...pairs.map(([p, q]) => this.#up.div(p, q))),
    };
  }

  /** e^a (increasing, so the bounds come from the ends). */
  exp(a: Interval): Interval {
    return { lo: this.#widen(this.#wide.exp(a.lo)).lo, hi: this.#widen(this.#wide.exp(a.hi)).hi };
  }

  /** ln a; `a` must be positive. */
  ln(a: Interval): Interval {
    if (!a.lo.isPositive() || a.lo.isZero()) {
      throw new RangeError("interval logarithm of an interval that is not positive");
    }
    return { lo: this.#widen(this.#wide.ln(a.lo)).lo, hi: this.#widen(this.#wide.ln(a.hi)).hi };
  }

  /** 1, -1 or 0 when the whole interval is positive, negative or exactly 0; else `null`. */
  sign(a: Interval): -1 | 0 | 1 | null {
    if (a.lo.isPositive() && !a.lo.isZero()) return 1;
    if (a.hi.isNegative() && !a.hi.isZero()) return -1;
    if (a.lo.isZero() && a.hi.isZero()) return 0;
    return null;
  }

  /** `hi - lo`, rounded up. */
  width(a: Interval): Decimal {
    return this.#up.sub(a.hi, a.lo);
  }

  /** The bounds as exact decimals. */
  bounds(a: Interval): { lo: ExactDecimal; hi: ExactDecimal } {
    return { lo: ExactDecimal.parse(a.lo.toFixed())!, hi: ExactDecimal.parse(a.hi.toFixed())! };
  }

  /** `[r - |r|·eps, r + |r|·eps]` at `digits`, rounded outward. */
  #widen(r: Decimal): Interval {
    const margin = this.#up.mul(r.abs(), this.#eps);
    return { lo: this.#down.sub(r, margin), hi: this.#up.add(r, margin) };
  }
}
