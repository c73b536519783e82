/**
 * rawnode-1node and cluster-3node: the Ready loop of RawNode over MemoryStorage, mirroring
 * ../shared/etcd-baseline/bench/main.go (rawnode1, cluster3) step for step: same config, same
 * bootstrap and campaign, same order persist / deliver / apply / advance, same payload buffer
 * shared by every proposal, same check that every node applied N entries of 128 bytes.
 *
 * One difference is tsraft's, not the bench's: by default (`batchProposals: true`) the leader
 * sends the entries proposed between two Readies as one MsgApp per follower, where etcd 3.4
 * sends one MsgApp from inside every `propose()` call. cluster-3node runs tsraft's default;
 * cluster-3node-etcd-pattern runs `batchProposals: false`, etcd's message pattern, and is
 * compared with etcd's cluster-3node line (`baselineName`): the like-for-like ratio.
 * @module
 */
import { EntryType, decodeConfChange, decodeConfChangeV2 } from "@tsraft/raftpb";
import type { NodeId } from "@tsraft/raftpb";
import { RawNode, type Ready } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { gc, now, type BenchContext, type Figure, type Workload } from "../harness.js";

/** Config fields a workload may set on top of the baseline's config. */
export interface NodeOptions {
  /** tsraft's default (true) sends the proposals of one Ready as one MsgApp per follower; false: one MsgApp per propose(), as etcd. */
  batchProposals?: boolean;
  /**
   * tsraft's opt-in one-cycle mode (`soleVoterCommitOnAppend`): a sole-voter leader commits its
   * entries as it appends them, one Ready per entry at B = 1 (etcd 3.4's count), where the
   * default (etcd-io/raft v3.6's protocol) takes two. Changes nothing with two or more voters.
   */
  soleVoterCommitOnAppend?: boolean;
}

/** One node of the benchmark: a RawNode, its storage, and what it applied. */
export class BenchNode {
  readonly rn: RawNode;
  readonly st = new MemoryStorage();
  /** Normal entries with non-empty data applied. */
  applied = 0;
  /** The sum of their data lengths ("touches" the data, as the Go side does). */
  bytes = 0;

  constructor(
    readonly id: NodeId,
    peers: readonly NodeId[],
    options: NodeOptions = {},
  ) {
    this.rn = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: this.st,
      maxSizePerMsg: 1024 * 1024,
      maxInflightMsgs: 256,
      ...options,
    });
    this.rn.bootstrap(peers.map((p) => ({ id: p })));
  }

  persist(rd: Ready): void {
    if (rd.snapshot !== undefined) this.st.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) this.st.append(rd.entries);
    if (rd.hardState !== undefined) this.st.setHardState(rd.hardState);
  }

  apply(rd: Ready): void {
    const ents = rd.committedEntries;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      switch (e.type) {
        case EntryType.EntryNormal:
          if (e.data !== undefined && e.data.length > 0) {
            this.applied++;
            this.bytes += e.data.length;
          }
          break;
        case EntryType.EntryConfChange:
          this.rn.applyConfChange(decodeConfChange(e.data ?? new Uint8Array(0)));
          break;
        case EntryType.EntryConfChangeV2:
          this.rn.applyConfChange(decodeConfChangeV2(e.data ?? new Uint8Array(0)));
          break;
      }
    }
  }
}

/** A 128-byte payload, b[i] = i, shared by every proposal. */
export function payload(size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = i & 0xff;
  return b;
}

/**
 * A bootstrapped single voter (id 1) that campaigned and ran Ready cycles (ticking when it had
 * none) until it is leader with nothing pending, as the baseline's rawnode1 does before timing.
 */
export function singleLeader(options: NodeOptions = {}): BenchNode {
  const n = new BenchNode(1n, [1n], options);
  n.rn.campaign();
  for (let i = 0; n.rn.basicStatus().softState.raftState !== "leader" || n.rn.hasReady(); i++) {
    if (i > 1000) throw new Error("single voter: no leader");
    if (!n.rn.hasReady()) {
      n.rn.tick();
      continue;
    }
    const rd = n.rn.ready();
    n.persist(rd);
    n.apply(rd);
    n.rn.advance(rd);
  }
  return n;
}

/** One run of rawnode-1node: entries/s for N proposals in batches of B. */
export function rawnode1(N: number, B: number, size = 128, options: NodeOptions = {}): number {
  const n = singleLeader(options);
  const data = payload(size);
  gc();
  const start = now();
  let proposed = 0;
  while (proposed < N) {
    const k = Math.min(B, N - proposed);
    for (let i = 0; i < k; i++) n.rn.propose(data);
    proposed += k;
    while (n.rn.hasReady()) {
      const rd = n.rn.ready();
      n.persist(rd);
      n.apply(rd);
      n.rn.advance(rd);
    }
  }
  const el = now() - start;
  if (n.applied !== N || n.bytes !== N * size) throw new Error(`rawnode-1node: applied ${n.applied} of ${N}`);
  return N / el;
}

/** Nodes 1..size in one thread, messages delivered synchronously by Step. */
export class BenchCluster {
  readonly nodes: BenchNode[] = [];
  private readonly byId = new Map<NodeId, BenchNode>();

  constructor(size: number, options: NodeOptions = {}) {
    const ids: NodeId[] = [];
    for (let i = 1; i <= size; i++) ids.push(BigInt(i));
    for (const id of ids) {
      const n = new BenchNode(id, ids, options);
      this.nodes.push(n);
      this.byId.set(id, n);
    }
  }

  /** One Ready of every node that has one, in id order: persist, deliver, apply, advance. */
  round(): boolean {
    let any = false;
    for (const n of this.nodes) {
      if (!n.rn.hasReady()) continue;
      any = true;
      const rd = n.rn.ready();
      n.persist(rd);
      const msgs = rd.messages;
      for (let i = 0; i < msgs.length; i++) {
        const m = msgs[i]!;
        const t = this.byId.get(m.to);
        if (t !== undefined) t.rn.step(m);
      }
      n.apply(rd);
      n.rn.advance(rd);
    }
    return any;
  }

  drain(): void {
    while (this.round()) {
      // until quiet
    }
  }
}

/** One run of cluster-Nnode: entries/s until every node applied N entries. */
export function clusterRun(size: number, N: number, B: number, payloadSize = 128, options: NodeOptions = {}): number {
  const c = new BenchCluster(size, options);
  const leader = c.nodes[0]!;
  c.drain();
  leader.rn.campaign();
  c.drain();
  if (leader.rn.basicStatus().softState.raftState !== "leader") throw new Error("cluster: node 1 did not become leader");
  const data = payload(payloadSize);
  gc();
  const start = now();
  let proposed = 0;
  for (;;) {
    if (proposed < N) {
      const k = Math.min(B, N - proposed);
      for (let i = 0; i < k; i++) leader.rn.propose(data);
      proposed += k;
    }
    c.drain();
    if (c.nodes.every((n) => n.applied >= N)) break;
    if (proposed >= N) throw new Error("cluster: no progress but not all applied");
  }
  const el = now() - start;
  for (const n of c.nodes) {
    if (n.applied !== N || n.bytes !== N * payloadSize) throw new Error(`cluster: node ${n.id} applied ${n.applied} of ${N}`);
  }
  return N / el;
}

function runs(ctx: BenchContext, label: string, f: () => number): number[] {
  // One unmeasured warm-up run (at reduced size by the caller), then ctx.runs measured runs.
  const out: number[] = [];
  for (let r = 0; r < ctx.runs; r++) {
    out.push(f());
    ctx.progress(`${label}: run ${r + 1}/${ctx.runs}: ${Math.round(out[r]!)} entries/s`);
  }
  return out;
}

function rawnode1Figures(ctx: BenchContext, name: string, options: NodeOptions, info: Record<string, unknown>): Figure[] {
  const N = ctx.quick ? 5_000 : 500_000;
  const figures: Figure[] = [];
  for (const B of [1, 64]) {
    rawnode1(Math.min(N, 50_000), B, 128, options); // warm-up
    const fig: Figure = {
      name,
      params: { B, N, payload: 128 },
      unit: "entries/s",
      runs: runs(ctx, `${name} B=${B}`, () => rawnode1(N, B, 128, options)),
      info,
    };
    if (name !== "rawnode-1node") fig.baselineName = "rawnode-1node";
    figures.push(fig);
  }
  return figures;
}

export const rawnode1node: Workload = {
  name: "rawnode-1node",
  describe: "one voter RawNode over MemoryStorage: propose B, then Ready/persist/apply/advance until N applied",
  async run(ctx) {
    return rawnode1Figures(
      ctx,
      "rawnode-1node",
      {},
      {
        mode: "default (etcd-io/raft v3.6's protocol): the leader's own entries commit on the Ready after the one that persists them; 2 Readies per entry at B=1",
      },
    );
  },
};

export const rawnode1nodeOneCycle: Workload = {
  name: "rawnode-1node-one-cycle",
  describe:
    "rawnode-1node with soleVoterCommitOnAppend (opt-in): the sole voter commits its entries in the Ready that persists them, 1 Ready per entry at B=1 as etcd 3.4",
  async run(ctx) {
    return rawnode1Figures(
      ctx,
      "rawnode-1node-one-cycle",
      { soleVoterCommitOnAppend: true },
      {
        mode: "soleVoterCommitOnAppend: true (opt-in; etcd 3.4's count of Readies): 1 Ready per entry at B=1",
      },
    );
  },
};

function cluster3(ctx: BenchContext, name: string, options: NodeOptions, info?: Record<string, unknown>): Figure[] {
  const N = ctx.quick ? 2_000 : 200_000;
  const figures: Figure[] = [];
  for (const B of [1, 64]) {
    clusterRun(3, Math.min(N, 20_000), B, 128, options); // warm-up
    const fig: Figure = {
      name,
      params: { B, N, payload: 128 },
      unit: "entries/s",
      runs: runs(ctx, `${name} B=${B}`, () => clusterRun(3, N, B, 128, options)),
    };
    if (info !== undefined) fig.info = info;
    if (name !== "cluster-3node") fig.baselineName = "cluster-3node";
    figures.push(fig);
  }
  return figures;
}

export const cluster3node: Workload = {
  name: "cluster-3node",
  describe: "three RawNodes in one thread, synchronous delivery after persist, until all applied N",
  async run(ctx) {
    return cluster3(ctx, "cluster-3node", {}, { batchProposals: "true (tsraft's default: one MsgApp per follower per Ready)" });
  },
};

export const cluster3nodeEtcdPattern: Workload = {
  name: "cluster-3node-etcd-pattern",
  describe: "cluster-3node with batchProposals: false (one MsgApp per propose(), etcd 3.4's message pattern): the like-for-like line",
  async run(ctx) {
    return cluster3(
      ctx,
      "cluster-3node-etcd-pattern",
      { batchProposals: false },
      { batchProposals: "false: one MsgApp per propose() and follower, as etcd 3.4" },
    );
  },
};
