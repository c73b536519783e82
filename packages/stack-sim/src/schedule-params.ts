/**
 * A schedule's parameters: the seed and the budgets a shrinker lowers (virtual duration,
 * clients, requests, faults, the network's drops and duplicates), their run options, and their
 * command-line form (`--seed 18 --duration 700 --max-faults 3 ...`, what `pnpm soak:stack`
 * prints as a replay command and parses back).
 * @module
 */

/** The seed and the budgets of one schedule. */
export interface ScheduleParams {
  seed: number;
  /** Virtual ms of faults and requests before the heal. */
  durationMs: number;
  clients: number;
  /** At most this many client requests (undefined: no limit). */
  maxRequests: number | undefined;
  /** At most this many faults injected (undefined: no limit). */
  maxFaults: number | undefined;
  /** The network's probabilities of dropping and of duplicating a message. */
  drop: number;
  duplicate: number;
}

/** What a schedule is without budgets: `runStackSchedule`'s defaults. */
export const DEFAULT_SCHEDULE: Readonly<Omit<ScheduleParams, "seed">> = Object.freeze({
  durationMs: 2000,
  clients: 3,
  maxRequests: undefined,
  maxFaults: undefined,
  drop: 0.02,
  duplicate: 0.02,
});

/** The run options of `p` (spread them into `runStackSchedule`'s options; `network` merges with yours). */
export function scheduleOptions(p: ScheduleParams): {
  seed: number;
  durationMs: number;
  clients: number;
  maxRequests?: number;
  maxFaults?: number;
  network: { drop: number; duplicate: number };
} {
  return {
    seed: p.seed,
    durationMs: p.durationMs,
    clients: p.clients,
    ...(p.maxRequests === undefined ? {} : { maxRequests: p.maxRequests }),
    ...(p.maxFaults === undefined ? {} : { maxFaults: p.maxFaults }),
    network: { drop: p.drop, duplicate: p.duplicate },
  };
}

const FLAGS = {
  duration: "durationMs",
  clients: "clients",
  "max-requests": "maxRequests",
  "max-faults": "maxFaults",
  drop: "drop",
  duplicate: "duplicate",
} as const satisfies Record<string, keyof Omit<ScheduleParams, "seed">>;

/** The command-line form of `p`: `--seed S`, then each parameter that differs from {@link DEFAULT_SCHEDULE}. */
export function scheduleArgs(p: ScheduleParams): string[] {
  const out = ["--seed", String(p.seed)];
  for (const [flag, key] of Object.entries(FLAGS) as [string, keyof typeof DEFAULT_SCHEDULE][]) {
    const v = p[key];
    if (v !== undefined && v !== DEFAULT_SCHEDULE[key]) out.push(`--${flag}`, String(v));
  }
  return out;
}

/**
 * The parameters given in `argv` (as {@link scheduleArgs} writes them; `--seed` default 1),
 * the others from {@link DEFAULT_SCHEDULE}.
 * @throws Error naming the flag whose value is not a number >= 0 (an integer but for `--drop` and `--duplicate`).
 */
export function parseScheduleArgs(argv: readonly string[]): ScheduleParams {
  const value = (flag: string): number | undefined => {
    const i = argv.indexOf(`--${flag}`);
    if (i < 0) return undefined;
    const v = Number(argv[i + 1]);
    const integer = flag !== "drop" && flag !== "duplicate";
    if (!(v >= 0) || (integer && !Number.isSafeInteger(v)) || (!integer && v > 1)) throw new Error(`--${flag}: not a valid value: ${argv[i + 1]}`);
    return v;
  };
  const p: ScheduleParams = { seed: value("seed") ?? 1, ...DEFAULT_SCHEDULE };
  for (const [flag, key] of Object.entries(FLAGS) as [string, keyof typeof DEFAULT_SCHEDULE][]) {
    const v = value(flag);
    if (v !== undefined) p[key] = v;
  }
  return p;
}
