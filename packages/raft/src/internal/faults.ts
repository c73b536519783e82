/**
 * Test-only fault switches: per-node testing knobs. Each switch breaks one safety rule of raft
 * so that tests can prove the simulator's invariant checkers catch the violation ("a checker
 * that cannot fail is not a checker"). Not part of the public API: no `exports` entry reaches
 * this file and `Config` does not name them; tests import it by path.
 *
 * The switches are attached to one options object (a `Config`, or the simulator's
 * `SimOptions.raft`), as node's testing-knobs.ts does, so nothing is process-wide:
 * `validateConfig` puts the switches of the `Config` it is given into the `ResolvedConfig`, and
 * each `Raft` reads its own. Code that builds a new `Config` from another one by spreading it
 * (the simulator, the test network) carries them over with {@link carryFaults}.
 * @module
 */

/** The switches; every one is false in normal operation. */
export interface FaultSwitches {
  /** Grant votes without checking that the candidate's log is up to date (§5.4.1). */
  readonly grantVotesWithoutLogCheck: boolean;
  /** Commit any index replicated on a quorum, even of a previous term (breaks Figure 8). */
  readonly commitPreviousTermByCount: boolean;
  /** Let a heartbeat lower a follower's commit index. */
  readonly heartbeatLowersCommit: boolean;
  /** Forget the persisted vote on restart. */
  readonly forgetVote: boolean;
  /** Answer ReadIndex before the leader has committed an entry of its term (§6.4). */
  readonly readIndexBeforeTermCommit: boolean;
  /** Let a learner campaign (promotable() ignores the learner flag). */
  readonly learnerPromotable: boolean;
  /**
   * With `soleVoterCommitOnAppend`, take its shortcut (commit on append, before the write)
   * whatever the voters: unsafe with two or more, where a follower may then apply an entry only
   * the leader holds durably.
   */
  readonly commitOnAppendWithPeers: boolean;
}

/** Every switch off: what every node has unless a test attaches switches to its options. */
export const NO_FAULTS: FaultSwitches = Object.freeze({
  grantVotesWithoutLogCheck: false,
  commitPreviousTermByCount: false,
  heartbeatLowersCommit: false,
  forgetVote: false,
  readIndexBeforeTermCommit: false,
  learnerPromotable: false,
  commitOnAppendWithPeers: false,
});

const attached = new WeakMap<object, FaultSwitches>();

/** Turns on the switches `on` for the nodes made with `options` (replacing any attached before). */
export function setFaults(options: object, on: Partial<FaultSwitches>): void {
  attached.set(options, Object.freeze({ ...NO_FAULTS, ...on }));
}

/** The switches attached to `options` ({@link NO_FAULTS} when none are). */
export function faultsOf(options: object): FaultSwitches {
  return attached.get(options) ?? NO_FAULTS;
}

/** Attaches the switches of `from` (if any) to `to`, a config built by spreading `from`. */
export function carryFaults(from: object, to: object): void {
  const f = attached.get(from);
  if (f !== undefined) attached.set(to, f);
}
