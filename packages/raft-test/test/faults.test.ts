// A checker that cannot fail is not a checker. Each test turns on one of raft's test-only
// fault switches (src/internal/faults.ts, attached to the simulator's raft options, so only the
// simulated nodes have it), each breaking one rule, and asserts that the
// simulator finds a violation within its budget of random schedules. fast-check's seed is
// fixed so that the budget is a guarantee for this version of the code; the measured rates
// are in TESTING.md.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RawNode } from "@tsraft/raft";
import {
  COVERAGE_OP_WEIGHTS,
  InvariantViolation,
  runSchedule,
  scheduleArbitrary,
  type InvariantName,
  type ScheduleParams,
  type SimOptions,
} from "@tsraft/raft/testing";
import { setFaults, type FaultSwitches } from "../../raft/src/internal/faults.js";

const options: SimOptions = { makeStorage: () => new MemoryStorage(), replayCommand: (code) => `pnpm soak --replay ${code}` };

/**
 * Leader churn on 3 voters: leaders crash or are cut off, nodes campaign, the network slows
 * down, one entry per MsgApp. Committing an entry of an older term by counting its replicas
 * (Figure 8 of the Raft paper) only goes wrong after a precise sequence of three elections, so
 * that switch gets schedules made of the faults that produce it.
 */
const leaderChurn: ScheduleParams = {
  voters: [3],
  maxSpare: 0,
  maxSizePerMsg: [0],
  electionTicks: [5],
  minSteps: 150,
  weights: {
    "crash-leader": 6,
    "isolate-leader": 6,
    campaign: 6,
    net: 6,
    heal: 4,
    propose: 2,
    crash: 2,
    restart: 2,
    partition: 0,
    isolate: 0,
    oneway: 0,
    rate: 0,
    disk: 0,
    snapshot: 0,
    conf: 0,
    transfer: 0,
  },
};

/** Leader churn with reads at every node (stale reads show right after an election). */
const readChurn: ScheduleParams = {
  ...leaderChurn,
  weights: { ...leaderChurn.weights, ...COVERAGE_OP_WEIGHTS, read: 12, "campaign-learner": 0 },
};

/** Membership changes that make learners, and learners asked to campaign. */
const learners: ScheduleParams = { maxSpare: 2, weights: { ...COVERAGE_OP_WEIGHTS, conf: 10, "campaign-learner": 8 } };

interface Case {
  fault: keyof FaultSwitches;
  params: ScheduleParams;
  budget: number;
  seed: number;
  /** The invariants this bug may break first. */
  expect: InvariantName[];
  ignore?: InvariantName[];
}

const cases: Case[] = [
  { fault: "grantVotesWithoutLogCheck", params: {}, budget: 300, seed: 1, expect: ["leader-completeness", "committed-entry-stable", "state-machine-safety"] },
  {
    fault: "commitPreviousTermByCount",
    params: leaderChurn,
    budget: 3000,
    seed: 1,
    expect: ["leader-completeness", "committed-entry-stable", "state-machine-safety"],
  },
  { fault: "heartbeatLowersCommit", params: {}, budget: 300, seed: 1, expect: ["monotonic"] },
  { fault: "forgetVote", params: {}, budget: 300, seed: 1, expect: ["one-vote-per-term", "election-safety"] },
  // The checks added with the read, campaign-learner and crash-after-persist operations.
  { fault: "readIndexBeforeTermCommit", params: readChurn, budget: 1000, seed: 1, expect: ["read-linearizable"] },
  { fault: "learnerPromotable", params: learners, budget: 1000, seed: 1, expect: ["learner-never-campaigns"] },
];

describe("the simulator finds each raft fault switch's bug", () => {
  for (const c of cases) {
    const what = c.ignore === undefined ? "" : ` (ignoring ${c.ignore.join(", ")})`;
    test(`${c.fault}${what}: a violation of ${c.expect.join(" or ")} within ${c.budget} schedules`, () => {
      let runs = 0;
      const raft = {};
      setFaults(raft, { [c.fault]: true });
      const details = fc.check(
        fc.property(scheduleArbitrary(fc, c.params), (s) => {
          runs++;
          runSchedule(s, { ...options, raft, ...(c.ignore === undefined ? {} : { ignoreInvariants: c.ignore }) });
        }),
        { numRuns: c.budget, seed: c.seed, endOnFailure: true },
      );
      assert.ok(details.failed, `no violation in ${runs} schedules`);
      const err = details.errorInstance;
      assert.ok(err instanceof InvariantViolation, String(err));
      assert.ok(c.expect.includes(err.invariant as InvariantName), err.message);
      assert.match(err.message, /\nreplay: pnpm soak --replay 1_\d+_/);
      console.log(`${c.fault}: "${err.invariant}" after ${runs} schedules: ${err.detail}`);
    });
  }
});

describe("fault switches are per node", () => {
  test("a switch reaches only the nodes made from the options it is attached to", () => {
    const broken = { id: 1n, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage() };
    setFaults(broken, { forgetVote: true });
    const healthy = { id: 1n, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage() };
    assert.equal(new RawNode(broken).raft.faults.forgetVote, true);
    assert.equal(new RawNode(healthy).raft.faults.forgetVote, false);
    assert.equal(new RawNode({ ...broken }).raft.faults.forgetVote, false, "a copy does not carry them unless asked");
  });
});
