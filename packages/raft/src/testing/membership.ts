/**
 * The membership changes the simulated application proposes: computed from the leader's
 * configuration, so that every committed change can be applied, and restricted where etcd's
 * design (a configuration takes effect when it is applied) would make the liveness check fail
 * for reasons that are not bugs.
 * @module
 */
import { ConfChangeTransition, ConfChangeType } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, NodeId } from "@tsraft/raftpb";
import type { ConfKind } from "./schedule.js";

/** Every id of a configuration: voters of both halves, learners, and learners-to-be. */
export function members(cs: ConfState): NodeId[] {
  return [...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext];
}

function pick(ids: readonly NodeId[], x: number): NodeId | undefined {
  return ids.length === 0 ? undefined : ids[x % ids.length];
}

/**
 * The change of `kind` to propose in configuration `cs`, or undefined when none makes sense
 * now. `fresh` are the ids that may join (never members before); `a` and `b` choose among the
 * candidates; `requestId` is the ConfChange's id.
 *
 * A voter is removed or demoted only from a configuration of three voters or more: with two,
 * the change is committed under the old configuration, which needs both voters, and if the
 * leader applies it and leaves before the other voter learns that it is committed, the other
 * voter can never win an election (the hazard etcd's raft documents: "it is highly
 * recommended to use three or more nodes in every cluster"). The simulator found it; it is a
 * property of applying configurations when they are committed, not a bug.
 *
 * And voters are removed only when PreVote is on. Without it, a voter that missed the change
 * (say it was cut off) still has the old configuration: it campaigns toward removed peers,
 * raising its term each time, and ignores the lower-term MsgVotes of the remaining voters, who
 * can then almost never win its vote (found by the simulator; runs of 20,000 steps without a
 * leader). PreVote keeps its term still. Reported; lift this once raft answers stale MsgVotes
 * with its term (§5.1).
 */
export function membershipChange(
  kind: ConfKind,
  cs: ConfState,
  fresh: readonly NodeId[],
  a: number,
  b: number,
  preVote: boolean,
  requestId: bigint,
): ConfChange | ConfChangeV2 | undefined {
  const joint = cs.votersOutgoing.length > 0;
  if (joint && kind !== "leave-joint") return undefined;
  const mayRemoveVoter = cs.voters.length >= 3 && preVote;
  const v1 = (type: ConfChangeType, id: NodeId | undefined): ConfChange | undefined =>
    id === undefined ? undefined : { type, nodeId: id, id: requestId, context: undefined };
  const v2 = (transition: ConfChangeTransition, changes: ConfChangeV2["changes"]): ConfChangeV2 => ({ transition, changes, context: undefined });
  switch (kind) {
    case "add-voter":
      return v1(ConfChangeType.ConfChangeAddNode, pick(fresh, a));
    case "add-learner":
      return v1(ConfChangeType.ConfChangeAddLearnerNode, pick(fresh, a));
    case "promote":
      return v1(ConfChangeType.ConfChangeAddNode, pick(cs.learners, a));
    case "demote":
      return cs.voters.length < 3 ? undefined : v1(ConfChangeType.ConfChangeAddLearnerNode, pick(cs.voters, a));
    case "remove":
      return v1(ConfChangeType.ConfChangeRemoveNode, pick(mayRemoveVoter ? [...cs.voters, ...cs.learners] : cs.learners, a));
    case "replace-auto":
    case "replace-explicit": {
      const add = pick(fresh, a);
      const remove = pick(cs.voters, b);
      if (add === undefined || remove === undefined || !mayRemoveVoter) return undefined;
      const t = kind === "replace-auto" ? ConfChangeTransition.ConfChangeTransitionAuto : ConfChangeTransition.ConfChangeTransitionJointExplicit;
      return v2(t, [
        { type: ConfChangeType.ConfChangeAddNode, nodeId: add },
        { type: ConfChangeType.ConfChangeRemoveNode, nodeId: remove },
      ]);
    }
    case "add-learner-v2": {
      const add = pick(fresh, a);
      return add === undefined
        ? undefined
        : v2(ConfChangeTransition.ConfChangeTransitionAuto, [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: add }]);
    }
    case "leave-joint":
      return !joint || cs.autoLeave ? undefined : v2(ConfChangeTransition.ConfChangeTransitionAuto, []);
  }
}
