/**
 * Elections: starting one (§5.2), pre-votes (§9.6), granting votes (§5.4.1), and the term
 * rules every message goes through first (§5.1).
 * @module
 */
import { EntryType, MessageType, NONE } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { MAX_INDEX, MAX_TERM } from "./bounds.js";
import { isRaftError } from "./errors.js";
import { newMessage } from "./messages.js";
import type { CampaignType, Raft } from "./raft.js";
import { hexId, voteRespMsgType } from "./util.js";

/** The context of a MsgVote sent on a leader transfer: voters grant it despite a lease. */
export const CAMPAIGN_TRANSFER_CTX: Uint8Array = Uint8Array.from("CampaignTransfer", (c) => c.charCodeAt(0));

function isTransferCtx(ctx: Uint8Array | undefined): boolean {
  if (ctx === undefined || ctx.length !== CAMPAIGN_TRANSFER_CTX.length) return false;
  for (let i = 0; i < ctx.length; i++) if (ctx[i] !== CAMPAIGN_TRANSFER_CTX[i]) return false;
  return true;
}

/** Starts an election of kind `t` if this node may. */
export function hup(r: Raft, t: CampaignType): void {
  if (r.state === "leader") {
    r.logger.debug(`${hexId(r.id)} ignoring MsgHup because already leader`);
    return;
  }
  if (!r.promotable()) {
    r.logger.warn(`${hexId(r.id)} is unpromotable and can not campaign`);
    return;
  }
  if (!mayStartElection(r)) return;
  r.logger.info(`${hexId(r.id)} is starting a new election at term ${r.term}`);
  campaign(r, t);
}

/** Whether nothing but the role keeps this node from campaigning now (logged when not). */
function mayStartElection(r: Raft): boolean {
  if (hasUnappliedConfChanges(r)) {
    r.logger.warn(`${hexId(r.id)} cannot campaign at term ${r.term} since there are still pending configuration changes to apply`);
    return false;
  }
  if (r.term >= MAX_TERM || r.raftLog.lastIndex() >= MAX_INDEX) {
    // Invariant: term <= MAX_TERM and lastIndex <= MAX_INDEX (see bounds.ts). A campaign
    // raises the term, and a new leader appends an entry: neither would fit. Only a peer's
    // messages (through the gate, up to the bounds) can bring a node here.
    r.logger.error(
      `${hexId(r.id)} cannot campaign at term ${r.term} with last index ${r.raftLog.lastIndex()}: the largest term is ${MAX_TERM} and the largest index ${MAX_INDEX}`,
    );
    return false;
  }
  return true;
}

/**
 * A node outside the voters of its own configuration (removed, or demoted to learner) never
 * campaigns. A candidate that asks for its vote still counts it as a voter: it has not learned
 * that the change removing this node committed. When this node's log is ahead of the
 * candidate's, the candidate cannot win its vote; and when the change left the candidate's
 * voters needing that vote (a two-voter cluster losing one, or the outgoing half of a joint
 * configuration), nobody can be elected any more. A removed leader whose hand-over did not
 * finish (it restarted, a higher term deposed it, or the hand-over timed out) ends up exactly
 * here, holding entries only it has. etcd-io/raft stays stuck there.
 *
 * With `handOverOnRemoval`, such a node, knowing no leader, campaigns itself instead: in its
 * own configuration, whose voters it does not count itself among, so it wins only with a
 * quorum of them, and only if its log is at least as up-to-date as theirs (the usual vote
 * rules, which are all election safety rests on; being a voter oneself is not one of them).
 * As leader it brings them up to date and hands leadership over ({@link Raft.becomeLeader}).
 * It campaigns once per refused request, so the candidates' own election timeouts pace it.
 */
export function campaignToHandOver(r: Raft, m: Message): void {
  if (!r.handOverOnRemoval || r.state === "leader" || r.trk.config.voters.has(r.id)) return;
  // A leader heard from within an election timeout may still be there: do not disrupt it
  // (the candidate may be one that lost this term's election).
  if (r.lead !== NONE && r.electionElapsed < r.electionTimeout) return;
  if (r.trk.config.voters.sortedIds().length === 0 || r.raftLog.hasNextOrInProgressSnapshot()) return;
  try {
    if (!mayStartElection(r)) return;
    r.logger.info(
      `${hexId(r.id)} is not a voter but ${hexId(m.from)} asks for its vote with a shorter log; starting an election at term ${r.term} to hand leadership over`,
    );
    campaign(r, r.preVote ? "pre-election" : "election");
  } catch (err) {
    // As for a follower's timed election (Raft.tickElection): a RaftError from the storage
    // changed nothing (the storage is read before the role changes); the rejection already
    // went out, and the candidate's next request tries again.
    if (!isRaftError(err)) throw err;
    r.logger.warn(`${hexId(r.id)} error occurred during election: ${String(err)}`);
  }
}

/** Whether committed but unapplied entries hold a conf change (one that may change who votes). */
export function hasUnappliedConfChanges(r: Raft): boolean {
  const log = r.raftLog;
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
export function campaign(r: Raft, t: CampaignType): void {
  if (!r.promotable() && !r.handOverOnRemoval) r.logger.warn(`${hexId(r.id)} is unpromotable; campaign() should have been called`);
  // Read from storage before changing role: if the read fails, nothing has changed.
  const lastIndex = r.raftLog.lastIndex();
  const lastTerm = r.raftLog.lastTerm();
  let term: number;
  let voteMsg: MessageType;
  if (t === "pre-election") {
    r.becomePreCandidate();
    voteMsg = MessageType.MsgPreVote;
    // Pre-votes are asked for the term we would campaign in, without moving to it.
    term = r.term + 1;
  } else {
    r.becomeCandidate();
    voteMsg = MessageType.MsgVote;
    term = r.term;
  }
  const ids = r.trk.config.voters.sortedIds();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id === r.id) {
      // Our own vote counts once it is durable: a response to ourselves, delivered after the
      // HardState holding the vote has been persisted.
      r.send(newMessage(voteRespMsgType(voteMsg), id, r.id, term));
      continue;
    }
    r.logger.info(`${hexId(r.id)} [logterm: ${lastTerm}, index: ${lastIndex}] sent ${MessageType[voteMsg]} request to ${hexId(id)} at term ${r.term}`);
    const m = newMessage(voteMsg, id, r.id, term);
    m.index = lastIndex;
    m.logTerm = lastTerm;
    if (t === "transfer") m.context = CAMPAIGN_TRANSFER_CTX;
    r.send(m);
  }
}

/** Records a vote and returns the tally. */
export function poll(r: Raft, id: NodeId, t: MessageType, granted: boolean): { granted: number; rejected: number; result: "pending" | "lost" | "won" } {
  if (granted) r.logger.info(`${hexId(r.id)} received ${MessageType[t]} from ${hexId(id)} at term ${r.term}`);
  else r.logger.info(`${hexId(r.id)} received ${MessageType[t]} rejection from ${hexId(id)} at term ${r.term}`);
  r.trk.recordVote(id, granted);
  return r.trk.tallyVotes();
}

/** A message of a higher term: usually follow it. Returns false if the message is ignored. */
export function stepHigherTerm(r: Raft, m: Message): boolean {
  if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
    const force = isTransferCtx(m.context);
    const inLease = r.checkQuorum && r.lead !== NONE && r.electionElapsed < r.electionTimeout;
    if (!force && inLease) {
      // We heard from a leader within the minimum election timeout: ignore the vote, so a
      // partitioned node rejoining cannot depose a healthy leader (§9.6 / thesis 4.2.3).
      r.logger.info(
        `${hexId(r.id)} [logterm: ${r.raftLog.lastTerm()}, index: ${r.raftLog.lastIndex()}, vote: ${hexId(r.vote)}] ignored ${MessageType[m.type]} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}: lease is not expired (remaining ticks: ${r.electionTimeout - r.electionElapsed})`,
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
    r.logger.info(`${hexId(r.id)} [term: ${r.term}] received a ${MessageType[m.type]} message with higher term from ${hexId(m.from)} [term: ${m.term}]`);
    const fromLeader = m.type === MessageType.MsgApp || m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgSnap;
    r.becomeFollower(m.term, fromLeader ? m.from : NONE);
  }
  return true;
}

/** A message of a lower term: answered where that helps the sender, else ignored. */
export function stepLowerTerm(r: Raft, m: Message): void {
  if (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp) {
    // Answer a stale leader with our term so that it steps down (§5.1: "if a server receives
    // a request with a stale term number, it rejects the request"). etcd answers only with
    // CheckQuorum or PreVote and otherwise counts on our MsgVotes reaching the leader, which
    // fails when our configuration is stale and does not include it: found by the simulator
    // (a node that never applied a membership change campaigned forever toward removed peers
    // while the new leader's heartbeats were ignored).
    r.send(newMessage(MessageType.MsgAppResp, m.from, r.id, 0));
  } else if (m.type === MessageType.MsgVote) {
    // §5.1: reject a stale vote request with our term, so the candidate catches up. Ignoring it
    // (etcd) strands a cluster whose remaining voters campaign at a lower term than a voter
    // that missed a membership change and campaigns toward removed peers (found by the
    // simulator).
    r.logger.info(
      `${hexId(r.id)} [logterm: ${r.raftLog.lastTerm()}, index: ${r.raftLog.lastIndex()}, vote: ${hexId(r.vote)}] rejected ${MessageType[m.type]} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}`,
    );
    const resp = newMessage(MessageType.MsgVoteResp, m.from, r.id, r.term);
    resp.reject = true;
    r.send(resp);
  } else if (m.type === MessageType.MsgPreVote) {
    // Answer stale pre-votes, so that a node with an old term and a long log does not get
    // stuck campaigning with pre-votes nobody answers.
    r.logger.info(
      `${hexId(r.id)} [logterm: ${r.raftLog.lastTerm()}, index: ${r.raftLog.lastIndex()}, vote: ${hexId(r.vote)}] rejected ${MessageType[m.type]} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}`,
    );
    const resp = newMessage(MessageType.MsgPreVoteResp, m.from, r.id, r.term);
    resp.reject = true;
    r.send(resp);
  } else if (m.type === MessageType.MsgStorageAppendResp) {
    if (m.index !== 0) {
      // The entries may have been overwritten in the unstable log by a later term; do not
      // count them as stable.
      r.logger.info(`${hexId(r.id)} [term: ${r.term}] ignored entry appends from a ${MessageType[m.type]} message with lower term [term: ${m.term}]`);
    }
    // A snapshot is stable whatever the term it was written under.
    if (m.snapshot !== undefined && m.snapshot.metadata.index !== 0) r.appliedSnap(m.snapshot);
  } else {
    r.logger.info(`${hexId(r.id)} [term: ${r.term}] ignored a ${MessageType[m.type]} message with lower term from ${hexId(m.from)} [term: ${m.term}]`);
  }
}

/** Grants or rejects a (pre-)vote (§5.2, §5.4.1). */
export function handleVoteRequest(r: Raft, m: Message): void {
  // We can vote if this repeats a vote we cast, if we have not voted and know no leader in
  // this term, or if this is a pre-vote for a future term...
  const canVote = r.vote === m.from || (r.vote === NONE && r.lead === NONE) || (m.type === MessageType.MsgPreVote && m.term > r.term);
  // ...and the candidate's log is at least as up-to-date as ours.
  const upToDate = r.faults.grantVotesWithoutLogCheck || r.raftLog.isUpToDate(m.index, m.logTerm);
  const lastTerm = r.raftLog.lastTerm();
  const lastIndex = r.raftLog.lastIndex();
  if (canVote && upToDate) {
    r.logger.info(
      `${hexId(r.id)} [logterm: ${lastTerm}, index: ${lastIndex}, vote: ${hexId(r.vote)}] cast ${MessageType[m.type]} for ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}`,
    );
    // The response carries the candidate's term: a pre-vote is granted for the future term.
    r.send(newMessage(voteRespMsgType(m.type), m.from, r.id, m.term));
    if (m.type === MessageType.MsgVote) {
      // Only real votes are recorded (and persisted before the response is sent).
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.logger.info(
      `${hexId(r.id)} [logterm: ${lastTerm}, index: ${lastIndex}, vote: ${hexId(r.vote)}] rejected ${MessageType[m.type]} from ${hexId(m.from)} [logterm: ${m.logTerm}, index: ${m.index}] at term ${r.term}`,
    );
    const resp = newMessage(voteRespMsgType(m.type), m.from, r.id, r.term);
    resp.reject = true;
    r.send(resp);
    if (!upToDate) campaignToHandOver(r, m);
  }
}
