/**
 * The `strictReconfig` rule of RaftNode (etcd's `--strict-reconfig-check`): a configuration
 * change that changes the voters is refused when the voters of the resulting configuration that
 * the leader has heard from recently (itself included) would be fewer than that configuration's
 * quorum. Adding voters that never started is how a cluster loses its quorum for good (three
 * added members that never come up leave 3 live voters of 6); removing a live voter while others
 * are down, likewise.
 * @module
 */
import { ConfChangeType } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, ConfState, NodeId } from "@tsraft/raftpb";
import { UnsafeConfChangeError } from "./errors.js";

/** The single changes of a V1 or V2 conf change. */
function changesOf(cc: ConfChange | ConfChangeV2): { type: ConfChangeType; nodeId: NodeId }[] {
  return "changes" in cc ? cc.changes : [{ type: cc.type, nodeId: cc.nodeId }];
}

/**
 * The voters after `cc` is applied to `cs` (the incoming voters of a joint configuration are
 * the ones that stay).
 */
export function votersAfter(cc: ConfChange | ConfChangeV2, cs: ConfState): Set<NodeId> {
  const voters = new Set(cs.voters);
  for (const c of changesOf(cc)) {
    if (c.type === ConfChangeType.ConfChangeAddNode) voters.add(c.nodeId);
    else if (c.type === ConfChangeType.ConfChangeRemoveNode || c.type === ConfChangeType.ConfChangeAddLearnerNode) voters.delete(c.nodeId);
  }
  return voters;
}

/**
 * Checks `cc` against the rule of the module comment.
 * @param cs the configuration in effect
 * @param self the leader's own id (always counted as heard from)
 * @param heardRecently whether the leader heard from a peer within the check window
 * @returns the refusal, or undefined when the change is safe (or leaves the voters unchanged)
 */
export function checkReconfig(
  cc: ConfChange | ConfChangeV2,
  cs: ConfState,
  self: NodeId,
  heardRecently: (id: NodeId) => boolean,
): UnsafeConfChangeError | undefined {
  const after = votersAfter(cc, cs);
  const before = new Set(cs.voters);
  if (after.size === before.size && [...after].every((v) => before.has(v))) return undefined;
  const quorum = Math.floor(after.size / 2) + 1;
  let connected = 0;
  for (const v of after) if (v === self || heardRecently(v)) connected++;
  if (after.size === 0) return new UnsafeConfChangeError("raft node: strict reconfig: the change would leave no voters", 0, quorum);
  if (connected >= quorum) return undefined;
  return new UnsafeConfChangeError(
    `raft node: strict reconfig: after the change ${connected} of ${after.size} voters are connected, fewer than the quorum of ${quorum}; ` +
      "add new members as learners, start them, and promote them once they have caught up",
    connected,
    quorum,
  );
}
