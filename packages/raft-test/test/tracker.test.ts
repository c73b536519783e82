// ProgressTracker: configuration queries, committed index, deterministic visiting, check-quorum
// and vote tallying.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import type { ConfState, NodeId } from "@tsraft/raftpb";
import { INFINITE_INDEX } from "../../raft/src/quorum/types.js";
import { Inflights } from "../../raft/src/tracker/inflights.js";
import { Progress, ProgressMap } from "../../raft/src/tracker/progress.js";
import { ProgressTracker, describeConfig } from "../../raft/src/tracker/tracker.js";
import { Changer } from "../../raft/src/confchange/confchange.js";
import { restore } from "../../raft/src/confchange/restore.js";

function cs(p: Partial<ConfState>): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...p };
}

function trackerOf(state: ConfState, lastIndex = 1): ProgressTracker {
  const tr = new ProgressTracker(8);
  const r = restore(new Changer(tr, lastIndex), state);
  tr.config = r.config;
  tr.progress = r.progress;
  return tr;
}

describe("ProgressTracker", () => {
  test("empty tracker", () => {
    const tr = new ProgressTracker(4, 100);
    assert.equal(tr.maxInflight, 4);
    assert.equal(tr.maxInflightBytes, 100);
    assert.deepEqual(tr.confState(), cs({}));
    assert.ok(!tr.isSingleton());
    assert.equal(tr.committed(), INFINITE_INDEX);
    assert.deepEqual(tr.voterNodes(), []);
    assert.deepEqual(tr.learnerNodes(), []);
    assert.equal(tr.tallyVotes().result, "won");
  });

  test("confState round-trips through restore, sorted", () => {
    const want = cs({ voters: [1n, 2n, 3n], learners: [5n], votersOutgoing: [1n, 2n, 4n, 6n], learnersNext: [4n], autoLeave: true });
    const tr = trackerOf(cs({ voters: [3n, 1n, 2n], learners: [5n], votersOutgoing: [6n, 4n, 2n, 1n], learnersNext: [4n], autoLeave: true }));
    assert.deepEqual(tr.confState(), want);
    assert.equal(describeConfig(tr.config), "voters=(1 2 3)&&(1 2 4 6) learners=(5) learners_next=(4) autoleave");
    assert.deepEqual(tr.voterNodes(), [1n, 2n, 3n, 4n, 6n]);
    assert.deepEqual(tr.learnerNodes(), [5n]);
    assert.ok(!tr.isSingleton());
  });

  test("isSingleton", () => {
    assert.ok(trackerOf(cs({ voters: [7n] })).isSingleton());
    assert.ok(trackerOf(cs({ voters: [7n], learners: [8n] })).isSingleton());
    assert.ok(!trackerOf(cs({ voters: [7n, 8n] })).isSingleton());
    assert.ok(!trackerOf(cs({ voters: [7n], votersOutgoing: [8n] })).isSingleton());
  });

  test("committed: quorum of match over the joint voters; learners do not count", () => {
    const tr = trackerOf(cs({ voters: [1n, 2n, 3n], learners: [4n] }));
    const set = (id: NodeId, m: number) => assert.ok(tr.progress.get(id)!.maybeUpdate(m));
    set(4n, 100);
    assert.equal(tr.committed(), 0);
    set(1n, 10);
    set(2n, 7);
    assert.equal(tr.committed(), 7);
    set(3n, 9);
    assert.equal(tr.committed(), 9);
    const j = trackerOf(cs({ voters: [1n, 2n, 3n], votersOutgoing: [3n, 4n, 5n] }));
    for (const [id, m] of [
      [1n, 10],
      [2n, 10],
      [3n, 10],
      [4n, 3],
      [5n, 2],
    ] as [bigint, number][])
      j.progress.get(id)!.maybeUpdate(m);
    assert.equal(j.committed(), 3, "the outgoing half holds it back");
  });

  test("visit is in ascending id order and tracks additions and removals", () => {
    const tr = trackerOf(cs({ voters: [30n, 2n, 18446744073709551615n, 10n] }));
    const seen = (): NodeId[] => {
      const out: NodeId[] = [];
      tr.visit((id) => out.push(id));
      return out;
    };
    assert.deepEqual(seen(), [2n, 10n, 30n, 18446744073709551615n]);
    const order = tr.progress.sortedIds();
    seen();
    assert.equal(tr.progress.sortedIds(), order, "cached: no re-sort per visit");
    tr.progress.set(10n, new Progress({ next: 1, inflights: new Inflights(8) }));
    assert.equal(tr.progress.sortedIds(), order, "replacing a value keeps the order");
    tr.progress.set(5n, new Progress({ next: 1, inflights: new Inflights(8) }));
    assert.deepEqual(seen(), [2n, 5n, 10n, 30n, 18446744073709551615n]);
    tr.progress.delete(30n);
    assert.deepEqual(seen(), [2n, 5n, 10n, 18446744073709551615n]);
    // Assigning a plain map wraps it.
    tr.progress = new Map([
      [9n, new Progress({ next: 1, inflights: new Inflights(8) })],
      [3n, new Progress({ next: 1, inflights: new Inflights(8) })],
    ]);
    assert.ok(tr.progress instanceof ProgressMap);
    assert.deepEqual(seen(), [3n, 9n]);
  });

  test("quorumActive: recently active voters must win a vote", () => {
    const tr = trackerOf(cs({ voters: [1n, 2n, 3n], learners: [4n] }));
    assert.ok(tr.quorumActive(), "new peers count as active");
    tr.visit((_, pr) => (pr.recentActive = false));
    assert.ok(!tr.quorumActive());
    tr.progress.get(4n)!.recentActive = true;
    tr.progress.get(1n)!.recentActive = true;
    assert.ok(!tr.quorumActive(), "a learner does not count");
    tr.progress.get(3n)!.recentActive = true;
    assert.ok(tr.quorumActive());
    const j = trackerOf(cs({ voters: [1n, 2n, 3n], votersOutgoing: [4n, 5n, 6n] }));
    j.visit((id, pr) => (pr.recentActive = id <= 3n));
    assert.ok(!j.quorumActive(), "the outgoing half must be active too");
  });

  test("votes: first vote counts; tally ignores learners and strangers", () => {
    const tr = trackerOf(cs({ voters: [1n, 2n, 3n, 4n, 5n], learners: [6n] }));
    tr.recordVote(1n, true);
    tr.recordVote(1n, false);
    assert.equal(tr.votes.get(1n), true);
    tr.recordVote(6n, true);
    tr.recordVote(9n, false);
    tr.recordVote(2n, false);
    assert.deepEqual(tr.tallyVotes(), { granted: 1, rejected: 1, result: "pending" });
    tr.recordVote(3n, true);
    tr.recordVote(4n, true);
    assert.deepEqual(tr.tallyVotes(), { granted: 3, rejected: 1, result: "won" });
    tr.resetVotes();
    assert.deepEqual(tr.tallyVotes(), { granted: 0, rejected: 0, result: "pending" });
    for (const id of [1n, 2n, 3n]) tr.recordVote(id, false);
    assert.equal(tr.tallyVotes().result, "lost");
  });

  test("toString shows config and progress", () => {
    const tr = trackerOf(cs({ voters: [1n], learners: [2n] }), 5);
    assert.equal(tr.toString(), "voters=(1) learners=(2)\n1: StateProbe match=0 next=5\n2: StateProbe match=0 next=5 learner\n");
  });
});
