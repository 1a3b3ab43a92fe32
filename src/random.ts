/**
 * Seeded randomness. Every random number in the project comes from an {@linkcode Rng}
 * passed in or created from a seed, so two runs with the same seed give the same numbers.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through SplitMix32). Its whole
 * state is four 32-bit words, which {@linkcode Rng.state} exposes so that a checkpoint can
 * save it and a resumed run continue the same stream.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.uniform(-1, 1); // the same number on every run with seed 42
 * ```
 */
export class Rng {
  #s = new Uint32Array(4);
  #spare: number | null = null;

  /** Starts the stream for `seed` (any integer). */
  constructor(seed = 0) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // SplitMix32 spreads a small seed over the whole state.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** The generator's state, to save; pass it to {@linkcode Rng.fromState} to resume. */
  get state(): number[] {
    return [...this.#s, this.#spare ?? NaN];
  }

  /** A generator that continues exactly where the one whose `state` was saved left off. */
  static fromState(state: readonly number[]): Rng {
    return new Rng().setState(state);
  }

  /**
   * Continues, from now on, exactly where the generator whose `state` was saved left off;
   * in place, so that layers holding this generator (e.g. dropout) resume with it.
   */
  setState(state: readonly number[]): this {
    for (let i = 0; i < 4; i++) this.#s[i] = state[i] >>> 0;
    this.#spare = state.length > 4 && typeof state[4] === "number" && !Number.isNaN(state[4])
      ? state[4]
      : null;
    return this;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float uniform in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A float uniform in [lo, hi). */
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.random();
  }

  /** A standard normal sample (Box–Muller, caching the second value). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.random();
    this.#spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** An integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** Fills a dense tensor with samples uniform in [lo, hi) and returns it. */
  fillUniform(t: Tensor, lo: number, hi: number): Tensor {
    for (let i = 0; i < t.data.length; i++) t.data[i] = this.uniform(lo, hi);
    return t;
  }

  /** Fills a dense tensor with normal samples of the given mean and std and returns it. */
  fillNormal(t: Tensor, mean = 0, std = 1): Tensor {
    for (let i = 0; i < t.data.length; i++) t.data[i] = mean + std * this.normal();
    return t;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalRng = new Rng(0);

/**
 * Seeds the generator that layers use when none is passed to them, like
 * `torch.manual_seed`. The default seed is 0, so even unseeded runs repeat.
 *
 * @example
 * ```ts
 * manualSeed(1234);
 * const conv = new Conv1D(8, 12, 3, 2); // same weights on every run
 * ```
 */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

/** The generator set by {@linkcode manualSeed}, used where no `Rng` is passed. */
export function defaultRng(): Rng {
  return globalRng;
}
