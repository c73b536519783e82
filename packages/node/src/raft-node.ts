/**
 * RaftNode: runs a {@link RawNode} for the application. It owns the Ready loop that every
 * raft application otherwise writes by hand: ticks on a timer, and for each Ready, in order,
 * persist (the application's async callback, awaited), send, apply (snapshot, then entries,
 * calling `applyConfChange` for conf change entries), hand out ReadIndex answers, `advance()`,
 * and take a snapshot every N applied entries. Proposals, conf changes, linearizable reads and
 * leader transfers return promises that settle when the thing is applied (or the read index is
 * applied), and every such promise has a timeout.
 *
 * It does no I/O of its own: disk and network stay the application's (see the callbacks of
 * {@link RaftNodeOptions}); {@link TcpTransport} is one network the application may use.
 * @module
 */
import { randomBytes } from "node:crypto";
import { ConfChangeError, ProposalDroppedError, RaftError, RawNode, silentLogger } from "@tsraft/raft";
import type { BasicStatus, Config, Logger, Peer, Ready, StateType, Status } from "@tsraft/raft";
import { EntryType, MessageType, NONE, decodeConfChange, decodeConfChangeV2 } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { BOOTSTRAP_TAG, open, seal, type Tag } from "./envelope.js";
import { NoLeaderError, NodeStoppedError, TransferError } from "./errors.js";
import { ReadBatcher, makeWaiter, type Waiter } from "./waiters.js";

/** What the `persist` callback must make durable before it resolves. */
export interface PersistRequest {
  /** The HardState to save, when it changed. */
  hardState?: HardState;
  /** Entries to append (they replace any conflicting suffix of the stored log). */
  entries: readonly Entry[];
  /** A snapshot from the leader to install (saved before the entries). */
  snapshot?: Snapshot;
  /** Whether the write must be fsynced (new entries, or a term/vote change). */
  mustSync: boolean;
}

/** A committed normal entry, handed to the `apply` callback. */
export interface AppliedEntry {
  /** Its log index. */
  index: number;
  /** Its term. */
  term: number;
  /** What was given to {@link RaftNode.propose} (on whichever node proposed it). */
  data: Uint8Array;
}

/** A committed configuration change, after raft applied it; handed to `applyConfChange`. */
export interface AppliedConfChange {
  index: number;
  term: number;
  /** The change as proposed, with `context` being the application's own bytes. */
  change: ConfChange | ConfChangeV2;
  /** The configuration now in effect. */
  confState: ConfState;
}

/** When and how the application's state is snapshotted, and the log compacted. */
export interface SnapshotPolicy {
  /** Take a snapshot once this many entries were applied since the last one. */
  entries: number;
  /**
   * Serialises the state machine as of the last applied index (`index`). Called inside the
   * Ready loop, so nothing is applied while it runs.
   */
  take(index: number): Uint8Array | Promise<Uint8Array>;
  /**
   * Saves the snapshot durably and compacts the log (e.g. `DiskStorage.createSnapshot` then
   * `compact`, and purging old files). Called inside the Ready loop.
   */
  save(snapshot: { index: number; confState: ConfState; data: Uint8Array }): Promise<void>;
}

/**
 * The options of a {@link RaftNode}. `R` is what `apply` returns, handed to the promise of the
 * proposal that made the entry.
 */
export interface RaftNodeOptions<R = unknown> {
  /**
   * The raft configuration. `storage` is the raft Storage the `persist` callback writes to.
   * Leave `applied` unset: RaftNode restores the state machine from `storage.snapshot()` and
   * sets it. (Set it only if the state machine keeps its own applied index; then `restore`
   * is not called at start.)
   */
  raft: Config;
  /** Milliseconds per raft tick. Default 100 (with electionTick 10: etcd's 1 s election timeout). */
  tickMs?: number;
  /** Timeout of every promise RaftNode returns, in milliseconds. Default 5000. */
  requestTimeoutMs?: number;
  /** How long to wait for a ReadIndex answer before asking again (leader changes drop requests). Default 500. */
  readRetryMs?: number;
  /**
   * Makes a Ready's snapshot, entries and HardState durable (in that order). Messages of the
   * Ready are sent only once this resolves. A rejection is fatal: the node stops.
   */
  persist(req: PersistRequest): Promise<void>;
  /** Sends messages to peers. Must not throw or block: drop what cannot be sent. */
  send(messages: Message[]): void;
  /** Applies a committed normal entry; the result settles the matching `propose()` promise. */
  apply(entry: AppliedEntry): R | Promise<R>;
  /** Replaces the state machine with a snapshot's data (a snapshot from the leader, or at start). */
  restore(snapshot: Snapshot): void | Promise<void>;
  /** Called after raft applied a committed conf change (e.g. to update the peers' addresses). */
  applyConfChange?(change: AppliedConfChange): void | Promise<void>;
  /** Periodic snapshots and log compaction. Absent: never snapshot. */
  snapshot?: SnapshotPolicy;
  /** Called when the leader or this node's role changes. */
  onLeaderChange?(lead: NodeId, raftState: StateType, term: number): void;
  /**
   * Called once if the node fails (persist rejected, apply threw, a raft invariant broke);
   * the node is stopped by then. Default: the error is thrown asynchronously (the process
   * crashes), since a node that cannot persist must not go on.
   */
  onFatal?(err: unknown): void;
  /** The driver's own log lines (warnings about dropped requests). Default silent. */
  logger?: Logger;
}

/** How {@link RaftNode.start} begins. */
export interface StartOptions {
  /**
   * The initial members, used only if the storage is empty (a brand new member of a brand new
   * cluster). A member that joins an existing cluster starts with no peers and an empty storage.
   */
  bootstrap?: readonly Peer[];
}

/** {@link RaftNode.status}: raft's status plus the driver's. */
export interface NodeStatus extends Status {
  /** The index of the last snapshot taken or installed. */
  snapshotIndex: number;
  /** Whether the node is running (started and not stopped). */
  running: boolean;
}

type RunState = "new" | "running" | "stopped" | "failed";

const EMPTY = new Uint8Array(0);

function randomTag(): Tag {
  const b = randomBytes(8);
  const hi = b.readUInt32BE(0);
  const lo = b.readUInt32BE(4);
  // (0, 0) is the bootstrap tag.
  return hi === 0 && lo === 0 ? { hi: 1, lo } : { hi, lo };
}

/**
 * Runs a raft node: see the module comment. Typical use:
 *
 * ```ts
 * const node = new RaftNode({ raft: { id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
 *   persist: (p) => storage.save(p.hardState ?? EMPTY_HS, p.entries, p.snapshot),
 *   send: (msgs) => transport.send(msgs),
 *   apply: (e) => kv.apply(e.data),
 *   restore: (s) => kv.restore(s.data) });
 * await node.start({ bootstrap: peers });
 * const result = await node.propose(bytes);   // applied on this node
 * await node.readIndex();                     // then read the local state: linearizable
 * ```
 */
export class RaftNode<R = unknown> {
  private readonly opts: RaftNodeOptions<R>;
  private readonly logger: Logger;
  private readonly tickMs: number;
  private readonly timeoutMs: number;
  private readonly readRetryMs: number;
  private readonly tag: Tag = randomTag();
  private raw: RawNode | undefined;
  private runState: RunState = "new";
  private ticker: NodeJS.Timeout | undefined;
  private loopScheduled = false;
  private loopActive = false;
  private loopDone: Promise<void> = Promise.resolve();
  private nextSeq = 1;

  /** Invariant: applied = the index of the last entry (or snapshot) handed to the state machine. */
  private applied = 0;
  private snapshotIndex = 0;
  private confState: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  private lead: NodeId = NONE;
  private raftState: StateType = "follower";

  private readonly proposals = new Map<number, Waiter<R>>();
  private readonly confChanges = new Map<number, Waiter<ConfState>>();
  private readonly reads: ReadBatcher;
  private transfers: { target: NodeId; w: Waiter<void> }[] = [];

  /** Checks the options; call {@link start} next. */
  constructor(options: RaftNodeOptions<R>) {
    this.opts = options;
    this.logger = options.logger ?? silentLogger;
    this.tickMs = positive("tickMs", options.tickMs ?? 100);
    this.timeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? 5000);
    this.readRetryMs = positive("readRetryMs", options.readRetryMs ?? 500);
    if (options.snapshot !== undefined) positive("snapshot.entries", options.snapshot.entries);
    this.reads = new ReadBatcher(
      {
        hasLeader: () => this.rawNode().basicStatus().softState.lead !== NONE,
        nextSeq: () => this.nextSeq++,
        requestReadIndex: (seq) => {
          this.rawNode().readIndex(seal(this.tag, seq, undefined));
          this.scheduleReady();
        },
      },
      this.readRetryMs,
    );
  }

  /**
   * Restores the state machine from the storage's snapshot (if any), creates the RawNode,
   * bootstraps it if the storage is empty and `bootstrap` is given, and starts ticking.
   * Resolves to `true` if it bootstrapped.
   * @throws {@link RaftError} (e.g. `ConfigError`) if the RawNode cannot be created; the
   * errors of `restore`.
   */
  async start(options: StartOptions = {}): Promise<boolean> {
    if (this.runState !== "new") throw new RaftError("TSRAFT_NODE_STATE", "raft node: start() called twice");
    const cfg = this.opts.raft;
    const snap = cfg.storage.snapshot();
    this.snapshotIndex = snap.metadata.index;
    this.confState = snap.metadata.confState;
    let applied = cfg.applied;
    if (applied === undefined) {
      if (snap.metadata.index > 0) await this.opts.restore(snap);
      applied = snap.metadata.index;
    }
    this.applied = applied;
    const raw = new RawNode({ ...cfg, applied });
    let bootstrapped = false;
    const st = cfg.storage.initialState().hardState;
    const empty = cfg.storage.lastIndex() === 0 && st.term === 0 && st.commit === 0;
    if (options.bootstrap !== undefined && options.bootstrap.length > 0 && empty) {
      raw.bootstrap(options.bootstrap.map((p) => ({ id: p.id, context: seal(BOOTSTRAP_TAG, 0, p.context) })));
      bootstrapped = true;
    }
    this.raw = raw;
    const bs = raw.basicStatus();
    this.lead = bs.softState.lead;
    this.raftState = bs.softState.raftState;
    this.runState = "running";
    this.ticker = setInterval(() => this.tick(), this.tickMs);
    this.scheduleReady();
    return bootstrapped;
  }

  /**
   * Stops ticking, rejects every pending promise with {@link NodeStoppedError}, and resolves
   * once the Ready being processed (if any) is finished. Callbacks may still run until then.
   * Does not close the storage or the transport (the application owns them).
   */
  async stop(): Promise<void> {
    if (this.runState === "running" || this.runState === "new") this.runState = "stopped";
    this.halt(new NodeStoppedError());
    await this.loopDone;
  }

  // ---------------------------------------------------------------------------------------------
  // inputs

  /** Steps a message received from a peer. Messages that raft refuses are dropped (logged at debug). */
  step(m: Message): void {
    if (this.runState !== "running") return;
    try {
      this.rawNode().step(m);
    } catch (err) {
      if (err instanceof RaftError) this.logger.debug(`raft node: dropped message: ${err.message}`);
      else return this.fail(err);
    }
    this.scheduleReady();
  }

  /** Reports that messages to `id` could not be delivered (raft probes it again later). */
  reportUnreachable(id: NodeId): void {
    if (this.runState !== "running") return;
    this.rawNode().reportUnreachable(id);
    this.scheduleReady();
  }

  /** Reports how sending a snapshot to `id` ended. */
  reportSnapshot(id: NodeId, status: "finish" | "failure"): void {
    if (this.runState !== "running") return;
    this.rawNode().reportSnapshot(id, status);
    this.scheduleReady();
  }

  /** Starts an election now. */
  campaign(): void {
    if (this.runState !== "running") return;
    this.rawNode().campaign();
    this.scheduleReady();
  }

  // ---------------------------------------------------------------------------------------------
  // requests

  /**
   * Proposes `data` and resolves with what `apply` returned for it on this node, once the
   * entry is committed and applied here. A follower forwards the proposal to the leader.
   * @throws (rejects) {@link NoLeaderError} when there is no leader (nothing was proposed);
   * `ProposalDroppedError` when raft refused it at once (e.g. a leader transfer is under way;
   * nothing was proposed); {@link RequestTimeoutError} after `requestTimeoutMs` (outcome
   * unknown); {@link NodeStoppedError}.
   */
  propose(data: Uint8Array): Promise<R> {
    return this.submit(this.proposals, "propose", (seq) => this.rawNode().propose(seal(this.tag, seq, data)));
  }

  /**
   * Proposes a configuration change; resolves with the configuration in effect once it is
   * applied on this node. `context` (the application's, e.g. the new member's address) is
   * handed back in {@link AppliedConfChange}. A change the leader refuses (another one is
   * pending) is replaced by an empty entry: the promise then times out.
   * @throws (rejects) as {@link propose}, and `ConfChangeError` if raft finds the change
   * invalid when applying it.
   */
  proposeConfChange(cc: ConfChange | ConfChangeV2): Promise<ConfState> {
    return this.submit(this.confChanges, "confChange", (seq) =>
      this.rawNode().proposeConfChange({ ...cc, context: seal(this.tag, seq, cc.context) }),
    );
  }

  /**
   * A linearizable read barrier: resolves with a read index once this node has applied at
   * least that index, where the index was confirmed by the leader (ReadIndex, thesis §6.4)
   * after this call. Reading the local state machine then is linearizable. Concurrent calls
   * share one ReadIndex request.
   * @throws (rejects) {@link NoLeaderError} when there is no leader now;
   * {@link RequestTimeoutError}; {@link NodeStoppedError}.
   */
  readIndex(): Promise<number> {
    const failed = this.refuse();
    if (failed !== undefined) return Promise.reject(failed);
    return new Promise<number>((resolve, reject) => this.reads.add(makeWaiter("readIndex", this.timeoutMs, resolve, reject)));
  }

  /** Resolves once this node has applied `index` (or rejects after the request timeout). */
  waitApplied(index: number): Promise<number> {
    if (this.applied >= index) return Promise.resolve(this.applied);
    if (this.runState !== "running") return Promise.reject(new NodeStoppedError());
    return new Promise<number>((resolve, reject) => this.reads.waitApplied(index, makeWaiter("waitApplied", this.timeoutMs, resolve, reject)));
  }

  /**
   * Asks the leader to hand leadership to `target`; resolves when this node sees `target` as
   * leader.
   * @throws (rejects) {@link TransferError} if `target` is not a voter; {@link NoLeaderError};
   * {@link RequestTimeoutError} (the transfer may still complete later); {@link NodeStoppedError}.
   */
  transferLeader(target: NodeId): Promise<void> {
    const failed = this.refuse();
    if (failed !== undefined) return Promise.reject(failed);
    const raw = this.rawNode();
    const cfg = raw.status().config;
    if (!cfg.voters.includes(target) && !cfg.votersOutgoing.includes(target)) {
      return Promise.reject(new TransferError(target, `raft node: ${target} is not a voter; cannot transfer leadership to it`));
    }
    if (this.lead === target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = makeWaiter<void>("transferLeader", this.timeoutMs, resolve, reject, () => {
        this.transfers = this.transfers.filter((t) => t.w !== w);
      });
      this.transfers.push({ target, w });
      raw.transferLeader(target);
      this.scheduleReady();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // status

  /** The current leader as this node knows it (`0n`: none). */
  leader(): NodeId {
    return this.raw === undefined ? NONE : this.raw.basicStatus().softState.lead;
  }

  /** The index of the last entry applied to the state machine. */
  appliedIndex(): number {
    return this.applied;
  }

  /** Raft's status (with the leader's view of each peer) plus the driver's. */
  status(): NodeStatus {
    return { ...this.rawNode().status(), snapshotIndex: this.snapshotIndex, running: this.runState === "running" };
  }

  /** Raft's status without per-peer progress (cheap). */
  basicStatus(): BasicStatus {
    return this.rawNode().basicStatus();
  }

  // ---------------------------------------------------------------------------------------------
  // the Ready loop

  private tick(): void {
    if (this.runState !== "running") return;
    this.rawNode().tick();
    this.scheduleReady();
  }

  private scheduleReady(): void {
    if (this.runState !== "running" || this.loopActive || this.loopScheduled) return;
    this.loopScheduled = true;
    // setImmediate: messages and proposals that arrive in the same turn share one Ready.
    setImmediate(() => {
      this.loopScheduled = false;
      this.runLoop();
    });
  }

  private runLoop(): void {
    if (this.runState !== "running" || this.loopActive) return;
    this.loopActive = true;
    this.loopDone = this.processReadies().then(
      () => {
        this.loopActive = false;
        if (this.runState === "running" && this.rawNode().hasReady()) this.scheduleReady();
      },
      (err: unknown) => {
        this.loopActive = false;
        this.fail(err);
      },
    );
  }

  private async processReadies(): Promise<void> {
    const raw = this.rawNode();
    // Bounded: each pass consumes what raft had; new work arriving meanwhile is picked up by
    // the next pass, and the loop yields to the event loop after 64 Readies.
    for (let n = 0; n < 64 && this.runState === "running" && raw.hasReady(); n++) {
      const rd = raw.ready();
      await this.handleReady(rd);
      raw.advance(rd);
      await this.maybeSnapshot();
    }
  }

  private async handleReady(rd: Ready): Promise<void> {
    if (rd.softState !== undefined) this.onSoftState(rd.softState.lead, rd.softState.raftState);
    // 1. persist: snapshot, entries, HardState.
    if (rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
      const req: PersistRequest = { entries: rd.entries, mustSync: rd.mustSync };
      if (rd.hardState !== undefined) req.hardState = rd.hardState;
      if (rd.snapshot !== undefined) req.snapshot = rd.snapshot;
      await this.opts.persist(req);
    }
    // 2. send, only now that what the messages promise is durable.
    if (rd.messages.length > 0) this.opts.send(await this.freshSnapshots(rd.messages));
    // 3. apply.
    if (rd.snapshot !== undefined) {
      await this.opts.restore(rd.snapshot);
      this.applied = rd.snapshot.metadata.index;
      this.snapshotIndex = rd.snapshot.metadata.index;
      this.confState = rd.snapshot.metadata.confState;
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.applied) continue; // at or below an installed snapshot
      await this.applyEntry(e);
      this.applied = e.index;
    }
    // 4. answers to ReadIndex requests.
    for (const rs of rd.readStates) {
      const env = open(rs.requestCtx);
      if (env !== undefined && this.isOurs(env.tagHi, env.tagLo)) this.reads.answered(env.seq, rs.index);
    }
    this.reads.applied(this.applied);
  }

  private async applyEntry(e: Entry): Promise<void> {
    if (e.type === EntryType.EntryNormal) {
      if (e.data === undefined || e.data.length === 0) return; // a new leader's empty entry
      const env = open(e.data);
      if (env === undefined) throw new Error(`raft node: entry ${e.index} was not proposed through RaftNode (no envelope)`);
      const result = await this.opts.apply({ index: e.index, term: e.term, data: env.payload });
      if (this.isOurs(env.tagHi, env.tagLo)) settle(this.proposals, env.seq, result);
      return;
    }
    const cc: ConfChange | ConfChangeV2 =
      e.type === EntryType.EntryConfChange ? decodeConfChange(e.data ?? EMPTY) : decodeConfChangeV2(e.data ?? EMPTY);
    const env = cc.context === undefined ? undefined : open(cc.context);
    const change = { ...cc, context: env === undefined ? cc.context : env.payload };
    let confState: ConfState;
    try {
      confState = this.rawNode().applyConfChange(cc);
    } catch (err) {
      // Every member applies the same log, so every member refuses this change alike.
      if (!(err instanceof ConfChangeError)) throw err;
      this.logger.warn(`raft node: conf change at index ${e.index} refused: ${err.message}`);
      if (env !== undefined && this.isOurs(env.tagHi, env.tagLo)) settleError(this.confChanges, env.seq, err);
      return;
    }
    this.confState = confState;
    if (this.opts.applyConfChange !== undefined) {
      await this.opts.applyConfChange({ index: e.index, term: e.term, change, confState });
    }
    if (env !== undefined && this.isOurs(env.tagHi, env.tagLo)) settle(this.confChanges, env.seq, confState);
  }

  /**
   * Replaces the snapshot of each MsgSnap by one of the state machine as it is now (applied
   * index, current configuration), as etcd's server does: the stored snapshot may predate the
   * configuration that added the receiver, which would then ignore it.
   */
  private async freshSnapshots(msgs: Message[]): Promise<Message[]> {
    const p = this.opts.snapshot;
    if (p === undefined || !msgs.some((m) => m.type === MessageType.MsgSnap)) return msgs;
    const index = this.applied;
    const data = await p.take(index);
    const snapshot: Snapshot = { data, metadata: { index, term: this.opts.raft.storage.term(index), confState: this.confState } };
    return msgs.map((m) => (m.type === MessageType.MsgSnap ? { ...m, snapshot } : m));
  }

  private async maybeSnapshot(): Promise<void> {
    const p = this.opts.snapshot;
    if (p === undefined || this.applied - this.snapshotIndex < p.entries || this.runState !== "running") return;
    const index = this.applied;
    const data = await p.take(index);
    await p.save({ index, confState: this.confState, data });
    this.snapshotIndex = index;
  }

  private onSoftState(lead: NodeId, raftState: StateType): void {
    const changed = lead !== this.lead || raftState !== this.raftState;
    this.lead = lead;
    this.raftState = raftState;
    if (!changed) return;
    for (const t of this.transfers) if (t.target === lead) t.w.resolve();
    this.transfers = this.transfers.filter((t) => !t.w.settled);
    if (lead !== NONE) this.reads.issue();
    this.opts.onLeaderChange?.(lead, raftState, this.rawNode().basicStatus().hardState.term);
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  private rawNode(): RawNode {
    if (this.raw === undefined) throw new RaftError("TSRAFT_NODE_STATE", "raft node: not started");
    return this.raw;
  }

  private isOurs(hi: number, lo: number): boolean {
    return hi === this.tag.hi && lo === this.tag.lo;
  }

  /** Why a request cannot be accepted now, or undefined. */
  private refuse(): Error | undefined {
    if (this.runState !== "running") return new NodeStoppedError();
    if (this.rawNode().basicStatus().softState.lead === NONE) return new NoLeaderError();
    return undefined;
  }

  private submit<T>(map: Map<number, Waiter<T>>, op: string, propose: (seq: number) => void): Promise<T> {
    const failed = this.refuse();
    if (failed !== undefined) return Promise.reject(failed);
    const seq = this.nextSeq++;
    try {
      propose(seq);
    } catch (err) {
      if (err instanceof ProposalDroppedError && this.rawNode().basicStatus().softState.lead === NONE) {
        return Promise.reject(new NoLeaderError());
      }
      return Promise.reject(err);
    }
    this.scheduleReady();
    return new Promise<T>((resolve, reject) => {
      map.set(seq, makeWaiter<T>(op, this.timeoutMs, resolve, reject, () => map.delete(seq)));
    });
  }

  private fail(err: unknown): void {
    if (this.runState === "failed") return;
    this.runState = "failed";
    this.halt(new NodeStoppedError(`raft node: failed: ${err instanceof Error ? err.message : String(err)}`));
    if (this.opts.onFatal !== undefined) this.opts.onFatal(err);
    else
      setImmediate(() => {
        throw err;
      });
  }

  /** Stops the timers and rejects everything pending. */
  private halt(reason: Error): void {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    for (const w of [...this.proposals.values()]) w.reject(reason);
    for (const w of [...this.confChanges.values()]) w.reject(reason);
    this.reads.halt(reason);
    for (const t of [...this.transfers]) t.w.reject(reason);
    this.transfers = [];
  }
}

function settle<T>(map: Map<number, Waiter<T>>, seq: number, v: T): void {
  map.get(seq)?.resolve(v);
}

function settleError<T>(map: Map<number, Waiter<T>>, seq: number, err: unknown): void {
  map.get(seq)?.reject(err);
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RaftError("TSRAFT_NODE_CONFIG", `raft node: ${name} must be a positive number, got ${v}`);
  return v;
}
