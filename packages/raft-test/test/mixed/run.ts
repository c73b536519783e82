/**
 * Runs many mixed schedules and adds up their figures (shared by the test and `pnpm soak:mixed`).
 * @module
 */
import { addStats, emptyStats } from "./cluster.js";
import type { MixedStats } from "./cluster.js";
import type { EtcdRaftApi } from "./etcd-wasm.js";
import { runMixedSchedule, settingsFor } from "./schedule.js";

/** Figures of a run of schedules. */
export interface RunFigures {
  stats: MixedStats;
  /** Schedules per layout name. */
  byLayout: Map<string, number>;
  /** Schedules per setting of tsraft's options that an etcd peer can see. */
  byOption: Map<string, number>;
  /** Messages refused, by receiver, type and reason (ids and numbers as N). */
  refusals: Map<string, number>;
  elapsedMs: number;
}

/** The command that replays schedule `seed`. */
export function replayCommand(seed: number, steps: number): string {
  return `pnpm soak:mixed --seed ${seed} --steps ${steps}`;
}

/**
 * Runs the schedules of `seeds` (each seed picks its layout and options, see settingsFor).
 * Throws the first violation, its message naming the seed and the replay command.
 */
export function runSeeds(api: EtcdRaftApi, seeds: readonly number[], steps: number, progress?: (done: number, f: RunFigures) => void): RunFigures {
  const f: RunFigures = { stats: emptyStats(), byLayout: new Map(), byOption: new Map(), refusals: new Map(), elapsedMs: 0 };
  const t0 = performance.now();
  let done = 0;
  for (const seed of seeds) {
    const settings = settingsFor(seed, steps);
    let res;
    try {
      res = runMixedSchedule(api, seed, settings);
    } catch (e) {
      if (e instanceof Error)
        e.message = `mixed schedule ${seed} (${settings.layout.name}, ${JSON.stringify(settings.node)}): ${e.message}\nreplay: ${replayCommand(seed, steps)}`;
      throw e;
    }
    addStats(f.stats, res.stats);
    for (const [k, v] of res.refusals) f.refusals.set(k, (f.refusals.get(k) ?? 0) + v);
    f.byLayout.set(settings.layout.name, (f.byLayout.get(settings.layout.name) ?? 0) + 1);
    const n = settings.node;
    for (const k of [
      `preVote=${n.preVote}`,
      `checkQuorum=${n.checkQuorum}`,
      `batchProposals=${n.batchProposals}`,
      `handOverOnRemoval=${n.handOverOnRemoval}`,
      `stepDownOnRemoval=${n.stepDownOnRemoval}`,
    ]) {
      f.byOption.set(k, (f.byOption.get(k) ?? 0) + 1);
    }
    f.elapsedMs = performance.now() - t0;
    progress?.(++done, f);
  }
  f.elapsedMs = performance.now() - t0;
  return f;
}

/** A few lines of figures. */
export function describeFigures(f: RunFigures): string {
  const s = f.stats;
  return [
    `schedules ${s.schedules} (${s.steps} steps) in ${(f.elapsedMs / 1000).toFixed(1)} s`,
    `messages delivered ${s.delivered}, between implementations ${s.crossDelivered}, dropped ${s.dropped}, refused ${s.refused}`,
    `leaders: tsraft ${s.leadersTsraft}, etcd ${s.leadersEtcd}; snapshots ${s.snapshots} (between implementations ${s.crossSnapshots})`,
    `leaders removed from the voters: tsraft ${s.removedLeadersTsraft}, etcd ${s.removedLeadersEtcd}; MsgTimeoutNow between implementations ${s.crossTimeoutNow}`,
    `conf changes applied ${s.confChanges}, crashes ${s.crashes}, compactions ${s.compactions}, leader transfers ${s.transfers}, payloads committed ${s.applied}`,
    `layouts: ${[...f.byLayout].map(([k, v]) => `${k} x${v}`).join("; ")}`,
    `options: ${[...f.byOption].map(([k, v]) => `${k} x${v}`).join(", ")}`,
    ...[...f.refusals].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  refused x${v}: ${k}`),
  ].join("\n");
}
