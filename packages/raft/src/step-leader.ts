/**
 * Message handlers of the leader, one function per message type.
 * @module
 */
import { ConfChangeTransition, ConfChangeType, EntryType, MessageType, NONE, decodeConfChange, decodeConfChangeV2 } from "@tsraft/raftpb";
import type { Entry, Message, NodeId } from "@tsraft/raftpb";
import { MAX_INDEX } from "./bounds.js";
import { InvalidMessageError, ProposalDroppedError, panic } from "./errors.js";
import { confChangeOfEntry } from "./membership.js";
import type { Raft } from "./raft.js";
import { traceConfChange } from "./trace.js";
import type { Progress } from "./tracker/index.js";
import { describeConfig } from "./tracker/index.js";
import { hexId } from "./util.js";

/**
 * Steps a message on the leader.
 * @throws {@link ProposalDroppedError}; {@link InvalidMessageError} for a MsgAppResp that
 * acknowledges an index beyond the leader's log.
 */
export function stepLeader(r: Raft, m: Message): void {
  // Message types that need no progress of the sender.
  switch (m.type) {
    case MessageType.MsgBeat:
      r.bcastHeartbeat();
      return;
    case MessageType.MsgCheckQuorum:
      handleCheckQuorum(r);
      return;
    case MessageType.MsgProp:
      handlePropose(r, m);
      return;
    case MessageType.MsgReadIndex:
      handleReadIndex(r, m);
      return;
    case MessageType.MsgForgetLeader:
      return;
    default:
      break;
  }
  // Everything else comes from a peer, which must be in the configuration.
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) {
    r.logger.debug(`${hexId(r.id)} no progress available for ${hexId(m.from)}`);
    return;
  }
  switch (m.type) {
    case MessageType.MsgAppResp:
      if (!m.reject && m.index > r.raftLog.lastIndex()) {
        // No follower can have appended what this leader never had: refused, changing nothing
        // (it would make the follower's match run past the log).
        throw new InvalidMessageError(
          `MsgAppResp from ${hexId(m.from)}: acknowledges index ${m.index} beyond the leader's last index ${r.raftLog.lastIndex()}`,
        );
      }
      pr.recentActive = true;
      if (m.reject) handleAppRespReject(r, m, pr);
      else handleAppRespAccept(r, m, pr);
      return;
    case MessageType.MsgHeartbeatResp:
      handleHeartbeatResp(r, m, pr);
      return;
    case MessageType.MsgSnapStatus:
      handleSnapStatus(r, m, pr);
      return;
    case MessageType.MsgUnreachable:
      // In replicate state a MsgApp was most likely lost: fall back to probing.
      if (pr.state === "replicate") pr.becomeProbe();
      r.logger.debug(`${hexId(r.id)} failed to send message to ${hexId(m.from)} because it is unreachable [${pr.toString()}]`);
      return;
    case MessageType.MsgTransferLeader:
      handleTransferLeader(r, m.from, pr);
      return;
    default:
      return;
  }
}

/** Steps down unless a quorum was active within the last election timeout (CheckQuorum). */
function handleCheckQuorum(r: Raft): void {
  if (!r.trk.quorumActive()) {
    r.logger.warn(`${hexId(r.id)} stepped down to follower since quorum is not active`);
    r.becomeFollower(r.term, NONE);
  }
  // Everyone but us starts the next period inactive.
  r.trk.visit((id, p) => {
    if (id !== r.id) p.recentActive = false;
  });
}

/** Appends proposed entries and broadcasts them; refuses conf changes that cannot apply. */
function handlePropose(r: Raft, m: Message): void {
  if (m.entries.length === 0) panic(`${hexId(r.id)} stepped empty MsgProp`);
  if (!r.trk.progress.has(r.id)) {
    // This leader was removed from the configuration: drop new proposals.
    throw new ProposalDroppedError("raft proposal dropped: the leader is not in the configuration");
  }
  if (r.leadTransferee !== NONE) {
    r.logger.debug(`${hexId(r.id)} [term ${r.term}] transfer leadership to ${hexId(r.leadTransferee)} is in progress; dropping proposal`);
    throw new ProposalDroppedError("raft proposal dropped: leadership transfer in progress");
  }
  let ents = m.entries;
  if (r.raftLog.lastIndex() + ents.length > MAX_INDEX) {
    // Invariant: lastIndex <= MAX_INDEX (see bounds.ts).
    throw new ProposalDroppedError(`raft proposal dropped: the log would end beyond the largest index ${MAX_INDEX}`);
  }
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i]!;
    if ((e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) && !acceptConfChangeProposal(r, ents, i)) {
      // Refused: proposed as an empty normal entry instead, in a copy (the array is read-only).
      const copy = ents.slice();
      copy[i] = { term: 0, index: 0, type: EntryType.EntryNormal, data: undefined };
      ents = copy;
    }
  }
  if (!r.appendEntry(ents)) throw new ProposalDroppedError("raft proposal dropped: uncommitted entries size limit");
  r.bcastProposals();
}

/**
 * Whether proposal `ents[i]` (a conf change) may be appended; false if it cannot be applied
 * (another change is still unapplied, or it does not fit the joint state), and the caller
 * appends an empty normal entry in its place. So the log never holds more than one pending
 * change.
 */
function acceptConfChangeProposal(r: Raft, ents: readonly Entry[], i: number): boolean {
  const e = ents[i]!;
  const cc = confChangeOfEntry(e);
  const alreadyPending = r.pendingConfIndex > r.raftLog.applied;
  const alreadyJoint = r.trk.config.voters.isJoint();
  const wantsLeaveJoint = cc.changes.length === 0;
  let failedCheck = "";
  if (alreadyPending) failedCheck = `possible unapplied conf change at index ${r.pendingConfIndex} (applied to ${r.raftLog.applied})`;
  else if (alreadyJoint && !wantsLeaveJoint) failedCheck = "must transition out of joint config first";
  else if (!alreadyJoint && wantsLeaveJoint) failedCheck = "not in joint state; refusing empty conf change";

  if (failedCheck !== "" && !r.disableConfChangeValidation) {
    r.logger.info(`${hexId(r.id)} ignoring conf change ${confChangeEntryText(e)} at config ${describeConfig(r.trk.config)}: ${failedCheck}`);
    r.hooks.confChangeRefused?.({ entry: e, reason: failedCheck });
    return false;
  }
  r.pendingConfIndex = r.raftLog.lastIndex() + i + 1;
  if (r.trace !== undefined) traceConfChange(r, "ChangeConf", cc);
  return true;
}

/**
 * The conf change of entry `e` in protobuf's compact text format, as etcd logs it (`%v` of the
 * decoded message): `transition:ConfChangeTransitionAuto changes:{type:ConfChangeAddNode
 * node_id:3}` or `id:0 type:ConfChangeRemoveNode node_id:1`.
 */
function confChangeEntryText(e: Entry): string {
  const data = e.data ?? new Uint8Array(0);
  const parts: string[] = [];
  let context: Uint8Array | undefined;
  if (e.type === EntryType.EntryConfChange) {
    const cc = decodeConfChange(data);
    parts.push(`id:${cc.id}`, `type:${ConfChangeType[cc.type]}`, `node_id:${cc.nodeId}`);
    context = cc.context;
  } else {
    const cc = decodeConfChangeV2(data);
    parts.push(`transition:${ConfChangeTransition[cc.transition]}`);
    for (const c of cc.changes) parts.push(`changes:{type:${ConfChangeType[c.type]} node_id:${c.nodeId}}`);
    context = cc.context;
  }
  if (context !== undefined) {
    let q = "";
    for (const b of context) q += b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, "0")}`;
    parts.push(`context:"${q}"`);
  }
  return parts.join(" ");
}

/** Serves a read request: at once when alone, after a heartbeat quorum in 'safe' mode. */
function handleReadIndex(r: Raft, m: Message): void {
  if (r.trk.isSingleton()) {
    const resp = r.responseToReadIndexReq(m, r.raftLog.committed);
    if (resp !== undefined) r.send(resp);
    return;
  }
  // A new leader does not know the commit index until it commits an entry of its term
  // (thesis §6.4): hold the request until then.
  if (!r.committedEntryInCurrentTerm() && !r.faults.readIndexBeforeTermCommit) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  sendMsgReadIndexResponse(r, m);
}

/** Answers (or, in 'safe' mode, starts confirming) a read request at the current commit index. */
export function sendMsgReadIndexResponse(r: Raft, m: Message): void {
  if (r.readOnly.option === "safe") {
    const ctx = m.entries[0]!.data;
    r.readOnly.addRequest(r.raftLog.committed, m);
    // The leader acks its own request.
    r.readOnly.recvAck(r.id, ctx);
    r.bcastHeartbeatWithCtx(ctx);
    return;
  }
  const resp = r.responseToReadIndexReq(m, r.raftLog.committed);
  if (resp !== undefined) r.send(resp);
}

/** Releases reads held until the leader committed an entry of its term. */
export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0) return;
  if (!r.committedEntryInCurrentTerm()) {
    r.logger.error("pending MsgReadIndex should be released only after first commit in current term");
    return;
  }
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) sendMsgReadIndexResponse(r, m);
}

/**
 * A rejected append: step `next` back. The follower's hint (`rejectHint`, with the term it has
 * there in `logTerm`) lets us skip every entry of a term the follower lacks in one round trip.
 */
function handleAppRespReject(r: Raft, m: Message, pr: Progress): void {
  r.logger.debug(`${hexId(r.id)} received MsgAppResp(rejected, hint: (index ${m.rejectHint}, term ${m.logTerm})) from ${hexId(m.from)} for index ${m.index}`);
  let nextProbeIdx = m.rejectHint;
  if (m.logTerm > 0) {
    // The follower has term m.logTerm at m.rejectHint: our log can only match it at or below
    // the last of our entries whose term is <= m.logTerm.
    nextProbeIdx = r.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
  }
  if (pr.maybeDecrTo(m.index, nextProbeIdx)) {
    r.logger.debug(`${hexId(r.id)} decreased progress of ${hexId(m.from)} to [${pr.toString()}]`);
    if (pr.state === "replicate") pr.becomeProbe();
    r.sendAppend(m.from);
  }
}

/** An accepted append: raise match, maybe commit, and keep the pipeline full. */
function handleAppRespAccept(r: Raft, m: Message, pr: Progress): void {
  // A response at our match index still moves a probing follower back to replicate (it
  // proves the follower's log matches; see heartbeat_resp_recovers_from_probing).
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === "probe")) return;
  if (pr.state === "probe") {
    pr.becomeReplicate();
  } else if (pr.state === "snapshot" && pr.match + 1 >= r.raftLog.firstIndex()) {
    // Whatever snapshot the follower applied, it can now be caught up from the log. Going
    // through probe accounts for the pending snapshot.
    r.logger.debug(`${hexId(r.id)} recovered from needing snapshot, resumed sending replication messages to ${hexId(m.from)} [${pr.toString()}]`);
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === "replicate") {
    pr.inflights.freeLE(m.index);
  }

  if (r.maybeCommit()) {
    // Commit moved in this term: held reads may go, and followers learn the new commit.
    releasePendingReadIndexMessages(r);
    r.bcastAppend();
  } else if (r.id !== m.from && pr.canBumpCommit(r.raftLog.committed)) {
    // The follower may not know the latest commit index yet: tell it now rather than at the
    // next heartbeat.
    r.sendAppend(m.from);
  }
  // Flow control may have opened up: send as much as the window allows, without empty appends.
  if (r.id !== m.from) {
    while (r.maybeSendAppend(m.from, false)) {
      // keep sending
    }
  }
  if (m.from === r.leadTransferee && pr.match === r.raftLog.lastIndex()) {
    r.logger.info(`${hexId(r.id)} sent MsgTimeoutNow to ${hexId(m.from)} after received MsgAppResp`);
    r.sendTimeoutNow(m.from);
    // A removed leader's hand-over is done.
    if (r.stepDownAfterTransfer) r.becomeFollower(r.term, NONE);
  }
}

/**
 * A heartbeat answer: the follower is alive. Resend to it if it is behind (its window may have
 * been filled by lost messages), and count it toward pending 'safe' reads.
 */
function handleHeartbeatResp(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  // A heartbeat answer is not a log position: it only tells us the follower is reachable.
  if (pr.match < r.raftLog.lastIndex() || pr.state === "probe") r.sendAppend(m.from);

  if (r.readOnly.option !== "safe" || m.context === undefined || m.context.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, m.context);
  if (acks === undefined || r.trk.config.voters.voteResult(acks) !== "won") return;
  for (const rs of r.readOnly.advance(m)) {
    const resp = r.responseToReadIndexReq(rs.req, rs.index);
    if (resp !== undefined) r.send(resp);
  }
}

/** The application reported how sending a snapshot went. */
function handleSnapStatus(r: Raft, m: Message, pr: Progress): void {
  if (pr.state !== "snapshot") return;
  if (!m.reject) {
    pr.becomeProbe();
    r.logger.debug(`${hexId(r.id)} snapshot succeeded, resumed sending replication messages to ${hexId(m.from)} [${pr.toString()}]`);
  } else {
    // Forget the pending snapshot first, or probing would start from its index although it
    // was never applied.
    pr.pendingSnapshot = 0;
    pr.becomeProbe();
    r.logger.debug(`${hexId(r.id)} snapshot failed, resumed sending replication messages to ${hexId(m.from)} [${pr.toString()}]`);
  }
  // On success wait for the follower's MsgAppResp; on failure wait a heartbeat before retrying.
  pr.msgAppFlowPaused = true;
}

/** Starts a leadership transfer to `transferee` (thesis §3.10). */
function handleTransferLeader(r: Raft, transferee: NodeId, pr: Progress): void {
  if (pr.isLearner) {
    r.logger.debug(`${hexId(r.id)} is learner. Ignored transferring leadership`);
    return;
  }
  const last = r.leadTransferee;
  if (last !== NONE) {
    if (last === transferee) {
      r.logger.info(
        `${hexId(r.id)} [term ${r.term}] transfer leadership to ${hexId(transferee)} is in progress, ignores request to same node ${hexId(transferee)}`,
      );
      return;
    }
    r.abortLeaderTransfer();
    r.logger.info(`${hexId(r.id)} [term ${r.term}] abort previous transferring leadership to ${hexId(last)}`);
  }
  if (transferee === r.id) {
    r.logger.debug(`${hexId(r.id)} is already leader. Ignored transferring leadership to self`);
    return;
  }
  r.logger.info(`${hexId(r.id)} [term ${r.term}] starts to transfer leadership to ${hexId(transferee)}`);
  // The transfer must finish within an election timeout.
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.raftLog.lastIndex()) {
    r.sendTimeoutNow(transferee);
    r.logger.info(`${hexId(r.id)} sends MsgTimeoutNow to ${hexId(transferee)} immediately as ${hexId(transferee)} already has up-to-date log`);
  } else {
    r.sendAppend(transferee);
  }
}
