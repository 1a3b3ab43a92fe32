/**
 * `ExactDecimal`: a finite decimal held exactly as a BigInt over a power of ten.
 *
 * Finite decimals are closed under addition, subtraction and multiplication, so a
 * computation that only does those on decimal inputs (the momentum solver with ReLU or
 * identity and an L2 divergence) is exact rational arithmetic with no rounding at any step,
 * and its result can be printed in full and truncated without doubt.
 *
 * @module
 */

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** 10^n as a BigInt, for the small n this module needs. */
function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/**
 * An exact finite decimal: `units / 10^scale` with `scale >= 0`.
 *
 * @example
 * ```ts
 * const a = ExactDecimal.parse("0.1")!;
 * a.add(ExactDecimal.parse("0.2")!).toString(); // "0.3", exactly
 * ExactDecimal.parse("-7.5548")!.truncate(3).toString(); // "-7.554" (toward zero)
 * ```
 */
export class ExactDecimal {
  /** The value times 10^scale. */
  readonly units: bigint;
  /** How many decimals `units` carries. */
  readonly scale: number;

  constructor(units: bigint, scale: number) {
    if (!Number.isInteger(scale) || scale < 0) {
      throw new RangeError(`ExactDecimal scale must be a whole number >= 0, got ${scale}`);
    }
    this.units = units;
    this.scale = scale;
  }

  /**
   * Reads a decimal such as `-0.5`, `.25`, `3` or `1e-3`; `null` if `text` is not one.
   *
   * @example
   * ```ts
   * ExactDecimal.parse("1e-3")!.toString(); // "0.001"
   * ExactDecimal.parse("abc"); // null
   * ```
   */
  static parse(text: string): ExactDecimal | null {
    const m = DECIMAL.exec(text.trim());
    if (!m || (m[2] === "" && (m[3] ?? "") === "")) return null;
    const [, sign, whole, fraction = "", exponent = "0"] = m;
    const exp = Number(exponent);
    // Refuse absurd exponents rather than allocate a number with millions of digits.
    if (!Number.isSafeInteger(exp) || Math.abs(exp) > 10_000) return null;
    let units = BigInt((whole || "0") + fraction);
    let scale = fraction.length - exp;
    if (scale < 0) {
      units *= pow10(-scale);
      scale = 0;
    }
    return new ExactDecimal(sign === "-" ? -units : units, scale);
  }

  /** `units` rescaled to `scale` decimals (which must be at least this one's). */
  #at(scale: number): bigint {
    return this.units * pow10(scale - this.scale);
  }

  /** The sum, exactly. */
  add(other: ExactDecimal): ExactDecimal {
    const scale = Math.max(this.scale, other.scale);
    return new ExactDecimal(this.#at(scale) + other.#at(scale), scale);
  }

  /** The difference, exactly. */
  sub(other: ExactDecimal): ExactDecimal {
    const scale = Math.max(this.scale, other.scale);
    return new ExactDecimal(this.#at(scale) - other.#at(scale), scale);
  }

  /** The product, exactly. */
  mul(other: ExactDecimal): ExactDecimal {
    return new ExactDecimal(this.units * other.units, this.scale + other.scale);
  }

  /** The negation. */
  neg(): ExactDecimal {
    return new ExactDecimal(-this.units, this.scale);
  }

  /** -1, 0 or 1. */
  sign(): -1 | 0 | 1 {
    return this.units < 0n ? -1 : this.units > 0n ? 1 : 0;
  }

  /** Negative, zero or positive as this is below, equal to or above `other`. */
  cmp(other: ExactDecimal): -1 | 0 | 1 {
    return this.sub(other).sign();
  }

  /** Whether the two are the same number (whatever their scales). */
  equals(other: ExactDecimal): boolean {
    return this.cmp(other) === 0;
  }

  /**
   * The number cut to `decimals` decimals toward zero (digits dropped, never rounded up):
   * 2.0009 → 2.000 and -7.5548 → -7.554. The result carries exactly `decimals` decimals.
   */
  truncate(decimals: number): ExactDecimal {
    if (decimals >= this.scale) return new ExactDecimal(this.#at(decimals), decimals);
    // BigInt division truncates toward zero, which is the rule here.
    return new ExactDecimal(this.units / pow10(this.scale - decimals), decimals);
  }

  /** The largest number with `decimals` decimals that is not above this one: -7.5548 → -7.555. */
  floor(decimals: number): ExactDecimal {
    const t = this.truncate(decimals);
    return t.cmp(this) > 0 ? new ExactDecimal(t.units - 1n, decimals) : t;
  }

  /** The nearest number with `decimals` decimals, halves away from zero: 1.9996 → 2.000. */
  round(decimals: number): ExactDecimal {
    const half = new ExactDecimal(BigInt(this.sign()) * 5n, decimals + 1);
    return this.add(half).truncate(decimals);
  }

  /** Every digit, in plain notation with `scale` decimals (`-0` prints as `0`). */
  toString(): string {
    const digits = (this.units < 0n ? -this.units : this.units).toString().padStart(
      this.scale + 1,
      "0",
    );
    const sign = this.units < 0n ? "-" : "";
    if (this.scale === 0) return sign + digits;
    return `${sign}${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}`;
  }

  /** The nearest float64. */
  toNumber(): number {
    return Number(this.toString());
  }
}
