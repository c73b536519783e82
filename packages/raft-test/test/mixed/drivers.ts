/**
 * One interface over the two implementations in a mixed cluster: a tsraft RawNode over
 * tsraft's MemoryStorage, or an etcd 3.4 RawNode over etcd's MemoryStorage (in Go, see
 * etcd-wasm.ts). Messages go in and out as bytes encoded by the node's own codec; Readies,
 * entries, snapshots and HardStates of the etcd side are decoded with tsraft's codec, and what
 * the harness writes to etcd's storage is encoded with tsraft's codec (so both codecs see each
 * other's bytes on every path).
 * @module
 */
import {
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshot,
  encodeConfChange,
  encodeConfChangeV2,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshot,
} from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, HardState, NodeId, Snapshot } from "@tsraft/raftpb";
import { ProposalDroppedError, RaftError, RaftPanic, RawNode } from "@tsraft/raft";
import type { Config } from "@tsraft/raft";
import { setFaults, type FaultSwitches } from "../../../raft/src/internal/faults.js";
import type { StateType } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import type { CheckedConfig, CheckedLog, CheckedNode } from "../../../raft/src/testing/invariants.js";
import type { EtcdRaftApi } from "./etcd-wasm.js";

/** The implementation of a node. */
export type Impl = "tsraft" | "etcd";

/** A Ready, in tsraft's types whatever the implementation; messages as encoded bytes. */
export interface MixedReady {
  softState: { lead: NodeId; state: StateType } | undefined;
  hardState: HardState | undefined;
  entries: readonly Entry[];
  snapshot: Snapshot | undefined;
  committedEntries: readonly Entry[];
  messages: readonly Uint8Array[];
}

/** The raft state the invariant checker reads. */
export type CheckedRaft = NonNullable<CheckedNode["node"]>["raft"];

/** Raft options common to both implementations, and tsraft's own. */
export interface NodeOptions {
  electionTick: number;
  heartbeatTick: number;
  checkQuorum: boolean;
  preVote: boolean;
  /** tsraft only (etcd 3.4 behaves as batchProposals=false, stepDownOnRemoval=false). */
  batchProposals: boolean;
  handOverOnRemoval: boolean;
  stepDownOnRemoval: boolean;
}

/** A node's durable storage (survives crashes). */
export interface Disk {
  append(entries: readonly Entry[]): void;
  setHardState(hs: HardState): void;
  applySnapshot(snap: Snapshot): void;
  createSnapshot(i: number, cs: ConfState, data: Uint8Array): Snapshot;
  compact(i: number): void;
  snapshot(): Snapshot;
  free(): void;
}

/** A running RawNode of either implementation. An error of the node throws; see {@link StepRefused}. */
export interface Raft {
  tick(): void;
  campaign(): void;
  /** Steps an encoded message. @throws {@link StepRefused} when the node refuses it. */
  step(bytes: Uint8Array): void;
  /** False when the proposal was dropped. */
  propose(data: Uint8Array): boolean;
  proposeConfChange(cc: ConfChange | ConfChangeV2): boolean;
  applyConfChange(cc: ConfChange | ConfChangeV2): ConfState;
  transferLeader(to: NodeId): void;
  reportSnapshot(to: NodeId, ok: boolean): void;
  hasReady(): boolean;
  ready(): MixedReady;
  advance(): void;
  /** The state as the checker reads it (an etcd node's log is its storage: call after persisting). */
  view(): CheckedRaft;
  free(): void;
}

/** A message the node refused as etcd's Step errors / tsraft's RaftErrors do (counted, not a failure). */
export class StepRefused extends Error {
  override readonly name = "StepRefused";
}

function isV2(cc: ConfChange | ConfChangeV2): cc is ConfChangeV2 {
  return "changes" in cc;
}

// ---- tsraft ----

class TsDisk implements Disk {
  readonly ms = new MemoryStorage();
  append(entries: readonly Entry[]): void {
    this.ms.append(entries);
  }
  setHardState(hs: HardState): void {
    this.ms.setHardState(hs);
  }
  applySnapshot(snap: Snapshot): void {
    this.ms.applySnapshot(snap);
  }
  createSnapshot(i: number, cs: ConfState, data: Uint8Array): Snapshot {
    return this.ms.createSnapshot(i, cs, data);
  }
  compact(i: number): void {
    this.ms.compact(i);
  }
  snapshot(): Snapshot {
    return this.ms.snapshot();
  }
  free(): void {}
}

/**
 * Fault switches planted in every tsraft node started from now on (tests prove the checks bite);
 * empty in normal runs. Switches are per node (attached to each node's Config), so this is where
 * the harness attaches them.
 */
let plantedTsraftFaults: Partial<FaultSwitches> = {};

/** Plants (or, with `{}`, removes) fault switches in the tsraft nodes started afterwards. */
export function plantTsraftFaults(on: Partial<FaultSwitches>): void {
  plantedTsraftFaults = on;
}

class TsRaft implements Raft {
  readonly rn: RawNode;
  #rd: ReturnType<RawNode["ready"]> | undefined;

  constructor(disk: TsDisk, id: NodeId, applied: number, o: NodeOptions, random: () => number) {
    const cfg: Config = {
      id,
      storage: disk.ms,
      applied,
      electionTick: o.electionTick,
      heartbeatTick: o.heartbeatTick,
      checkQuorum: o.checkQuorum,
      preVote: o.preVote,
      batchProposals: o.batchProposals,
      handOverOnRemoval: o.handOverOnRemoval,
      stepDownOnRemoval: o.stepDownOnRemoval,
      maxSizePerMsg: 1 << 20,
      maxInflightMsgs: 256,
      random,
    };
    if (Object.keys(plantedTsraftFaults).length > 0) setFaults(cfg, plantedTsraftFaults);
    this.rn = new RawNode(cfg);
  }
  tick(): void {
    this.rn.tick();
  }
  campaign(): void {
    this.rn.campaign();
  }
  step(bytes: Uint8Array): void {
    try {
      this.rn.step(decodeMessage(bytes));
    } catch (e) {
      if (e instanceof RaftError && !(e instanceof RaftPanic)) throw new StepRefused(e.message);
      throw e;
    }
  }
  propose(data: Uint8Array): boolean {
    try {
      this.rn.propose(data);
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }
  proposeConfChange(cc: ConfChange | ConfChangeV2): boolean {
    try {
      this.rn.proposeConfChange(cc);
      return true;
    } catch (e) {
      if (e instanceof ProposalDroppedError) return false;
      throw e;
    }
  }
  applyConfChange(cc: ConfChange | ConfChangeV2): ConfState {
    return this.rn.applyConfChange(cc);
  }
  transferLeader(to: NodeId): void {
    this.rn.transferLeader(to);
  }
  reportSnapshot(to: NodeId, ok: boolean): void {
    this.rn.reportSnapshot(to, ok ? "finish" : "failure");
  }
  hasReady(): boolean {
    return this.rn.hasReady();
  }
  ready(): MixedReady {
    const rd = this.rn.ready();
    this.#rd = rd;
    return {
      softState: rd.softState === undefined ? undefined : { lead: rd.softState.lead, state: rd.softState.raftState },
      hardState: rd.hardState,
      entries: rd.entries,
      snapshot: rd.snapshot,
      committedEntries: rd.committedEntries,
      messages: rd.messages.map((m) => encodeMessage(m)),
    };
  }
  advance(): void {
    this.rn.advance(this.#rd);
    this.#rd = undefined;
  }
  view(): CheckedRaft {
    return this.rn.raft;
  }
  free(): void {}
}

// ---- etcd ----

/** Throws for an error string of the Go side; returns the value otherwise. */
function check<T>(r: unknown, what: string): T {
  if (typeof r === "string" && (r.startsWith("error: ") || r.startsWith("panic: "))) {
    throw new Error(`etcd ${what}: ${r}`);
  }
  return r as T;
}

/** Reads the framed records main.go writes: tag, uvarint length, bytes. */
function* records(b: Uint8Array): Generator<[number, Uint8Array]> {
  let p = 0;
  while (p < b.length) {
    const tag = b[p++]!;
    let len = 0;
    let shift = 1;
    for (;;) {
      const c = b[p++]!;
      len += (c & 0x7f) * shift;
      if (c < 0x80) break;
      shift *= 128;
    }
    yield [tag, b.subarray(p, p + len)];
    p += len;
  }
}

function uvarints(b: Uint8Array): number[] {
  const out: number[] = [];
  let v = 0;
  let shift = 1;
  for (const c of b) {
    v += (c & 0x7f) * shift;
    shift *= 128;
    if (c < 0x80) {
      out.push(v);
      v = 0;
      shift = 1;
    }
  }
  return out;
}

const ETCD_STATES: readonly StateType[] = ["follower", "candidate", "leader", "pre-candidate"];

class EtcdDisk implements Disk {
  readonly h: number;
  constructor(readonly api: EtcdRaftApi) {
    this.h = api.newStorage();
  }
  append(entries: readonly Entry[]): void {
    check(
      this.api.storageAppend(
        this.h,
        entries.map((e) => encodeEntry(e)),
      ),
      "storage append",
    );
  }
  setHardState(hs: HardState): void {
    check(this.api.storageSetHardState(this.h, encodeHardState(hs)), "storage setHardState");
  }
  applySnapshot(snap: Snapshot): void {
    check(this.api.storageApplySnapshot(this.h, encodeSnapshot(snap)), "storage applySnapshot");
  }
  createSnapshot(i: number, cs: ConfState, data: Uint8Array): Snapshot {
    return decodeSnapshot(check<Uint8Array>(this.api.storageCreateSnapshot(this.h, i, encodeConfState(cs), data), "storage createSnapshot"));
  }
  compact(i: number): void {
    check(this.api.storageCompact(this.h, i), "storage compact");
  }
  snapshot(): Snapshot {
    return decodeSnapshot(check<Uint8Array>(this.api.storageSnapshot(this.h), "storage snapshot"));
  }
  free(): void {
    this.api.freeStorage(this.h);
  }
}

/** A majority config as the checker reads it, from a ConfState's id list. */
function majority(ids: readonly NodeId[]): Iterable<NodeId> & { size: number; toString(): string } {
  const s = new Set(ids);
  return Object.assign(s, { toString: () => `(${[...s].sort((a, b) => (a < b ? -1 : 1)).join(" ")})` });
}

function checkedConfig(cs: ConfState): CheckedConfig {
  const incoming = majority(cs.voters);
  const outgoing = majority(cs.votersOutgoing);
  return {
    voters: {
      incoming,
      outgoing,
      toString: () => (outgoing.size > 0 ? `${incoming.toString()}&&${outgoing.toString()}` : incoming.toString()),
    },
  };
}

/** An etcd node's log as the checker reads it: its storage (complete once a Ready is persisted). */
class EtcdLogView implements CheckedLog {
  readonly unstable = { entries: [] as readonly Entry[] };
  constructor(
    readonly committed: number,
    readonly applied: number,
    readonly first: number,
    readonly last: number,
    readonly snapTerm: number,
    readonly ents: readonly Entry[],
  ) {}
  readonly storage = { firstIndex: (): number => this.first, lastIndex: (): number => this.last };
  firstIndex(): number {
    return this.first;
  }
  lastIndex(): number {
    return this.last;
  }
  zeroTermOnOutOfBounds(i: number): number {
    if (i === this.first - 1) return this.snapTerm;
    if (i < this.first || i > this.last) return 0;
    return this.ents[i - this.first]!.term;
  }
  slice(lo: number, hi: number): readonly Entry[] {
    return this.ents.slice(lo - this.first, hi - this.first);
  }
}

class EtcdRaft implements Raft {
  readonly h: number;
  constructor(
    readonly api: EtcdRaftApi,
    disk: EtcdDisk,
    id: NodeId,
    applied: number,
    o: NodeOptions,
  ) {
    this.h = check<number>(api.newRawNode(disk.h, Number(id), applied, o.electionTick, o.heartbeatTick, o.checkQuorum, o.preVote), "newRawNode");
  }
  tick(): void {
    check(this.api.tick(this.h), "tick");
  }
  campaign(): void {
    check(this.api.campaign(this.h), "campaign");
  }
  step(bytes: Uint8Array): void {
    const r = this.api.step(this.h, bytes);
    if (typeof r === "string" && r.startsWith("error: ")) throw new StepRefused(r);
    check(r, "step");
  }
  propose(data: Uint8Array): boolean {
    const r = this.api.propose(this.h, data);
    if (r === "error: raft proposal dropped") return false;
    check(r, "propose");
    return true;
  }
  proposeConfChange(cc: ConfChange | ConfChangeV2): boolean {
    const r = isV2(cc) ? this.api.proposeConfChange(this.h, encodeConfChangeV2(cc), true) : this.api.proposeConfChange(this.h, encodeConfChange(cc), false);
    if (r === "error: raft proposal dropped") return false;
    check(r, "proposeConfChange");
    return true;
  }
  applyConfChange(cc: ConfChange | ConfChangeV2): ConfState {
    const r = isV2(cc) ? this.api.applyConfChange(this.h, encodeConfChangeV2(cc), true) : this.api.applyConfChange(this.h, encodeConfChange(cc), false);
    return decodeConfState(check<Uint8Array>(r, "applyConfChange"));
  }
  transferLeader(to: NodeId): void {
    check(this.api.transferLeader(this.h, Number(to)), "transferLeader");
  }
  reportSnapshot(to: NodeId, ok: boolean): void {
    check(this.api.reportSnapshot(this.h, Number(to), ok), "reportSnapshot");
  }
  hasReady(): boolean {
    return check<boolean>(this.api.hasReady(this.h), "hasReady");
  }
  ready(): MixedReady {
    const b = check<Uint8Array>(this.api.ready(this.h), "ready");
    const rd: MixedReady & { entries: Entry[]; committedEntries: Entry[]; messages: Uint8Array[] } = {
      softState: undefined,
      hardState: undefined,
      entries: [],
      snapshot: undefined,
      committedEntries: [],
      messages: [],
    };
    for (const [tag, v] of records(b)) {
      if (tag === 1) {
        const [lead, st] = uvarints(v);
        rd.softState = { lead: BigInt(lead!), state: ETCD_STATES[st!]! };
      } else if (tag === 2) rd.hardState = decodeHardState(v);
      else if (tag === 3) rd.entries.push(decodeEntry(v));
      else if (tag === 4) rd.snapshot = decodeSnapshot(v);
      else if (tag === 5) rd.committedEntries.push(decodeEntry(v));
      else if (tag === 6) rd.messages.push(v.slice());
    }
    return rd;
  }
  advance(): void {
    check(this.api.advance(this.h), "advance");
  }
  view(): CheckedRaft {
    const b = check<Uint8Array>(this.api.view(this.h), "view");
    let st: number[] = [];
    let cs: ConfState | undefined;
    let bounds: number[] = [];
    const ents: Entry[] = [];
    for (const [tag, v] of records(b)) {
      if (tag === 1) st = uvarints(v);
      else if (tag === 2) cs = decodeConfState(v);
      else if (tag === 3) bounds = uvarints(v);
      else if (tag === 4) ents.push(decodeEntry(v));
    }
    const [term, vote, commit, applied, , state] = st as [number, number, number, number, number, number];
    const [first, last, snapTerm] = bounds as [number, number, number];
    return {
      term,
      vote: BigInt(vote),
      state: ETCD_STATES[state]!,
      raftLog: new EtcdLogView(commit, applied, first, last, snapTerm, ents),
      trk: { config: checkedConfig(cs!) },
    };
  }
  free(): void {
    this.api.freeNode(this.h);
  }
}

/** Makes the disk of a node of implementation `impl`. */
export function makeDisk(impl: Impl, api: EtcdRaftApi | undefined): Disk {
  if (impl === "tsraft") return new TsDisk();
  if (api === undefined) throw new Error("mixed: etcd node without the etcd side loaded");
  return new EtcdDisk(api);
}

/** Starts a RawNode of the disk's implementation over it. */
export function startRaft(disk: Disk, id: NodeId, applied: number, o: NodeOptions, random: () => number): Raft {
  if (disk instanceof TsDisk) return new TsRaft(disk, id, applied, o, random);
  const d = disk as EtcdDisk;
  return new EtcdRaft(d.api, d, id, applied, o);
}
