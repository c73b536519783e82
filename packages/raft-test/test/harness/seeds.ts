/**
 * The seeds of the randomized schedule tests (property.test.ts, simulator-schedules.test.ts).
 *
 * `pnpm test` replays pinned fast-check seeds, so its verdict is the same on every run and on
 * every machine: a schedule that fails once fails every time, and CI does not fail at random.
 * Soaks explore fresh schedules through environment variables: a seed variable set to a number
 * replays that seed, set to `random` draws one; a runs variable set without a seed variable is
 * a soak with a fresh random seed. Each seed runs as its own test, named with the seed, and a
 * failure names the seed and the command that replays it.
 */

/** One fast-check run: `runs` schedules from `seed`. */
export interface SeededRun {
  seed: number;
  runs: number;
  /** Whether the seed was drawn at random (a soak) rather than pinned or given. */
  random: boolean;
}

/** A fresh fast-check seed (a signed 32-bit integer, as fast-check prints them). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32) - 2 ** 31;
}

/**
 * The runs to do: with `seed` (the seed variable's value) a number, that seed; `random`, or
 * `soak` without a seed, one random seed; otherwise the `pinned` seeds, sharing `runs`
 * between them (rounded up, so at least `runs` in all).
 */
export function seededRuns(pinned: readonly number[], runs: number, env: { seed: string | undefined; soak: boolean }): SeededRun[] {
  if (env.seed !== undefined && env.seed !== "random") {
    const seed = Number(env.seed);
    if (!Number.isInteger(seed)) throw new Error(`seed ${JSON.stringify(env.seed)} is neither an integer nor "random"`);
    return [{ seed, runs, random: false }];
  }
  if (env.seed === "random" || env.soak) return [{ seed: randomSeed(), runs, random: true }];
  const each = Math.ceil(runs / pinned.length);
  return pinned.map((seed) => ({ seed, runs: each, random: false }));
}

/**
 * Runs `fn`; a failure is rethrown with the seed and `rerun` (a command) in front of its
 * message (fast-check's, with the counterexample; not as a `cause`, which reporters would
 * print a second time).
 */
export function reportingSeed(run: SeededRun, rerun: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`${run.random ? "random " : ""}seed ${run.seed} failed; replay it with: ${rerun}\n${msg}`);
  }
}
