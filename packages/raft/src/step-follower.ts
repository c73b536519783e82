/**
 * Message handlers of followers, candidates and pre-candidates.
 * @module
 */
import { MessageType, NONE } from "@tsraft/raftpb";
import type { Message } from "@tsraft/raftpb";
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
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
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
      r.hup("transfer");
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
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case myVoteRespType: {
      const { granted, rejected, result } = r.poll(m.from, m.type, !m.reject);
      r.logger.info(`${hexId(r.id)} has received ${granted} ${MessageType[m.type]} votes and ${rejected} vote rejections`);
      if (result === "won") {
        if (r.state === "pre-candidate") {
          r.campaign("election");
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
