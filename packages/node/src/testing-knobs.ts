/**
 * Per-node testing knobs of RaftNode: planted bugs that the ordering tests must catch. Not part
 * of the public API (not exported from the package index); a knob is attached to one options
 * object, so nothing is process-wide.
 * @module
 */

/** The knobs; all off by default. */
export interface RaftNodeKnobs {
  /**
   * Planted bug: deliver the responses of a write (a follower's MsgAppResp, a vote) to peers
   * before the write is durable. The ordering test must fail with it.
   */
  sendResponsesBeforePersist?: boolean;
  /**
   * Planted bug: deliver a write's granted votes (MsgVoteResp) to the candidates before the
   * HardState recording the vote is durable. The whole-stack simulator must catch it.
   */
  sendVotesBeforePersist?: boolean;
  /**
   * Planted bug: requests never time out (the deadline sweep on ticks is skipped), so a
   * proposal whose message was lost waits forever. The simulator's promises-settle check must
   * catch it.
   */
  neverTimeOut?: boolean;
}

const knobs = new WeakMap<object, RaftNodeKnobs>();

/** Attaches knobs to the options object a RaftNode will be made with. */
export function setKnobs(options: object, k: RaftNodeKnobs): void {
  knobs.set(options, k);
}

/** The knobs attached to `options` (none: an empty object). */
export function knobsOf(options: object): RaftNodeKnobs {
  return knobs.get(options) ?? {};
}
