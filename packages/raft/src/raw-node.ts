/**
 * RawNode: the application's handle on a raft node. A pure, synchronous state machine: the
 * application drives it with `tick()`, `step()` and proposals, drains `ready()`, persists and
 * sends what it holds, and acknowledges with `advance()`.
 * @module
 */
import { ConfChangeType, EntryType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, MessageType, NONE, encodeConfChange } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { validateConfig, type Config } from "./config.js";
import { asV2 } from "./confchange/index.js";
import { RaftError, StepPeerNotFoundError, panic } from "./errors.js";
import { checkMessage } from "./message-checks.js";
import { applyConfChange, confChangeToMsg } from "./membership.js";
import { newMessage } from "./messages.js";
import { Raft, type SoftState, type StateType } from "./raft.js";
import { traceConfChange, traceState } from "./trace.js";
import type { ReadState } from "./read-only.js";
import type { ProgressState } from "./tracker/index.js";
import { NO_ENTRIES, NO_MESSAGES, entsSize, isLocalMsgTarget, isResponseMsg } from "./util.js";

/**
 * What the application must do next. Act on the fields in this order (synchronous mode):
 * 1. persist `snapshot` (if any), `entries` and `hardState` (if any) to stable storage, with an
 *    fsync when `mustSync` is true;
 * 2. send `messages` (only after step 1: they may promise that state is durable);
 * 3. apply `snapshot` and then `committedEntries` to the state machine, calling
 *    `applyConfChange()` for conf change entries;
 * 4. call `advance(rd)`.
 *
 * Arrays and entries in a Ready may be kept by the application once handed out; raft does not
 * touch them again. They are read-only: entries are shared with raft's log, and an empty list
 * is one shared frozen array (a fresh empty array per field and Ready cost 128 bytes per
 * Ready; see the raft README, "The Ready cycle").
 */
export interface Ready {
  /** The leader and role, when they changed since the last Ready. */
  softState?: SoftState;
  /** The term, vote and commit index to persist, when they changed (never all-zero). */
  hardState?: HardState;
  /** Answers to `readIndex()` calls, ready once the state machine has applied `index` (read-only). */
  readStates: readonly ReadState[];
  /** Entries to persist before sending `messages` (read-only: shared with raft's log). */
  entries: readonly Entry[];
  /** A snapshot to persist and apply (never an empty one). */
  snapshot?: Snapshot;
  /** Committed entries to apply (already persisted, or persisted in this same Ready; read-only). */
  committedEntries: readonly Entry[];
  /**
   * Messages to send after the entries and HardState of this Ready are persisted. With
   * `asyncStorageWrites`, this also holds the MsgStorageAppend / MsgStorageApply messages for
   * the local storage threads (see the README). Read-only.
   */
  messages: readonly Message[];
  /** Whether the write of this Ready must be synced to disk (new entries, or a term/vote change). */
  mustSync: boolean;
}

/** A Ready's `readStates` when there are none. */
const NO_READ_STATES: readonly ReadState[] = Object.freeze([]);

/** What the reused proposal array holds between calls. */
const NO_ENTRY: Entry = Object.freeze({ term: 0, index: 0, type: EntryType.EntryNormal });

/** A peer of the initial configuration, for {@link RawNode.bootstrap}. */
export interface Peer {
  id: NodeId;
  context?: Uint8Array;
}

/** The leader's view of one follower, in {@link Status}. */
export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  paused: boolean;
  recentActive: boolean;
  isLearner: boolean;
}

/** What {@link RawNode.basicStatus} reports. */
export interface BasicStatus {
  id: NodeId;
  hardState: HardState;
  softState: { lead: NodeId; raftState: StateType };
  applied: number;
  leadTransferee: NodeId;
}

/** What {@link RawNode.status} reports: the basic status plus, on the leader, each peer's progress. */
export interface Status extends BasicStatus {
  progress?: Map<NodeId, ProgressStatus>;
  /** The configuration in effect. */
  config: ConfState;
}

/** How sending a snapshot to a peer ended, for {@link RawNode.reportSnapshot}. */
export type SnapshotStatus = "finish" | "failure";

/**
 * A raft node, driven by the application. Not thread-safe (nothing in Node is); every method
 * runs to completion synchronously and performs no I/O.
 */
export class RawNode {
  /** @internal the state machine. */
  readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  private readonly asyncStorageWrites: boolean;
  /**
   * Messages to step on the next advance() (sync mode): self-acks and storage responses, in
   * `steps[0, nSteps)`. A scratch array written by index, never shrunk (setting an array's
   * length to 0 frees its backing store, and the next push allocates a new one: 150 bytes per
   * Ready). Invariant: slots at and after `nSteps` are undefined.
   */
  private readonly steps: (Message | undefined)[] = [undefined, undefined, undefined, undefined];
  private nSteps = 0;
  /**
   * The storage responses of the sync mode, one object each, refilled for every Ready: at most
   * one Ready is accepted and not yet advanced, and raft.step keeps no reference to a local
   * storage response, so the object is free again once advance() has stepped it.
   */
  private readonly appendResp: Message;
  private readonly applyResp: Message;
  /**
   * The MsgProp of {@link propose} on a leader, and its one-entry array, reused: the leader
   * keeps the proposed Entry in its log but neither the message nor the array (the unstable log
   * copies the array's elements). A follower forwards the message, so it gets a fresh one.
   */
  private readonly propMsg: Message;
  private readonly propEnts: Entry[] = [{ term: 0, index: 0, type: EntryType.EntryNormal }];

  /**
   * Creates a node over `config.storage`, restoring its state from it.
   * @throws {@link ConfigError} on an invalid config.
   * @throws {@link StorageStateError} if the storage holds a term or index beyond
   * {@link MAX_TERM} / {@link MAX_INDEX}, or a commit index outside its log.
   */
  constructor(config: Config) {
    const c = validateConfig(config);
    this.raft = new Raft(c);
    this.asyncStorageWrites = c.asyncStorageWrites;
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
    this.appendResp = newMessage(MessageType.MsgStorageAppendResp, this.raft.id, LOCAL_APPEND_THREAD, 0);
    this.applyResp = newMessage(MessageType.MsgStorageApplyResp, this.raft.id, LOCAL_APPLY_THREAD, 0);
    this.propMsg = newMessage(MessageType.MsgProp, NONE, this.raft.id, 0);
  }

  /**
   * Sets up a brand new cluster member: appends one ConfChangeAddNode entry per peer, committed,
   * and applies them to the configuration. The entries come out in the next Ready (to persist
   * and to apply). Only on an empty storage.
   * @throws {@link RaftError} if `peers` is empty or the storage is not empty.
   */
  bootstrap(peers: readonly Peer[]): void {
    if (peers.length === 0) throw new RaftError("TSRAFT_BOOTSTRAP", "raft: must provide at least one peer to bootstrap");
    const r = this.raft;
    if (r.raftLog.storage.lastIndex() !== 0 || r.raftLog.lastIndex() !== 0) {
      throw new RaftError("TSRAFT_BOOTSTRAP", "raft: can't bootstrap a nonempty Storage");
    }
    // Nothing is persisted yet: the first Ready must carry the HardState.
    this.prevHardState = { term: 0, vote: NONE, commit: 0 };
    r.becomeFollower(1, NONE);
    const ents: Entry[] = peers.map((p, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.EntryConfChange,
      data: encodeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: p.id, context: p.context, id: 0n }),
    }));
    r.raftLog.append(ents);
    // The entries are committed at once, and applied to the configuration here so that
    // campaign() works right away; the application applies them again from the Ready (adding
    // a node twice is a no-op).
    r.raftLog.committed = ents.length;
    for (const p of peers) {
      applyConfChange(r, asV2({ type: ConfChangeType.ConfChangeAddNode, nodeId: p.id, context: undefined, id: 0n }));
    }
  }

  /** Advances the logical clock by one tick (elections, heartbeats, quorum checks). */
  tick(): void {
    this.raft.tickFn();
  }

  /**
   * Advances the election clock by one tick (`electionElapsed`) and does nothing else: no
   * election is started and no quorum check made on this tick, the heartbeat clock stays put
   * and no heartbeat is sent (etcd's `TickQuiesced`). For a group known to be quiescent, whose
   * caller calls this or {@link RawNode.tick} on each tick. The elapsed time counts: the first
   * `tick()` after enough quiesced ticks may start an election at once (on a leader: run the
   * quorum check, or abandon a pending leader transfer).
   */
  tickQuiesced(): void {
    this.raft.electionElapsed++;
  }

  /** Starts an election now (a pre-election with PreVote). */
  campaign(): void {
    this.raft.step(newMessage(MessageType.MsgHup, NONE, this.raft.id, 0));
  }

  /**
   * Proposes `data` to be appended to the log.
   * @throws {@link ProposalDroppedError} when there is no leader, a transfer is under way, or a
   * size limit is hit; the node is unchanged then.
   */
  propose(data: Uint8Array): void {
    const e: Entry = { term: 0, index: 0, type: EntryType.EntryNormal, data };
    const r = this.raft;
    if (r.state === "leader") {
      const m = this.propMsg;
      const ents = this.propEnts;
      ents[0] = e;
      m.entries = ents;
      try {
        r.step(m);
      } finally {
        ents[0] = NO_ENTRY; // holds nothing between calls
      }
      return;
    }
    const m = newMessage(MessageType.MsgProp, NONE, r.id, 0);
    m.entries = [e];
    r.step(m);
  }

  /**
   * Proposes each of `data` as one entry, in order, in one MsgProp: one step for the batch, and
   * on a follower one message to the leader. All or none: when it throws, nothing was appended.
   * The entries are raft's own objects (no copy is taken, as {@link step} must), and `data`'s
   * arrays are kept by reference, as {@link propose} keeps its `data`.
   * @throws {@link ProposalDroppedError} as {@link propose}.
   */
  proposeBatch(data: readonly Uint8Array[]): void {
    if (data.length === 0) return;
    const m = newMessage(MessageType.MsgProp, NONE, this.raft.id, 0);
    m.entries = data.map((d): Entry => ({ term: 0, index: 0, type: EntryType.EntryNormal, data: d }));
    this.raft.step(m);
  }

  /**
   * Proposes a configuration change. A change proposed while another is unapplied (or one that
   * does not fit the joint state) is replaced by an empty entry by the leader.
   * @throws {@link ProposalDroppedError} as {@link propose}.
   */
  proposeConfChange(cc: ConfChange | ConfChangeV2): void {
    const m = confChangeToMsg(cc);
    m.from = this.raft.id;
    this.raft.step(m);
  }

  /**
   * Applies a conf change that the application took from a committed entry, and returns the
   * configuration now in effect (to store with the next snapshot).
   * @throws {@link ConfChangeError} if the change is invalid; the configuration is unchanged.
   */
  applyConfChange(cc: ConfChange | ConfChangeV2): ConfState {
    const v2 = asV2(cc);
    const cs = applyConfChange(this.raft, v2);
    if (this.raft.trace !== undefined) traceConfChange(this.raft, "ApplyConfChange", v2);
    return cs;
  }

  /**
   * Steps a message received from a peer.
   * @throws {@link StepLocalMsgError} for a local message type (except storage-thread answers,
   * with `asyncStorageWrites`).
   * @throws {@link StepPeerNotFoundError} for a response from a peer not in the configuration.
   * @throws {@link ProposalDroppedError} for a forwarded proposal that cannot be accepted.
   * @throws {@link InvalidMessageError} for a message raft cannot handle: a term or index out of
   * range ({@link MAX_TERM}, {@link MAX_INDEX}), a shape that breaks the protocol (a MsgApp
   * whose entries do not follow `index` contiguously), a heartbeat commit beyond the log, ...
   * (the list is in message-checks.ts and the README). Nothing changed then.
   */
  step(m: Message): void {
    checkMessage(this.raft, m, this.asyncStorageWrites);
    if (isResponseMsg(m.type) && !isLocalMsgTarget(m.from) && !this.raft.trk.progress.has(m.from)) {
      throw new StepPeerNotFoundError(`raft: cannot step as peer not found: ${MessageType[m.type]} from ${m.from.toString(16)}`);
    }
    if (m.type === MessageType.MsgProp) {
      // The leader stamps term and index on proposed entries and keeps them in its log; take
      // copies, so the caller's message is not changed (an in-process transport may deliver the
      // same object twice, which would otherwise rewrite entries already in the log).
      m = { ...m, entries: m.entries.map((e) => ({ ...e })) };
    }
    this.raft.step(m);
  }

  /** Whether {@link ready} has anything to hand out. Cheap; allocates nothing. */
  hasReady(): boolean {
    const r = this.raft;
    const ps = this.prevSoftState;
    if (r.lead !== ps.lead || r.state !== ps.raftState) return true;
    const ph = this.prevHardState;
    if ((r.term !== ph.term || r.vote !== ph.vote || r.raftLog.committed !== ph.commit) && !(r.term === 0 && r.vote === NONE && r.raftLog.committed === 0)) {
      return true;
    }
    if (r.raftLog.hasNextUnstableSnapshot()) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0 || r.appendsPending) return true;
    if (r.raftLog.hasNextUnstableEnts() || r.raftLog.hasNextCommittedEnts(!this.asyncStorageWrites)) return true;
    return r.readStates.length > 0;
  }

  /**
   * Hands out what is pending. Everything in it is handed out once: a later Ready never repeats
   * it, whether or not `advance()` was called in between (in sync mode it must be).
   */
  ready(): Ready {
    const rd = this.readyWithoutAccept();
    if (this.raft.trace !== undefined) traceState(this.raft, "Ready");
    this.acceptReady(rd);
    return rd;
  }

  private readyWithoutAccept(): Ready {
    const r = this.raft;
    // Proposals deferred since the last Ready go out now, batched (see Config.batchProposals).
    r.flushProposals();
    // Empty lists are the shared frozen ones (NO_ENTRIES, ...): no array per empty field.
    const entries = r.raftLog.nextUnstableEnts();
    const committedEntries = r.raftLog.nextCommittedEnts(!this.asyncStorageWrites);
    const readStates = r.readStates.length > 0 ? r.readStates : NO_READ_STATES;
    // The HardState is compared field by field and built only when it changed: no object for
    // the comparison itself.
    const ph = this.prevHardState;
    const term = r.term;
    const vote = r.vote;
    const commit = r.raftLog.committed;
    const mustSync = entries.length > 0 || term !== ph.term || vote !== ph.vote;
    // The two common shapes are built whole (a field added later costs a property store).
    const rd: Ready =
      (term !== ph.term || vote !== ph.vote || commit !== ph.commit) && !(term === 0 && vote === NONE && commit === 0)
        ? { hardState: { term, vote, commit }, readStates, entries, committedEntries, messages: r.msgs, mustSync }
        : { readStates, entries, committedEntries, messages: r.msgs, mustSync };
    if (r.lead !== this.prevSoftState.lead || r.state !== this.prevSoftState.raftState) rd.softState = r.softState();
    const snap = r.raftLog.nextUnstableSnapshot();
    if (snap !== undefined) rd.snapshot = snap;

    if (this.asyncStorageWrites) {
      if (needStorageAppendMsg(r, rd)) rd.messages = withMessage(rd.messages, newStorageAppendMsg(r, rd));
      if (rd.committedEntries.length > 0) rd.messages = withMessage(rd.messages, newStorageApplyMsg(r, rd.committedEntries));
    } else {
      // In the synchronous loop the application persists before it sends, so the responses
      // that wait for durability go out with everything else (the self-addressed ones are
      // stepped on advance()).
      const after = r.msgsAfterAppend;
      for (let i = 0; i < after.length; i++) {
        const m = after[i]!;
        if (m.to !== r.id) rd.messages = withMessage(rd.messages, m);
      }
    }
    return rd;
  }

  private acceptReady(rd: Ready): void {
    const r = this.raft;
    if (rd.softState !== undefined) this.prevSoftState = rd.softState;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    if (rd.readStates.length > 0) r.readStates = [];
    if (!this.asyncStorageWrites) {
      if (this.nSteps !== 0) panic("two accepted Readies with no advance() in between");
      const after = r.msgsAfterAppend;
      for (let i = 0; i < after.length; i++) {
        const m = after[i]!;
        if (m.to === r.id) this.stepOnAdvance(m);
      }
      if (needStorageAppendRespMsg(r, rd)) this.stepOnAdvance(fillStorageAppendResp(this.appendResp, r, rd));
      if (rd.committedEntries.length > 0) this.stepOnAdvance(fillStorageApplyResp(this.applyResp, rd.committedEntries));
    }
    // Handed out (as rd.messages) when not empty; an empty queue is the shared frozen one, which
    // send() replaces by a one-element array.
    if (r.msgs.length !== 0) r.msgs = NO_MESSAGES;
    // Never handed out (copied into the Ready or the MsgStorageAppend above).
    if (r.msgsAfterAppend.length !== 0) r.msgsAfterAppend = NO_MESSAGES;
    r.raftLog.acceptUnstable();
    const ce = rd.committedEntries;
    if (ce.length > 0) r.raftLog.acceptApplying(ce[ce.length - 1]!.index, entsSize(ce), !this.asyncStorageWrites);
  }

  /**
   * Acknowledges the last Ready: its entries, HardState and snapshot are persisted and its
   * committed entries applied. Not used with `asyncStorageWrites` (step the storage threads'
   * responses instead).
   */
  advance(_rd?: Ready): void {
    if (this.asyncStorageWrites) panic("advance() must not be called when using asyncStorageWrites");
    // A step that throws leaves the rest unstepped (and dropped), as a fresh array per Ready did.
    const steps = this.steps;
    const n = this.nSteps;
    this.nSteps = 0;
    const r = this.raft;
    try {
      for (let i = 0; i < n; i++) {
        const m = steps[i]!;
        steps[i] = undefined;
        r.step(m);
        // The leader's self-acknowledgement never left this node (sync mode: acceptReady took
        // it from msgsAfterAppend for this array only), and raft keeps no reference to a
        // MsgAppResp it stepped: give it back for the next appendEntry to refill.
        if (m.type === MessageType.MsgAppResp && m.to === r.id && m.from === r.id) r.spareSelfAck = m;
      }
    } finally {
      for (let i = 0; i < n; i++) steps[i] = undefined;
      this.applyResp.entries = NO_ENTRIES; // holds nothing between Readies
      this.appendResp.snapshot = undefined;
    }
  }

  private stepOnAdvance(m: Message): void {
    const n = this.nSteps++;
    if (n < this.steps.length) this.steps[n] = m;
    else this.steps.push(m);
  }

  /** Requests a linearizable read; the answer comes as a ReadState in a later Ready. */
  readIndex(requestCtx: Uint8Array): void {
    const m = newMessage(MessageType.MsgReadIndex, NONE, this.raft.id, 0);
    m.entries = [{ term: 0, index: 0, type: EntryType.EntryNormal, data: requestCtx }];
    this.raft.step(m);
  }

  /** Asks the leader to hand leadership to `transferee` (ignored if it is a learner). */
  transferLeader(transferee: NodeId): void {
    const m = newMessage(MessageType.MsgTransferLeader, NONE, transferee, 0);
    this.raft.step(m);
  }

  /**
   * Forgets the current leader (a follower only), so that this node may vote in an election
   * its peers start before the leader's lease runs out. Ignored with lease-based reads.
   */
  forgetLeader(): void {
    this.raft.step(newMessage(MessageType.MsgForgetLeader, NONE, NONE, 0));
  }

  /** Reports that the last message to `id` could not be delivered. */
  reportUnreachable(id: NodeId): void {
    this.raft.step(newMessage(MessageType.MsgUnreachable, NONE, id, 0));
  }

  /** Reports how sending a snapshot to `id` ended. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    const m = newMessage(MessageType.MsgSnapStatus, NONE, id, 0);
    m.reject = status === "failure";
    this.raft.step(m);
  }

  /** The node's status without the per-peer progress (cheap). */
  basicStatus(): BasicStatus {
    const r = this.raft;
    return {
      id: r.id,
      hardState: r.hardState(),
      softState: r.softState(),
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
    };
  }

  /** The node's status; on the leader with every peer's progress. */
  status(): Status {
    const r = this.raft;
    const s: Status = { ...this.basicStatus(), config: r.trk.confState() };
    if (r.state === "leader") {
      const progress = new Map<NodeId, ProgressStatus>();
      for (const id of r.trk.progress.sortedIds()) {
        const pr = r.trk.progress.get(id)!;
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          paused: pr.isPaused(),
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
        });
      }
      s.progress = progress;
    }
    return s;
  }
}

/** `msgs` with `m` appended: in place if `msgs` is a queue raft handed over, a new array if it is the shared empty one. */
function withMessage(msgs: readonly Message[], m: Message): readonly Message[] {
  if (msgs.length === 0) return [m];
  (msgs as Message[]).push(m);
  return msgs;
}

function needStorageAppendMsg(r: Raft, rd: Ready): boolean {
  return rd.entries.length > 0 || rd.hardState !== undefined || rd.snapshot !== undefined || r.msgsAfterAppend.length > 0;
}

function needStorageAppendRespMsg(r: Raft, rd: Ready): boolean {
  // The unstable log may hold entries handed out in an earlier Ready that are still being
  // written; the response covers everything up to the last one.
  return r.raftLog.hasNextOrInProgressUnstableEnts() || rd.snapshot !== undefined;
}

/** The message to the local append thread: persist these, then deliver `responses`. */
function newStorageAppendMsg(r: Raft, rd: Ready): Message {
  const m = newMessage(MessageType.MsgStorageAppend, LOCAL_APPEND_THREAD, r.id, 0);
  m.entries = rd.entries;
  if (rd.hardState !== undefined) {
    m.term = rd.hardState.term;
    m.vote = rd.hardState.vote;
    m.commit = rd.hardState.commit;
  }
  if (rd.snapshot !== undefined) m.snapshot = rd.snapshot;
  const responses = r.msgsAfterAppend.slice();
  if (needStorageAppendRespMsg(r, rd)) responses.push(newStorageAppendRespMsg(r, rd));
  m.responses = responses;
  return m;
}

/** The answer the append thread steps back once the write is durable. */
function newStorageAppendRespMsg(r: Raft, rd: Ready): Message {
  return fillStorageAppendResp(newMessage(MessageType.MsgStorageAppendResp, r.id, LOCAL_APPEND_THREAD, 0), r, rd);
}

/** Sets the fields of `m`, a MsgStorageAppendResp from the append thread, for `rd`; returns it. */
function fillStorageAppendResp(m: Message, r: Raft, rd: Ready): Message {
  m.term = r.term;
  m.index = 0;
  m.logTerm = 0;
  m.snapshot = undefined;
  if (r.raftLog.hasNextOrInProgressUnstableEnts()) {
    // Identify the last entry by (index, term), so that an ack of entries later overwritten
    // by another term is recognised and ignored (stableTo checks the term).
    const last = r.raftLog.lastIndex();
    m.index = last;
    m.logTerm = r.raftLog.term(last);
  }
  if (rd.snapshot !== undefined) m.snapshot = rd.snapshot;
  return m;
}

/** The message to the local apply thread: apply these, then deliver `responses`. */
function newStorageApplyMsg(r: Raft, ents: readonly Entry[]): Message {
  const m = newMessage(MessageType.MsgStorageApply, LOCAL_APPLY_THREAD, r.id, 0);
  m.entries = ents;
  m.responses = [newStorageApplyRespMsg(r, ents)];
  return m;
}

function newStorageApplyRespMsg(r: Raft, ents: readonly Entry[]): Message {
  return fillStorageApplyResp(newMessage(MessageType.MsgStorageApplyResp, r.id, LOCAL_APPLY_THREAD, 0), ents);
}

/** Sets the entries of `m`, a MsgStorageApplyResp from the apply thread; returns it. */
function fillStorageApplyResp(m: Message, ents: readonly Entry[]): Message {
  m.entries = ents;
  return m;
}
