/**
 * RaftNode: runs a {@link RawNode} for the application, as a pipeline. It owns what every raft
 * application otherwise writes by hand: ticks on a timer, the Ready loop, persisting, sending,
 * applying, snapshots every N applied entries; proposals, conf changes, linearizable reads and
 * leader transfers return promises that settle when the thing is applied (or the read index is
 * applied), and every such promise has a timeout.
 *
 * The pipeline (README "The pipeline"): raft runs with `asyncStorageWrites`, so a Ready never
 * waits for the disk. Its messages to peers leave at once (the leader's MsgApps go out while
 * its own write of the same entries is in flight, thesis §10.2.1); its storage work is queued
 * to the **writer** (one `persist` at a time; every append queued meanwhile joins the next
 * write: group commit), whose responses (a follower's MsgAppResp, a vote, the leader's own
 * acknowledgement) are delivered only once the write is durable; committed entries are queued
 * to the **applier**, which applies them in order while the writer and the Ready loop go on.
 *
 * It does no I/O of its own: disk and network stay the application's (see the callbacks of
 * {@link RaftNodeOptions}); {@link TcpTransport} is one network the application may use.
 * @module
 */
import { RaftError, RawNode, errorCode, isRaftError, silentLogger } from "@tsraft/raft";
import type { BasicStatus, ConfChangeRefusal, Config, Logger, Peer, SnapshotStatus, StateType, Status } from "@tsraft/raft";
import { EntryType, MessageType, NONE, decodeConfChange, decodeConfChangeV2 } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { BOOTSTRAP_TAG, isSealed, open, payloadOf, seal, seqOf, tagHiOf, tagLoOf, type Opened, type Tag } from "./envelope.js";
import { ConfChangeRefusedError, EntryRefusedError, NoLeaderError, NodeStoppedError, NotLeaderError, TransferError } from "./errors.js";
import { HeartbeatClock, peerRttChannel, slowApplyChannel, snapshotSendChannel } from "./diagnostics.js";
import {
  DEFAULT_OBSERVER_QUEUE,
  ObserverQueue,
  type Observation,
  type ObserveOptions,
  type RaftEvent,
  type RaftEventBody,
  type RaftObserver,
} from "./events.js";
import { PersistBatch } from "./persist-batch.js";
import { realScheduler, type Scheduler, type TimerHandle } from "./scheduler.js";
import { checkReconfig } from "./reconfig-check.js";
import { TaskQueue } from "./task-queue.js";
import { knobsOf, type RaftNodeKnobs } from "./testing-knobs.js";
import type { ProposalWaiters } from "./proposal-waiters.js";
import { Deadlines, ReadBatcher, type Waiter, type WaiterMap } from "./waiters.js";

/** What the `persist` callback must make durable before it resolves. */
export interface PersistRequest {
  /** The HardState to save, when it changed. */
  hardState?: HardState;
  /** Entries to append (they replace any conflicting suffix of the stored log). */
  entries: readonly Entry[];
  /** A snapshot from the leader to install (saved before the entries). */
  snapshot?: Snapshot;
  /** Whether the write must be fsynced (new entries, a snapshot, or a term/vote change). */
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
   * Serialises the state machine as of the last applied index (`index`). Called by the applier,
   * so nothing is applied while it runs (a promise may be returned: persisting, sending and
   * ticking go on meanwhile). Also called to send a follower a snapshot of the current state.
   */
  take(index: number): Uint8Array | Promise<Uint8Array>;
  /**
   * Saves the snapshot durably and compacts the log (e.g. `DiskStorage.createSnapshot` then
   * `compact`, and purging old files). Called by the writer, between two `persist` calls. A
   * rejection is logged and counted, and the node goes on, except for `FatalError` and a full
   * disk (an error with code `TSRAFT_WAL_NO_SPACE`, DiskStorage's `WalNoSpaceError`), which stop it.
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
   * is not called at start.) `asyncStorageWrites` is always on (the pipeline needs it).
   */
  raft: Config;
  /** Milliseconds per raft tick. Default 100 (with electionTick 10: etcd's 1 s election timeout). */
  tickMs?: number;
  /** Timeout of every promise RaftNode returns, in milliseconds. Default 5000. */
  requestTimeoutMs?: number;
  /** How long to wait for a ReadIndex answer before asking again (leader changes drop requests). Default 500. */
  readRetryMs?: number;
  /**
   * Refuse configuration changes that would leave fewer recently heard-from voters than the new
   * quorum (etcd's `--strict-reconfig-check`), and take configuration changes on the leader
   * only (a follower rejects them with {@link NotLeaderError}). Default true.
   */
  strictReconfig?: boolean;
  /**
   * Makes a write durable: the snapshot, then the entries, then the HardState (one call may
   * carry the work of several Readies). Called one at a time, in order. Messages that promise
   * the write is durable are sent only once it resolves. A rejection is fatal: the node stops.
   */
  persist(req: PersistRequest): Promise<void>;
  /**
   * Sends messages to peers. Must not throw or block: drop what cannot be sent. Must deliver
   * each message at most once: a forwarded proposal delivered twice is appended and applied
   * twice (see the README, "Transports deliver each message at most once"). Report how each
   * MsgSnap ended with {@link RaftNode.reportSnapshot}: until then the leader may send that
   * follower nothing more.
   */
  send(messages: Message[]): void;
  /**
   * Applies a committed normal entry; the result settles the matching `propose()` promise.
   * Must be deterministic: every member applies the same entries. An exception is taken as the
   * entry's refusal (the same on every member): the proposer's promise rejects with
   * {@link EntryRefusedError}, and the node goes on. Throw {@link FatalError} to stop the node.
   */
  apply(entry: AppliedEntry): R | Promise<R>;
  /** Replaces the state machine with a snapshot's data (a snapshot from the leader, or at start). An exception is fatal. */
  restore(snapshot: Snapshot): void | Promise<void>;
  /**
   * Called after raft applied a committed conf change (e.g. to update the peers' addresses).
   * The change is in effect whatever this does; an exception is logged and counted (throw
   * {@link FatalError} to stop the node).
   */
  applyConfChange?(change: AppliedConfChange): void | Promise<void>;
  /** Periodic snapshots and log compaction. Absent: never snapshot. */
  snapshot?: SnapshotPolicy;
  /** Called when the leader or this node's role changes. */
  onLeaderChange?(lead: NodeId, raftState: StateType, term: number): void;
  /**
   * Called once if the node fails (persist rejected, a callback threw {@link FatalError}, a
   * raft invariant broke); the node is stopped by then. Default: the error is thrown
   * asynchronously (the process crashes), since a node that cannot persist must not go on.
   */
  onFatal?(err: unknown): void;
  /** The driver's own log lines (refused entries, snapshot failures, dropped requests). Default silent. */
  logger?: Logger;
  /**
   * The clock, timers, turns and entropy the node uses (README "Deterministic simulation"):
   * a simulator passes its own to own time and ordering. Default {@link realScheduler}.
   */
  scheduler?: Scheduler;
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

/** Counters of a {@link RaftNode}, since it was made. */
export interface NodeStats {
  /** `persist` calls. */
  writes: number;
  /** Readies whose storage work those calls carried (writes < readiesPersisted: group commit). */
  readiesPersisted: number;
  /** Committed entries handed to `apply` (or refused before it: see `entriesRefused`). */
  entriesApplied: number;
  /** Entries refused: `apply` threw, or the entry was not made by a RaftNode. */
  entriesRefused: number;
  /** Conf changes raft refused (when proposed to this leader, or when applied), or whose `applyConfChange` hook threw. */
  confChangesRefused: number;
  /** Snapshots taken and saved by the policy. */
  snapshotsTaken: number;
  /** Snapshots installed from the leader. */
  snapshotsInstalled: number;
  /** Snapshot takes or saves that failed (logged; retried after another `snapshot.entries`). */
  snapshotFailures: number;
  /** Times this node saw a new leader (etcd's `leader_changes_seen_total`; a lost leader is not counted). */
  leaderChanges: number;
  /** {@link RaftNode.propose} promises that rejected, for any reason (etcd's `proposals_failed_total`). */
  proposalsFailed: number;
  /** {@link RaftNode.readIndex} promises that rejected (etcd's `read_indexes_failed_total`). */
  readIndexesFailed: number;
  /**
   * Batches of committed entries whose apply took longer than {@link SLOW_APPLY_MS} (etcd's
   * `slow_apply_total`), counted only while `SLOW_APPLY_CHANNEL` has a subscriber (as
   * `@tsraft/prometheus` has): without one the apply is not timed (two clock reads per batch,
   * about 2% of a proposal's instructions), and this stays where it was.
   */
  slowApplies: number;
  /** Proposals waiting to be applied now (a gauge, not a counter: etcd's `proposals_pending`). */
  proposalsPending: number;
}

/** An apply of one batch of committed entries slower than this is counted in {@link NodeStats.slowApplies} (etcd's 100 ms). */
export const SLOW_APPLY_MS = 100;

type RunState = "new" | "running" | "stopped" | "failed";

/** Work for the writer: raft's storage messages, the snapshot policy's saves, a deferred commit index. */
type WriterTask = { kind: "append"; msg: Message } | { kind: "save"; index: number; confState: ConfState; data: Uint8Array } | { kind: "flush-commit" };

/** Work for the applier: committed entries, and snapshots to make for followers. */
type ApplierTask = { kind: "apply"; msg: Message } | { kind: "send-snapshot"; msg: Message };

const EMPTY = new Uint8Array(0);
/** Bytes of queued proposals past which they are proposed at once rather than with the next Ready. */
const MAX_PROPOSAL_BATCH_BYTES = 1024 * 1024;
const ZERO_HS: HardState = { term: 0, vote: NONE, commit: 0 };

function randomTag(s: Scheduler): Tag {
  const hi = s.random32() >>> 0;
  const lo = s.random32() >>> 0;
  // (0, 0) is the bootstrap tag.
  return hi === 0 && lo === 0 ? { hi: 1, lo } : { hi, lo };
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

/** Whether `err` is the application's request to stop the node (tested by `code`, which survives duplicate installs). */
function isFatal(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "TSRAFT_FATAL";
}

/**
 * Whether a snapshot `save` failed on a full disk (DiskStorage's `WalNoSpaceError`, tested by
 * code so that this package needs no WAL): the snapshot's WAL record may be half written, the WAL
 * then refuses every later write, and so would the next persist. The node stops at once, as for a
 * rejected persist, rather than lead on until a write comes (a leader's heartbeats need no
 * write, so an idle cluster would keep a leader that cannot commit).
 */
function isNoSpace(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "TSRAFT_WAL_NO_SPACE";
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
  private readonly strictReconfig: boolean;
  private readonly knobs: RaftNodeKnobs;
  private readonly sched: Scheduler;
  private readonly tag: Tag;
  private raw: RawNode | undefined;
  private runState: RunState = "new";
  private ticker: TimerHandle | undefined;
  private loopScheduled = false;
  /** Inside {@link drainReadies}: a message stepped by a synchronous transport then waits for the next turn. */
  private draining = false;
  private nextSeq = 1;

  /** Invariant: applied = the index of the last entry (or snapshot) handed to the state machine. */
  private applied = 0;
  private snapshotIndex = 0;
  /** Invariant: true from the moment the applier takes a snapshot until the writer saved it (or it failed). */
  private snapshotInFlight = false;
  private confState: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  private lead: NodeId = NONE;
  private raftState: StateType = "follower";
  /** Invariant: the HardState of the last `persist` call made (or found in storage at start). */
  private persistedHS: HardState = ZERO_HS;
  /**
   * A HardState that only moved the commit index, not written yet: it goes with the next write,
   * or is written on its own one tick later (see {@link runWriter}).
   */
  private deferredHS: HardState | undefined;
  private deferredTimer: TimerHandle | undefined;
  /** The tick (a count of {@link tick} calls) at which each peer was last heard from, for strictReconfig: no clock read per message. */
  private readonly lastHeard = new Map<NodeId, number>();
  /** Ticks since start. */
  private ticks = 0;

  private readonly deadlines: Deadlines;
  private readonly proposals: ProposalWaiters<R>;
  private readonly confChanges: WaiterMap<ConfState>;
  private readonly reads: ReadBatcher;
  private transfers: { target: NodeId; w: Waiter<void> }[] = [];
  /**
   * Proposals made since the last Ready, proposed to raft as one MsgProp when the next Ready is
   * built (one message and one step for many proposals; a follower forwards them to the leader
   * as one message). Each is an envelope (its sequence number inside: {@link seqOf}).
   */
  private pendingData: Uint8Array[] = [];
  private pendingBytes = 0;
  /** A conf change of ours that raft refused during the `propose` call under way (see {@link onConfChangeRefused}). */
  private refusedNow: { seq: number; reason: string } | undefined;
  /** Settlements of conf change promises, run once raft is told the batch holding them is applied. */
  private afterApplied: (() => void)[] = [];
  private readonly writer: TaskQueue<WriterTask>;
  private readonly applier: TaskQueue<ApplierTask>;
  private readonly counters: NodeStats = {
    writes: 0,
    readiesPersisted: 0,
    entriesApplied: 0,
    entriesRefused: 0,
    confChangesRefused: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    snapshotFailures: 0,
    leaderChanges: 0,
    proposalsFailed: 0,
    readIndexesFailed: 0,
    slowApplies: 0,
    proposalsPending: 0,
  };
  /** Heartbeat round trips, kept only while someone listens (see diagnostics.ts). */
  private readonly heartbeats = new HeartbeatClock();
  /** The observers of {@link observe}; events are built only when it is not empty. */
  private readonly observers = new Set<ObserverQueue>();

  /**
   * Checks the options; call {@link start} next.
   * @throws {@link RaftError} (`TSRAFT_NODE_CONFIG`) for a non-positive `tickMs`,
   * `requestTimeoutMs`, `readRetryMs` or `snapshot.entries`.
   */
  constructor(options: RaftNodeOptions<R>) {
    this.opts = options;
    this.knobs = knobsOf(options);
    this.sched = options.scheduler ?? realScheduler;
    this.tag = randomTag(this.sched);
    this.logger = options.logger ?? silentLogger;
    this.tickMs = positive("tickMs", options.tickMs ?? 100);
    this.timeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? 5000);
    this.readRetryMs = positive("readRetryMs", options.readRetryMs ?? 500);
    this.strictReconfig = options.strictReconfig ?? true;
    if (options.snapshot !== undefined) positive("snapshot.entries", options.snapshot.entries);
    this.deadlines = new Deadlines(this.timeoutMs, this.sched.now());
    this.proposals = this.deadlines.newProposals<R>();
    this.confChanges = this.deadlines.newMap<ConfState>();
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
      this.sched,
    );
    this.writer = new TaskQueue<WriterTask>(
      (q) => this.runWriter(q),
      (err) => this.fail(err),
    );
    this.applier = new TaskQueue<ApplierTask>(
      (q) => this.runApplier(q),
      (err) => this.fail(err),
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
    const userHook = cfg.hooks?.confChangeRefused;
    const confChangeRefused = (r: ConfChangeRefusal): void => {
      this.onConfChangeRefused(r);
      userHook?.(r);
    };
    const raw = new RawNode({ ...cfg, applied, asyncStorageWrites: true, hooks: { ...cfg.hooks, confChangeRefused } });
    let bootstrapped = false;
    const st = cfg.storage.initialState().hardState;
    this.persistedHS = st;
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
    this.ticker = this.sched.setInterval(() => this.tick(), this.tickMs);
    this.scheduleReady();
    return bootstrapped;
  }

  /**
   * Stops ticking, rejects every pending promise with {@link NodeStoppedError}, drops queued
   * work, and resolves once the write and the apply in progress (if any) are done. Callbacks
   * may still run until then. Does not close the storage or the transport (the application
   * owns them).
   */
  async stop(): Promise<void> {
    if (this.runState === "running" || this.runState === "new") this.runState = "stopped";
    this.halt(new NodeStoppedError());
    await Promise.all([this.writer.stop(), this.applier.stop()]);
  }

  // ---------------------------------------------------------------------------------------------
  // inputs

  /** Steps a message received from a peer. Messages that raft refuses are dropped (logged at debug). */
  step(m: Message): void {
    if (this.runState !== "running") return;
    if (m.from !== NONE) this.lastHeard.set(m.from, this.ticks);
    if (m.type === MessageType.MsgHeartbeatResp) {
      this.heartbeatAnswered(m.from);
      this.stepRaw(m);
      // The answer that completes a ReadIndex quorum: take the read state now, not on the next
      // turn, so that the readers are answered before this turn goes on to the other followers'
      // answers to the same heartbeat (one each, all redundant once a quorum answered).
      if (this.reads.pending() && !this.draining) this.drainNow();
      else this.scheduleReady();
      return;
    }
    this.stepRaw(m);
    this.scheduleReady();
  }

  /** Reports that messages to `id` could not be delivered (raft probes it again later). */
  reportUnreachable(id: NodeId): void {
    if (this.runState !== "running") return;
    this.rawNode().reportUnreachable(id);
    this.scheduleReady();
  }

  /** Reports how sending a snapshot to `id` ended. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    if (this.runState !== "running") return;
    if (snapshotSendChannel.hasSubscribers) snapshotSendChannel.publish({ node: this.opts.raft.id, peer: id, ok: status === "finish" });
    if (this.observers.size !== 0)
      this.emit(status === "finish" ? { type: "snapshot-sent", peer: id } : { type: "snapshot-failed", peer: id, reason: "the transport reported a failure" });
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
   * nothing was proposed); {@link EntryRefusedError} when `apply` threw on it;
   * {@link RequestTimeoutError} after `requestTimeoutMs` (outcome unknown);
   * {@link NodeStoppedError}.
   */
  propose(data: Uint8Array): Promise<R> {
    const failed = this.refuse();
    if (failed !== undefined) {
      this.counters.proposalsFailed++;
      return Promise.reject(failed);
    }
    const seq = this.nextSeq++;
    const sealed = seal(this.tag, seq, data);
    this.pendingData.push(sealed);
    this.pendingBytes += sealed.length;
    const p = this.proposals.add(seq, this.deadlines.deadline());
    if (this.pendingBytes >= MAX_PROPOSAL_BATCH_BYTES) this.flushProposals();
    this.scheduleReady();
    return p;
  }

  /**
   * Proposes a configuration change; resolves with the configuration in effect once it is
   * applied on this node. `context` (the application's, e.g. the new member's address) is
   * handed back in {@link AppliedConfChange}. A change raft refuses when this node, as leader,
   * proposes it (another one is not applied yet; it does not fit the joint state) rejects with
   * {@link ConfChangeRefusedError} at once. (A change forwarded to another leader, possible
   * only without `strictReconfig`, and refused there, times out: the refusal is the leader's.)
   * @throws (rejects) as {@link propose}; with `strictReconfig` (the default)
   * {@link NotLeaderError} on a follower and {@link UnsafeConfChangeError} for a change that
   * would leave too few connected voters; {@link ConfChangeRefusedError} (see above);
   * `ConfChangeError` if raft finds the change invalid when applying it.
   */
  proposeConfChange(cc: ConfChange | ConfChangeV2): Promise<ConfState> {
    if (this.strictReconfig && this.runState === "running") {
      const raw = this.rawNode();
      const bs = raw.basicStatus();
      if (bs.softState.lead !== NONE && bs.softState.raftState !== "leader") return Promise.reject(new NotLeaderError(bs.softState.lead));
      if (bs.softState.raftState === "leader") {
        const window = this.opts.raft.electionTick;
        const now = this.ticks;
        const refusal = checkReconfig(cc, raw.status().config, this.opts.raft.id, (id) => now - (this.lastHeard.get(id) ?? -Infinity) <= window);
        if (refusal !== undefined) return Promise.reject(refusal);
      }
    }
    this.flushProposals(); // proposals made before this call go first
    return this.submit(this.confChanges, "confChange", (seq) => this.rawNode().proposeConfChange({ ...cc, context: seal(this.tag, seq, cc.context) }));
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
    if (failed !== undefined) {
      this.counters.readIndexesFailed++;
      return Promise.reject(failed);
    }
    return new Promise<number>((resolve, reject) =>
      this.reads.add(
        this.deadlines.make("readIndex", resolve, (err) => {
          this.counters.readIndexesFailed++;
          reject(err);
        }),
      ),
    );
  }

  /** Resolves once this node has applied `index` (or rejects after the request timeout). */
  waitApplied(index: number): Promise<number> {
    if (this.applied >= index) return Promise.resolve(this.applied);
    if (this.runState !== "running") return Promise.reject(new NodeStoppedError());
    return new Promise<number>((resolve, reject) => this.reads.waitApplied(index, this.deadlines.make("waitApplied", resolve, reject)));
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
      const w = this.deadlines.make<void>("transferLeader", resolve, reject, () => {
        this.transfers = this.transfers.filter((t) => t.w !== w);
      });
      this.transfers.push({ target, w });
      raw.transferLeader(target);
      this.scheduleReady();
    });
  }

  /**
   * Registers an observer of this node's events (leader and role changes, peers whose
   * heartbeats fail and resume, votes, snapshots, conf changes, failure: see
   * {@link RaftEvent}). Each observer has a bounded queue of its own and gets one event at a
   * time (the next once its promise, if it returns one, settles): a slow observer never slows
   * the node; what does not fit is dropped and counted in {@link Observation.dropped}.
   * @throws {@link RaftError} (`TSRAFT_NODE_CONFIG`) for a `maxQueue` that is not a positive integer.
   */
  observe(observer: RaftObserver, options: ObserveOptions = {}): Observation {
    const max = options.maxQueue ?? DEFAULT_OBSERVER_QUEUE;
    if (!Number.isSafeInteger(max) || max <= 0) throw new RaftError("TSRAFT_NODE_CONFIG", `raft node: maxQueue must be a positive integer, got ${max}`);
    const q = new ObserverQueue(observer, max, (x) => this.observers.delete(x));
    this.observers.add(q);
    return q;
  }

  /** Hands an event to every observer. Callers check `observers.size` first, so nothing is built without one. */
  private emit(body: RaftEventBody): void {
    const e = { ...body, at: Date.now(), term: this.raw?.basicStatus().hardState.term ?? 0 } as RaftEvent;
    for (const q of this.observers) q.push(e);
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

  /** The driver's counters (a copy). */
  stats(): NodeStats {
    // proposalsFailed: refused before a waiter existed, plus waiters rejected (counted by the map).
    return { ...this.counters, proposalsFailed: this.counters.proposalsFailed + this.proposals.rejected, proposalsPending: this.proposals.size };
  }

  // ---------------------------------------------------------------------------------------------
  // the Ready loop: never waits; hands storage work to the writer and entries to the applier

  private tick(): void {
    if (this.runState !== "running") return;
    this.ticks++;
    if (this.observers.size !== 0 && this.raftState === "leader") this.checkHeartbeats();
    this.rawNode().tick();
    if (this.knobs.neverTimeOut !== true) this.deadlines.sweep(this.sched.now());
    this.scheduleReady();
  }

  private scheduleReady(): void {
    if (this.runState !== "running" || this.loopScheduled) return;
    this.loopScheduled = true;
    // setImmediate: messages and proposals that arrive in the same turn share one Ready.
    this.sched.setImmediate(() => {
      this.loopScheduled = false;
      this.drainNow();
    });
  }

  private drainNow(): void {
    this.draining = true;
    try {
      this.drainReadies();
    } catch (err) {
      this.fail(err);
    } finally {
      this.draining = false;
    }
  }

  private drainReadies(): void {
    const raw = this.rawNode();
    this.flushProposals();
    // Bounded, so that a flood of work cannot starve the event loop: the rest goes to the next turn.
    for (let n = 0; n < 64; n++) {
      if (this.runState !== "running" || !raw.hasReady()) return;
      const rd = raw.ready();
      if (rd.softState !== undefined) this.onSoftState(rd.softState.lead, rd.softState.raftState);
      let out: Message[] | undefined;
      for (const m of rd.messages) {
        switch (m.type) {
          case MessageType.MsgStorageAppend:
            this.writer.push({ kind: "append", msg: m });
            break;
          case MessageType.MsgStorageApply:
            this.applier.push({ kind: "apply", msg: m });
            break;
          case MessageType.MsgSnap:
            // Made by the applier from the state machine as it is (see sendSnapshot).
            this.applier.push({ kind: "send-snapshot", msg: m });
            break;
          default:
            (out ??= []).push(m);
        }
      }
      // Sent now: none of these promises durable state (raft keeps those in the writes' responses).
      if (out !== undefined) {
        if (peerRttChannel.hasSubscribers || this.observers.size !== 0) this.noteHeartbeats(out);
        if (this.observers.size !== 0) this.observeVotes(out);
        this.opts.send(out);
      }
      for (const rs of rd.readStates) {
        const env = open(rs.requestCtx);
        if (env !== undefined && this.isOurs(env)) this.reads.answered(env.seq, rs.index);
      }
      if (rd.readStates.length > 0) this.reads.applied(this.applied);
    }
    this.scheduleReady();
  }

  // ---------------------------------------------------------------------------------------------
  // the writer

  private async runWriter(q: TaskQueue<WriterTask>): Promise<void> {
    for (let t = q.peek(); t !== undefined && this.runState === "running"; t = q.peek()) {
      if (t.kind === "save") {
        q.shift();
        await this.flushCommit(); // the snapshot must never be ahead of the commit index on disk
        await this.saveSnapshot(t.index, t.confState, t.data);
        continue;
      }
      if (t.kind === "flush-commit") {
        q.shift();
        await this.flushCommit();
        continue;
      }
      const batch = new PersistBatch(this.persistedHS);
      for (let a = q.peek(); a !== undefined && a.kind === "append" && batch.accepts(a.msg); a = q.peek()) {
        q.shift();
        batch.add(a.msg);
      }
      if (batch.commitOnly) this.deferCommit(batch);
      else await this.write(batch);
    }
  }

  /**
   * A batch that only moves the commit index is not written now: the commit index need not be
   * durable for anything to be sent (it is volatile in the Raft paper; etcd writes it without a
   * sync), and writing it would put a write between this one and the next entries. It goes with
   * the next write, or on its own after a tick, or before a snapshot is saved.
   */
  private deferCommit(batch: PersistBatch): void {
    this.deferredHS = batch.hardStateAfter;
    this.deliver(batch.responses, "all");
    this.scheduleReady();
    if (this.deferredTimer === undefined) {
      this.deferredTimer = this.sched.setTimeout(() => {
        this.deferredTimer = undefined;
        if (this.deferredHS !== undefined && this.runState === "running") this.writer.push({ kind: "flush-commit" });
      }, this.tickMs);
    }
  }

  private async flushCommit(): Promise<void> {
    const hs = this.deferredHS;
    if (hs === undefined) return;
    this.deferredHS = undefined;
    this.counters.writes++;
    await this.opts.persist({ entries: [], hardState: hs, mustSync: false });
    this.persistedHS = hs;
  }

  private async write(batch: PersistBatch): Promise<void> {
    const snap = batch.snapshotToInstall;
    // A snapshot replaces the state machine: let the applier finish what it has first.
    if (snap !== undefined) await this.applier.whenIdle();
    if (this.deferredHS !== undefined) {
      batch.carry(this.deferredHS); // older than the batch's own HardState, if it has one
      this.deferredHS = undefined;
    }
    const req = batch.request();
    const early = this.knobs.sendResponsesBeforePersist === true;
    if (early) this.deliver(batch.responses, "peers");
    let responses = batch.responses;
    if (this.knobs.sendVotesBeforePersist === true && !early) {
      // Planted bug (testing-knobs.ts): the votes go before the write that records them.
      const votes = responses.filter((m) => m.type === MessageType.MsgVoteResp && m.to !== this.opts.raft.id);
      if (votes.length > 0) {
        this.deliver(votes, "peers");
        responses = responses.filter((m) => !votes.includes(m));
      }
    }
    if (req !== undefined) {
      this.counters.writes++;
      this.counters.readiesPersisted += batch.size;
      await this.opts.persist(req);
      this.persistedHS = batch.hardStateAfter;
    }
    if (this.runState !== "running") return;
    if (snap !== undefined) await this.installSnapshot(snap);
    this.deliver(responses, early ? "self" : "all");
    this.scheduleReady();
  }

  /** Delivers a write's responses: to this node by stepping them, to peers through `send`. */
  private deliver(responses: readonly Message[], which: "all" | "self" | "peers"): void {
    const self = this.opts.raft.id;
    if (this.observers.size !== 0 && which !== "self") this.observeVotes(responses);
    let out: Message[] | undefined;
    for (const m of responses) {
      if (m.to === self) {
        if (which !== "peers") this.stepRaw(m);
      } else if (which !== "self") (out ??= []).push(m);
    }
    if (out !== undefined) this.opts.send(out);
  }

  private async installSnapshot(snap: Snapshot): Promise<void> {
    try {
      await this.opts.restore(snap);
    } catch (err) {
      throw new RaftError("TSRAFT_NODE_RESTORE", `raft node: restoring the snapshot at ${snap.metadata.index} failed: ${String(err)}`, { cause: err });
    }
    this.applied = snap.metadata.index;
    this.snapshotIndex = snap.metadata.index;
    this.confState = snap.metadata.confState;
    this.counters.snapshotsInstalled++;
    this.reads.applied(this.applied);
    if (this.observers.size !== 0) this.emit({ type: "snapshot-received", index: snap.metadata.index, snapshotTerm: snap.metadata.term });
  }

  private async saveSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<void> {
    const p = this.opts.snapshot;
    try {
      // A snapshot from the leader may have been installed since this one was taken.
      if (p === undefined || index <= this.snapshotIndex) return;
      await p.save({ index, confState, data });
      this.snapshotIndex = index;
      this.counters.snapshotsTaken++;
    } catch (err) {
      if (isNoSpace(err)) throw err; // fatal: see isNoSpace
      this.snapshotFailed("saving", index, err);
    } finally {
      this.snapshotInFlight = false;
    }
  }

  private snapshotFailed(what: string, index: number, err: unknown): void {
    if (isFatal(err)) throw err;
    this.counters.snapshotFailures++;
    this.logger.error(`raft node: ${what} the snapshot at ${index} failed (retried after another ${this.opts.snapshot?.entries} entries): ${String(err)}`);
  }

  // ---------------------------------------------------------------------------------------------
  // the applier

  private async runApplier(q: TaskQueue<ApplierTask>): Promise<void> {
    for (let t = q.shift(); t !== undefined && this.runState === "running"; t = q.shift()) {
      if (t.kind === "send-snapshot") {
        await this.sendSnapshot(t.msg);
        continue;
      }
      const ents = t.msg.entries;
      // Timed only with a subscriber: the clock reads were 2% of a proposal (prometheus README).
      const t0 = slowApplyChannel.hasSubscribers ? this.sched.now() : -1;
      for (let i = 0; i < ents.length; i++) {
        const e = ents[i]!;
        if (e.index <= this.applied) continue; // at or below an installed snapshot
        const pending = this.applyEntry(e);
        if (pending !== undefined) await pending;
        this.applied = e.index;
        this.counters.entriesApplied++;
        if (this.runState !== "running") return;
      }
      if (t0 >= 0) this.noteApplyTime(t0, ents.length);
      this.reads.applied(this.applied);
      for (const r of t.msg.responses ?? []) this.stepRaw(r);
      // Conf change promises settle only now that raft knows the change is applied: a change
      // proposed by the caller right after would otherwise meet raft's "one pending change"
      // rule and be dropped.
      const settle = this.afterApplied;
      if (settle.length > 0) {
        this.afterApplied = [];
        for (const f of settle) f();
      }
      this.scheduleReady();
      await this.maybeSnapshot();
    }
  }

  /** Applies one committed entry; a promise only when the application's callback returned one. */
  private applyEntry(e: Entry): Promise<void> | undefined {
    if (e.type === EntryType.EntryNormal) return this.applyNormal(e);
    return this.applyConfChangeEntry(e);
  }

  private applyNormal(e: Entry): Promise<void> | undefined {
    const data = e.data;
    if (data === undefined || data.length === 0) return undefined; // a new leader's empty entry
    if (!isSealed(data)) {
      this.refuseEntry(e, -1, new Error("the entry was not proposed through a RaftNode (no envelope)"));
      return undefined;
    }
    // The proposal this node is waiting for, if the entry is one of ours (read in place: no
    // object per entry on the hot path).
    const seq = tagHiOf(data) === this.tag.hi && tagLoOf(data) === this.tag.lo ? seqOf(data) : -1;
    let result: R | Promise<R>;
    try {
      result = this.opts.apply({ index: e.index, term: e.term, data: payloadOf(data) });
    } catch (err) {
      this.refuseEntry(e, seq, err);
      return undefined;
    }
    if (isThenable(result)) {
      return result.then(
        (r) => {
          if (seq >= 0) this.proposals.resolve(seq, r);
        },
        (err: unknown) => this.refuseEntry(e, seq, err),
      );
    }
    if (seq >= 0) this.proposals.resolve(seq, result);
    return undefined;
  }

  /**
   * The application (or the envelope check) refused entry `e`: a result, the same on every
   * member. `seq`: this node's proposal for it, or -1.
   */
  private refuseEntry(e: Entry, seq: number, err: unknown): void {
    if (isFatal(err)) throw err;
    this.counters.entriesRefused++;
    this.logger.warn(`raft node: entry ${e.index} refused: ${err instanceof Error ? err.message : String(err)}`);
    if (seq >= 0) this.proposals.reject(seq, new EntryRefusedError(e.index, err));
  }

  private applyConfChangeEntry(e: Entry): Promise<void> | undefined {
    let cc: ConfChange | ConfChangeV2;
    try {
      cc = e.type === EntryType.EntryConfChange ? decodeConfChange(e.data ?? EMPTY) : decodeConfChangeV2(e.data ?? EMPTY);
    } catch (err) {
      // Only a forged or corrupted entry gets here; raft never sees it, on any member.
      this.counters.confChangesRefused++;
      this.logger.warn(`raft node: conf change entry ${e.index} cannot be decoded; skipped: ${String(err)}`);
      return undefined;
    }
    const env = cc.context === undefined ? undefined : open(cc.context);
    const change = { ...cc, context: env === undefined ? cc.context : env.payload };
    let confState: ConfState;
    try {
      confState = this.rawNode().applyConfChange(cc);
    } catch (err) {
      // Every member applies the same log, so every member refuses this change alike.
      if (!isRaftError(err)) throw err;
      this.counters.confChangesRefused++;
      this.logger.warn(`raft node: conf change at index ${e.index} refused: ${err.message}`);
      if (this.observers.size !== 0) this.emit({ type: "conf-change-refused", index: e.index, reason: err.message });
      if (env !== undefined && this.isOurs(env)) {
        const w = this.confChanges.get(env.seq);
        if (w !== undefined) this.afterApplied.push(() => w.reject(err));
      }
      return undefined;
    }
    this.confState = confState;
    if (this.observers.size !== 0) this.emit({ type: "conf-change-applied", index: e.index, change, confState });
    const settle = (): void => {
      if (env === undefined || !this.isOurs(env)) return;
      const w = this.confChanges.get(env.seq);
      if (w !== undefined) this.afterApplied.push(() => w.resolve(confState));
    };
    const hook = this.opts.applyConfChange;
    if (hook === undefined) {
      settle();
      return undefined;
    }
    const hookFailed = (err: unknown): void => {
      if (isFatal(err)) throw err;
      // The change is in effect in raft whatever the hook did: report it, do not undo it.
      this.counters.confChangesRefused++;
      this.logger.error(`raft node: applyConfChange threw on the conf change at index ${e.index} (the change is in effect): ${String(err)}`);
      settle();
    };
    let r: void | Promise<void>;
    try {
      r = hook({ index: e.index, term: e.term, change, confState });
    } catch (err) {
      hookFailed(err);
      return undefined;
    }
    if (isThenable(r)) return r.then(settle, hookFailed);
    settle();
    return undefined;
  }

  /**
   * Sends a MsgSnap whose snapshot is one of the state machine as it is now (applied index,
   * current configuration), as etcd's server does: the stored snapshot may predate the
   * configuration that added the receiver, which would then ignore it.
   */
  private async sendSnapshot(m: Message): Promise<void> {
    const p = this.opts.snapshot;
    if (p === undefined) {
      this.opts.send([m]);
      return;
    }
    const index = this.applied;
    let data: Uint8Array;
    try {
      data = await p.take(index);
    } catch (err) {
      this.snapshotFailed("taking (to send)", index, err);
      if (this.runState === "running") this.reportSnapshot(m.to, "failure");
      if (this.observers.size !== 0) this.emit({ type: "snapshot-failed", peer: m.to, reason: `taking the snapshot failed: ${String(err)}` });
      return;
    }
    const snapshot: Snapshot = { data, metadata: { index, term: this.opts.raft.storage.term(index), confState: this.confState } };
    this.opts.send([{ ...m, snapshot }]);
  }

  private async maybeSnapshot(): Promise<void> {
    const p = this.opts.snapshot;
    if (p === undefined || this.snapshotInFlight || this.applied - this.snapshotIndex < p.entries || this.runState !== "running") return;
    const index = this.applied;
    this.snapshotInFlight = true;
    let data: Uint8Array;
    try {
      data = await p.take(index);
    } catch (err) {
      this.snapshotInFlight = false;
      this.snapshotFailed("taking", index, err);
      return;
    }
    // Saved by the writer, between two writes; the applier goes on meanwhile.
    this.writer.push({ kind: "save", index, confState: this.confState, data });
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  /**
   * Proposes the queued proposals to raft as one MsgProp (`proposeBatch`: raft makes the
   * entries, once); on refusal, rejects them all.
   */
  private flushProposals(): void {
    const batch = this.pendingData;
    if (batch.length === 0 || this.runState !== "running") return;
    this.pendingData = [];
    this.pendingBytes = 0;
    try {
      this.rawNode().proposeBatch(batch);
    } catch (err) {
      if (!isRaftError(err)) {
        this.fail(err);
        return;
      }
      const why = errorCode(err) === "TSRAFT_PROPOSAL_DROPPED" && this.rawNode().basicStatus().softState.lead === NONE ? new NoLeaderError() : err;
      for (const data of batch) this.proposals.reject(seqOf(data), why);
    }
  }

  /** Raft's reason if it refused request `seq` during its `propose` call (see {@link onConfChangeRefused}). */
  private takeRefusal(seq: number): string | undefined {
    const r = this.refusedNow;
    this.refusedNow = undefined;
    return r !== undefined && r.seq === seq ? r.reason : undefined;
  }

  /**
   * Raft (as leader) refused a proposed conf change. Ours (proposed by this node, so inside
   * the `propose` call of {@link submit}): the promise rejects with ConfChangeRefusedError.
   * Another node's (forwarded): counted and observed; its proposer times out.
   */
  private onConfChangeRefused(r: ConfChangeRefusal): void {
    this.counters.confChangesRefused++;
    this.logger.info(`raft node: conf change refused by raft when proposed: ${r.reason}`);
    if (this.observers.size !== 0) this.emit({ type: "conf-change-refused", index: 0, reason: r.reason });
    let ctx: Uint8Array | undefined;
    try {
      const data = r.entry.data ?? EMPTY;
      ctx = r.entry.type === EntryType.EntryConfChange ? decodeConfChange(data).context : decodeConfChangeV2(data).context;
    } catch {
      return;
    }
    const env = ctx === undefined ? undefined : open(ctx);
    if (env !== undefined && this.isOurs(env)) this.refusedNow = { seq: env.seq, reason: r.reason };
  }

  private stepRaw(m: Message): void {
    try {
      this.rawNode().step(m);
    } catch (err) {
      if (!isRaftError(err)) throw err;
      this.logger.debug(`raft node: dropped message: ${err.message}`);
    }
  }

  /** Counts and publishes a slow apply of a batch of `entries` begun at `t0` (the scheduler's `now()`). */
  private noteApplyTime(t0: number, entries: number): void {
    const ms = this.sched.now() - t0;
    if (ms <= SLOW_APPLY_MS) return;
    this.counters.slowApplies++;
    slowApplyChannel.publish({ node: this.opts.raft.id, seconds: ms / 1000, entries });
  }

  /**
   * Notes the heartbeats among messages about to be sent (for round-trip times). The clock is
   * read only when there is one: most Readies carry appends, and reading it on each was 821
   * instructions per proposal (0.57%) with prom-client bound (`pnpm bench:overhead`;
   * test/clock-reads.test.ts).
   */
  private noteHeartbeats(out: readonly Message[]): void {
    let now: number | undefined;
    for (const m of out) if (m.type === MessageType.MsgHeartbeat) this.heartbeats.sent(m.to, (now ??= this.sched.now()));
  }

  private heartbeatAnswered(from: NodeId): void {
    const now = this.sched.now();
    const ms = this.heartbeats.answered(from, now);
    // An answer after more than an election timeout is a follower coming back, not a round trip.
    // One round trip per follower and tick is published (see PeerRttMessage).
    if (
      ms !== undefined &&
      ms <= this.opts.raft.electionTick * this.tickMs &&
      peerRttChannel.hasSubscribers &&
      this.heartbeats.sample(from, now, this.tickMs)
    ) {
      peerRttChannel.publish({ node: this.opts.raft.id, peer: from, seconds: ms / 1000 });
    }
    if (this.heartbeats.resumed(from) && this.observers.size !== 0) this.emit({ type: "peer-heartbeat-resumed", peer: from });
  }

  /** As leader, with observers: followers that left heartbeats unanswered for an election timeout. */
  private checkHeartbeats(): void {
    const limit = this.opts.raft.electionTick * this.tickMs;
    for (const [peer, silentMs] of this.heartbeats.overdue(this.sched.now(), limit)) this.emit({ type: "peer-heartbeat-failing", peer, silentMs });
  }

  /** Vote requests this node sends (one event per kind and batch) and votes it grants. */
  private observeVotes(msgs: readonly Message[]): void {
    const self = this.opts.raft.id;
    let asked: NodeId[] | undefined;
    let preVote = false;
    for (const m of msgs) {
      if (m.to === self) continue;
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        (asked ??= []).push(m.to);
        preVote = m.type === MessageType.MsgPreVote;
      } else if ((m.type === MessageType.MsgVoteResp || m.type === MessageType.MsgPreVoteResp) && !m.reject) {
        this.emit({ type: "vote-granted", preVote: m.type === MessageType.MsgPreVoteResp, candidate: m.to });
      }
    }
    if (asked !== undefined) this.emit({ type: "vote-requested", preVote, peers: asked });
  }

  private onSoftState(lead: NodeId, raftState: StateType): void {
    if (lead !== this.lead && lead !== NONE) this.counters.leaderChanges++;
    if (raftState !== "leader") this.heartbeats.clear();
    if (this.observers.size !== 0) {
      if (lead !== this.lead) this.emit({ type: "leader-change", lead, previous: this.lead });
      if (raftState !== this.raftState) this.emit({ type: "role-change", role: raftState, previous: this.raftState });
    }
    const changed = lead !== this.lead || raftState !== this.raftState;
    this.lead = lead;
    this.raftState = raftState;
    if (!changed) return;
    for (const t of this.transfers) if (t.target === lead) t.w.resolve();
    this.transfers = this.transfers.filter((t) => !t.w.settled);
    if (lead !== NONE) this.reads.issue();
    this.opts.onLeaderChange?.(lead, raftState, this.rawNode().basicStatus().hardState.term);
  }

  private rawNode(): RawNode {
    if (this.raw === undefined) throw new RaftError("TSRAFT_NODE_STATE", "raft node: not started");
    return this.raw;
  }

  private isOurs(env: Opened): boolean {
    return env.tagHi === this.tag.hi && env.tagLo === this.tag.lo;
  }

  /** Why a request cannot be accepted now, or undefined. */
  private refuse(): Error | undefined {
    if (this.runState !== "running") return new NodeStoppedError();
    // this.lead is raft's leader as of the last Ready; ask raft itself only when it says none
    // (basicStatus allocates, and this runs for every request).
    if (this.lead === NONE && this.rawNode().basicStatus().softState.lead === NONE) return new NoLeaderError();
    return undefined;
  }

  private submit<T>(map: WaiterMap<T>, op: string, propose: (seq: number) => void): Promise<T> {
    const failed = this.refuse();
    if (failed !== undefined) return Promise.reject(failed);
    const seq = this.nextSeq++;
    this.refusedNow = undefined;
    try {
      propose(seq);
    } catch (err) {
      if (errorCode(err) === "TSRAFT_PROPOSAL_DROPPED" && this.rawNode().basicStatus().softState.lead === NONE) {
        return Promise.reject(new NoLeaderError());
      }
      return Promise.reject(err);
    }
    this.scheduleReady();
    const refused = this.takeRefusal(seq);
    if (refused !== undefined) return Promise.reject(new ConfChangeRefusedError(refused));
    return new Promise<T>((resolve, reject) => {
      this.deadlines.add(map, seq, op, resolve, reject);
    });
  }

  private fail(err: unknown): void {
    if (this.runState === "failed") return;
    this.runState = "failed";
    this.halt(new NodeStoppedError(`raft node: failed: ${err instanceof Error ? err.message : String(err)}`));
    void this.writer.stop();
    void this.applier.stop();
    if (this.observers.size !== 0) this.emit({ type: "fatal", error: err });
    if (this.opts.onFatal !== undefined) this.opts.onFatal(err);
    else
      this.sched.setImmediate(() => {
        throw err;
      });
  }

  /** Stops the timers and rejects everything pending. */
  private halt(reason: Error): void {
    this.pendingData = [];
    this.pendingBytes = 0;
    if (this.ticker !== undefined) this.sched.clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.deferredTimer !== undefined) this.sched.clearTimeout(this.deferredTimer);
    this.deferredTimer = undefined;
    this.reads.halt(reason);
    this.deadlines.rejectAll(reason);
    this.transfers = [];
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RaftError("TSRAFT_NODE_CONFIG", `raft node: ${name} must be a positive number, got ${v}`);
  return v;
}
