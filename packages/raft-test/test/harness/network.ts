/**
 * A small in-process cluster for tests: RawNodes over MemoryStorage, a Ready loop that
 * persists, delivers and applies, message filters for drops and partitions, restarts,
 * compaction, and the local storage "threads" of asyncStorageWrites.
 *
 * Each node has a tiny state machine (`sm`): one record per applied log index, so two nodes'
 * state machines can be compared entry by entry. A snapshot's data is the JSON of `sm` up to
 * its index, so a node that catches up by snapshot gets the same state.
 *
 * Also: helpers for single-node tests (`newStorage`, `persist`, `drain`, message builders).
 */
import { type ConfChangeType, EntryType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, MessageType, NONE, emptyConfState } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { RawNode, type Config, type Ready, type ReadState, type Storage } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { carryFaults } from "../../../raft/src/internal/faults.js";
import { confChangeOfEntry } from "../../../raft/src/membership.js";

/** One applied log index of a node's state machine. */
export interface SmRecord {
  index: number;
  term: number;
  type: EntryType;
  /** The payload as a latin1 string ("" when empty or absent). */
  data: string;
}

export interface TestNode {
  id: NodeId;
  node: RawNode;
  /** The node's stable storage (what survives a restart). */
  storage: MemoryStorage;
  /** Committed entries handed out and applied, in order (a snapshot does not add to it). */
  applied: Entry[];
  /** The state machine: one record per applied index, from 1 (restored by snapshots). */
  sm: SmRecord[];
  /** The last applied index. */
  appliedIndex: number;
  /** The configuration in effect, as the application last learned it. */
  confState: ConfState;
  /** Every ReadState handed out. */
  readStates: ReadState[];
  /** The config overrides of this node. */
  cfg: Partial<Config>;
  /** asyncStorageWrites: MsgStorageAppend / MsgStorageApply messages not yet processed. */
  appendQueue: Message[];
  applyQueue: Message[];
  /** Every Ready this node handed out (when `Network.recordReadies`). */
  readies: Ready[];
  /** The peers it was bootstrapped with, if it was. */
  bootstrapPeers: NodeId[] | undefined;
}

export type Filter = (m: Message) => boolean; // true: drop

const idOrder = (a: NodeId, b: NodeId): number => (a < b ? -1 : a > b ? 1 : 0);

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages in flight, in order. */
  queue: Message[] = [];
  filters: Filter[] = [];
  /** Applied to every message that passes the filters, in order, before it is delivered. */
  rewriters: Array<(m: Message) => Message> = [];
  /** Every message delivered (for assertions). */
  delivered: Message[] = [];
  /** Keep every Ready in `TestNode.readies`. */
  recordReadies = false;
  /**
   * Report how each MsgSnap went to its sender, as an application's transport does:
   * `reportSnapshot(to, 'finish')` once delivered, `'failure'` (and `reportUnreachable`) when
   * dropped.
   */
  reportSnapshots = true;

  constructor(
    ids: readonly NodeId[],
    private readonly cfg: Partial<Config> = {},
    bootstrap = true,
  ) {
    for (const id of ids) this.addNode(id, ids, bootstrap);
  }

  /**
   * Adds node `id` over `storage` (a fresh MemoryStorage by default). With `bootstrap`, it is
   * bootstrapped with `peers` as the initial voters.
   */
  addNode(id: NodeId, peers: readonly NodeId[], bootstrap: boolean, storage = new MemoryStorage(), cfg: Partial<Config> = {}): TestNode {
    const tn: TestNode = {
      id,
      node: undefined as unknown as RawNode,
      storage,
      applied: [],
      sm: [],
      appliedIndex: 0,
      confState: storage.initialState().confState,
      readStates: [],
      cfg,
      appendQueue: [],
      applyQueue: [],
      readies: [],
      bootstrapPeers: bootstrap ? [...peers] : undefined,
    };
    const snap = storage.snapshot();
    if (snap.metadata.index > 0) {
      tn.sm = smOfSnapshot(snap);
      tn.appliedIndex = snap.metadata.index;
    }
    tn.node = new RawNode(this.config(tn, {}));
    if (bootstrap) tn.node.bootstrap(peers.map((p) => ({ id: p })));
    this.nodes.set(id, tn);
    return tn;
  }

  private config(tn: TestNode, extra: Partial<Config>): Config {
    const c = { id: tn.id, electionTick: 10, heartbeatTick: 1, storage: tn.storage, ...this.cfg, ...tn.cfg, ...extra };
    // Test-only fault switches attached to the network's or the node's options go with them.
    carryFaults(this.cfg, c);
    carryFaults(tn.cfg, c);
    return c;
  }

  get(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()].sort(idOrder);
  }

  /**
   * Restarts node `id`: a new RawNode over the same storage, so whatever was not persisted
   * (unstable entries, state not yet handed out, queued storage writes) is lost. By default
   * the state machine survives (the application persisted it, with its ConfState) and the
   * node restarts with `applied` at its last applied index; with `keepStateMachine: false` it
   * is rebuilt from the storage's snapshot and the committed entries are applied again.
   */
  restart(id: NodeId, opts: { keepStateMachine?: boolean; cfg?: Partial<Config> } = {}): TestNode {
    const tn = this.get(id);
    const keep = opts.keepStateMachine ?? true;
    if (opts.cfg !== undefined) tn.cfg = { ...tn.cfg, ...opts.cfg };
    tn.appendQueue = [];
    tn.applyQueue = [];
    const snap = tn.storage.snapshot();
    let storage: Storage = tn.storage;
    if (keep) {
      // The application keeps the ConfState it last applied next to its state machine.
      const cs = tn.confState;
      const ms = tn.storage;
      storage = {
        initialState: () => ({ hardState: ms.initialState().hardState, confState: cs }),
        entries: (lo, hi, max) => ms.entries(lo, hi, max),
        term: (i) => ms.term(i),
        firstIndex: () => ms.firstIndex(),
        lastIndex: () => ms.lastIndex(),
        snapshot: () => ms.snapshot(),
      };
      // Only what was persisted can have been applied; an application never applies beyond
      // its durable commit index.
      const commit = ms.initialState().hardState.commit;
      if (tn.appliedIndex > commit) throw new Error(`node ${id} applied ${tn.appliedIndex} beyond its persisted commit ${commit}`);
    } else {
      tn.sm = smOfSnapshot(snap);
      tn.appliedIndex = snap.metadata.index;
      tn.confState = snap.metadata.confState;
    }
    tn.node = new RawNode(this.config(tn, { storage, applied: tn.appliedIndex }));
    const hs = tn.storage.initialState().hardState;
    if (tn.bootstrapPeers !== undefined && tn.storage.lastIndex() === 0 && snap.metadata.index === 0 && hs.term === 0) {
      // It crashed before its bootstrap was persisted: an application bootstraps again.
      tn.sm = [];
      tn.appliedIndex = 0;
      tn.confState = emptyConfState();
      tn.node = new RawNode(this.config(tn, { storage: tn.storage }));
      tn.node.bootstrap(tn.bootstrapPeers.map((p) => ({ id: p })));
    }
    return tn;
  }

  /** Whether node `id` uses asyncStorageWrites. */
  isAsync(id: NodeId): boolean {
    const tn = this.get(id);
    return tn.cfg.asyncStorageWrites ?? this.cfg.asyncStorageWrites ?? false;
  }

  /** Processes one Ready of node `id`: persist, queue messages, apply, advance. */
  processReady(id: NodeId): Ready | undefined {
    const tn = this.get(id);
    if (!tn.node.hasReady()) return undefined;
    const rd = tn.node.ready();
    if (this.recordReadies) tn.readies.push(rd);
    for (const rs of rd.readStates) tn.readStates.push(rs);
    if (this.isAsync(id)) {
      for (const m of rd.messages) {
        if (m.to === LOCAL_APPEND_THREAD) tn.appendQueue.push(m);
        else if (m.to === LOCAL_APPLY_THREAD) tn.applyQueue.push(m);
        else this.queue.push(m);
      }
      return rd;
    }
    persist(tn.storage, rd);
    for (const m of rd.messages) this.queue.push(m);
    if (rd.snapshot !== undefined) this.applySnapshot(tn, rd.snapshot);
    for (const e of rd.committedEntries) this.applyEntry(tn, e);
    tn.node.advance(rd);
    return rd;
  }

  /** asyncStorageWrites: performs the oldest pending write of node `id`. Returns false if none. */
  processAppendThread(id: NodeId): boolean {
    const tn = this.get(id);
    const m = tn.appendQueue.shift();
    if (m === undefined) return false;
    if (m.snapshot !== undefined && m.snapshot.metadata.index > 0) tn.storage.applySnapshot(m.snapshot);
    if (m.entries.length > 0) tn.storage.append(m.entries);
    if (m.vote !== undefined) tn.storage.setHardState({ term: m.term, vote: m.vote, commit: m.commit });
    this.deliverResponses(tn, m.responses ?? []);
    return true;
  }

  /** asyncStorageWrites: applies the oldest pending batch of node `id`. Returns false if none. */
  processApplyThread(id: NodeId): boolean {
    const tn = this.get(id);
    const m = tn.applyQueue.shift();
    if (m === undefined) return false;
    for (const e of m.entries) this.applyEntry(tn, e);
    this.deliverResponses(tn, m.responses ?? []);
    return true;
  }

  private deliverResponses(tn: TestNode, resps: readonly Message[]): void {
    for (const r of resps) {
      if (r.to === tn.id) {
        if (r.type === MessageType.MsgStorageAppendResp && r.snapshot !== undefined && r.snapshot.metadata.index > 0) {
          this.applySnapshot(tn, r.snapshot);
        }
        tn.node.step(r);
      } else {
        this.queue.push(r);
      }
    }
  }

  /** Applies a snapshot to node `tn`'s state machine. */
  private applySnapshot(tn: TestNode, s: Snapshot): void {
    tn.sm = smOfSnapshot(s);
    if (tn.sm.length !== s.metadata.index) throw new Error(`snapshot at ${s.metadata.index} holds ${tn.sm.length} records`);
    tn.appliedIndex = s.metadata.index;
    tn.confState = s.metadata.confState;
  }

  /** Applies one committed entry to node `tn`; throws on a re-applied entry or a gap. */
  applyEntry(tn: TestNode, e: Entry): void {
    if (e.index !== tn.appliedIndex + 1) {
      throw new Error(`node ${tn.id} applies entry ${e.index} after ${tn.appliedIndex} (${e.index <= tn.appliedIndex ? "re-applied" : "gap"})`);
    }
    tn.applied.push(e);
    tn.sm.push({ index: e.index, term: e.term, type: e.type, data: latin1(e.data) });
    tn.appliedIndex = e.index;
    if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) {
      tn.confState = tn.node.applyConfChange(confChangeOfEntry(e));
    }
  }

  /**
   * Snapshots node `id`'s state machine at its applied index and compacts its storage there
   * (`createSnapshot` + `compact`), as an application does to bound its log.
   */
  compact(id: NodeId, index?: number): Snapshot {
    const tn = this.get(id);
    const i = index ?? tn.appliedIndex;
    if (i > tn.appliedIndex) throw new Error(`cannot compact node ${id} at ${i} beyond applied ${tn.appliedIndex}`);
    const cs = i === tn.appliedIndex ? tn.confState : undefined;
    if (cs === undefined) throw new Error("compact only at the applied index (the ConfState is known there)");
    const snap = tn.storage.createSnapshot(i, cs, encodeSm(tn.sm.slice(0, i)));
    tn.storage.compact(i);
    return snap;
  }

  /** Delivers every queued message once (new ones are queued behind). */
  deliverAll(): number {
    const q = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of q) if (this.deliver(m)) n++;
    return n;
  }

  /** Delivers one message (unless a filter drops it). Returns whether it was delivered. */
  deliver(m: Message): boolean {
    const to = this.nodes.get(m.to);
    if (to === undefined || this.filters.some((f) => f(m))) {
      this.reportSnapshot(m, false);
      return false;
    }
    for (const rw of this.rewriters) m = rw(m);
    try {
      to.node.step(m);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== "TSRAFT_PROPOSAL_DROPPED" && code !== "TSRAFT_STEP_PEER_NOT_FOUND") throw err;
    }
    this.delivered.push(m);
    this.reportSnapshot(m, true);
    return true;
  }

  /** Drops a message taken from the queue (a lost MsgSnap is reported as failed). */
  drop(m: Message): void {
    this.reportSnapshot(m, false);
  }

  private reportSnapshot(m: Message, ok: boolean): void {
    if (!this.reportSnapshots || m.type !== MessageType.MsgSnap) return;
    const from = this.nodes.get(m.from);
    if (from === undefined) return;
    if (!ok) from.node.reportUnreachable(m.to);
    from.node.reportSnapshot(m.to, ok ? "finish" : "failure");
  }

  /** Takes the queued messages matching `pred` out of the queue (undelivered). */
  take(pred: (m: Message) => boolean): Message[] {
    const out = this.queue.filter(pred);
    this.queue = this.queue.filter((m) => !pred(m));
    return out;
  }

  /** One round: every node's Readies (and async storage work), then one delivery pass. */
  round(): boolean {
    let busy = false;
    for (const id of this.ids()) {
      for (;;) {
        let did = this.processReady(id) !== undefined;
        while (this.processAppendThread(id)) did = true;
        while (this.processApplyThread(id)) did = true;
        if (!did) break;
        busy = true;
      }
    }
    if (this.deliverAll() > 0) busy = true;
    return busy;
  }

  /** Runs Ready rounds and deliveries until nothing is pending. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) if (!this.round()) return;
    const q = this.queue
      .slice(0, 12)
      .map((m) => `${MessageType[m.type]} ${m.from}->${m.to} t${m.term} i${m.index} lt${m.logTerm} r${m.reject ? 1 : 0} h${m.rejectHint} n${m.entries.length}`);
    const busy = this.ids()
      .filter((id) => this.get(id).node.hasReady())
      .map((id) => {
        const st = this.get(id).node.basicStatus();
        const rd = this.get(id).node.ready();
        const what = [
          rd.softState !== undefined ? "softState" : "",
          rd.hardState !== undefined ? "hardState" : "",
          rd.snapshot !== undefined ? "snapshot" : "",
          rd.entries.length > 0 ? `${rd.entries.length} entries` : "",
          rd.committedEntries.length > 0 ? `${rd.committedEntries.length} committed` : "",
          rd.messages.length > 0 ? rd.messages.map((m) => `${MessageType[m.type]}->${m.to}`).join("+") : "",
          rd.readStates.length > 0 ? "readStates" : "",
        ].filter((x) => x !== "");
        return `${id} (${st.softState.raftState}, term ${st.hardState.term}, commit ${st.hardState.commit}, applied ${st.applied}; Ready: ${what.join(", ")})`;
      });
    throw new Error(`network did not stabilize; queue: ${q.join("; ")}; nodes with a Ready: ${busy.join(", ")}`);
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.get(id).node.tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const tn of this.nodes.values()) tn.node.tick();
  }

  /** Ticks every node once and stabilizes, `n` times. */
  tickStabilize(n = 1): void {
    for (let i = 0; i < n; i++) {
      this.tickAll();
      this.stabilize();
    }
  }

  /** Drops every message between the two groups (both ways). */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    const sa = new Set(a);
    const sb = new Set(b);
    this.filters.push((m) => (sa.has(m.from) && sb.has(m.to)) || (sb.has(m.from) && sa.has(m.to)));
  }

  /** Isolates `id` from everyone. */
  isolate(id: NodeId): void {
    this.filters.push((m) => m.from === id || m.to === id);
  }

  /** Removes every filter and rewriter. */
  heal(): void {
    this.filters = [];
    this.rewriters = [];
  }

  /** Drops messages of `type` (from anyone). */
  dropType(type: MessageType): void {
    this.filters.push((m) => m.type === type);
  }

  /** The node that is leader at the highest term, if any. */
  leader(): TestNode | undefined {
    let lead: TestNode | undefined;
    for (const tn of this.nodes.values()) {
      if (tn.node.basicStatus().softState.raftState === "leader") {
        if (lead === undefined || tn.node.basicStatus().hardState.term > lead.node.basicStatus().hardState.term) lead = tn;
      }
    }
    return lead;
  }

  /** Campaigns `id` and stabilizes. */
  elect(id: NodeId): void {
    this.get(id).node.campaign();
    this.stabilize();
  }

  /** The data of the normal, non-empty entries in a node's state machine. */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .sm.filter((r) => r.type === EntryType.EntryNormal && r.data.length > 0)
      .map((r) => r.data);
  }

  /** Proposes a conf change on `id` and stabilizes. */
  changeConf(id: NodeId, cc: ConfChange | ConfChangeV2): void {
    this.get(id).node.proposeConfChange(cc);
    this.stabilize();
  }

  state(id: NodeId): string {
    return this.get(id).node.basicStatus().softState.raftState;
  }

  term(id: NodeId): number {
    return this.get(id).node.basicStatus().hardState.term;
  }

  commit(id: NodeId): number {
    return this.get(id).node.basicStatus().hardState.commit;
  }

  lead(id: NodeId): NodeId {
    return this.get(id).node.basicStatus().softState.lead;
  }
}

/** UTF-8 encoding of a string. */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A payload of `n` bytes. */
export const bytes = (n: number, fill = 0x61): Uint8Array => new Uint8Array(n).fill(fill);

function latin1(b: Uint8Array | undefined): string {
  if (b === undefined) return "";
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function encodeSm(sm: readonly SmRecord[]): Uint8Array {
  return enc(JSON.stringify(sm));
}

/** The state machine a snapshot holds (a ConfState-only snapshot: an empty record per index). */
export function smOfSnapshot(snap: Snapshot): SmRecord[] {
  const { index, term } = snap.metadata;
  if (index === 0) return [];
  if (snap.data === undefined) return Array.from({ length: index }, (_, i) => ({ index: i + 1, term, type: EntryType.EntryNormal, data: "" }));
  return decodeSm(snap.data);
}

export function decodeSm(data: Uint8Array | undefined): SmRecord[] {
  if (data === undefined || data.length === 0) return [];
  return JSON.parse(new TextDecoder().decode(data)) as SmRecord[];
}

// ---------------------------------------------------------------------------------------------
// Single-node helpers.

/** A ConfState with the given voters and learners. */
export function confState(voters: readonly NodeId[], learners: readonly NodeId[] = []): ConfState {
  return { ...emptyConfState(), voters: [...voters], learners: [...learners] };
}

/** Entries `{index, term}` with empty data, for building logs. */
export function ents(...its: Array<[index: number, term: number]>): Entry[] {
  return its.map(([index, term]) => ({ index, term, type: EntryType.EntryNormal, data: undefined }));
}

/** Entries at indexes `from, from+1, ...` with the given terms. */
export function entsOfTerms(from: number, terms: readonly number[]): Entry[] {
  return terms.map((term, i) => ({ index: from + i, term, type: EntryType.EntryNormal, data: undefined }));
}

/**
 * A Storage holding `entries` and `hardState` whose initial ConfState is `cs` (as etcd's tests'
 * `newTestMemoryStorage(withPeers(...))`): a MemoryStorage with the ConfState laid over it.
 * With `snapshot`, the storage starts from that snapshot instead.
 */
export function newStorage(opts: {
  voters?: readonly NodeId[];
  learners?: readonly NodeId[];
  entries?: readonly Entry[];
  hardState?: HardState;
  snapshot?: Snapshot;
}): MemoryStorage {
  const ms = new MemoryStorage();
  if (opts.snapshot !== undefined) ms.applySnapshot(opts.snapshot);
  if (opts.entries !== undefined && opts.entries.length > 0) ms.append(opts.entries);
  if (opts.hardState !== undefined) ms.setHardState(opts.hardState);
  const cs = confState(opts.voters ?? [], opts.learners ?? []);
  if (opts.snapshot !== undefined && opts.voters === undefined) return ms;
  // Lay the ConfState over the storage (MemoryStorage only takes it from a snapshot).
  const orig = ms.initialState.bind(ms);
  ms.initialState = () => ({ hardState: orig().hardState, confState: cs });
  return ms;
}

/** Persists a Ready to `storage` (snapshot, entries, HardState), as the application does. */
export function persist(storage: MemoryStorage, rd: Ready): void {
  if (rd.snapshot !== undefined) storage.applySnapshot(rd.snapshot);
  if (rd.entries.length > 0) storage.append(rd.entries);
  if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
}

/**
 * Takes the node's Ready (if any), persists it, advances, and returns it; for single-node
 * tests that look at the messages a node sends.
 */
export function drain(node: RawNode, storage: MemoryStorage): Ready | undefined {
  if (!node.hasReady()) return undefined;
  const rd = node.ready();
  persist(storage, rd);
  node.advance(rd);
  return rd;
}

/** Drains every Ready; returns all messages sent (in order). */
export function drainMessages(node: RawNode, storage: MemoryStorage): Message[] {
  const out: Message[] = [];
  for (let rd = drain(node, storage); rd !== undefined; rd = drain(node, storage)) out.push(...rd.messages);
  return out;
}

/** A message with every field defaulted. */
export function msg(p: Partial<Message> & { type: MessageType; from: NodeId; to: NodeId }): Message {
  return { term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, ...p };
}

/** A conf change adding (or, with type, changing) node `id`. */
export function cc(type: ConfChangeType, nodeId: NodeId): ConfChange {
  return { type, nodeId, id: 0n };
}

/** A RawNode with etcd's usual ticks (election 10, heartbeat 1) over `storage`. */
export function mkNode(id: NodeId, storage: Storage, cfg: Partial<Config> = {}): RawNode {
  return new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, ...cfg });
}

/**
 * Node `id` (default 1) elected leader of `voters` by stepping every other voter's vote, over a
 * storage holding entries of `terms` (from index 1) and HardState term `term - 1`; its Readies
 * are drained and the messages it sent returned. It appended its empty entry at
 * `terms.length + 1` and probes every follower from there.
 */
export function newLeader(
  opts: { id?: NodeId; voters?: NodeId[]; learners?: NodeId[]; terms?: number[]; term?: number; commit?: number; cfg?: Partial<Config> } = {},
): { n: RawNode; s: MemoryStorage; sent: Message[] } {
  const id = opts.id ?? 1n;
  const voters = opts.voters ?? [1n, 2n, 3n];
  const terms = opts.terms ?? [];
  const term = opts.term ?? Math.max(1, (terms[terms.length - 1] ?? 0) + 1);
  const s = newStorage({
    voters,
    learners: opts.learners ?? [],
    entries: entsOfTerms(1, terms),
    hardState: { term: term - 1, vote: NONE, commit: opts.commit ?? 0 },
  });
  const n = mkNode(id, s, { applied: opts.commit ?? 0, ...opts.cfg });
  n.campaign();
  drain(n, s);
  for (const v of voters) {
    if (v === id || n.basicStatus().softState.raftState === "leader") continue;
    n.step(msg({ type: MessageType.MsgVoteResp, from: v, to: id, term }));
  }
  const sent = drainMessages(n, s);
  if (n.basicStatus().softState.raftState !== "leader") throw new Error("newLeader: not elected");
  return { n, s, sent };
}

/** The leader's progress of `id`. */
export function progressOf(n: RawNode, id: NodeId) {
  const pr = n.status().progress?.get(id);
  if (pr === undefined) throw new Error(`no progress for ${id}`);
  return pr;
}

/** A canonical, comparable rendering of a node's status (bigints as strings). */
export function statusKey(node: RawNode): string {
  return JSON.stringify(node.status(), (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v instanceof Map ? [...v.entries()] : v));
}

export { NONE };
