/**
 * The raft state machine of one node: terms, roles, elections, the log and the configuration.
 * The per-role message handlers live in step-leader.ts and step-follower.ts; this module holds
 * what all roles share. Nothing here does I/O: outgoing messages are queued in `msgs` /
 * `msgsAfterAppend` and handed out by RawNode's Ready.
 * @module
 */
import { EntryType, MessageType, NONE } from "@tsraft/raftpb";
import type { Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import type { ResolvedConfig } from "./config.js";
import { Changer, restore as restoreConfig } from "./confchange/index.js";
import { handleVoteRequest, hup, stepHigherTerm, stepLowerTerm } from "./election.js";
import { assertConfStatesEquivalent, confChangeToMsg, handOverLeadership, switchToConfig } from "./membership.js";
import { ConfigError, errorCode, isRaftError, panic } from "./errors.js";
import { RaftLog, isStorageFailure } from "./log.js";
import { checkStorageState } from "./storage-checks.js";
import type { RaftHooks } from "./hooks.js";
import { traceReceive, traceSend, traceState, type TraceLogger } from "./trace.js";
import type { Logger } from "./logger.js";
import type { RandomSource } from "./rand.js";
import { ReadOnly, type ReadState } from "./read-only.js";
import { stepCandidate, stepFollower } from "./step-follower.js";
import { releasePendingReadIndexMessages, stepLeader } from "./step-leader.js";
import { newMessage } from "./messages.js";
import { ProgressTracker, describeConfig } from "./tracker/index.js";
import type { FaultSwitches } from "./internal/faults.js";
import { NO_ENTRIES, NO_MESSAGES, entsSize, hexId, payloadsSize } from "./util.js";

/** The role of a node. */
export type StateType = "follower" | "candidate" | "pre-candidate" | "leader";

/** The volatile state a Ready reports when it changes. */
export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

/** Why a node campaigns. */
export type CampaignType = "pre-election" | "election" | "transfer";

const STATE_NAMES: Record<StateType, string> = {
  follower: "StateFollower",
  candidate: "StateCandidate",
  "pre-candidate": "StatePreCandidate",
  leader: "StateLeader",
};

/** etcd's name of a role, as its logs print it. */
export function stateName(s: StateType): string {
  return STATE_NAMES[s];
}

type StepFn = (r: Raft, m: Message) => void;

/**
 * One raft node's state machine. Internal: applications use {@link RawNode}.
 *
 * Invariant: `vote` is persisted (in a Ready's HardState) before any message that depends on
 * it is sent; self-addressed responses wait in `msgsAfterAppend` until then.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  readStates: ReadState[] = [];
  readonly raftLog: RaftLog;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  trk: ProgressTracker;
  state: StateType = "follower";
  /** Whether this node is a learner in the current configuration. */
  isLearner = false;
  /**
   * Messages to send now (after the Ready's entries are persisted, in the sync loop).
   * Invariant: empty only as the shared frozen {@link NO_MESSAGES}; a non-empty queue is raft's
   * own array until a Ready hands it out (and raft starts a new one).
   */
  msgs: readonly Message[] = NO_MESSAGES;
  /**
   * Messages that may only be sent once the unstable state in the same Ready is durable
   * (MsgAppResp, vote responses), including the ones to self. Empty as `msgs` is.
   */
  msgsAfterAppend: readonly Message[] = NO_MESSAGES;
  /**
   * A self-acknowledgement (MsgAppResp to itself) that RawNode stepped on advance() in the
   * synchronous loop and gave back: {@link appendEntry} refills it instead of making one per
   * Ready. Only a message nobody else holds gets here (see RawNode.advance).
   */
  spareSelfAck: Message | undefined = undefined;
  lead: NodeId = NONE;
  /** The peer a leadership transfer is under way to, or NONE. */
  leadTransferee: NodeId = NONE;
  /** Proposals of conf changes are refused until the one at this index is applied. */
  pendingConfIndex = 0;
  readonly disableConfChangeValidation: boolean;
  /** Payload bytes of uncommitted entries in the leader's log. */
  uncommittedSize = 0;
  readOnly: ReadOnly;
  /** Ticks since the last election timeout (followers/candidates), or since the last one passed (leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly heartbeatTimeout: number;
  readonly electionTimeout: number;
  /** A random number in [electionTimeout, 2 * electionTimeout), reset on every role change. */
  randomizedElectionTimeout = 0;
  readonly disableProposalForwarding: boolean;
  readonly stepDownOnRemoval: boolean;
  readonly handOverOnRemoval: boolean;
  /** This leader was removed and steps down once its leadership transfer is done (or times out). */
  stepDownAfterTransfer = false;
  /** Whether proposals are broadcast when the next Ready is built rather than at once. */
  readonly batchProposals: boolean;
  /** Proposals were appended since the last broadcast (with `batchProposals`). */
  appendsPending = false;
  /** Config.soleVoterCommitOnAppend: a sole-voter leader commits its entries as it appends them. */
  readonly soleVoterCommitOnAppend: boolean;
  readonly logger: Logger;
  readonly random: RandomSource;
  /** Test-only fault switches (all off in normal operation; see internal/faults.ts). */
  readonly faults: FaultSwitches;
  readonly hooks: RaftHooks;
  /** Config.traceLogger; undefined (the default) costs one check per trace site. */
  readonly trace: TraceLogger | undefined;
  /** Read requests a new leader holds until it has committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  tickFn: () => void;
  stepFn: StepFn;

  /**
   * @throws {@link ConfigError} if `c.applied` is beyond the stored commit index.
   * @throws {@link StorageStateError} if the storage holds a term or index raft cannot use.
   */
  constructor(c: ResolvedConfig) {
    this.id = c.id;
    this.logger = c.logger;
    this.random = c.random;
    this.faults = c.faults;
    this.hooks = c.hooks;
    this.trace = c.traceLogger;
    this.raftLog = new RaftLog(c.storage, c.logger, c.maxCommittedSizePerReady);
    const { hardState, confState } = c.storage.initialState();
    checkStorageState(this.raftLog, hardState);
    this.maxMsgSize = c.maxSizePerMsg;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize;
    this.trk = new ProgressTracker(c.maxInflightMsgs, c.maxInflightBytes);
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum;
    this.preVote = c.preVote;
    this.readOnly = new ReadOnly(c.readOnlyOption);
    this.disableProposalForwarding = c.disableProposalForwarding;
    this.disableConfChangeValidation = c.disableConfChangeValidation;
    this.stepDownOnRemoval = c.stepDownOnRemoval;
    this.handOverOnRemoval = c.handOverOnRemoval;
    this.batchProposals = c.batchProposals;
    this.soleVoterCommitOnAppend = c.soleVoterCommitOnAppend;
    this.tickFn = this.tickElection;
    this.stepFn = stepFollower;

    const restored = restoreConfig(this.changer(), confState);
    const cs = switchToConfig(this, restored);
    assertConfStatesEquivalent(confState, cs);

    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied > 0) {
      if (c.applied > this.raftLog.committed) {
        throw new ConfigError("applied", `applied index ${c.applied} is beyond the committed index ${this.raftLog.committed}`);
      }
      if (c.applied > this.raftLog.applied) this.raftLog.appliedTo(c.applied, 0);
    }
    this.becomeFollower(this.term, NONE);

    if (this.trace !== undefined) traceState(this, "InitState");
    this.logger.info(
      `newRaft ${hexId(this.id)} [peers: [${this.trk.voterNodes().map(hexId).join(",")}], term: ${this.term}, commit: ${this.raftLog.committed}, applied: ${this.raftLog.applied}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}]`,
    );
  }

  /** A Changer over the current configuration. */
  changer(): Changer {
    return new Changer(this.trk, this.raftLog.lastIndex());
  }

  hasLeader(): boolean {
    return this.lead !== NONE;
  }

  softState(): SoftState {
    return { lead: this.lead, raftState: this.state };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  /** Queues `m` for sending, filling in `from` and the term as the message type requires. */
  send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (t === MessageType.MsgVote || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVote || t === MessageType.MsgPreVoteResp) {
      // Vote messages carry the term they are for: the campaign's term, not necessarily ours.
      if (m.term === 0) panic(`term should be set when sending ${MessageType[t]}`);
    } else {
      if (m.term !== 0) panic(`term should not be set when sending ${MessageType[t]} (was ${m.term})`);
      // Proposals and read requests are forwarded as local messages, without a term.
      if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) m.term = this.term;
    }
    if (t === MessageType.MsgAppResp || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVoteResp) {
      // These answers promise that the log or the vote they describe is durable: they wait
      // until the Ready that holds that state has been persisted.
      // (An empty queue gets a new one-element array: an empty array grown by push allocates
      // room for 17, about 150 bytes per Ready.)
      if (this.msgsAfterAppend.length === 0) this.msgsAfterAppend = [m];
      else (this.msgsAfterAppend as Message[]).push(m); // (non-empty: raft's own array)
    } else {
      if (m.to === this.id) panic(`message should not be self-addressed when sending ${MessageType[t]}`);
      if (this.msgs.length === 0) this.msgs = [m];
      else (this.msgs as Message[]).push(m); // (non-empty: raft's own array)
    }
    if (this.trace !== undefined) traceSend(this, m);
  }

  /** Sends an append (or a snapshot) to `to`, even an empty one. */
  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends the entries `to` is missing, as one MsgApp within maxMsgSize (or a MsgSnap when they
   * are compacted). With `sendIfEmpty` false nothing is sent when there are no entries.
   * Returns whether a message was sent.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number | undefined;
    let ents: readonly Entry[] = NO_ENTRIES;
    let compacted: boolean;
    try {
      prevTerm = this.raftLog.termOrUndefined(prevIndex);
      compacted = prevTerm === undefined;
      // With a full window in replicate state only an empty MsgApp goes out, so the commit
      // index still flows and an ack or rejection can free the window if its messages were lost.
      if (!compacted && (pr.state !== "replicate" || !pr.inflights.full())) {
        try {
          ents = this.raftLog.entries(pr.next, this.maxMsgSize);
        } catch (err) {
          if (errorCode(err) !== "TSRAFT_COMPACTED") throw err;
          compacted = true;
        }
      }
    } catch (err) {
      if (!isStorageFailure(err)) throw err;
      this.skipOnStorageFailure(to, "entries", err);
      return false;
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    if (compacted) return this.maybeSendSnapshot(to);

    pr.sentEntries(ents.length, payloadsSize(ents));
    const commit = this.raftLog.committed;
    pr.sentCommit(commit);
    const m = newMessage(MessageType.MsgApp, to, this.id, 0);
    m.index = prevIndex;
    m.logTerm = prevTerm!;
    m.entries = ents as Entry[];
    m.commit = commit;
    this.send(m);
    return true;
  }

  /** Sends the storage's snapshot to `to`; false if unavailable or `to` is not recently active. */
  maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    if (!pr.recentActive) {
      this.logger.debug(`ignore sending snapshot to ${hexId(to)} since it is not recently active`);
      return false;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.raftLog.snapshot();
    } catch (err) {
      if (errorCode(err) === "TSRAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE") {
        this.logger.debug(`${hexId(this.id)} failed to send snapshot to ${hexId(to)} because snapshot is temporarily unavailable`);
        return false;
      }
      if (!isStorageFailure(err)) throw err;
      this.skipOnStorageFailure(to, "the snapshot", err);
      return false;
    }
    if (snapshot.metadata.index === 0) panic("need non-empty snapshot");
    const { index: sindex, term: sterm } = snapshot.metadata;
    this.logger.debug(
      `${hexId(this.id)} [firstindex: ${this.raftLog.firstIndex()}, commit: ${this.raftLog.committed}] sent snapshot[index: ${sindex}, term: ${sterm}] to ${hexId(to)} [${pr.toString()}]`,
    );
    pr.becomeSnapshot(sindex);
    this.logger.debug(`${hexId(this.id)} paused sending replication messages to ${hexId(to)} [${pr.toString()}]`);
    const m = newMessage(MessageType.MsgSnap, to, this.id, 0);
    m.snapshot = snapshot;
    this.send(m);
    return true;
  }

  /**
   * The send path's one policy for a Storage that fails a read (an I/O error of a disk-backed
   * storage): nothing has changed for `to` yet, so it is skipped, and the next heartbeat
   * response or acknowledgement from it retries. The operation that triggered the send (a
   * proposal, say) has taken effect and succeeds; the failure is logged at error level. Only
   * what the Storage threw gets here: raft's own errors (a broken invariant, a bug) propagate.
   */
  private skipOnStorageFailure(to: NodeId, what: string, err: unknown): void {
    this.logger.error(`${hexId(this.id)} failed to read ${what} for ${hexId(to)} from storage: ${String(err)}`, { error: err });
  }

  /** Sends a heartbeat carrying `min(match, committed)` so a follower never learns a commit it cannot hold. */
  sendHeartbeat(to: NodeId, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to)!;
    const commit = Math.min(pr.match, this.raftLog.committed);
    const m = newMessage(MessageType.MsgHeartbeat, to, this.id, 0);
    m.commit = commit;
    m.context = ctx;
    pr.sentCommit(commit);
    this.send(m);
  }

  /** Sends appends to every peer but this node. */
  bcastAppend(): void {
    const ids = this.trk.progress.sortedIds();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id !== this.id) this.sendAppend(id);
    }
  }

  /**
   * Sends appended proposals to the followers: at once, or (with `batchProposals`) when the
   * next Ready is built, so that every proposal made in between goes out in one MsgApp per
   * follower instead of one each.
   */
  bcastProposals(): void {
    if (this.batchProposals) this.appendsPending = true;
    else this.bcastAppend();
  }

  /** Sends the proposals deferred by {@link bcastProposals}, if any. */
  flushProposals(): void {
    if (!this.appendsPending) return;
    this.appendsPending = false;
    if (this.state === "leader") {
      const ids = this.trk.progress.sortedIds();
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        // Only what is new, as many messages as the follower's window allows; a follower
        // already sent everything (or paused) gets nothing.
        if (id === this.id) continue;
        while (this.maybeSendAppend(id, false)) {
          // keep sending
        }
      }
    }
  }

  /** Sends heartbeats to every peer, with the context of the newest pending read, if any. */
  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  bcastHeartbeatWithCtx(ctx: Uint8Array | undefined): void {
    const ids = this.trk.progress.sortedIds();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id !== this.id) this.sendHeartbeat(id, ctx);
    }
  }

  /** Records `index` (and `size` bytes handed out) as applied; may leave a joint config. */
  appliedTo(index: number, size: number): void {
    const oldApplied = this.raftLog.applied;
    const newApplied = Math.max(index, oldApplied);
    this.raftLog.appliedTo(newApplied, size);

    if (this.trk.config.autoLeave && newApplied >= this.pendingConfIndex && this.state === "leader") {
      // The joint configuration is applied: propose leaving it. Its index becomes the pending
      // conf index, which stops another automatic proposal until it is applied.
      const m = confChangeToMsg(undefined);
      try {
        this.step(m);
        this.logger.info(`initiating automatic transition out of joint configuration ${describeConfig(this.trk.config)}`);
      } catch (err) {
        // A dropped proposal (a leader transfer under way, say): the next apply tries again.
        // Anything else is not ours to swallow.
        if (!isRaftError(err)) throw err;
        this.logger.debug(`not initiating automatic transition out of joint configuration ${describeConfig(this.trk.config)}: ${String(err)}`);
      }
    }
  }

  /** Records that the snapshot at `snap`'s index is persisted and applied. */
  appliedSnap(snap: Snapshot): void {
    const index = snap.metadata.index;
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  /** Commits what a quorum has acknowledged, if it is of this term. Returns whether commit moved. */
  maybeCommit(): boolean {
    const mci = this.trk.committed();
    if (this.faults.commitPreviousTermByCount && mci > this.raftLog.committed && mci <= this.raftLog.lastIndex()) {
      this.raftLog.commitTo(mci);
      return true;
    }
    const moved = this.raftLog.maybeCommit(mci, this.term);
    if (moved && this.trace !== undefined) traceState(this, "Commit");
    return moved;
  }

  /** Resets the volatile state for `term` (clearing the vote when the term changes). */
  reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    this.trk.visit((id, pr) => {
      pr.match = id === this.id ? last : 0;
      pr.next = last + 1;
      pr.resetState("probe");
      pr.pendingSnapshot = 0;
      pr.recentActive = false;
      pr.msgAppFlowPaused = false;
      pr.inflights.reset();
      pr.sentCommit(0);
    });
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.appendsPending = false;
    this.stepDownAfterTransfer = false;
    this.readOnly = new ReadOnly(this.readOnly.option);
  }

  /**
   * Appends `es` as new entries of this term to the leader's log, and queues the leader's own
   * acknowledgement (delivered once they are persisted). Returns false, appending nothing, when
   * the uncommitted-size limit would be exceeded.
   */
  appendEntry(es: readonly Entry[]): boolean {
    let li = this.raftLog.lastIndex();
    for (let i = 0; i < es.length; i++) {
      const e = es[i]!;
      e.term = this.term;
      e.index = li + 1 + i;
    }
    if (!this.increaseUncommittedSize(es)) {
      this.logger.warn(`${hexId(this.id)} appending new entries to log would exceed uncommitted entry size limit; dropping proposal`);
      return false;
    }
    li = this.raftLog.append(es);
    if (this.trace !== undefined) traceState(this, "Replicate");
    // The leader acknowledges its own entries once they are durable, through a MsgAppResp to
    // itself. Consecutive self-acks in one Ready are folded into one: only the last index counts.
    const after = this.msgsAfterAppend;
    const prev = after.length > 0 ? after[after.length - 1]! : undefined;
    if (prev !== undefined && prev.to === this.id && prev.type === MessageType.MsgAppResp && !prev.reject && prev.term === this.term) {
      prev.index = li;
    } else {
      let m = this.spareSelfAck;
      if (m === undefined) m = newMessage(MessageType.MsgAppResp, this.id, this.id, 0);
      else {
        // Refilled: only `term` (set by send) and `index` differ from a new self-ack.
        this.spareSelfAck = undefined;
        m.term = 0;
      }
      m.index = li;
      this.send(m);
    }
    // (The self-ack above still raises the leader's match once the entries are durable.)
    if (this.soleVoterCommitOnAppend && (this.trk.config.voters.soleVoter() === this.id || this.faults.commitOnAppendWithPeers)) {
      this.commitOnAppend(li);
    }
    return true;
  }

  /**
   * Config.soleVoterCommitOnAppend: the leader, the only voter (checked by the caller), commits
   * `li`, the last entry it just appended, before persisting it. Safe because nothing reveals
   * the commit before the Ready that carries these entries has been persisted (see the option's
   * TSDoc); the leader's own match still moves only on the self-ack.
   */
  private commitOnAppend(li: number): void {
    if (!this.raftLog.maybeCommit(li, this.term)) return;
    if (this.trace !== undefined) traceState(this, "Commit");
    releasePendingReadIndexMessages(this);
  }

  /** The follower/candidate tick: campaign when the election timeout has passed. */
  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      try {
        this.step(newMessage(MessageType.MsgHup, NONE, this.id, 0));
      } catch (err) {
        // A campaign refused with a RaftError (from the storage's contract, say) changed
        // nothing: logged, and the next timeout tries again. Anything else (a broken
        // invariant, a storage I/O error) propagates out of tick().
        if (!isRaftError(err)) throw err;
        this.logger.warn(`${hexId(this.id)} error occurred during election: ${String(err)}`);
      }
    }
  }

  /** The leader tick: heartbeats, and the quorum check and transfer timeout every election timeout. */
  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(newMessage(MessageType.MsgCheckQuorum, NONE, this.id, 0));
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.state === "leader" && this.leadTransferee !== NONE) {
        if (this.stepDownAfterTransfer) {
          // A removed leader's hand-over did not finish in time: step down anyway.
          this.logger.info(`${hexId(this.id)} [term ${this.term}] leadership transfer to ${hexId(this.leadTransferee)} timed out; stepping down after removal`);
          this.becomeFollower(this.term, NONE);
        } else {
          this.abortLeaderTransfer();
        }
      }
    }
    if (this.state !== "leader") return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(newMessage(MessageType.MsgBeat, NONE, this.id, 0));
    }
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = this.tickElection;
    this.lead = lead;
    this.state = "follower";
    if (this.trace !== undefined) traceState(this, "BecomeFollower");
    this.logger.info(`${hexId(this.id)} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === "leader") panic("invalid transition [leader -> candidate]");
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = this.tickElection;
    this.vote = this.id;
    this.state = "candidate";
    if (this.trace !== undefined) traceState(this, "BecomeCandidate");
    this.logger.info(`${hexId(this.id)} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.state === "leader") panic("invalid transition [leader -> pre-candidate]");
    // A pre-candidate keeps its term and vote: the pre-election changes nothing durable.
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tickFn = this.tickElection;
    this.lead = NONE;
    this.state = "pre-candidate";
    this.logger.info(`${hexId(this.id)} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.state === "follower") panic("invalid transition [follower -> leader]");
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = this.tickHeartbeat;
    this.lead = this.id;
    this.state = "leader";
    const pr = this.trk.progress.get(this.id);
    if (pr !== undefined) {
      // The leader is trivially caught up with itself, and always counts as active.
      pr.becomeReplicate();
      pr.recentActive = true;
    }
    // There may be an unapplied conf change in the log; conservatively treat the whole tail
    // as pending rather than scanning it.
    this.pendingConfIndex = this.raftLog.lastIndex();
    // An empty entry of the new term: committing it commits everything before it (§5.4.2) and
    // lets the leader serve reads (§6.4). Its payload is empty, so it never hits the size limit.
    if (!this.appendEntry([{ term: 0, index: 0, type: EntryType.EntryNormal, data: undefined }])) {
      panic("empty entry was dropped");
    }
    if (this.trace !== undefined) traceState(this, "BecomeLeader");
    this.logger.info(`${hexId(this.id)} became leader at term ${this.term}`);
    // Elected outside its own voters (campaignToHandOver): hand leadership over to a voter
    // once it holds this log, as a leader removed by a conf change does.
    if (!this.trk.config.voters.has(this.id) && this.stepDownOnRemoval && this.handOverOnRemoval) handOverLeadership(this);
  }

  /**
   * Steps one message: the term rules shared by every role first (§5.1), then votes, then the
   * role's own handler.
   * @throws {@link ProposalDroppedError} from a dropped proposal.
   */
  step(m: Message): void {
    if (this.trace !== undefined) traceReceive(this, m);
    if (m.term === 0) {
      // A local message.
    } else if (m.term > this.term) {
      if (!stepHigherTerm(this, m)) return;
    } else if (m.term < this.term) {
      stepLowerTerm(this, m);
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        hup(this, this.preVote ? "pre-election" : "election");
        return;
      case MessageType.MsgStorageAppendResp:
        if (m.index !== 0) this.raftLog.stableTo(m.index, m.logTerm);
        if (m.snapshot !== undefined && m.snapshot.metadata.index !== 0) this.appliedSnap(m.snapshot);
        return;
      case MessageType.MsgStorageApplyResp:
        if (m.entries.length > 0) {
          const ents = m.entries;
          this.appliedTo(ents[ents.length - 1]!.index, entsSize(ents));
          this.reduceUncommittedSize(payloadsSize(ents));
        }
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote:
        handleVoteRequest(this, m);
        return;
      default:
        this.stepFn(this, m);
    }
  }

  /** Whether this node may become leader: a voter, with no snapshot being applied. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && (!pr.isLearner || this.faults.learnerPromotable) && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  /** Restores the HardState (checked by {@link checkStorageState}). */
  loadState(st: HardState): void {
    this.raftLog.committed = st.commit;
    this.term = st.term;
    this.vote = this.faults.forgetVote ? NONE : st.vote;
  }

  pastElectionTimeout(): boolean {
    return this.electionElapsed >= this.randomizedElectionTimeout;
  }

  resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send(newMessage(MessageType.MsgTimeoutNow, to, this.id, 0));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /** Whether the entry at the commit index is of this term (a new leader's reads wait for it). */
  committedEntryInCurrentTerm(): boolean {
    return this.raftLog.zeroTermOnOutOfBounds(this.raftLog.committed) === this.term;
  }

  /**
   * The answer to read request `req` at `readIndex`: a ReadState for a local request (queued
   * here; returns undefined), or a MsgReadIndexResp to the follower that asked.
   */
  responseToReadIndexReq(req: Message, readIndex: number): Message | undefined {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index: readIndex, requestCtx: req.entries[0]!.data ?? new Uint8Array(0) });
      return undefined;
    }
    const m = newMessage(MessageType.MsgReadIndexResp, req.from, this.id, 0);
    m.index = readIndex;
    m.entries = req.entries;
    return m;
  }

  /** Counts `es` against the uncommitted-size limit; false (counting nothing) if over it. */
  increaseUncommittedSize(es: readonly Entry[]): boolean {
    const s = payloadsSize(es);
    // An empty uncommitted tail accepts any proposal; and empty entries (a new leader's, the
    // leave-joint change) are always accepted.
    if (this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) return false;
    this.uncommittedSize += s;
    return true;
  }

  reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }
}
