/**
 * Types shared by the quorum computations. The quorum package is pure math over node ids and
 * log indexes: it imports nothing from the rest of raft (only the `NodeId` type of raftpb).
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";

/**
 * Looks up the largest log index a voter is known to have acknowledged (its `match` index), or
 * `undefined` when nothing is known about the voter.
 *
 * An interface with a method (rather than a bare function type) so that a long-lived object,
 * such as the progress map of the tracker, can be the indexer itself: the commit computation that
 * runs on every `MsgAppResp` then allocates no closure and no lookup object.
 */
export interface AckedIndexer {
  /** The acknowledged index of `id`, or `undefined` if unknown. */
  ackedIndex(id: NodeId): number | undefined;
}

/**
 * What {@link MajorityConfig.voteResult} needs of the votes: a lookup of each voter's vote
 * (`true` granted, `false` rejected, `undefined` not yet voted). A `ReadonlyMap<NodeId, boolean>`
 * is one.
 */
export interface VoteLookup {
  /** The vote of `id`, or `undefined` if it has not voted. */
  get(id: NodeId): boolean | undefined;
}

/**
 * The outcome of a vote: `'pending'` while the missing votes may still decide it either way,
 * `'lost'` once a quorum can no longer be reached, `'won'` once a quorum granted it.
 */
export type VoteResult = "pending" | "lost" | "won";

/**
 * The committed index of an empty majority configuration: "everything", so that a joint
 * configuration with an empty half behaves like its other half (etcd returns `MaxUint64`).
 */
export const INFINITE_INDEX: number = Number.MAX_SAFE_INTEGER;

/** Renders an index as etcd's `quorum.Index` does: `∞` for {@link INFINITE_INDEX}. */
export function indexString(index: number): string {
  return index === INFINITE_INDEX ? "∞" : String(index);
}

/** Orders node ids ascending (a comparator for `Array.prototype.sort`). */
export function compareNodeIds(a: NodeId, b: NodeId): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
