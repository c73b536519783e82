/**
 * A simulated cluster whose nodes are tsraft or etcd 3.4 RawNodes, each over its own
 * implementation's MemoryStorage. Every message crosses as bytes: encoded by the sender's
 * codec, decoded by the receiver's. The network holds messages until the schedule delivers,
 * reorders or drops them; partitions cut links; crashes drop the RawNode (the storage
 * survives, as a disk would).
 *
 * Each input to a node (tick, message, proposal...) is followed by its Ready loop, run whole:
 * take the Ready, persist snapshot, entries and HardState, check the node, send the messages,
 * apply the committed entries (conf changes through the node's applyConfChange), advance.
 * A crash therefore falls between Ready loops: what a node sent was persisted first.
 *
 * The safety invariants are the simulator's own (raft's testing/invariants.ts, the
 * InvariantChecker), fed with views of the nodes: a tsraft node's raft state, or an etcd
 * node's Status and storage (fetched after each persist, when its storage holds its whole log).
 * @module
 */
import { describeMessage, decodeConfChange, encodeMessage, decodeConfChangeV2, decodeMessage, EntryType, MessageType } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, NodeId, Snapshot } from "@tsraft/raftpb";
import type { Prng } from "@tsraft/raft/testing";
import { InvariantChecker, InvariantViolation } from "../../../raft/src/testing/invariants.js";
import type { CheckedNode } from "../../../raft/src/testing/invariants.js";
import { makeDisk, startRaft, StepRefused } from "./drivers.js";
import type { Disk, Impl, MixedReady, NodeOptions, Raft } from "./drivers.js";
import type { EtcdRaftApi } from "./etcd-wasm.js";

/** Counters of one run (added up over many). */
export interface MixedStats {
  schedules: number;
  steps: number;
  /** Messages delivered, and those between nodes of different implementations. */
  delivered: number;
  crossDelivered: number;
  dropped: number;
  /** Leaders seen (one per term), by implementation. */
  leadersTsraft: number;
  leadersEtcd: number;
  /** Snapshots delivered, and those between implementations. */
  snapshots: number;
  crossSnapshots: number;
  confChanges: number;
  crashes: number;
  compactions: number;
  transfers: number;
  /** Messages a node refused (etcd's Step errors, tsraft's RaftErrors). */
  refused: number;
  /** Proposals applied (payloads, on the first node to apply each index). */
  applied: number;
  /** Leaders that applied a configuration without themselves as a voter, by implementation. */
  removedLeadersTsraft: number;
  removedLeadersEtcd: number;
  /** MsgTimeoutNow delivered between implementations (transfers and tsraft's hand-overs). */
  crossTimeoutNow: number;
}

export function emptyStats(): MixedStats {
  return {
    schedules: 0,
    steps: 0,
    delivered: 0,
    crossDelivered: 0,
    dropped: 0,
    leadersTsraft: 0,
    leadersEtcd: 0,
    snapshots: 0,
    crossSnapshots: 0,
    confChanges: 0,
    crashes: 0,
    compactions: 0,
    transfers: 0,
    refused: 0,
    applied: 0,
    removedLeadersTsraft: 0,
    removedLeadersEtcd: 0,
    crossTimeoutNow: 0,
  };
}

export function addStats(into: MixedStats, s: MixedStats): void {
  for (const k of Object.keys(into) as (keyof MixedStats)[]) into[k] += s[k];
}

/** One node slot of the cluster. */
export class Member {
  readonly id: NodeId;
  readonly disk: Disk;
  raft: Raft | undefined = undefined;
  incarnation = 0;
  applied = 0;
  confState: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  /** The state machine: payloads applied and a hash over them. */
  sm = { count: 0, hash: 0 };
  /** Ever started (an added node starts when a conf change naming it is applied). */
  started = false;
  /** Removed by an applied conf change: never added again, never restarted. */
  retired = false;
  /** The tick at which a retired node stops. */
  stopAt = 0;
  constructor(
    readonly slot: number,
    readonly impl: Impl,
    api: EtcdRaftApi | undefined,
  ) {
    this.id = BigInt(slot + 1);
    this.disk = makeDisk(impl, api);
  }
}

interface InFlight {
  from: number;
  to: number;
  type: MessageType;
  bytes: Uint8Array;
}

/** The cluster's shape and options. */
export interface MixedConfig {
  /** The implementation of each slot: the first `voters` are the initial voters, the rest spares that conf changes may add. */
  impls: readonly Impl[];
  voters: number;
  node: NodeOptions;
}

const EMPTY = new Uint8Array(0);
/** MIXED_TRACE=1 prints every delivery on stderr. */
const TRACE = process.env.MIXED_TRACE === "1";
const enc = new TextEncoder();

function smData(sm: { count: number; hash: number }): Uint8Array {
  return enc.encode(`${sm.count}:${sm.hash}`);
}

function smOf(data: Uint8Array | undefined): { count: number; hash: number } {
  if (data === undefined || data.length === 0) return { count: 0, hash: 0 };
  const [c, h] = new TextDecoder().decode(data).split(":");
  return { count: Number(c), hash: Number(h) };
}

function fnv(h: number, data: Uint8Array): number {
  let x = h ^ 0x811c9dc5;
  for (const b of data) x = Math.imul(x ^ b, 0x01000193);
  return x >>> 0;
}

function idsOf(cs: ConfState): NodeId[] {
  return [...cs.voters, ...cs.learners, ...cs.votersOutgoing, ...cs.learnersNext];
}

/** The mixed cluster. */
export class MixedCluster {
  readonly members: Member[];
  readonly stats = emptyStats();
  readonly checker: InvariantChecker;
  readonly net: InFlight[] = [];
  /** Partition side of each slot; messages between different sides are dropped. */
  side: number[];
  step = 0;
  event = 0;
  /** tickAll calls so far. */
  ticks = 0;
  readonly #leaders = new Set<number>();
  readonly #probes = new Map<string, Set<number>>();
  readonly #log: string[] = [];
  /** Refused messages by receiver implementation, message type and reason. */
  readonly refusals = new Map<string, number>();

  constructor(
    readonly api: EtcdRaftApi | undefined,
    readonly cfg: MixedConfig,
    readonly rand: Prng,
    readonly seed: number,
  ) {
    // etcd's election timeouts come from one source in the Go program: seed it per schedule.
    api?.seedElections(rand.int(0x7fff_ffff));
    this.members = cfg.impls.map((impl, slot) => new Member(slot, impl, api));
    this.side = this.members.map(() => 0);
    this.checker = new InvariantChecker((name, detail, slots) => this.#fail(name, detail, slots), 1);
    const voters = this.members.slice(0, cfg.voters).map((m) => m.id);
    const boot: Snapshot = {
      data: smData({ count: 0, hash: 0 }),
      metadata: { index: 1, term: 1, confState: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
    };
    for (const m of this.members.slice(0, cfg.voters)) {
      m.disk.applySnapshot(boot);
      this.start(m);
    }
  }

  /** Notes an event for the failure report (the last ones are printed). */
  note(s: string): void {
    this.#log.push(`${this.step}: ${s}`);
    if (this.#log.length > 40) this.#log.shift();
  }

  #fail(name: string, detail: string, _slots: readonly number[]): void {
    const ctx = this.members
      .map(
        (m) =>
          `  ${m.id} ${m.impl}${m.raft === undefined ? " (down)" : ""}${m.retired ? " (removed)" : ""} applied=${m.applied} conf=${idsOf(m.confState).join(",")}`,
      )
      .join("\n");
    throw new InvariantViolation(
      name,
      detail,
      { seed: this.seed, step: this.step, event: this.event, replay: undefined },
      `${this.checker.describeLeaders()}\n${this.checker.describeCommitted()}\nnodes:\n${ctx}\nrefused: ${[...this.refusals].map(([k, v]) => `${k} x${v}`).join("; ") || "none"}\nlast events:\n  ${this.#log.join("\n  ")}`,
    );
  }

  /** The node as the checker reads it (call only when the node's storage holds its whole log). */
  view(m: Member): CheckedNode {
    return {
      slot: m.slot,
      id: m.id,
      incarnation: m.incarnation,
      applied: m.applied,
      storage: m.disk,
      node: m.raft === undefined ? undefined : { raft: m.raft.view() },
    };
  }

  /** The node's identity only, for the checker's hooks that read no raft state. */
  #light(m: Member): CheckedNode {
    return { slot: m.slot, id: m.id, incarnation: m.incarnation, applied: m.applied, storage: m.disk, node: undefined };
  }

  #observe(m: Member, full = false): void {
    const v = this.view(m);
    this.checker.observe(v, full);
    const r = v.node!.raft;
    if (r.state === "leader" && !this.#leaders.has(r.term)) {
      this.#leaders.add(r.term);
      if (m.impl === "tsraft") this.stats.leadersTsraft++;
      else this.stats.leadersEtcd++;
    }
  }

  /** Starts (or restarts) a node over its storage. */
  start(m: Member): void {
    const snap = m.disk.snapshot();
    m.incarnation++;
    m.started = true;
    m.sm = smOf(snap.data);
    m.applied = snap.metadata.index;
    m.confState = snap.metadata.confState;
    m.raft = this.#guard(m, "start", () => startRaft(m.disk, m.id, m.applied, this.cfg.node, this.rand.fork()));
    this.note(`start ${m.id} (${m.impl}, incarnation ${m.incarnation})`);
    this.checker.started(this.view(m));
    this.pump(m);
  }

  crash(m: Member): void {
    if (m.raft === undefined) return;
    m.raft.free();
    m.raft = undefined;
    this.stats.crashes++;
    this.note(`crash ${m.id}`);
  }

  /** Runs `f` on `m`'s node; an exception other than an invariant violation is a "panic". */
  #guard<T>(m: Member, what: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof InvariantViolation) throw e;
      this.#fail("panic", `node ${m.id} (${m.impl}) ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, [m.slot]);
      throw e;
    }
  }

  /** Runs `m`'s Ready loop until it has nothing more. */
  pump(m: Member): void {
    for (let k = 0; m.raft !== undefined && this.#guard(m, "hasReady", () => m.raft!.hasReady()); k++) {
      if (k > 1000) this.#fail("panic", `node ${m.id} keeps having Readies`, [m.slot]);
      const rd = this.#guard(m, "ready", () => m.raft!.ready());
      this.#handleReady(m, rd);
    }
  }

  #handleReady(m: Member, rd: MixedReady): void {
    this.event++;
    const raft = m.raft!;
    if (rd.snapshot !== undefined) {
      const snap = rd.snapshot;
      m.disk.applySnapshot(snap);
      this.checker.restoredSnapshot(this.#light(m), snap);
      m.sm = smOf(snap.data);
      m.applied = snap.metadata.index;
      m.confState = snap.metadata.confState;
      this.#startNamed(snap.metadata.confState);
    }
    if (rd.entries.length > 0) m.disk.append(rd.entries);
    if (rd.hardState !== undefined) m.disk.setHardState(rd.hardState);
    this.checker.persisted(this.#light(m), rd.snapshot, rd.entries, rd.hardState);
    this.#observe(m);
    for (const b of rd.messages) {
      const msg = decodeMessage(b);
      this.net.push({ from: m.slot, to: Number(msg.to) - 1, type: msg.type, bytes: b });
    }
    for (const e of rd.committedEntries) {
      if (e.index <= m.applied) continue;
      this.#apply(m, e);
      if (m.raft !== raft) return;
    }
    this.#guard(m, "advance", () => raft.advance());
    this.#observe(m);
  }

  #apply(m: Member, e: Entry): void {
    this.checker.applied(this.#light(m), e);
    m.applied = e.index;
    if (e.type === EntryType.EntryNormal) {
      if (e.data !== undefined && e.data.length > 0) {
        m.sm = { count: m.sm.count + 1, hash: fnv(m.sm.hash, e.data) };
        const key = new TextDecoder().decode(e.data);
        let set = this.#probes.get(key);
        if (set === undefined) {
          this.#probes.set(key, (set = new Set()));
          this.stats.applied++;
        }
        set.add(m.slot);
      }
      return;
    }
    const cc: ConfChange | ConfChangeV2 = e.type === EntryType.EntryConfChange ? decodeConfChange(e.data ?? EMPTY) : decodeConfChangeV2(e.data ?? EMPTY);
    const prev = m.confState;
    const wasLeader = m.raft!.view().state === "leader";
    m.confState = this.#guard(m, `applying conf change ${e.index}/${e.term}`, () => m.raft!.applyConfChange(cc));
    this.stats.confChanges++;
    if (wasLeader && !m.confState.voters.includes(m.id) && prev.voters.includes(m.id)) {
      if (m.impl === "tsraft") this.stats.removedLeadersTsraft++;
      else this.stats.removedLeadersEtcd++;
    }
    this.note(
      `${m.id} applied conf change ${e.index}: ${idsOf(prev).join(",")} -> voters ${m.confState.voters.join(",")} learners ${m.confState.learners.join(",")} outgoing ${m.confState.votersOutgoing.join(",")}`,
    );
    const now = new Set(idsOf(m.confState));
    for (const id of idsOf(prev)) if (!now.has(id)) this.#retire(this.members[Number(id) - 1]!);
    // A node added now joins empty and needs a snapshot, which both etcd and tsraft ignore
    // unless its ConfState names them: record one here (the log is not compacted), as etcd's
    // server sends a snapshot of its current state.
    const before = new Set(idsOf(prev));
    if ([...now].some((id) => !before.has(id)) && e.index > m.disk.snapshot().metadata.index) {
      m.disk.createSnapshot(e.index, m.confState, smData(m.sm));
    }
    this.#startNamed(m.confState);
  }

  /**
   * `n` left the configuration: it is stopped for good after a grace of 0-30 ticks, as a
   * service stops a removed member (etcd's server does; an etcd 3.4 leader that removed itself
   * would otherwise lead on, dropping every proposal). The grace lets a removed tsraft leader
   * hand over (`handOverOnRemoval`) in front of etcd peers.
   */
  #retire(n: Member): void {
    if (n.retired) return;
    n.retired = true;
    n.stopAt = this.ticks + this.rand.int(31);
    this.note(`${n.id} left the configuration: stopped at tick ${n.stopAt}`);
  }

  /** Starts the spare nodes a configuration names (they join empty and get a snapshot). */
  #startNamed(cs: ConfState): void {
    for (const id of idsOf(cs)) {
      const n = this.members[Number(id) - 1];
      if (n !== undefined && !n.started) this.start(n);
    }
  }

  /** Delivers (or drops) in-flight message `k`. */
  deliver(k: number, drop: boolean): void {
    const f = this.net.splice(k, 1)[0]!;
    const from = this.members[f.from]!;
    const to = this.members[f.to];
    const lost = drop || to === undefined || to.raft === undefined || this.side[f.from] !== this.side[f.to];
    if (f.type === MessageType.MsgSnap && from.raft !== undefined) {
      const raft = from.raft;
      this.#guard(from, "reportSnapshot", () => raft.reportSnapshot(BigInt(f.to + 1), !lost));
      this.pump(from);
    }
    if (TRACE) console.error(`${this.step}: ${f.from + 1}->${f.to + 1} ${lost ? "LOST " : ""}${describeMessage(decodeMessage(f.bytes))}`);
    if (lost) {
      this.stats.dropped++;
      return;
    }
    this.event++;
    this.stats.delivered++;
    if (from.impl !== to.impl) this.stats.crossDelivered++;
    if (from.impl !== to.impl) this.#checkCodecs(f, from.impl);
    if (f.type === MessageType.MsgTimeoutNow && from.impl !== to.impl) this.stats.crossTimeoutNow++;
    if (f.type === MessageType.MsgSnap) {
      this.stats.snapshots++;
      if (from.impl !== to.impl) this.stats.crossSnapshots++;
    }
    const raft = to.raft!;
    try {
      raft.step(f.bytes);
    } catch (e) {
      if (!(e instanceof StepRefused))
        this.#guard(to, `step ${MessageType[f.type]} from ${f.from + 1}`, () => {
          throw e;
        });
      this.stats.refused++;
      const why = `${to.impl} refused ${MessageType[f.type]} from ${from.impl}: ${(e as Error).message.replace(/\b[0-9a-f]*\d[0-9a-f]*\b/g, "N")}`;
      this.refusals.set(why, (this.refusals.get(why) ?? 0) + 1);
    }
    this.pump(to);
  }

  /**
   * The receiving side's codec decodes the message and encodes it back to the very bytes the
   * sender's codec produced (both claim etcd 3.4's canonical encoding).
   */
  #checkCodecs(f: InFlight, sender: Impl): void {
    const back = sender === "etcd" ? encodeMessage(decodeMessage(f.bytes)) : this.api!.remarshalMessage(f.bytes);
    if (!(back instanceof Uint8Array) || back.length !== f.bytes.length || back.some((b, i) => b !== f.bytes[i])) {
      this.#fail(
        "codec",
        `${MessageType[f.type]} from ${f.from + 1} (${sender}) re-encoded by the other codec differs: ${Buffer.from(f.bytes).toString("hex")} vs ${back instanceof Uint8Array ? Buffer.from(back).toString("hex") : String(back)}`,
        [f.from],
      );
    }
  }

  tickAll(): void {
    this.ticks++;
    for (const m of this.members) {
      if (m.retired && m.raft !== undefined && m.stopAt <= this.ticks) {
        m.raft.free();
        m.raft = undefined;
      }
    }
    for (const m of this.members) {
      if (m.raft === undefined) continue;
      const raft = m.raft;
      this.#guard(m, "tick", () => raft.tick());
      this.pump(m);
    }
  }

  propose(m: Member, data: Uint8Array): boolean {
    if (m.raft === undefined) return false;
    const raft = m.raft;
    const ok = this.#guard(m, "propose", () => raft.propose(data));
    this.pump(m);
    return ok;
  }

  proposeConfChange(m: Member, cc: ConfChange | ConfChangeV2): boolean {
    if (m.raft === undefined) return false;
    const raft = m.raft;
    const ok = this.#guard(m, "proposeConfChange", () => raft.proposeConfChange(cc));
    this.note(
      `${m.id} proposes conf change ${JSON.stringify(cc, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))}: ${ok ? "accepted" : "dropped"}`,
    );
    this.pump(m);
    return ok;
  }

  campaign(m: Member): void {
    if (m.raft === undefined) return;
    const raft = m.raft;
    this.#guard(m, "campaign", () => raft.campaign());
    this.pump(m);
  }

  transferLeader(m: Member, to: NodeId): void {
    if (m.raft === undefined) return;
    const raft = m.raft;
    this.#guard(m, "transferLeader", () => raft.transferLeader(to));
    this.stats.transfers++;
    this.note(`${m.id} transfers leadership to ${to}`);
    this.pump(m);
  }

  /** Snapshots `m`'s state machine at its applied index and compacts its log up to it. */
  compact(m: Member): void {
    if (m.raft === undefined) return;
    const snap = m.disk.snapshot();
    if (m.applied <= snap.metadata.index) return;
    m.disk.createSnapshot(m.applied, m.confState, smData(m.sm));
    m.disk.compact(m.applied);
    this.stats.compactions++;
    this.note(`${m.id} compacts to ${m.applied}`);
  }

  /** Checks every running node's whole log (the end of each step). */
  checkAll(): void {
    for (const m of this.members) if (m.raft !== undefined) this.#observe(m, true);
  }

  /** The running leader of the highest term, if any. */
  leader(): Member | undefined {
    let best: Member | undefined;
    let bestTerm = -1;
    for (const m of this.members) {
      if (m.raft === undefined) continue;
      const r = m.raft.view();
      if (r.state === "leader" && r.term > bestTerm) {
        best = m;
        bestTerm = r.term;
      }
    }
    return best;
  }

  /** The slots that applied payload `key`. */
  appliedBy(key: string): ReadonlySet<number> {
    return this.#probes.get(key) ?? new Set();
  }

  fail(name: string, detail: string): never {
    this.#fail(name, detail, []);
    throw new Error("unreachable");
  }
}
