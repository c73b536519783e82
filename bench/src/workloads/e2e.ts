/**
 * e2e (`e2e-put`, `e2e-get`: ops/s, and `e2e-put-latency`, `e2e-get-latency`: ms at p50, p90,
 * p99): the whole service as a user feels it, client -> HTTP -> leader -> WAL fsync -> TCP ->
 * followers' fsync -> commit -> apply -> answer, on a 3-member cluster of separate processes.
 *
 * tsraft: examples/kv (kv-cluster.ts). With `--against-etcd`, also a real etcd cluster
 * (etcd-cluster.ts), both measured by the same load client (load-client.ts): closed loop,
 * one keep-alive connection per client to the leader, 256-byte values over 1,000 keys (all
 * written before the first point), puts and linearizable reads.
 *
 * Rounds (default 3; --rounds N, or --runs N): each round starts fresh clusters of every system (both
 * running at once; the idle one only heartbeats), writes the keys, then for each client
 * count: puts on each system, then gets on each, one point after the other, so the two
 * systems' points of a pair are seconds apart and see the same machine. The order of the
 * systems alternates between rounds (etcd first in round 1, tsraft first in round 2, ...),
 * so neither always runs right after the other's writes. Before its first point each system
 * is warmed up for 10 s (--warmup-seconds: half puts, half gets, 16 clients, unmeasured): the
 * processes of a fresh cluster are cold (tsraft's JavaScript is still being compiled by V8:
 * its code space grew from 3.3 to 4.2 MB during the first measured point without it), and a
 * service is measured as it runs, warm; both systems get the same. Each point: warm-up (2 s),
 * then the measured window (--seconds, default 8). The clusters are stopped at the end of each
 * round, and on any error or signal (cleanup.ts).
 *
 * Excluded from the timed part: cluster start, leader election, writing the keys, the
 * warm-up, and the time to drain the requests in flight at the end of a window.
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BenchError } from "../errors.js";
import type { BenchContext, Figure, Workload } from "../harness.js";
import { startEtcdCluster } from "../e2e/etcd-cluster.js";
import { e2eFigures, type PointResult } from "../e2e/figures.js";
import { startKvCluster } from "../e2e/kv-cluster.js";
import { runLoad } from "../e2e/load-client.js";
import { processCpuSeconds } from "../e2e/proc.js";
import { everyKeyOnce, randomKeys, type Op, type RequestSet } from "../e2e/requests.js";
import type { E2eSystem } from "../e2e/system.js";

/** The client counts of a full run. */
export const DEFAULT_CLIENTS: readonly number[] = [1, 4, 16, 64, 256, 1024];
const KEYS = 1000;
const VALUE_BYTES = 256;
/** A request unanswered this long is an error (the KV server's own timeout is 5 s). */
const TIMEOUT_MS = 10_000;

/** The plan of one e2e run, from the command line. */
export interface E2ePlan {
  clients: readonly number[];
  seconds: number;
  warmupSeconds: number;
  /**
   * Seconds of unmeasured load on each system after its keys are written and before its first
   * point (half puts, half gets, {@link WARM_CLIENTS} clients), so that every point measures
   * warm processes, as a service runs (see the module comment).
   */
  systemWarmupSeconds: number;
  rounds: number;
  againstEtcd: boolean;
}

/** The clients of the per-system warm-up. */
export const WARM_CLIENTS = 16;

/** The plan for `ctx`: --quick is tsraft only, 1 and 4 clients, 1 s points, one round. */
export function e2ePlan(ctx: BenchContext): E2ePlan {
  const rounds = (dflt: number): number => ctx.rounds ?? (ctx.runsGiven === true ? ctx.runs : dflt);
  if (ctx.quick)
    return {
      clients: ctx.clients ?? [1, 4],
      seconds: ctx.pointSeconds ?? 1,
      warmupSeconds: 0.25,
      systemWarmupSeconds: ctx.systemWarmupSeconds ?? 0.5,
      rounds: rounds(1),
      againstEtcd: ctx.againstEtcd === true,
    };
  return {
    clients: ctx.clients ?? DEFAULT_CLIENTS,
    seconds: ctx.pointSeconds ?? 8,
    warmupSeconds: 2,
    systemWarmupSeconds: ctx.systemWarmupSeconds ?? 10,
    rounds: rounds(3),
    againstEtcd: ctx.againstEtcd === true,
  };
}

/** The order of the systems in round `round`: alternating, so neither always goes first. */
export function roundOrder<T>(systems: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...systems] : [...systems].reverse();
}

function cpuOf(pids: readonly number[]): number {
  let t = 0;
  for (const p of pids) {
    const s = processCpuSeconds(p);
    if (s === undefined) return NaN;
    t += s;
  }
  return t;
}

/**
 * Writes every key once (64 clients), so that reads find their values.
 * @throws {@link BenchError} `TSRAFT_BENCH_PRELOAD` if any put fails.
 */
async function preload(sys: E2eSystem): Promise<void> {
  const leader = await sys.leader(30_000);
  const set = sys.requests("put", KEYS, VALUE_BYTES);
  const r = await runLoad({ ...leader, clients: 64, next: everyKeyOnce(set), warmupSeconds: 0, seconds: Infinity, timeoutMs: TIMEOUT_MS });
  if (r.errorCount > 0 || r.ok !== KEYS) {
    throw new BenchError("TSRAFT_BENCH_PRELOAD", `${sys.impl}: writing the ${KEYS} keys: ${r.ok} ok, errors ${JSON.stringify(r.errors)}`);
  }
}

/**
 * Warms `sys` up: `seconds` of unmeasured load, half puts and half gets, {@link WARM_CLIENTS}
 * clients. Errors are not fatal here (a point that follows reports its own).
 */
async function warmUp(sys: E2eSystem, sets: ReadonlyMap<string, RequestSet>, seconds: number): Promise<void> {
  if (seconds <= 0) return;
  const leader = await sys.leader(30_000);
  for (const op of ["put", "get"] as const) {
    await runLoad({
      ...leader,
      clients: WARM_CLIENTS,
      next: randomKeys(sets.get(`${sys.impl} ${op}`)!, 0x1b873593),
      warmupSeconds: 0,
      seconds: seconds / 2,
      timeoutMs: TIMEOUT_MS,
    });
  }
}

/** Measures one point: `clients` closed-loop clients doing `op` on `sys`'s leader. */
async function measurePoint(sys: E2eSystem, set: RequestSet, op: Op, clients: number, round: number, plan: E2ePlan): Promise<PointResult> {
  const leader = await sys.leader(30_000);
  const pids = sys.pids();
  const cpu0 = cpuOf(pids);
  const r = await runLoad({
    host: leader.host,
    port: leader.port,
    clients,
    next: randomKeys(set, 0x2545f491 + round),
    warmupSeconds: plan.warmupSeconds,
    seconds: plan.seconds,
    timeoutMs: TIMEOUT_MS,
  });
  const cpu1 = cpuOf(pids);
  const after = await sys.leader(30_000);
  // Server CPU is read around the whole run (warm-up and drain included), so per request it
  // is divided by every request sent; per second, by the whole run's length.
  const wall = plan.warmupSeconds + r.seconds;
  const serverCpu = cpu1 - cpu0;
  return {
    impl: sys.impl,
    op,
    clients,
    round,
    throughput: r.seconds > 0 ? r.ok / r.seconds : 0,
    p50: r.latency.quantile(0.5),
    p90: r.latency.quantile(0.9),
    p99: r.latency.quantile(0.99),
    errors: r.errors,
    errorCount: r.errorCount,
    warmupErrors: r.warmupErrors,
    clientCores: r.seconds > 0 ? r.clientCpuSeconds / r.seconds : 0,
    clientUsPerRequest: r.ok + r.errorCount > 0 ? (r.clientCpuSeconds * 1e6) / (r.ok + r.errorCount) : NaN,
    serverCores: serverCpu / wall,
    serverUsPerRequest: r.sent > 0 ? (serverCpu * 1e6) / r.sent : NaN,
    leaderChanged: after.id !== leader.id,
  };
}

function describePoint(p: PointResult): string {
  const flag = p.errorCount > 0 ? `  ERRORS ${JSON.stringify(p.errors)}` : "";
  return (
    `round ${p.round + 1} ${p.impl.padEnd(11)} ${p.op} clients=${String(p.clients).padEnd(4)} ` +
    `${Math.round(p.throughput)} ops/s  p50 ${p.p50.toFixed(2)}  p90 ${p.p90.toFixed(2)}  p99 ${p.p99.toFixed(2)} ms  ` +
    `client ${(p.clientCores * 100).toFixed(0)}% cpu, servers ${(p.serverCores * 100).toFixed(0)}% cpu${flag}`
  );
}

/** Starts the systems of one round; on a failure, stops the ones already started. */
async function startSystems(dir: string, againstEtcd: boolean): Promise<E2eSystem[]> {
  const systems: E2eSystem[] = [];
  try {
    // One after the other: two clusters starting at once would slow each other's elections.
    if (againstEtcd) systems.push(await startEtcdCluster(join(dir, "etcd")));
    systems.push(await startKvCluster({ dir: join(dir, "tsraft") }));
    return systems;
  } catch (e) {
    await Promise.allSettled(systems.map((s) => s.stop()));
    throw e;
  }
}

/** Runs the whole plan; returns every point. */
export async function runE2e(ctx: BenchContext, plan: E2ePlan): Promise<PointResult[]> {
  const points: PointResult[] = [];
  for (let round = 0; round < plan.rounds; round++) {
    const dir = mkdtempSync(join(ctx.tmpdir, "tsraft-e2e-"));
    try {
      const systems = await startSystems(dir, plan.againstEtcd);
      try {
        ctx.progress(`round ${round + 1}/${plan.rounds}: ${systems.map((s) => `${s.impl} in ${s.dir}`).join(", ")}`);
        for (const s of systems) await preload(s);
        const sets = new Map<string, RequestSet>();
        for (const s of systems) for (const op of ["put", "get"] as const) sets.set(`${s.impl} ${op}`, s.requests(op, KEYS, VALUE_BYTES));
        const order = roundOrder(systems, round);
        for (const s of order) await warmUp(s, sets, plan.systemWarmupSeconds);
        for (const clients of plan.clients) {
          for (const op of ["put", "get"] as const) {
            for (const s of order) {
              const p = await measurePoint(s, sets.get(`${s.impl} ${op}`)!, op, clients, round, plan);
              ctx.progress(describePoint(p));
              points.push(p);
            }
          }
        }
      } finally {
        await Promise.allSettled(systems.map((s) => s.stop()));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return points;
}

/** See the module comment. */
export const e2e: Workload = {
  name: "e2e",
  describe: "the KV service end to end (3 processes, disk, TCP, HTTP), puts and linearizable reads by client count; --against-etcd",
  optIn: true,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const plan = e2ePlan(ctx);
    const points = await runE2e(ctx, plan);
    return e2eFigures(points, { keys: KEYS, valueBytes: VALUE_BYTES });
  },
};
