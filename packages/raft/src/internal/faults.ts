/**
 * Test-only fault switches. Each one breaks one safety rule of raft so that tests can prove
 * the simulator's invariant checkers catch the violation ("a checker that cannot fail is not a
 * checker"). They are not exported from the package (no `exports` entry reaches this file);
 * tests import it by path. All are off unless a test turns them on.
 * @module
 */

/** The switches; every one is false in normal operation. */
export interface FaultSwitches {
  /** Grant votes without checking that the candidate's log is up to date (§5.4.1). */
  grantVotesWithoutLogCheck: boolean;
  /** Commit any index replicated on a quorum, even of a previous term (breaks Figure 8). */
  commitPreviousTermByCount: boolean;
  /** Let a heartbeat lower a follower's commit index. */
  heartbeatLowersCommit: boolean;
  /** Forget the persisted vote on restart. */
  forgetVote: boolean;
  /** Answer ReadIndex before the leader has committed an entry of its term (§6.4). */
  readIndexBeforeTermCommit: boolean;
  /** Let a learner campaign (promotable() ignores the learner flag). */
  learnerPromotable: boolean;
}

/** The process-wide switches. */
export const faults: FaultSwitches = {
  grantVotesWithoutLogCheck: false,
  commitPreviousTermByCount: false,
  heartbeatLowersCommit: false,
  forgetVote: false,
  readIndexBeforeTermCommit: false,
  learnerPromotable: false,
};

/** Turns every switch off. */
export function resetFaults(): void {
  faults.grantVotesWithoutLogCheck = false;
  faults.commitPreviousTermByCount = false;
  faults.heartbeatLowersCommit = false;
  faults.forgetVote = false;
  faults.readIndexBeforeTermCommit = false;
  faults.learnerPromotable = false;
}
