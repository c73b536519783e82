/**
 * A small seedable pseudo-random source (splitmix32). raft never uses `Math.random`, so a run
 * is reproducible from its seeds.
 * @module
 */

/** A source of uniformly distributed numbers in `[0, 1)`. */
export type RandomSource = () => number;

/** A deterministic random source seeded with `seed`. */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 0x1_0000_0000;
  };
}
