/**
 * The raft state machine of one node: terms, roles, elections, the log and the configuration.
 * The per-role message handlers live in step-leader.ts and step-follower.ts; this module holds
 * what all roles share. Nothing here does I/O: outgoing messages are queued in `msgs` /
 * `msgsAfterAppend` and handed out by RawNode's Ready.
 * @module
 */
import {
  ConfChangeTransition,
  EntryType,
  MessageType,
  NONE,
  decodeConfChange,
  decodeConfChangeV2,
  encodeConfChange,
  encodeConfChangeV2,
  entrySize,
} from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import type { ResolvedConfig } from "./config.js";
import { Changer, asV2, enterJoint, leaveJoint, restore as restoreConfig } from "./confchange/index.js";
import type { ChangeResult } from "./confchange/index.js";
import { ConfigError, InvariantViolation, panic } from "./errors.js";
import { RaftLog } from "./log.js";
import type { Logger } from "./logger.js";
import type { RandomSource } from "./rand.js";
import { ReadOnly, type ReadState } from "./read-only.js";
import { stepCandidate, stepFollower } from "./step-follower.js";
import { stepLeader } from "./step-leader.js";
import { ProgressTracker, describeConfig } from "./tracker/index.js";
import { faults } from "./internal/faults.js";
import { NO_ENTRIES, hexId, payloadsSize, voteRespMsgType } from "./util.js";

/** The role of a node. */
export type StateType = "follower" | "candidate" | "pre-candidate" | "leader";

/** The volatile state a Ready reports when it changes. */
export interface SoftState {
  lead: NodeId;
  raftState: StateType;
}

/** Why a node campaigns. */
export type CampaignType = "pre-election" | "election" | "transfer";

/** The context of a MsgVote sent on a leader transfer: voters grant it despite a lease. */
export const CAMPAIGN_TRANSFER_CTX: Uint8Array = Uint8Array.from("CampaignTransfer", (c) => c.charCodeAt(0));

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

function isTransferCtx(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== CAMPAIGN_TRANSFER_CTX.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER_CTX[i]) return false;
  return true;
}

/** Makes a message with every field in one order (one hidden class for all messages). */
export function newMessage(type: MessageType, to: NodeId, from: NodeId, term: number): Message {
  return {
    type,
    to,
    from,
    term,
    logTerm: 0,
    index: 0,
    entries: NO_ENTRIES,
    commit: 0,
    vote: undefined,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: undefined,
    responses: undefined,
  };
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
  /** Messages to send now (after the Ready's entries are persisted, in the sync loop). */
  msgs: Message[] = [];
  /**
   * Messages that may only be sent once the unstable state in the same Ready is durable
   * (MsgAppResp, vote responses), including the ones to self.
   */
  msgsAfterAppend: Message[] = [];
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
  readonly logger: Logger;
  readonly random: RandomSource;
  /** Read requests a new leader holds until it has committed an entry of its term. */
  pendingReadIndexMessages: Message[] = [];
  tickFn: () => void;
  stepFn: StepFn;

  /** @throws {@link ConfigError} if `c.applied` is beyond the stored commit index. */
  constructor(c: ResolvedConfig) {
    this.id = c.id;
    this.logger = c.logger;
    this.random = c.random;
    this.raftLog = new RaftLog(c.storage, c.logger, c.maxCommittedSizePerReady);
    const { hardState, confState } = c.storage.initialState();
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
    this.tickFn = this.tickElection;
    this.stepFn = stepFollower;

    const restored = restoreConfig(this.changer(), confState);
    const cs = this.switchToConfig(restored);
    assertConfStatesEquivalent(confState, cs);

    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) this.loadState(hardState);
    if (c.applied > 0) {
      if (c.applied > this.raftLog.committed) {
        throw new ConfigError("applied", `applied index ${c.applied} is beyond the committed index ${this.raftLog.committed}`);
      }
      if (c.applied > this.raftLog.applied) this.raftLog.appliedTo(c.applied, 0);
    }
    this.becomeFollower(this.term, NONE);

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
      this.msgsAfterAppend.push(m);
    } else {
      if (m.to === this.id) panic(`message should not be self-addressed when sending ${MessageType[t]}`);
      this.msgs.push(m);
    }
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
          if ((err as { code?: string }).code !== "TSRAFT_COMPACTED") throw err;
          compacted = true;
        }
      }
    } catch (err) {
      if (err instanceof InvariantViolation) throw err;
      // A storage failure (an I/O error of a disk-backed Storage) while reading entries to
      // send: nothing has changed yet, so skip this peer; the next heartbeat response or
      // acknowledgement retries. The caller's own operation (a proposal, say) has succeeded.
      this.logger.error(`${hexId(this.id)} failed to read entries for ${hexId(to)} from storage: ${String(err)}`, { error: err });
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
      if ((err as { code?: string }).code === "TSRAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE") {
        this.logger.debug(`${hexId(this.id)} failed to send snapshot to ${hexId(to)} because snapshot is temporarily unavailable`);
        return false;
      }
      throw err;
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
    if (faults.commitPreviousTermByCount && mci > this.raftLog.committed && mci <= this.raftLog.lastIndex()) {
      this.raftLog.commitTo(mci);
      return true;
    }
    return this.raftLog.maybeCommit(mci, this.term);
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
  appendEntry(es: Entry[]): boolean {
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
    // The leader acknowledges its own entries once they are durable, through a MsgAppResp to
    // itself. Consecutive self-acks in one Ready are folded into one: only the last index counts.
    const after = this.msgsAfterAppend;
    const prev = after.length > 0 ? after[after.length - 1]! : undefined;
    if (prev !== undefined && prev.to === this.id && prev.type === MessageType.MsgAppResp && !prev.reject && prev.term === this.term) {
      prev.index = li;
    } else {
      const m = newMessage(MessageType.MsgAppResp, this.id, this.id, 0);
      m.index = li;
      this.send(m);
    }
    return true;
  }

  /** The follower/candidate tick: campaign when the election timeout has passed. */
  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.pastElectionTimeout()) {
      this.electionElapsed = 0;
      try {
        this.step(newMessage(MessageType.MsgHup, NONE, this.id, 0));
      } catch (err) {
        this.logger.debug(`error occurred during election: ${String(err)}`);
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
    this.logger.info(`${hexId(this.id)} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.state === "leader") panic("invalid transition [leader -> candidate]");
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = this.tickElection;
    this.vote = this.id;
    this.state = "candidate";
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
    this.logger.info(`${hexId(this.id)} became leader at term ${this.term}`);
  }

  /** Starts an election of kind `t` if this node may. */
  hup(t: CampaignType): void {
    if (this.state === "leader") {
      this.logger.debug(`${hexId(this.id)} ignoring MsgHup because already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warn(`${hexId(this.id)} is unpromotable and can not campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${hexId(this.id)} cannot campaign at term ${this.term} since there are still pending configuration changes to apply`);
      return;
    }
    this.logger.info(`${hexId(this.id)} is starting a new election at term ${this.term}`);
    this.campaign(t);
  }

  /** Whether committed but unapplied entries hold a conf change (one that may change who votes). */
  hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    let lo = log.applied + 1;
    const hi = log.committed + 1;
    while (lo < hi) {
      const ents = log.slice(lo, hi, log.maxApplyingEntsSize);
      if (ents.length === 0) break;
      for (let i = 0; i < ents.length; i++) {
        const t = ents[i]!.type;
        if (t === EntryType.EntryConfChange || t === EntryType.EntryConfChangeV2) return true;
      }
      lo += ents.length;
    }
    return false;
  }

  /** Sends (pre-)vote requests to every voter; the self-vote is delivered after it is persisted. */
  campaign(t: CampaignType): void {
    if (!this.promotable()) this.logger.warn(`${hexId(this.id)} is unpromotable; campaign() should have been called`);
    let term: number;
    let voteMsg: MessageType;
    if (t === "pre-election") {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      // Pre-votes are asked for the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    const ids = this.trk.config.voters.sortedIds();
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === this.id) {
        // Our own vote counts once it is durable: a response to ourselves, delivered after the
        // HardState holding the vote has been persisted.
        this.send(newMessage(voteRespMsgType(voteMsg), id, this.id, term));
        continue;
      }
      this.logger.info(
        `${hexId(this.id)} [logterm: ${lastTerm}, index: ${lastIndex}] sent ${MessageType[voteMsg]} request to ${hexId(id)} at term ${this.term}`,
      );
      const m = newMessage(voteMsg, id, this.id, term);
      m.index = lastIndex;
      m.logTerm = lastTerm;
      if (t === "transfer") m.context = CAMPAIGN_TRANSFER_CTX;
      this.send(m);
    }
  }

  /** Records a vote and returns the tally. */
  poll(id: NodeId, t: MessageType, granted: boolean): { granted: number; rejected: number; result: "pending" | "lost" | "won" } {
    if (granted) this.logger.info(`${hexId(this.id)} received ${MessageType[t]} from ${hexId(id)} at term ${this.term}`);
    else this.logger.info(`${hexId(this.id)} received ${MessageType[t]} rejection from ${hexId(id)} at term ${this.term}`);
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes();
  }

  /**
   * Steps one message: the term rules shared by every role first (§5.1), then votes, then the
   * role's own handler.
   * @throws {@link ProposalDroppedError} from a dropped proposal.
   */
  step(m: Message): void {
    if (m.term === 0) {
      // A local message.
    } else if (m.term > this.term) {
      if (!this.stepHigherTerm(m)) return;
    } else if (m.term < this.term) {
      this.stepLowerTerm(m);
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? "pre-election" : "election");
        return;
      case MessageType.MsgStorageAppendResp:
        if (m.index !== 0) this.raftLog.stableTo(m.index, m.logTerm);
        if (m.snapshot !== undefined && m.snapshot.metadata.index !== 0) this.appliedSnap(m.snapshot);
        return;
      case MessageType.MsgStorageApplyResp:
        if (m.entries.length > 0) {
          const ents = m.entries;
          this.appliedTo(ents[ents.length - 1]!.index, entsSizeForApply(ents));
          this.reduceUncommittedSize(payloadsSize(ents));
        }
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote:
        this.handleVoteRequest(m);
        return;
      default:
        this.stepFn(this, m);
    }
  }

  /** A message of a higher term: usually follow it. Returns false if the message is ignored. */
  private stepHigherTerm(m: Message): boolean {
    if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
      const force = isTransferCtx(m.context);
      const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
      if (!force && inLease) {
        // We heard from a leader within the minimum election timeout: ignore the vote, so a
        // partitioned node rejoining cannot depose a healthy leader (§9.6 / thesis 4.2.3).
        this.logger.info(
          `${hexId(this.id)} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${hexId(this.vote)}] ignored ${MessageType[m.type]} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}: lease is not expired (remaining ticks: ${this.electionTimeout - this.electionElapsed})`,
        );
        return false;
      }
    }
    if (m.type === MessageType.MsgPreVote) {
      // Never change our term in response to a pre-vote.
    } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
      // Pre-votes are answered with the future term; a granted one does not move our term
      // (a rejection carries the voter's real, higher term and does).
    } else {
      this.logger.info(`${hexId(this.id)} [term: ${this.term}] received a ${MessageType[m.type]} message with higher term from ${hexId(m.from)} [term: ${m.term}]`);
      const fromLeader = m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap;
      this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    }
    return true;
  }

  /** A message of a lower term: answered where that helps the sender, else ignored. */
  private stepLowerTerm(m: Message): void {
    if (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp) {
      // Answer a stale leader with our term so that it steps down (§5.1: "if a server receives
      // a request with a stale term number, it rejects the request"). etcd answers only with
      // CheckQuorum or PreVote and otherwise counts on our MsgVotes reaching the leader, which
      // fails when our configuration is stale and does not include it: found by the simulator
      // (a node that never applied a membership change campaigned forever toward removed peers
      // while the new leader's heartbeats were ignored).
      this.send(newMessage(MessageType.MsgAppResp, m.from, this.id, 0));
    } else if (m.type === MessageType.MsgPreVote) {
      // Answer stale pre-votes, so that a node with an old term and a long log does not get
      // stuck campaigning with pre-votes nobody answers.
      this.logger.info(
        `${hexId(this.id)} [logterm: ${this.raftLog.lastTerm()}, index: ${this.raftLog.lastIndex()}, vote: ${hexId(this.vote)}] rejected ${MessageType[m.type]} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      const resp = newMessage(MessageType.MsgPreVoteResp, m.from, this.id, this.term);
      resp.reject = true;
      this.send(resp);
    } else if (m.type === MessageType.MsgStorageAppendResp) {
      if (m.index !== 0) {
        // The entries may have been overwritten in the unstable log by a later term; do not
        // count them as stable.
        this.logger.info(
          `${hexId(this.id)} [term: ${this.term}] ignored entry appends from a ${MessageType[m.type]} message with lower term [term: ${m.term}]`,
        );
      }
      // A snapshot is stable whatever the term it was written under.
      if (m.snapshot !== undefined && m.snapshot.metadata.index !== 0) this.appliedSnap(m.snapshot);
    } else {
      this.logger.info(
        `${hexId(this.id)} [term: ${this.term}] ignored a ${MessageType[m.type]} message with lower term from ${hexId(m.from)} [term: ${m.term}]`,
      );
    }
  }

  /** Grants or rejects a (pre-)vote (§5.2, §5.4.1). */
  private handleVoteRequest(m: Message): void {
    // We can vote if this repeats a vote we cast, if we have not voted and know no leader in
    // this term, or if this is a pre-vote for a future term...
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.MsgPreVote && m.term > this.term);
    // ...and the candidate's log is at least as up-to-date as ours.
    const upToDate = faults.grantVotesWithoutLogCheck || this.raftLog.isUpToDate(m.index, m.logTerm);
    const lastTerm = this.raftLog.lastTerm();
    const lastIndex = this.raftLog.lastIndex();
    if (canVote && upToDate) {
      this.logger.info(
        `${hexId(this.id)} [logterm: ${lastTerm}, index: ${lastIndex}, vote: ${hexId(this.vote)}] cast ${MessageType[m.type]} for ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      // The response carries the candidate's term: a pre-vote is granted for the future term.
      this.send(newMessage(voteRespMsgType(m.type), m.from, this.id, m.term));
      if (m.type === MessageType.MsgVote) {
        // Only real votes are recorded (and persisted before the response is sent).
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.logger.info(
        `${hexId(this.id)} [logterm: ${lastTerm}, index: ${lastIndex}, vote: ${hexId(this.vote)}] rejected ${MessageType[m.type]} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${this.term}`,
      );
      const resp = newMessage(voteRespMsgType(m.type), m.from, this.id, this.term);
      resp.reject = true;
      this.send(resp);
    }
  }

  /** A follower's handling of MsgApp: append if the log matches at the previous entry. */
  handleAppendEntries(m: Message): void {
    const log = this.raftLog;
    if (m.index < log.committed) {
      // Everything up to our commit index is already known to match.
      const resp = newMessage(MessageType.MsgAppResp, m.from, this.id, 0);
      resp.index = log.committed;
      this.send(resp);
      return;
    }
    const lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      const resp = newMessage(MessageType.MsgAppResp, m.from, this.id, 0);
      resp.index = lastNew;
      this.send(resp);
      return;
    }
    this.logger.debug(
      `${hexId(this.id)} [logterm: ${log.zeroTermOnOutOfBounds(m.index)}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${hexId(m.from)}`,
    );
    // Hint the largest (index, term) at which our log may match: the last entry at or below
    // m.index whose term is at most m.logTerm. This skips our whole uncommitted tail of terms
    // the leader does not have in one round trip.
    const hintIndex0 = Math.min(m.index, log.lastIndex());
    const [hintIndex, hintTerm] = log.findConflictByTerm(hintIndex0, m.logTerm);
    const resp = newMessage(MessageType.MsgAppResp, m.from, this.id, 0);
    resp.index = m.index;
    resp.reject = true;
    resp.rejectHint = hintIndex;
    resp.logTerm = hintTerm;
    this.send(resp);
  }

  /** A follower's handling of MsgHeartbeat: commit what the leader says, never going back. */
  handleHeartbeat(m: Message): void {
    if (faults.heartbeatLowersCommit && m.commit < this.raftLog.committed && m.commit >= this.raftLog.applied) {
      this.raftLog.committed = m.commit;
    }
    this.raftLog.commitTo(m.commit);
    const resp = newMessage(MessageType.MsgHeartbeatResp, m.from, this.id, 0);
    resp.context = m.context;
    this.send(resp);
  }

  /** A follower's handling of MsgSnap. */
  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    const sindex = s === undefined ? 0 : s.metadata.index;
    const sterm = s === undefined ? 0 : s.metadata.term;
    const resp = newMessage(MessageType.MsgAppResp, m.from, this.id, 0);
    if (s !== undefined && this.restore(s)) {
      this.logger.info(`${hexId(this.id)} [commit: ${this.raftLog.committed}] restored snapshot [index: ${sindex}, term: ${sterm}]`);
      resp.index = this.raftLog.lastIndex();
    } else {
      this.logger.info(`${hexId(this.id)} [commit: ${this.raftLog.committed}] ignored snapshot [index: ${sindex}, term: ${sterm}]`);
      resp.index = this.raftLog.committed;
    }
    this.send(resp);
  }

  /**
   * Restores the log and the configuration from snapshot `s`. Returns false when the snapshot
   * is not newer than the commit index, when this node is not in its configuration, or when
   * the log already has the snapshot's last entry (then only the commit index moves).
   */
  restore(s: Snapshot): boolean {
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.raftLog.applying > this.raftLog.applied) {
      // Committed entries handed out to apply are not applied yet (a Ready not yet advanced,
      // or a MsgStorageApply in progress). Their conf changes would then be applied on top of
      // the snapshot's configuration, which already holds them (found by the simulator: an
      // error, or a wrong configuration). Ignore the snapshot; the leader sends it again.
      this.logger.info(
        `${hexId(this.id)} [applied: ${this.raftLog.applied}, applying: ${this.raftLog.applying}] ignored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}] while applying committed entries`,
      );
      return false;
    }
    if (this.state !== "follower") {
      // Defense in depth: only followers get here.
      this.logger.warn(`${hexId(this.id)} attempted to restore snapshot as leader; should never happen`);
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    // learnersNext need not be checked: a learner-to-be is an outgoing voter.
    const found = cs.voters.includes(this.id) || cs.learners.includes(this.id) || cs.votersOutgoing.includes(this.id);
    if (!found) {
      this.logger.warn(`${hexId(this.id)} attempted to restore snapshot but it is not in the ConfState ${describeConfStateShort(cs)}; should never happen`);
      return false;
    }
    const { index, term } = s.metadata;
    if (this.raftLog.matchTerm(index, term)) {
      this.logger.info(
        `${hexId(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}] fast-forwarded commit to snapshot [index: ${index}, term: ${term}]`,
      );
      this.raftLog.commitTo(index);
      return false;
    }
    this.raftLog.restore(s);
    // Rebuild the configuration from the snapshot's ConfState.
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    const restored = restoreConfig(this.changer(), cs);
    assertConfStatesEquivalent(cs, this.switchToConfig(restored));
    this.logger.info(
      `${hexId(this.id)} [commit: ${this.raftLog.committed}, lastindex: ${this.raftLog.lastIndex()}, lastterm: ${this.raftLog.lastTerm()}] restored snapshot [index: ${index}, term: ${term}]`,
    );
    return true;
  }

  /** Whether this node may become leader: a voter, with no snapshot being applied. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.raftLog.hasNextOrInProgressSnapshot();
  }

  /**
   * Applies a conf change the application has applied from the log.
   * @throws {@link ConfChangeError} if the change is invalid; nothing changes then.
   */
  applyConfChange(cc: ConfChangeV2): ConfState {
    const changer = this.changer();
    let res: ChangeResult;
    if (leaveJoint(cc)) {
      res = changer.leaveJoint();
    } else {
      const j = enterJoint(cc);
      res = j.ok ? changer.enterJoint(j.autoLeave, cc.changes) : changer.simple(cc.changes);
    }
    return this.switchToConfig(res);
  }

  /** Installs a new configuration and progress map, and reacts as leader. */
  switchToConfig(res: ChangeResult): ConfState {
    this.trk.config = res.config;
    this.trk.progress = res.progress;
    this.logger.info(`${hexId(this.id)} switched to configuration ${describeConfig(this.trk.config)}`);
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    // Whether this node is a learner; false once it is removed.
    this.isLearner = pr !== undefined && pr.isLearner;

    if ((pr === undefined || this.isLearner) && this.state === "leader") {
      // This leader was removed or demoted: step down if asked to. Without stepping down it
      // keeps replicating but counts for nothing, and drops new proposals.
      if (this.stepDownOnRemoval && !(this.handOverOnRemoval && this.handOverLeadership())) this.becomeFollower(this.term, NONE);
      return cs;
    }
    // The rest only matters for a leader with peers.
    if (this.state !== "leader" || cs.voters.length === 0) return cs;

    if (this.maybeCommit()) {
      // The new configuration commits more: tell everyone.
      this.bcastAppend();
    } else {
      // Probe newly added peers now rather than at the next heartbeat or proposal.
      const ids = this.trk.progress.sortedIds();
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (id !== this.id) this.maybeSendAppend(id, false);
      }
    }
    // A transfer to a peer that is no longer a voter is abandoned.
    if (this.leadTransferee !== NONE && !this.trk.config.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }

  /**
   * A removed (or demoted) leader hands leadership to the voter of the new configuration with
   * the highest match index before it steps down: that voter can win an election (it will have
   * every entry, uncommitted ones included), where after an abrupt step-down the remaining
   * voters may be unable to win the old leader's vote. Returns false when there is no voter to
   * hand over to.
   */
  private handOverLeadership(): boolean {
    let target = NONE;
    let best = -1;
    for (const id of this.trk.config.voters.sortedIds()) {
      const pr = this.trk.progress.get(id);
      if (id === this.id || pr === undefined || pr.isLearner) continue;
      if (pr.match > best) {
        best = pr.match;
        target = id;
      }
    }
    if (target === NONE) return false;
    this.logger.info(`${hexId(this.id)} [term ${this.term}] is removed from the configuration; transferring leadership to ${hexId(target)} before stepping down`);
    this.electionElapsed = 0;
    this.leadTransferee = target;
    if (best === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(target);
      this.becomeFollower(this.term, NONE);
      return true;
    }
    this.stepDownAfterTransfer = true;
    this.sendAppend(target);
    return true;
  }

  loadState(st: HardState): void {
    if (st.commit < this.raftLog.committed || st.commit > this.raftLog.lastIndex()) {
      panic(`${hexId(this.id)} state.commit ${st.commit} is out of range [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`);
    }
    this.raftLog.committed = st.commit;
    this.term = st.term;
    this.vote = faults.forgetVote ? NONE : st.vote;
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

/** The byte size handed out for `ents` when they were committed (what appliedTo gives back). */
function entsSizeForApply(ents: readonly Entry[]): number {
  let s = 0;
  for (let i = 0; i < ents.length; i++) s += entrySize(ents[i]!);
  return s;
}

/** Encodes a conf change (or, with undefined, the empty leave-joint change) as a MsgProp. */
export function confChangeToMsg(cc: ConfChangeV2 | ConfChange | undefined): Message {
  let type: EntryType;
  let data: Uint8Array;
  if (cc === undefined) {
    type = EntryType.EntryConfChangeV2;
    data = encodeConfChangeV2({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [], context: undefined });
  } else if ("changes" in cc) {
    type = EntryType.EntryConfChangeV2;
    data = encodeConfChangeV2(cc);
  } else {
    type = EntryType.EntryConfChange;
    data = encodeConfChange(cc);
  }
  const m = newMessage(MessageType.MsgProp, NONE, NONE, 0);
  m.entries = [{ term: 0, index: 0, type, data }];
  return m;
}

/** Decodes the conf change held by entry `e`, as a ConfChangeV2. */
export function confChangeOfEntry(e: Entry): ConfChangeV2 {
  const data = e.data ?? new Uint8Array(0);
  return e.type === EntryType.EntryConfChange ? asV2(decodeConfChange(data)) : decodeConfChangeV2(data);
}

function describeConfStateShort(cs: ConfState): string {
  return `{voters:[${cs.voters.join(" ")}] learners:[${cs.learners.join(" ")}] voters_outgoing:[${cs.votersOutgoing.join(" ")}] learners_next:[${cs.learnersNext.join(" ")}] auto_leave:${cs.autoLeave}}`;
}

function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const sb = [...b].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return false;
  return true;
}

/** Panics unless two ConfStates describe the same configuration. */
export function assertConfStatesEquivalent(a: ConfState, b: ConfState): void {
  if (
    sameIds(a.voters, b.voters) &&
    sameIds(a.learners, b.learners) &&
    sameIds(a.votersOutgoing, b.votersOutgoing) &&
    sameIds(a.learnersNext, b.learnersNext) &&
    a.autoLeave === b.autoLeave
  ) {
    return;
  }
  panic(`ConfStates not equivalent after sorting:\n${describeConfStateShort(a)}\n${describeConfStateShort(b)}`);
}
