/**
 * Membership: applying configuration changes, switching the tracker to a new configuration
 * (and what a leader does then), a removed leader's hand-over, and the conf change encodings.
 * @module
 */
import { ConfChangeTransition, EntryType, MessageType, NONE, decodeConfChange, decodeConfChangeV2, encodeConfChange, encodeConfChangeV2 } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, Entry, Message, NodeId } from "@tsraft/raftpb";
import { asV2, enterJoint, leaveJoint } from "./confchange/index.js";
import type { ChangeResult } from "./confchange/index.js";
import { panic } from "./errors.js";
import { newMessage } from "./messages.js";
import type { Raft } from "./raft.js";
import { describeConfig } from "./tracker/index.js";
import { hexId } from "./util.js";

/**
 * Applies a conf change the application has applied from the log.
 * @throws {@link ConfChangeError} if the change is invalid; nothing changes then.
 */
export function applyConfChange(r: Raft, cc: ConfChangeV2): ConfState {
  const changer = r.changer();
  let res: ChangeResult;
  if (leaveJoint(cc)) {
    res = changer.leaveJoint();
  } else {
    const j = enterJoint(cc);
    res = j.ok ? changer.enterJoint(j.autoLeave, cc.changes) : changer.simple(cc.changes);
  }
  return switchToConfig(r, res);
}

/** Installs a new configuration and progress map, and reacts as leader. */
export function switchToConfig(r: Raft, res: ChangeResult): ConfState {
  r.trk.config = res.config;
  r.trk.progress = res.progress;
  r.logger.info(`${hexId(r.id)} switched to configuration ${describeConfig(r.trk.config)}`);
  const cs = r.trk.confState();
  const pr = r.trk.progress.get(r.id);
  // Whether this node is a learner; false once it is removed.
  r.isLearner = pr !== undefined && pr.isLearner;

  if ((pr === undefined || r.isLearner) && r.state === "leader") {
    // This leader was removed or demoted: step down if asked to. Without stepping down it
    // keeps replicating but counts for nothing, and drops new proposals.
    if (r.stepDownOnRemoval && !(r.handOverOnRemoval && handOverLeadership(r))) r.becomeFollower(r.term, NONE);
    return cs;
  }
  // The rest only matters for a leader with peers.
  if (r.state !== "leader" || cs.voters.length === 0) return cs;

  if (r.maybeCommit()) {
    // The new configuration commits more: tell everyone.
    r.bcastAppend();
  } else {
    // Probe newly added peers now rather than at the next heartbeat or proposal.
    const ids = r.trk.progress.sortedIds();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id !== r.id) r.maybeSendAppend(id, false);
    }
  }
  // A transfer to a peer that is no longer a voter is abandoned.
  if (r.leadTransferee !== NONE && !r.trk.config.voters.has(r.leadTransferee)) r.abortLeaderTransfer();
  return cs;
}

/**
 * A removed (or demoted) leader hands leadership to the voter of the new configuration with
 * the highest match index before it steps down: that voter can win an election (it will have
 * every entry, uncommitted ones included), where after an abrupt step-down the remaining
 * voters may be unable to win the old leader's vote. Also called by a leader elected outside
 * its own voters (`campaignToHandOver` in election.ts), as soon as it becomes leader. Returns false
 * when there is no voter to hand over to.
 */
export function handOverLeadership(r: Raft): boolean {
  let target = NONE;
  let best = -1;
  for (const id of r.trk.config.voters.sortedIds()) {
    const pr = r.trk.progress.get(id);
    if (id === r.id || pr === undefined || pr.isLearner) continue;
    if (pr.match > best) {
      best = pr.match;
      target = id;
    }
  }
  if (target === NONE) return false;
  r.logger.info(`${hexId(r.id)} [term ${r.term}] is removed from the configuration; transferring leadership to ${hexId(target)} before stepping down`);
  r.electionElapsed = 0;
  r.leadTransferee = target;
  if (best === r.raftLog.lastIndex()) {
    r.sendTimeoutNow(target);
    r.becomeFollower(r.term, NONE);
    return true;
  }
  r.stepDownAfterTransfer = true;
  r.sendAppend(target);
  return true;
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

export function describeConfStateShort(cs: ConfState): string {
  return `{voters:[${cs.voters.join(" ")}] learners:[${cs.learners.join(" ")}] voters_outgoing:[${cs.votersOutgoing.join(" ")}] learners_next:[${cs.learnersNext.join(" ")}] auto_leave:${cs.autoLeave}}`;
}

function sameIds(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const sb = [...b].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return false;
  return true;
}

/** Whether two ConfStates hold the same ids in each list (in any order) and the same autoLeave. */
export function confStatesEquivalent(a: ConfState, b: ConfState): boolean {
  return (
    sameIds(a.voters, b.voters) &&
    sameIds(a.learners, b.learners) &&
    sameIds(a.votersOutgoing, b.votersOutgoing) &&
    sameIds(a.learnersNext, b.learnersNext) &&
    a.autoLeave === b.autoLeave
  );
}

/** Panics unless two ConfStates describe the same configuration. */
export function assertConfStatesEquivalent(a: ConfState, b: ConfState): void {
  if (confStatesEquivalent(a, b)) return;
  panic(`ConfStates not equivalent after sorting:\n${describeConfStateShort(a)}\n${describeConfStateShort(b)}`);
}
