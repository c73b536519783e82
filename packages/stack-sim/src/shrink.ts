/**
 * Shrinking a failing schedule: lowers its budgets ({@link ScheduleParams}: faults, requests,
 * virtual duration, clients, the network's drops and duplicates) one at a time, greedily, while
 * the same check still fails. The seed stays: a run is a function of (seed, parameters), so the
 * shrunk parameters replay the shrunk run exactly.
 *
 * A budget equal to what the failing run used is not always the same run (a fault budget
 * reached stops the fault draws that came after it), so every candidate, that one included,
 * is run before it is kept.
 * @module
 */
import type { Violation } from "./checks.js";
import type { ScheduleParams } from "./schedule-params.js";

/** What the shrinker needs of a run. */
export interface ShrinkRun {
  violation: Violation | undefined;
  /** Client requests made, faults injected (to tighten the budgets to what a failing run used). */
  requests: number;
  faults: number;
  hash: string;
}

/** The smallest failing schedule found. */
export interface ShrinkOutcome {
  params: ScheduleParams;
  violation: Violation;
  hash: string;
  /** Runs made while shrinking. */
  runs: number;
}

type Budget = "maxFaults" | "maxRequests" | "durationMs" | "clients";

/** Candidates below `cur` (and >= 0), smallest first; `step` the granularity. */
function below(cur: number, step: number): number[] {
  const r = (x: number): number => Math.floor(x / step) * step;
  const c = new Set([0, r(cur / 4), r(cur / 2), r((3 * cur) / 4), cur - step]);
  return [...c].filter((x) => x >= 0 && x < cur).sort((a, b) => a - b);
}

/**
 * Shrinks `failing`, whose run is `first` (it must have a violation), running candidates with
 * `run`, at most `maxRuns` of them (default 60). A candidate is kept when its run fails the same
 * check (the violation's `invariant`).
 */
export async function shrinkSchedule(
  run: (p: ScheduleParams) => Promise<ShrinkRun>,
  failing: ScheduleParams,
  first: ShrinkRun,
  maxRuns = 60,
): Promise<ShrinkOutcome> {
  if (first.violation === undefined) throw new Error("shrinkSchedule: the run to shrink has no violation");
  const invariant = first.violation.invariant;
  let best = { params: failing, run: first, violation: first.violation };
  let runs = 0;
  const attempt = async (p: ScheduleParams): Promise<boolean> => {
    if (runs >= maxRuns) return false;
    runs++;
    const r = await run(p);
    if (r.violation?.invariant !== invariant) return false;
    best = { params: p, run: r, violation: r.violation };
    return true;
  };
  // The budgets the failing run used, when lower than those it was given.
  const tighten = async (): Promise<void> => {
    const p = best.params;
    const maxFaults = Math.min(p.maxFaults ?? Infinity, best.run.faults);
    const maxRequests = Math.min(p.maxRequests ?? Infinity, best.run.requests);
    if (maxFaults !== p.maxFaults || maxRequests !== p.maxRequests) await attempt({ ...p, maxFaults, maxRequests });
  };
  const budgets: { key: Budget; step: number; cur: (p: ScheduleParams) => number }[] = [
    { key: "maxFaults", step: 1, cur: (p) => p.maxFaults ?? best.run.faults },
    { key: "maxRequests", step: 1, cur: (p) => p.maxRequests ?? best.run.requests },
    { key: "durationMs", step: 10, cur: (p) => p.durationMs },
    { key: "clients", step: 1, cur: (p) => p.clients },
  ];
  // The run up to the violation does not depend on what comes after it: end the faults there.
  const until = Math.ceil(first.violation.t / 10) * 10 + 10;
  if (until < failing.durationMs) await attempt({ ...failing, durationMs: until });
  await tighten();
  for (let progress = true; progress && runs < maxRuns; ) {
    progress = false;
    for (const b of budgets) {
      for (const c of below(b.cur(best.params), b.step)) {
        if (await attempt({ ...best.params, [b.key]: c })) {
          progress = true;
          await tighten();
          break;
        }
      }
    }
    for (const key of ["drop", "duplicate"] as const) {
      if (best.params[key] > 0 && (await attempt({ ...best.params, [key]: 0 }))) progress = true;
    }
  }
  return { params: best.params, violation: best.violation, hash: best.run.hash, runs };
}
