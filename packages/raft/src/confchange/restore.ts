/**
 * Rebuilding a configuration from a {@link ConfState} (a snapshot's, or storage's on restart).
 * @module
 */
import { ConfChangeType, type ConfChangeSingle, type ConfState } from "@tsraft/raftpb";
import { ProgressMap } from "../tracker/progress.js";
import { Changer, type ChangeResult } from "./confchange.js";

/**
 * Translates a ConfState into two lists of changes: `outgoing` builds (as a simple config) what
 * becomes the outgoing half, and `incoming`, applied while entering the joint state, turns it
 * into the ConfState. For `voters=(1 2 3) learners=(5) outgoing=(1 2 4 6) learners_next=(4)`:
 * outgoing = `v1 v2 v4 v6`; incoming = `r1 r2 r4 r6 v1 v2 v3 l5 l4`.
 * (Whether 5 was a learner before the joint state cannot be told, and does not matter.)
 */
function toConfChangeSingle(cs: ConfState): { outgoing: ConfChangeSingle[]; incoming: ConfChangeSingle[] } {
  const add = ConfChangeType.ConfChangeAddNode;
  const learner = ConfChangeType.ConfChangeAddLearnerNode;
  const outgoing = cs.votersOutgoing.map((nodeId) => ({ type: add, nodeId }));
  const incoming: ConfChangeSingle[] = [
    ...cs.votersOutgoing.map((nodeId) => ({ type: ConfChangeType.ConfChangeRemoveNode, nodeId })),
    ...cs.voters.map((nodeId) => ({ type: add, nodeId })),
    ...cs.learners.map((nodeId) => ({ type: learner, nodeId })),
    // Learners that are still outgoing voters; entering the joint state stages them.
    ...cs.learnersNext.map((nodeId) => ({ type: learner, nodeId })),
  ];
  return { outgoing, incoming };
}

/**
 * Rebuilds the configuration a ConfState describes (etcd's `confchange.Restore`), on top of
 * the changer's configuration, which should be empty: a non-joint ConfState is applied as a
 * sequence of single changes; a joint one first builds the outgoing voters one at a time, then
 * enters the joint state with the incoming voters and the learners. Peers get fresh progress
 * (`next = max(changer.lastIndex, 1)`). Returns a new configuration and progress map; with an
 * empty ConfState, copies of the changer's.
 * @throws {@link ConfChangeError} if the ConfState is not a valid configuration (for example
 * learners without voters: "removed all voters").
 */
export function restore(changer: Changer, cs: ConfState): ChangeResult {
  const { outgoing, incoming } = toConfChangeSingle(cs);
  // Each op runs on the result of the previous one.
  const ops: ((c: Changer) => ChangeResult)[] = [];
  if (outgoing.length === 0) {
    for (const cc of incoming) ops.push((c) => c.simple([cc]));
  } else {
    // E.g. for (1 2 3)&&(2 3 4): first (2 3 4) alone, then entering the joint state removes
    // 2 3 4 from and adds 1 2 3 to the incoming half.
    for (const cc of outgoing) ops.push((c) => c.simple([cc]));
    ops.push((c) => c.enterJoint(cs.autoLeave, incoming));
  }
  let chg = changer;
  let result: ChangeResult | undefined;
  for (const op of ops) {
    result = op(chg);
    chg = new Changer({ ...chg.tracker, config: result.config, progress: result.progress }, chg.lastIndex);
  }
  if (result !== undefined) return result;
  // Nothing to apply: copies of the changer's configuration.
  const { config, progress } = changer.tracker;
  const prs = new ProgressMap();
  for (const [id, pr] of progress) prs.set(id, pr.clone());
  return {
    config: {
      voters: config.voters,
      autoLeave: config.autoLeave,
      learners: new Set(config.learners),
      learnersNext: new Set(config.learnersNext),
    },
    progress: prs,
  };
}
