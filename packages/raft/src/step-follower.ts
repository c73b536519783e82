/**
 * Message handlers of followers, candidates and pre-candidates.
 * @module
 */
import { MessageType, NONE } from "@tsraft/raftpb";
import type { Message, Snapshot } from "@tsraft/raftpb";
import { restore as restoreConfig } from "./confchange/index.js";
import { campaign, hup, poll } from "./election.js";
import { assertConfStatesEquivalent, describeConfStateShort, switchToConfig } from "./membership.js";
import { newMessage } from "./messages.js";
import { ProgressTracker } from "./tracker/index.js";
import { ProposalDroppedError } from "./errors.js";
import type { Raft } from "./raft.js";
import { hexId } from "./util.js";

/** Steps a message on a follower. @throws {@link ProposalDroppedError} */
export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgProp:
      if (r.lead === NONE) {
        r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping proposal`);
        throw new ProposalDroppedError("raft proposal dropped: no leader");
      }
      if (r.disableProposalForwarding) {
        r.logger.info(`${hexId(r.id)} not forwarding to leader ${hexId(r.lead)} at term ${r.term}; dropping proposal`);
        throw new ProposalDroppedError("raft proposal dropped: proposal forwarding is disabled");
      }
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case MessageType.MsgApp:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      handleSnapshot(r, m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === NONE) {
        r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping leader transfer msg`);
        return;
      }
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case MessageType.MsgForgetLeader:
      if (r.readOnly.option === "lease-based") {
        // Forgetting the leader would let us vote within its lease, breaking lease reads.
        r.logger.error("ignoring MsgForgetLeader due to ReadOnlyLeaseBased");
        return;
      }
      if (r.lead !== NONE) {
        r.logger.info(`${hexId(r.id)} forgetting leader ${hexId(r.lead)} at term ${r.term}`);
        r.lead = NONE;
      }
      return;
    case MessageType.MsgTimeoutNow:
      r.logger.info(`${hexId(r.id)} [term ${r.term}] received MsgTimeoutNow from ${hexId(m.from)} and starts an election to get leadership.`);
      // A transfer never uses a pre-vote: we know the cluster is healthy, and the transfer
      // context lets voters grant the vote despite their leader lease.
      hup(r, "transfer");
      return;
    case MessageType.MsgReadIndex:
      if (r.lead === NONE) {
        r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping index reading msg`);
        return;
      }
      r.send({ ...m, to: r.lead, term: 0 });
      return;
    case MessageType.MsgReadIndexResp:
      if (m.entries.length !== 1) {
        r.logger.error(`${hexId(r.id)} invalid format of MsgReadIndexResp from ${hexId(m.from)}, entries count: ${m.entries.length}`);
        return;
      }
      r.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data ?? new Uint8Array(0) });
      return;
    default:
      return;
  }
}

/** Steps a message on a candidate or pre-candidate. @throws {@link ProposalDroppedError} */
export function stepCandidate(r: Raft, m: Message): void {
  // Only answers to our own kind of election count; a pre-candidate may still receive late
  // MsgVoteResps of an earlier election, and ignores them.
  const myVoteRespType = r.state === "pre-candidate" ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgProp:
      r.logger.info(`${hexId(r.id)} no leader at term ${r.term}; dropping proposal`);
      throw new ProposalDroppedError("raft proposal dropped: no leader");
    case MessageType.MsgApp:
      // A leader of our term exists (m.term === r.term here).
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myVoteRespType: {
      const { granted, rejected, result } = poll(r, m.from, m.type, !m.reject);
      r.logger.info(`${hexId(r.id)} has received ${granted} ${MessageType[m.type]} votes and ${rejected} vote rejections`);
      if (result === "won") {
        if (r.state === "pre-candidate") {
          campaign(r, "election");
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (result === "lost") {
        // A pre-vote answer carries the future term; keep our own.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    case MessageType.MsgTimeoutNow:
      r.logger.debug(`${hexId(r.id)} [term ${r.term} state ${r.state}] ignored MsgTimeoutNow from ${hexId(m.from)}`);
      return;
    default:
      return;
  }
}

/** A follower's handling of MsgApp: append if the log matches at the previous entry. */
export function handleAppendEntries(r: Raft, m: Message): void {
  const log = r.raftLog;
  if (m.index < log.committed) {
    // Everything up to our commit index is already known to match.
    const resp = newMessage(MessageType.MsgAppResp, m.from, r.id, 0);
    resp.index = log.committed;
    r.send(resp);
    return;
  }
  const lastNew = log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew >= 0) {
    const resp = newMessage(MessageType.MsgAppResp, m.from, r.id, 0);
    resp.index = lastNew;
    r.send(resp);
    return;
  }
  r.logger.debug(
    `${hexId(r.id)} [logterm: ${log.zeroTermOnOutOfBounds(m.index)}, index: ${m.index}] rejected MsgApp [logterm: ${m.logTerm}, index: ${m.index}] from ${hexId(m.from)}`,
  );
  // Hint the largest (index, term) at which our log may match: the last entry at or below
  // m.index whose term is at most m.logTerm. This skips our whole uncommitted tail of terms
  // the leader does not have in one round trip.
  const hintIndex0 = Math.min(m.index, log.lastIndex());
  const [hintIndex, hintTerm] = log.findConflictByTerm(hintIndex0, m.logTerm);
  const resp = newMessage(MessageType.MsgAppResp, m.from, r.id, 0);
  resp.index = m.index;
  resp.reject = true;
  resp.rejectHint = hintIndex;
  resp.logTerm = hintTerm;
  r.send(resp);
}

/** A follower's handling of MsgHeartbeat: commit what the leader says, never going back. */
export function handleHeartbeat(r: Raft, m: Message): void {
  if (r.faults.heartbeatLowersCommit && m.commit < r.raftLog.committed && m.commit >= r.raftLog.applied) {
    r.raftLog.committed = m.commit;
  }
  r.raftLog.commitTo(m.commit);
  const resp = newMessage(MessageType.MsgHeartbeatResp, m.from, r.id, 0);
  resp.context = m.context;
  r.send(resp);
}

/** A follower's handling of MsgSnap. */
export function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  const sindex = s === undefined ? 0 : s.metadata.index;
  const sterm = s === undefined ? 0 : s.metadata.term;
  const resp = newMessage(MessageType.MsgAppResp, m.from, r.id, 0);
  if (s !== undefined && restore(r, s)) {
    r.logger.info(`${hexId(r.id)} [commit: ${r.raftLog.committed}] restored snapshot [index: ${sindex}, term: ${sterm}]`);
    resp.index = r.raftLog.lastIndex();
  } else {
    r.logger.info(`${hexId(r.id)} [commit: ${r.raftLog.committed}] ignored snapshot [index: ${sindex}, term: ${sterm}]`);
    resp.index = r.raftLog.committed;
  }
  r.send(resp);
}

/**
 * Restores the log and the configuration from snapshot `s`. Returns false when the snapshot
 * is not newer than the commit index, when this node is not in its configuration, or when
 * the log already has the snapshot's last entry (then only the commit index moves).
 */
export function restore(r: Raft, s: Snapshot): boolean {
  if (s.metadata.index <= r.raftLog.committed) return false;
  if (r.raftLog.applying > r.raftLog.applied) {
    // Committed entries handed out to apply are not applied yet (a Ready not yet advanced,
    // or a MsgStorageApply in progress). Their conf changes would then be applied on top of
    // the snapshot's configuration, which already holds them (found by the simulator: an
    // error, or a wrong configuration). Ignore the snapshot; the leader sends it again.
    r.logger.info(
      `${hexId(r.id)} [applied: ${r.raftLog.applied}, applying: ${r.raftLog.applying}] ignored snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}] while applying committed entries`,
    );
    return false;
  }
  if (r.state !== "follower") {
    // Defense in depth: only followers get here.
    r.logger.warn(`${hexId(r.id)} attempted to restore snapshot as leader; should never happen`);
    r.becomeFollower(r.term + 1, NONE);
    return false;
  }
  const cs = s.metadata.confState;
  // learnersNext need not be checked: a learner-to-be is an outgoing voter.
  const found = cs.voters.includes(r.id) || cs.learners.includes(r.id) || cs.votersOutgoing.includes(r.id);
  if (!found) {
    r.logger.warn(`${hexId(r.id)} attempted to restore snapshot but it is not in the ConfState ${describeConfStateShort(cs)}; should never happen`);
    return false;
  }
  const { index, term } = s.metadata;
  if (r.raftLog.matchTerm(index, term)) {
    r.logger.info(
      `${hexId(r.id)} [commit: ${r.raftLog.committed}, lastindex: ${r.raftLog.lastIndex()}, lastterm: ${r.raftLog.lastTerm()}] fast-forwarded commit to snapshot [index: ${index}, term: ${term}]`,
    );
    r.raftLog.commitTo(index);
    return false;
  }
  r.raftLog.restore(s);
  // Rebuild the configuration from the snapshot's ConfState.
  r.trk = new ProgressTracker(r.trk.maxInflight, r.trk.maxInflightBytes);
  const restored = restoreConfig(r.changer(), cs);
  assertConfStatesEquivalent(cs, switchToConfig(r, restored));
  r.logger.info(
    `${hexId(r.id)} [commit: ${r.raftLog.committed}, lastindex: ${r.raftLog.lastIndex()}, lastterm: ${r.raftLog.lastTerm()}] restored snapshot [index: ${index}, term: ${term}]`,
  );
  return true;
}
