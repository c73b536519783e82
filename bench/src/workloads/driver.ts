/**
 * driver-3node: the throughput of the driver users run, `RaftNode`, as a promise per proposal.
 * A 3-member cluster of RaftNodes in this process, each over a MemoryStorage (its `persist`
 * writes there and resolves), joined by an in-memory network that hands each message object to
 * the receiver's `step()` on the next microtask (no encoding: the network is not what this
 * measures). `C` closed-loop proposers on the leader each await `propose()` of an empty payload
 * (resolved when the entry is applied on the leader) and propose again, until N proposals
 * resolved.
 *
 * The anchor is openraft's published minimal benchmark (3 nodes in one process, in-memory,
 * empty requests, 16 threads): 33,000 proposals/s with 1 client, 3.5 M/s with 4,096. Here
 * everything runs on one Node thread.
 *
 * Each run also counts the bytes allocated per proposal (`v8.GCProfiler`: the heap in use
 * before each collection minus after the one before, plus the growth from the last; all three
 * members and the proposers): a second figure, `bytes/proposal`, deterministic to about 2%
 * where the throughput on a shared machine is not.
 *
 * `BENCH_METRICS=1` binds `@tsraft/prometheus` to every member (prom-client, the diagnostics
 * channels subscribed), to measure what metrics cost; the figure's `metrics` param says which.
 * @module
 */
import v8 from "node:v8";
import type { Entry, Message, NodeId } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode } from "@tsraft/node";
import { bindMetrics, type TsraftMetrics } from "@tsraft/prometheus";
import type { PersistRequest } from "@tsraft/node";
import { gc, now, type BenchContext, type Figure, type Workload } from "../harness.js";

const EMPTY = new Uint8Array(0);

/** Whether to bind prom-client metrics (BENCH_METRICS=1). */
export const benchMetrics = (): boolean => process.env.BENCH_METRICS === "1";

class Cluster {
  readonly nodes = new Map<NodeId, RaftNode<number>>();
  private readonly metrics: TsraftMetrics[] = [];
  private readonly queues = new Map<NodeId, Message[]>();

  constructor(size: number) {
    const ids = Array.from({ length: size }, (_, i) => BigInt(i + 1));
    for (const id of ids) {
      const storage = new MemoryStorage();
      let applied = 0;
      const node = new RaftNode<number>({
        raft: { id, electionTick: 10, heartbeatTick: 1, storage, maxSizePerMsg: 1024 * 1024, maxInflightMsgs: 256 },
        tickMs: 10,
        requestTimeoutMs: 60_000,
        strictReconfig: false,
        persist: async (p: PersistRequest): Promise<void> => {
          if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
          if (p.entries.length > 0) storage.append(p.entries as Entry[]);
          if (p.hardState !== undefined) storage.setHardState(p.hardState);
        },
        send: (msgs) => this.send(msgs),
        apply: () => ++applied,
        restore: () => {},
      });
      this.nodes.set(id, node);
      if (benchMetrics()) this.metrics.push(bindMetrics({ node: { node, id } }));
    }
  }

  /** Queues messages per receiver; one microtask delivers what the turn queued. */
  private send(msgs: Message[]): void {
    for (const m of msgs) {
      let q = this.queues.get(m.to);
      if (q === undefined) {
        q = [];
        this.queues.set(m.to, q);
        const to = m.to;
        queueMicrotask(() => {
          const batch = this.queues.get(to)!;
          this.queues.delete(to);
          const node = this.nodes.get(to);
          if (node !== undefined) for (const x of batch) node.step(x);
        });
      }
      q.push(m);
    }
  }

  async start(): Promise<RaftNode<number>> {
    const peers = [...this.nodes.keys()].map((id) => ({ id }));
    for (const n of this.nodes.values()) await n.start({ bootstrap: peers });
    const first = this.nodes.get(1n)!;
    first.campaign();
    const end = Date.now() + 10_000;
    while (first.leader() !== 1n || [...this.nodes.values()].some((n) => n.leader() !== 1n)) {
      if (Date.now() > end) throw new Error("driver-3node: no leader after 10 s");
      await new Promise((r) => setTimeout(r, 5));
    }
    // One proposal through, so that every member has applied the leader's empty entry.
    await first.propose(EMPTY);
    return first;
  }

  async stop(): Promise<void> {
    for (const n of this.nodes.values()) await n.stop();
    for (const m of this.metrics) m.close();
  }
}

/** What one measured run gives. */
interface Measured {
  perSecond: number;
  bytesPerProposal: number;
}

/**
 * Bytes allocated while `run` runs: the heap in use before each collection minus after the
 * one before (from `v8.GCProfiler`), plus the growth from the last collection to the end.
 */
async function allocatedDuring(run: () => Promise<void>): Promise<number> {
  const used = (): number => v8.getHeapStatistics().used_heap_size;
  const prof = new v8.GCProfiler();
  prof.start();
  const start = used();
  await run();
  const end = used();
  let total = 0;
  let prev = start;
  for (const g of prof.stop().statistics) {
    total += g.beforeGC.heapStatistics.usedHeapSize - prev;
    prev = g.afterGC.heapStatistics.usedHeapSize;
  }
  return total + end - prev;
}

/** Runs `clients` closed-loop proposers until `total` proposals resolved. */
async function measure(leader: RaftNode<number>, clients: number, total: number): Promise<Measured> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      await leader.propose(EMPTY);
    }
  };
  let seconds = 0;
  const bytes = await allocatedDuring(async () => {
    const t0 = now();
    await Promise.all(Array.from({ length: clients }, worker));
    seconds = now() - t0;
  });
  return { perSecond: started / seconds, bytesPerProposal: bytes / started };
}

/** See the module comment. */
export const driver3node: Workload = {
  name: "driver-3node",
  describe: "RaftNode: 3 in-process members over MemoryStorage, C closed-loop proposers, a promise per proposal (resolved on apply)",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const out: Figure[] = [];
    for (const clients of (process.env.DRIVER_C ?? "1,64,4096").split(",").map(Number)) {
      const n = ctx.quick ? Math.min(2_000, clients * 50) : clients === 1 ? 50_000 : 400_000;
      const runs: number[] = [];
      const bytes: number[] = [];
      for (let r = 0; r < ctx.runs + 1; r++) {
        gc();
        const c = new Cluster(3);
        const leader = await c.start();
        const v = await measure(leader, clients, r === 0 ? Math.ceil(n / 5) : n);
        await c.stop();
        if (r === 0) continue; // the first run warms up
        runs.push(v.perSecond);
        bytes.push(Math.round(v.bytesPerProposal));
      }
      ctx.progress(`driver-3node C=${clients}: ${runs.map((x) => Math.round(x)).join(", ")} proposals/s; ${bytes.join(", ")} bytes allocated/proposal`);
      const params = { C: clients, N: n, payload: 0, ...(benchMetrics() ? { metrics: "prom-client" } : {}) };
      out.push({ name: "driver-3node", params, unit: "bytes/proposal", runs: bytes, lowerIsBetter: true });
      out.push({
        name: "driver-3node",
        params,
        unit: "proposals/s",
        runs,
        curve: {
          chart: "driver-3node: resolved proposals/s",
          x: "C",
          series: "tsraft RaftNode",
          xLabel: "concurrent proposers",
          yLabel: "proposals/s",
          logX: true,
        },
      });
    }
    return out;
  },
};
