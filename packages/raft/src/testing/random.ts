/**
 * The simulator's one random source: a small, fast, seedable generator (mulberry32), with the
 * helpers the simulator needs. Every random choice of a run (delays, drops, which event comes
 * next, each node's election timeouts) is drawn from one `Prng`, so a seed fixes the run.
 * @module
 */
import type { RandomSource } from "../rand.js";

/** A deterministic pseudo-random generator seeded with a 32-bit integer. */
export class Prng {
  #s: number;

  /** A generator whose sequence is fixed by `seed` (only its low 32 bits count). */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  next32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A number in `[0, 1)`. */
  float(): number {
    return this.next32() / 0x1_0000_0000;
  }

  /** An integer in `[0, n)`; `n` must be a positive integer below 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in `[lo, hi]`. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  /** A new, independent random source for a node (its election timeouts), drawn from this one. */
  fork(): RandomSource {
    const child = new Prng(this.next32());
    return () => child.float();
  }
}
