/**
 * Scaling curves of the raft core (no etcd counterparts; new names):
 *
 * - cluster-nnode: cluster-3node's loop (rawnode.ts `clusterRun`: synchronous delivery after
 *   persisting, propose B on node 1, rounds until quiet, until every node applied N) with 3, 5
 *   and 7 voters, B in {1, 64}, N = 100,000, 128-byte payloads; entries/s. Trend: time per entry
 *   against the number of voters (the leader sends to nodes - 1 followers, so linear is expected).
 * - cluster-payload: the same with 3 voters, B = 64, payloads of 128, 1024 and 16384 bytes
 *   (one shared buffer, as in cluster-3node); entries/s. Messages are delivered by reference, so
 *   no payload byte is copied: this curve shows what the byte-size limits (maxSizePerMsg and
 *   maxCommittedSizePerReady, 1 MiB) and the size accounting cost, not memory bandwidth. Trend:
 *   time per entry against the payload.
 * - log-growth: rawnode-1node's cycle with B = 1 (propose one entry, then Ready / persist /
 *   apply / advance), 50,000 untimed cycles (V8 re-optimizing after the run's setup; see
 *   `logGrowthRun`), then 1,000,000 more timed in windows of 100,000 entries; each proposal has its own 128-byte payload (a real log holds distinct payloads, so
 *   the heap grows as it would), carved from 64 KiB buffers (`PayloadPool`: why). Two series: the MemoryStorage never compacted (it holds every
 *   entry at the end), and compacted to the applied index every 10,000 entries (`compact`
 *   inside the timed part). Trend: time per cycle against the log size (index reached).
 *
 * Each: one unmeasured warm-up at reduced size, then `runs` runs (5 by default); the point's value is
 * the median of the runs. `--quick` shrinks every size.
 * @module
 */
import { gc, median, now, type Figure, type Workload } from "../harness.js";
import { type BenchNode, clusterRun, singleLeader } from "./rawnode.js";
import { trendFigure } from "./trend.js";

export const clusterNNode: Workload = {
  name: "cluster-nnode",
  describe: "cluster-3node's loop with 3, 5 and 7 voters, B in {1, 64}: entries/s as the cluster grows",
  async run(ctx) {
    const N = ctx.quick ? 1_000 : 100_000;
    const runs = ctx.runs;
    const sizes = [3, 5, 7];
    const out: Figure[] = [];
    for (const B of [1, 64]) {
      const costs: number[][] = [];
      const perSize: number[][] = sizes.map(() => []);
      for (const nodes of sizes) clusterRun(nodes, Math.min(N, 10_000), B); // warm-up
      for (let r = 0; r < runs; r++) {
        const run: number[] = [];
        for (const [i, nodes] of sizes.entries()) {
          const eps = clusterRun(nodes, N, B);
          perSize[i]!.push(eps);
          run.push(1 / eps);
          ctx.progress(`cluster-nnode nodes=${nodes} B=${B}: run ${r + 1}/${runs}: ${Math.round(eps)} entries/s`);
        }
        costs.push(run);
      }
      for (const [i, nodes] of sizes.entries()) {
        out.push({
          name: "cluster-nnode",
          params: { B, N, nodes, payload: 128 },
          unit: "entries/s",
          runs: perSize[i]!,
          curve: { chart: "cluster-nnode: entries/s by number of voters", x: "nodes", series: `B=${B}`, xLabel: "voters", yLabel: "entries/s" },
        });
      }
      out.push(trendFigure({ name: "cluster-nnode", params: { B, N, nodes: "3..7", payload: 128 }, xs: sizes, costs, cost: "time per entry", x: "voters" }));
    }
    return out;
  },
};

export const clusterPayload: Workload = {
  name: "cluster-payload",
  describe: "cluster-3node's loop (B=64) with payloads of 128 B, 1 KiB and 16 KiB: entries/s as entries grow",
  async run(ctx) {
    const N = ctx.quick ? 1_000 : 100_000;
    const B = 64;
    const runs = ctx.runs;
    const sizes = [128, 1024, 16384];
    const perSize: number[][] = sizes.map(() => []);
    const costs: number[][] = [];
    for (const p of sizes) clusterRun(3, Math.min(N, 10_000), B, p); // warm-up
    for (let r = 0; r < runs; r++) {
      const run: number[] = [];
      for (const [i, p] of sizes.entries()) {
        const eps = clusterRun(3, N, B, p);
        perSize[i]!.push(eps);
        run.push(1 / eps);
        ctx.progress(`cluster-payload payload=${p}: run ${r + 1}/${runs}: ${Math.round(eps)} entries/s`);
      }
      costs.push(run);
    }
    const out: Figure[] = sizes.map((p, i) => ({
      name: "cluster-payload",
      params: { B, N, nodes: 3, payload: p },
      unit: "entries/s",
      runs: perSize[i]!,
      info: { payloadMBps: Math.round((median(perSize[i]!) * p) / 1e6) },
      curve: {
        chart: "cluster-payload: entries/s by payload size (3 voters, B=64)",
        x: "payload",
        series: "3 voters, B=64",
        xLabel: "payload bytes",
        yLabel: "entries/s",
        logX: true,
      },
    }));
    out.push(
      trendFigure({
        name: "cluster-payload",
        params: { B, N, nodes: 3, payload: "128..16384" },
        xs: sizes,
        costs,
        cost: "time per entry",
        x: "payload",
        flatMeans: "payloads are passed by reference, never copied",
      }),
    );
    return out;
  },
};

/** Untimed cycles at the start of each log-growth run (see {@link logGrowthRun}). */
export const LOG_GROWTH_SETTLE = 50_000;

/**
 * One run of log-growth: entries/s of each window of `window` cycles (B = 1) until `total`
 * entries were applied; MemoryStorage compacted to the applied index every `compactEvery`
 * entries (0: never). `atWindow`, if given, is called before each window and after the last
 * (untimed; `bench/tools/log-growth-callgrind.sh` marks the windows with it).
 *
 * The windows start after {@link LOG_GROWTH_SETTLE} untimed cycles on the same leader (so the
 * log holds that many entries when the first window starts). Setting up a leader (bootstrap,
 * campaign: conf change entries, votes) deoptimizes the cycle's hot functions, and so does
 * the collection of the previous run's objects (V8 drops optimized code that embedded them:
 * "weak objects"); V8 re-optimizes them during the next few thousand cycles. By callgrind's
 * count (`bench/tools/log-growth-callgrind.sh`, 2026-12-02) that cost 76,000 instructions per
 * entry in a run's first 5,000 entries and 30,000 in the next 5,000, against 15,000 after:
 * timed from the first cycle, the first window of every run was slow (0.5-0.7 of the median
 * with compaction), a cost of starting the run rather than of the log's size. 10,000 settling
 * cycles are enough when V8 compiles on the main thread (`--single-threaded`, as the callgrind
 * tool runs it); with its compiler on a background thread of a loaded machine the first
 * window of the compacted series still came out at 0.61-0.87 of its run's median in 6 runs
 * (load average 6.2-6.4), and at 0.96-1.12 in 5 of 6 with 50,000 (one 0.59, at 5.7-6.4).
 */
export function logGrowthRun(total: number, window: number, compactEvery: number, atWindow?: () => void): number[] {
  const n = singleLeader();
  const st = n.st;
  const at = { compacted: st.firstIndex() - 1, applied: st.firstIndex() - 1 };
  const pool = new PayloadPool();
  gc(); // before the settling cycles: what it frees must not drop optimized code in a window
  for (let k = 0; k < LOG_GROWTH_SETTLE; k++) growthCycle(n, compactEvery, at, pool);
  const out: number[] = [];
  for (let w = 0; w < total / window; w++) {
    atWindow?.();
    const start = now();
    for (let k = 0; k < window; k++) growthCycle(n, compactEvery, at, pool);
    out.push(window / (now() - start));
  }
  atWindow?.();
  if (n.applied !== LOG_GROWTH_SETTLE + total) throw new Error(`log-growth: applied ${n.applied} of ${LOG_GROWTH_SETTLE + total}`);
  const held = st.lastIndex() - st.firstIndex() + 1;
  if (compactEvery === 0 ? held < LOG_GROWTH_SETTLE + total : held > compactEvery) throw new Error(`log-growth: storage holds ${held} entries`);
  return out;
}

/** Bytes of each buffer log-growth's payloads are carved from (512 payloads of 128 bytes). */
const PAYLOAD_POOL_BYTES = 64 * 1024;

/**
 * log-growth's payloads: each proposal its own 128 bytes, carved from 64 KiB buffers, as Node's
 * Buffer pool and a socket's read buffer hand out small payloads. Until 2026-12-02 (evening)
 * each was a fresh `new Uint8Array(128)`: above V8's 64-byte limit for typed arrays inside the
 * heap, so one malloc'd backing store per proposal, freed by V8's concurrent ArrayBuffer
 * sweeper on a helper thread while the main thread allocated the next ones from the same
 * glibc arena. That cost 25-30% of the main thread's CPU per entry in the compacted series,
 * and the main thread waited on malloc's lock in the runs whose windows fell (bench/README.md,
 * log-growth): the caller's allocator, not the log.
 */
class PayloadPool {
  #buf = new Uint8Array(0);
  #at = 0;

  /** The next `size` bytes (b[i] = i & 0xff, as rawnode.ts `payload`), never handed out before. */
  next(size: number): Uint8Array {
    if (this.#at + size > this.#buf.length) {
      this.#buf = new Uint8Array(Math.max(PAYLOAD_POOL_BYTES, size));
      this.#at = 0;
    }
    const b = this.#buf.subarray(this.#at, this.#at + size);
    this.#at += size;
    for (let i = 0; i < size; i++) b[i] = i & 0xff;
    return b;
  }
}

/** One cycle of log-growth: propose a new 128-byte payload, Ready loop, compact every `compactEvery` (0: never). */
function growthCycle(n: BenchNode, compactEvery: number, at: { compacted: number; applied: number }, pool: PayloadPool): void {
  const rn = n.rn;
  rn.propose(pool.next(128));
  while (rn.hasReady()) {
    const rd = rn.ready();
    n.persist(rd);
    n.apply(rd);
    const ce = rd.committedEntries;
    if (ce.length > 0) at.applied = ce[ce.length - 1]!.index;
    rn.advance(rd);
  }
  if (compactEvery > 0 && at.applied - at.compacted >= compactEvery) {
    n.st.compact(at.applied);
    at.compacted = at.applied;
  }
}

export const logGrowth: Workload = {
  name: "log-growth",
  describe: "rawnode-1node's cycle (B=1) as the log grows to 1,000,000 entries, with and without compaction: entries/s per window",
  async run(ctx) {
    const total = ctx.quick ? 20_000 : 1_000_000;
    const window = total / 10;
    const runs = ctx.runs;
    const every = ctx.quick ? 2_000 : 10_000;
    const out: Figure[] = [];
    logGrowthRun(Math.min(total, 100_000), Math.min(window, 10_000), every); // warm-up
    // x: the entries the log has received at the end of each window.
    const xs: number[] = [];
    for (let w = 1; w <= total / window; w++) xs.push(LOG_GROWTH_SETTLE + w * window);
    for (const compactEvery of [0, every]) {
      const perRun: number[][] = [];
      for (let r = 0; r < runs; r++) {
        const eps = logGrowthRun(total, window, compactEvery);
        perRun.push(eps);
        ctx.progress(`log-growth compactEvery=${compactEvery}: run ${r + 1}/${runs}: ${eps.map((e) => Math.round(e / 1000)).join(" ")} k entries/s`);
        gc();
      }
      const series = compactEvery === 0 ? "no compaction" : `compact every ${compactEvery}`;
      for (const [i, logSize] of xs.entries()) {
        out.push({
          name: "log-growth",
          params: { B: 1, compactEvery, logSize, payload: 128 },
          unit: "entries/s",
          runs: perRun.map((run) => run[i]!),
          info: { window: `entries ${logSize - window + 1}..${logSize}` },
          curve: {
            chart: "log-growth: entries/s of each window as the log grows (1 voter, B=1)",
            x: "logSize",
            series,
            xLabel: "log size (entries)",
            yLabel: "entries/s",
          },
        });
      }
      // The window midpoints as sizes, so the first window is not taken as size ~0.
      const mids = xs.map((x) => x - window / 2);
      out.push(
        trendFigure({
          name: "log-growth",
          params: { B: 1, N: total, compactEvery, payload: 128 },
          xs: mids,
          costs: perRun.map((run) => run.map((e) => 1 / e)),
          cost: "time per cycle",
          x: "log size",
        }),
      );
    }
    return out;
  },
};
