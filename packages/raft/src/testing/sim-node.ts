/**
 * One simulated node: a RawNode, its durable storage, its state machine, and the application
 * loop around them (take a Ready, persist it, send its messages, apply, advance), split into
 * separate events so that crashes and message deliveries can fall between them.
 *
 * Persistence model: the node's `storage` *is* its disk. The simulator writes a Ready's
 * snapshot, entries and HardState into it only when the node's persist event runs (with
 * `asyncStorageWrites`, when its MsgStorageAppend is processed); a crash discards the RawNode
 * (with its unstable log), the Ready taken but not persisted, and the queued storage messages.
 * A restart builds a new RawNode over the same storage. The state machine is volatile: a
 * restarted node restores it from the storage's snapshot, starts with `applied` = the
 * snapshot's index, and re-applies the committed entries after it (as etcd's raftexample does).
 * @module
 */
import { EntryType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { errorCode } from "../errors.js";
import { confChangeOfEntry } from "../membership.js";
import { RawNode, type Ready } from "../raw-node.js";
import type { Config } from "../config.js";
import { carryFaults } from "../internal/faults.js";
import type { Logger } from "../logger.js";
import type { ReadState } from "../read-only.js";
import type { Storage } from "../storage.js";
import type { StateMachine } from "./state-machine.js";
import type { InvariantChecker } from "./invariants.js";
import { EventKind, type Trace } from "./trace.js";

/**
 * The storage a simulated node persists to: the {@link Storage} raft reads, plus the writes
 * the application makes. `MemoryStorage` from `@tsraft/storage-memory` is one; a storage of
 * your own works if its methods are synchronous.
 */
export interface SimStorage extends Storage {
  /** Persists entries, replacing any from `entries[0].index` on. */
  append(entries: readonly Entry[]): void;
  /** Persists the HardState. */
  setHardState(st: HardState): void;
  /** Replaces the whole content with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void;
  /** Records a snapshot of the state machine at applied index `i`. */
  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Snapshot;
  /** Discards the entries before `compactIndex`. */
  compact(compactIndex: number): void;
}

/** What a node needs from the simulator it runs in. */
export interface NodeHost<S extends StateMachine = StateMachine> {
  readonly now: number;
  readonly trace: Trace;
  readonly checker: InvariantChecker;
  /** The raft options shared by every node (without id, storage, applied, random, logger). */
  readonly raftConfig: Omit<Config, "id" | "storage" | "applied" | "random" | "logger">;
  makeStateMachine(id: NodeId): S;
  /** A fresh random source for a node's election timeouts. */
  forkRandom(): () => number;
  /** The logger of node `id` (silent unless tracing). */
  logger(id: NodeId): Logger;
  /** Puts a message on the network. */
  send(from: SimNode<S>, m: Message): void;
  /** A conf change or a snapshot changed `n`'s configuration from `prev` to `cs`. */
  configChanged(n: SimNode<S>, prev: ConfState, cs: ConfState): void;
  /** Called for every payload `n` applies (the simulator spots its liveness probes). */
  appliedPayload(n: SimNode<S>, e: Entry): void;
  /** Reports a failure that is not one of the checked invariants (for example a bad conf change). */
  fail(name: string, detail: string, slots: readonly number[]): void;
  /** `n` handed out ReadStates in a Ready. */
  readStates(n: SimNode<S>, rs: readonly ReadState[]): void;
  /** `n` was armed to crash after its next persist, and has just persisted. */
  crashAfterPersist(n: SimNode<S>): void;
}

interface Queued {
  m: Message;
  at: number;
}

const EMPTY = new Uint8Array(0);

function copyConfState(cs: ConfState): ConfState {
  return {
    voters: cs.voters.slice(),
    learners: cs.learners.slice(),
    votersOutgoing: cs.votersOutgoing.slice(),
    learnersNext: cs.learnersNext.slice(),
    autoLeave: cs.autoLeave,
  };
}

/**
 * A node of the simulated cluster. Read its fields in checks; change them only through the
 * {@link Simulator} (its operations keep the invariant checker informed).
 */
export class SimNode<S extends StateMachine = StateMachine> {
  /** The node's slot: its id minus one. */
  readonly slot: number;
  readonly id: NodeId;
  /** The durable storage (survives crashes). */
  readonly storage: SimStorage;
  /** The running RawNode; undefined while the node is down. */
  node: RawNode | undefined = undefined;
  /** The state machine of the current incarnation. */
  stateMachine: S;
  /** Incarnations started so far (1 after the first start). */
  incarnation = 0;
  /** The index of the last entry applied to the state machine (in this incarnation). */
  applied = 0;
  /** The configuration as of `applied` (what a snapshot taken now records). */
  confState: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  /** Synchronous loop: a Ready taken and not yet persisted, and the step it may be persisted at. */
  pending: { rd: Ready; at: number } | undefined = undefined;
  /** Asynchronous writes: MsgStorageAppend / MsgStorageApply messages not yet processed. */
  readonly appendQueue: Queued[] = [];
  readonly applyQueue: Queued[] = [];
  /** Ticks per step, and the fraction of a tick accumulated. */
  tickRate = 1;
  tickCredit = 0;
  /** Steps between taking a Ready and persisting it. */
  diskDelay = 0;
  /** The step at which a crashed node restarts by itself; 0: it stays down. */
  restartAt = 0;
  /** Removed from the cluster for good (never restarted, its messages dropped). */
  removed = false;
  /** Crash after the next persist, before its messages are sent, down for this many steps (undefined: not armed). */
  crashAfterPersistDown: number | undefined = undefined;

  constructor(
    slot: number,
    storage: SimStorage,
    /** The initial voters, for a member of the initial cluster; undefined for a spare node. */
    private readonly bootstrapPeers: readonly NodeId[] | undefined,
    stateMachine: S,
  ) {
    this.slot = slot;
    this.id = BigInt(slot + 1);
    this.storage = storage;
    this.stateMachine = stateMachine;
  }

  /** Whether the node is running. */
  get up(): boolean {
    return this.node !== undefined;
  }

  /** Starts (or restarts) the node from what its storage holds. @internal (the simulator calls it) */
  start(host: NodeHost<S>): void {
    const st = this.storage;
    const snap = st.snapshot();
    const init = st.initialState();
    this.stateMachine = host.makeStateMachine(this.id);
    this.applied = snap.metadata.index;
    if (this.applied > 0) this.stateMachine.restore(snap.data ?? EMPTY);
    this.confState = copyConfState(init.confState);
    this.incarnation++;
    this.tickCredit = 0;
    const config: Config = {
      ...host.raftConfig,
      id: this.id,
      storage: st,
      applied: this.applied,
      random: host.forkRandom(),
      logger: host.logger(this.id),
    };
    carryFaults(host.raftConfig, config);
    this.node = new RawNode(config);
    const hs = init.hardState;
    const fresh = st.lastIndex() === 0 && hs.term === 0 && hs.commit === 0;
    if (this.bootstrapPeers !== undefined && fresh) this.node.bootstrap(this.bootstrapPeers.map((id) => ({ id })));
    host.checker.started(this);
  }

  /** Stops the node: everything not persisted is lost. @internal */
  crash(): void {
    this.node = undefined;
    this.crashAfterPersistDown = undefined;
    this.pending = undefined;
    this.appendQueue.length = 0;
    this.applyQueue.length = 0;
  }

  /** Takes a Ready. Synchronous loop: it waits to be persisted; async: its storage messages are queued. @internal */
  takeReady(host: NodeHost<S>): void {
    const rd = this.node!.ready();
    const hs = rd.hardState;
    host.trace.record(
      host.now,
      EventKind.ready,
      this.slot + 1,
      rd.entries.length,
      rd.committedEntries.length,
      rd.messages.length,
      hs?.term ?? 0,
      hs === undefined ? 0 : Number(hs.vote),
      hs?.commit ?? 0,
      rd.snapshot?.metadata.index ?? 0,
    );
    if (rd.readStates.length > 0) host.readStates(this, rd.readStates);
    const at = host.now + this.diskDelay;
    if (!isAsync(host)) {
      this.pending = { rd, at };
      return;
    }
    for (const m of rd.messages) {
      if (m.to === LOCAL_APPEND_THREAD) this.appendQueue.push({ m, at });
      else if (m.to === LOCAL_APPLY_THREAD) this.applyQueue.push({ m, at });
      else host.send(this, m);
    }
  }

  /** Synchronous loop: persists the pending Ready, sends its messages, applies, and advances. @internal */
  persist(host: NodeHost<S>): void {
    const rd = this.pending!.rd;
    this.pending = undefined;
    this.writeDurable(host, EventKind.persist, rd.snapshot, rd.entries, rd.hardState);
    if (this.crashAfterPersistDown !== undefined) return host.crashAfterPersist(this);
    for (const m of rd.messages) host.send(this, m);
    if (rd.snapshot !== undefined) this.restoreSnapshot(host, rd.snapshot);
    this.applyEntries(host, rd.committedEntries, EventKind.apply);
    this.node!.advance(rd);
  }

  /** Async writes: processes the oldest MsgStorageAppend, then delivers its responses. @internal */
  storageAppend(host: NodeHost<S>): void {
    const { m } = this.appendQueue.shift()!;
    const snap = m.snapshot !== undefined && m.snapshot.metadata.index > 0 ? m.snapshot : undefined;
    const hs = m.vote !== undefined ? { term: m.term, vote: m.vote, commit: m.commit } : undefined;
    this.writeDurable(host, EventKind.storageAppend, snap, m.entries, hs);
    if (this.crashAfterPersistDown !== undefined) return host.crashAfterPersist(this);
    if (snap !== undefined) this.restoreSnapshot(host, snap);
    this.respond(host, m.responses);
  }

  /** Async writes: applies the oldest MsgStorageApply, then delivers its responses. @internal */
  storageApply(host: NodeHost<S>): void {
    const { m } = this.applyQueue.shift()!;
    this.applyEntries(host, m.entries, EventKind.storageApply);
    this.respond(host, m.responses);
  }

  #stepLocal(m: Message): void {
    try {
      this.node!.step(m);
    } catch (err) {
      // A self-addressed answer of a node no longer in the configuration: ignored, as the
      // application would ignore the error.
      if (errorCode(err) !== "TSRAFT_STEP_PEER_NOT_FOUND") throw err;
    }
  }

  private respond(host: NodeHost<S>, responses: readonly Message[] | undefined): void {
    if (responses === undefined) return;
    for (const r of responses) {
      if (this.node === undefined) return;
      if (r.to === this.id) this.#stepLocal(r);
      else host.send(this, r);
    }
  }

  private writeDurable(
    host: NodeHost<S>,
    kind: typeof EventKind.persist | typeof EventKind.storageAppend,
    snap: Snapshot | undefined,
    ents: readonly Entry[],
    hs: HardState | undefined,
  ): void {
    const st = this.storage;
    if (snap !== undefined) st.applySnapshot(snap);
    if (ents.length > 0) st.append(ents);
    if (hs !== undefined) st.setHardState(hs);
    host.trace.record(
      host.now,
      kind,
      this.slot + 1,
      ents.length,
      st.lastIndex(),
      hs?.term ?? 0,
      hs === undefined ? 0 : Number(hs.vote),
      hs?.commit ?? 0,
      snap?.metadata.index ?? 0,
    );
    host.checker.persisted(this, snap, ents, hs);
  }

  private restoreSnapshot(host: NodeHost<S>, snap: Snapshot): void {
    this.stateMachine.restore(snap.data ?? EMPTY);
    this.applied = snap.metadata.index;
    const prev = this.confState;
    this.confState = copyConfState(snap.metadata.confState);
    host.checker.restoredSnapshot(this, snap);
    host.configChanged(this, prev, this.confState);
  }

  private applyEntries(host: NodeHost<S>, ents: readonly Entry[], kind: typeof EventKind.apply | typeof EventKind.storageApply): void {
    if (ents.length === 0) return;
    for (const e of ents) {
      // With async writes, entries covered by a snapshot restored meanwhile are skipped.
      if (e.index <= this.applied) continue;
      host.checker.applied(this, e);
      if (e.type === EntryType.EntryNormal) {
        if (e.data !== undefined && e.data.length > 0) {
          this.stateMachine.apply(e);
          host.appliedPayload(this, e);
        }
      } else {
        this.applyConfChange(host, e);
      }
      this.applied = e.index;
    }
    host.trace.record(host.now, kind, this.slot + 1, ents[0]!.index, ents[ents.length - 1]!.index, this.applied);
    host.checker.stateMachineAt(this);
  }

  private applyConfChange(host: NodeHost<S>, e: Entry): void {
    const prev = this.confState;
    let cs: ConfState;
    try {
      cs = this.node!.applyConfChange(confChangeOfEntry(e));
    } catch (err) {
      if (errorCode(err) === "TSRAFT_CONF_CHANGE") {
        host.fail("conf-change", `node ${this.id} cannot apply the committed conf change at index ${e.index}: ${(err as Error).message}`, [this.slot]);
      }
      throw err;
    }
    this.confState = copyConfState(cs);
    host.configChanged(this, prev, this.confState);
  }

  /**
   * Snapshots the state machine at the applied index and compacts the log up to `keep`
   * entries before it. Returns false when there is nothing new to snapshot. @internal (use the
   * `snapshot` operation)
   */
  snapshotAndCompact(host: NodeHost<S>, keep: number): boolean {
    const st = this.storage;
    const i = this.applied;
    if (i <= st.snapshot().metadata.index || i > st.lastIndex() || i < st.firstIndex() - 1) return false;
    st.createSnapshot(i, this.confState, this.stateMachine.snapshot());
    const c = i - keep;
    if (c > st.firstIndex() - 1) st.compact(c);
    host.trace.record(host.now, EventKind.snapshot, this.slot + 1, i, st.firstIndex() - 1);
    return true;
  }

  /** Proposes `data`; false if raft dropped it (no leader, transfer under way, ...). @internal (use `Simulator.propose`) */
  propose(data: Uint8Array): boolean {
    try {
      this.node!.propose(data);
      return true;
    } catch (err) {
      if (errorCode(err) === "TSRAFT_PROPOSAL_DROPPED") return false;
      throw err;
    }
  }
}

function isAsync(host: NodeHost<StateMachine>): boolean {
  return host.raftConfig.asyncStorageWrites === true;
}
