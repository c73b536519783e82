/**
 * Helpers over the conf change messages (etcd's raftpb `AsV2`, `EnterJoint`, `LeaveJoint`,
 * `ConfChangesFromString`, `ConfChangesToString`).
 * @module
 */
import { ConfChangeTransition, ConfChangeType, type ConfChange, type ConfChangeSingle, type ConfChangeV2 } from "@tsraft/raftpb";
import { ConfChangeError } from "../errors.js";

/** Whether `cc` is a {@link ConfChangeV2} (it has `changes`) rather than a V1 {@link ConfChange}. */
export function isConfChangeV2(cc: ConfChange | ConfChangeV2): cc is ConfChangeV2 {
  return "changes" in cc;
}

/**
 * The V2 form of a conf change: a V1 {@link ConfChange} becomes a single-change V2 with the
 * automatic transition and the same context; a V2 is returned as is.
 */
export function asV2(cc: ConfChange | ConfChangeV2): ConfChangeV2 {
  if (isConfChangeV2(cc)) return cc;
  const v2: ConfChangeV2 = {
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [{ type: cc.type, nodeId: cc.nodeId }],
  };
  if (cc.context !== undefined) v2.context = cc.context;
  return v2;
}

/**
 * Whether applying `cc` enters a joint configuration (`ok`), and if so whether the joint
 * configuration is to be left automatically (`autoLeave`). Joint consensus is used when there
 * is more than one change or a joint transition was asked for explicitly; it is left
 * automatically unless the transition is `ConfChangeTransitionJointExplicit`.
 * @throws {@link ConfChangeError} for an unknown transition value (etcd panics).
 */
export function enterJoint(cc: ConfChangeV2): { autoLeave: boolean; ok: boolean } {
  // In theory more changes could use the simple protocol, depending on the configuration they
  // apply to (two learner additions are fine unless they demote two voters); joint consensus is
  // used liberally instead, as etcd does.
  if (cc.transition === ConfChangeTransition.ConfChangeTransitionAuto && cc.changes.length <= 1) {
    return { autoLeave: false, ok: false };
  }
  switch (cc.transition) {
    case ConfChangeTransition.ConfChangeTransitionAuto:
    case ConfChangeTransition.ConfChangeTransitionJointImplicit:
      return { autoLeave: true, ok: true };
    case ConfChangeTransition.ConfChangeTransitionJointExplicit:
      return { autoLeave: false, ok: true };
    default:
      throw new ConfChangeError(`unknown transition: ${String(cc.transition)}`);
  }
}

/**
 * Whether `cc` leaves a joint configuration: it has no changes and the automatic transition
 * (its context is ignored).
 */
export function leaveJoint(cc: ConfChangeV2): boolean {
  return cc.transition === ConfChangeTransition.ConfChangeTransitionAuto && cc.changes.length === 0;
}

const TYPE_LETTER: Record<number, string> = {
  [ConfChangeType.ConfChangeAddNode]: "v",
  [ConfChangeType.ConfChangeAddLearnerNode]: "l",
  [ConfChangeType.ConfChangeRemoveNode]: "r",
  [ConfChangeType.ConfChangeUpdateNode]: "u",
};

const LETTER_TYPE: Record<string, ConfChangeType> = {
  v: ConfChangeType.ConfChangeAddNode,
  l: ConfChangeType.ConfChangeAddLearnerNode,
  r: ConfChangeType.ConfChangeRemoveNode,
  u: ConfChangeType.ConfChangeUpdateNode,
};

/**
 * Parses a space-separated list of changes: `vN` makes N a voter, `lN` a learner, `rN` removes
 * N, `uN` updates N (e.g. `v1 l2 r3 u4`). An empty string is an empty list.
 * @throws {@link ConfChangeError} for a token that is not one of these ("unknown token x",
 * "unknown input: x", or a bad number).
 */
export function confChangesFromString(s: string): ConfChangeSingle[] {
  const out: ConfChangeSingle[] = [];
  const trimmed = s.trim();
  if (trimmed === "") return out;
  for (const tok of trimmed.split(" ")) {
    if (tok.length < 2) throw new ConfChangeError(`unknown token ${tok}`);
    const type = LETTER_TYPE[tok[0]!];
    if (type === undefined) throw new ConfChangeError(`unknown input: ${tok}`);
    const num = tok.slice(1);
    if (!/^[0-9]+$/.test(num) || BigInt(num) >= 1n << 64n) {
      throw new ConfChangeError(`invalid node id in ${JSON.stringify(tok)}`);
    }
    out.push({ type, nodeId: BigInt(num) });
  }
  return out;
}

/** The inverse of {@link confChangesFromString}: `v1 l2 r3 u4` (`unknownN` for an unknown type). */
export function confChangesToString(ccs: readonly ConfChangeSingle[]): string {
  return ccs.map((cc) => `${TYPE_LETTER[cc.type] ?? "unknown"}${cc.nodeId}`).join(" ");
}

/**
 * Describes changes as etcd's `confchange.Describe` does, e.g.
 * `ConfChangeAddNode(1) ConfChangeRemoveNode(2)`.
 */
export function describeConfChanges(ccs: readonly ConfChangeSingle[]): string {
  return ccs.map((cc) => `${ConfChangeType[cc.type] ?? String(cc.type)}(${cc.nodeId})`).join(" ");
}
