// MajorityConfig and JointConfig: examples, and fast-check comparisons of the fast
// computations with brute-force ones (etcd-io/raft quorum/quick_test.go does the same).
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { NodeId } from "@tsraft/raftpb";
import { MajorityConfig } from "../../raft/src/quorum/majority.js";
import { JointConfig } from "../../raft/src/quorum/joint.js";
import { INFINITE_INDEX, indexString, type AckedIndexer, type VoteResult } from "../../raft/src/quorum/types.js";

const acked = (m: Map<NodeId, number>): AckedIndexer => ({ ackedIndex: (id) => m.get(id) });

/** The largest i such that at least a majority of `ids` acknowledged >= i (0 if none). */
function bruteMajorityCommitted(ids: readonly NodeId[], m: Map<NodeId, number>): number {
  if (ids.length === 0) return INFINITE_INDEX;
  const q = Math.floor(ids.length / 2) + 1;
  const candidates = [0, ...ids.map((id) => m.get(id) ?? 0)];
  let best = 0;
  for (const i of candidates) {
    if (ids.filter((id) => (m.get(id) ?? 0) >= i).length >= q) best = Math.max(best, i);
  }
  return best;
}

/** Decides a vote by trying every way the missing voters could still vote. */
function bruteVote(ids: readonly NodeId[], votes: Map<NodeId, boolean>): VoteResult {
  if (ids.length === 0) return "won";
  const q = Math.floor(ids.length / 2) + 1;
  const missing = ids.filter((id) => !votes.has(id));
  const yes = ids.filter((id) => votes.get(id) === true).length;
  let wins = 0;
  const total = 1 << missing.length;
  for (let mask = 0; mask < total; mask++) {
    let extra = 0;
    for (let b = 0; b < missing.length; b++) if (mask & (1 << b)) extra++;
    if (yes + extra >= q) wins++;
  }
  return wins === total ? "won" : wins === 0 ? "lost" : "pending";
}

/** Decides a joint vote by trying every way the missing voters (of either half) could vote. */
function bruteJointVote(a: readonly NodeId[], b: readonly NodeId[], votes: Map<NodeId, boolean>): VoteResult {
  const union = [...new Set([...a, ...b])];
  const missing = union.filter((id) => !votes.has(id));
  const wins = (ids: readonly NodeId[], v: Map<NodeId, boolean>): boolean => ids.length === 0 || ids.filter((id) => v.get(id) === true).length > ids.length / 2;
  let won = 0;
  const total = 1 << missing.length;
  for (let mask = 0; mask < total; mask++) {
    const v = new Map(votes);
    missing.forEach((id, bit) => v.set(id, (mask & (1 << bit)) !== 0));
    if (wins(a, v) && wins(b, v)) won++;
  }
  return won === total ? "won" : won === 0 ? "lost" : "pending";
}

// size "max": fast-check's default size ("small") stops arrays at 10 elements whatever their
// maxLength, so 11 voters, or acks and votes for most of 20 ids, would never be generated.
const idsArb = (max: number) => fc.uniqueArray(fc.bigInt({ min: 1n, max: 20n }), { maxLength: max, size: "max" });
const acksArb = fc.array(fc.tuple(fc.bigInt({ min: 1n, max: 20n }), fc.integer({ min: 0, max: 50 })), { maxLength: 25, size: "max" });
const votesArb = fc.array(fc.tuple(fc.bigInt({ min: 1n, max: 20n }), fc.boolean()), { maxLength: 25, size: "max" });

describe("MajorityConfig", () => {
  test("sorted ids, toString and membership", () => {
    const c = new MajorityConfig([3n, 1n, 2n, 1n, 18446744073709551615n]);
    assert.equal(c.size, 4);
    assert.deepEqual(c.slice(), [1n, 2n, 3n, 18446744073709551615n]);
    assert.deepEqual([...c], [1n, 2n, 3n, 18446744073709551615n]);
    assert.equal(c.toString(), "(1 2 3 18446744073709551615)");
    assert.equal(new MajorityConfig().toString(), "()");
    assert.ok(c.has(2n) && !c.has(4n));
    const s = c.slice();
    s.push(9n);
    assert.equal(c.size, 4, "slice() is a copy");
  });

  test("empty config commits everything and wins every vote", () => {
    const c = new MajorityConfig();
    assert.equal(c.committedIndex(acked(new Map())), INFINITE_INDEX);
    assert.equal(indexString(INFINITE_INDEX), "∞");
    assert.equal(c.voteResult(new Map()), "won");
  });

  const cases: { name: string; ids: bigint[]; acks: [bigint, number][]; want: number }[] = [
    { name: "single voter, unknown", ids: [1n], acks: [], want: 0 },
    { name: "single voter", ids: [1n], acks: [[1n, 12]], want: 12 },
    {
      name: "two voters need both",
      ids: [1n, 2n],
      acks: [
        [1n, 12],
        [2n, 5],
      ],
      want: 5,
    },
    {
      name: "three voters median",
      ids: [1n, 2n, 3n],
      acks: [
        [1n, 12],
        [2n, 5],
        [3n, 6],
      ],
      want: 6,
    },
    {
      name: "non-voter acks ignored",
      ids: [1n, 2n, 3n],
      acks: [
        [1n, 9],
        [4n, 9],
        [5n, 9],
      ],
      want: 0,
    },
    {
      name: "five voters",
      ids: [1n, 2n, 3n, 4n, 5n],
      acks: [
        [1n, 101],
        [2n, 104],
        [3n, 103],
        [4n, 103],
      ],
      want: 103,
    },
  ];
  for (const c of cases) {
    test(`committedIndex: ${c.name}`, () => {
      assert.equal(new MajorityConfig(c.ids).committedIndex(acked(new Map(c.acks))), c.want);
    });
  }

  test("committedIndex with many voters uses the typed sort and still agrees", () => {
    const ids = Array.from({ length: 41 }, (_, i) => BigInt(i + 1));
    const m = new Map(ids.map((id) => [id, Number((id * 7919n) % 101n)] as [bigint, number]));
    const c = new MajorityConfig(ids);
    assert.equal(c.committedIndex(acked(m)), bruteMajorityCommitted(ids, m));
    // Repeated calls reuse the scratch space without leaking state between calls.
    m.set(1n, 1000);
    assert.equal(c.committedIndex(acked(m)), bruteMajorityCommitted(ids, m));
  });

  test("property: committedIndex equals the brute-force computation", () => {
    fc.assert(
      fc.property(idsArb(11), acksArb, (ids, acks) => {
        const m = new Map(acks);
        assert.equal(new MajorityConfig(ids).committedIndex(acked(m)), bruteMajorityCommitted(ids, m));
      }),
      { numRuns: 1000 },
    );
  });

  test("property: committedIndex agrees with brute force for large configs (typed sort)", () => {
    const bigIds = fc.uniqueArray(fc.bigInt({ min: 1n, max: 60n }), { minLength: 17, maxLength: 40 });
    // Up to 60 acks (size "max"). With the default size's 10 no majority of 17+ voters had
    // acknowledged anything: the committed index was 0 in all 200 runs (43 of 200 now).
    const bigAcks = fc.array(fc.tuple(fc.bigInt({ min: 1n, max: 60n }), fc.integer({ min: 0, max: 1e6 })), { maxLength: 60, size: "max" });
    fc.assert(
      fc.property(bigIds, bigAcks, (ids, acks) => {
        const m = new Map(acks);
        assert.equal(new MajorityConfig(ids).committedIndex(acked(m)), bruteMajorityCommitted(ids, m));
      }),
      { numRuns: 200 },
    );
  });

  test("property: voteResult equals the brute-force computation", () => {
    fc.assert(
      fc.property(idsArb(9), votesArb, (ids, votes) => {
        const m = new Map(votes);
        assert.equal(new MajorityConfig(ids).voteResult(m), bruteVote(ids, m));
      }),
      { numRuns: 1000 },
    );
  });
});

describe("JointConfig", () => {
  test("toString, isJoint, ids", () => {
    const j = new JointConfig(new MajorityConfig([1n, 2n, 3n]), new MajorityConfig([1n, 2n, 4n]));
    assert.equal(j.toString(), "(1 2 3)&&(1 2 4)");
    assert.ok(j.isJoint());
    assert.deepEqual([...j.ids()].sort(), [1n, 2n, 3n, 4n]);
    assert.deepEqual(j.sortedIds(), [1n, 2n, 3n, 4n]);
    const n = new JointConfig(new MajorityConfig([1n, 2n, 3n]));
    assert.equal(n.toString(), "(1 2 3)");
    assert.ok(!n.isJoint());
    assert.equal(new JointConfig().toString(), "()");
    assert.equal(new JointConfig().committedIndex(acked(new Map())), INFINITE_INDEX);
    assert.equal(new JointConfig().voteResult(new Map()), "won");
  });

  test("property: committedIndex is the min of both halves' brute-force results", () => {
    fc.assert(
      fc.property(idsArb(7), idsArb(7), acksArb, (a, b, acks) => {
        const m = new Map(acks);
        const j = new JointConfig(new MajorityConfig(a), new MajorityConfig(b));
        const want = Math.min(bruteMajorityCommitted(a, m), bruteMajorityCommitted(b, m));
        assert.equal(j.committedIndex(acked(m)), want);
        // Symmetric, and joining with an empty or identical config changes nothing.
        assert.equal(new JointConfig(new MajorityConfig(b), new MajorityConfig(a)).committedIndex(acked(m)), want);
        const ma = new MajorityConfig(a);
        assert.equal(new JointConfig(ma, ma).committedIndex(acked(m)), ma.committedIndex(acked(m)));
        assert.equal(new JointConfig(ma).committedIndex(acked(m)), ma.committedIndex(acked(m)));
      }),
      { numRuns: 500 },
    );
  });

  test("property: voteResult equals the brute-force outcome over all completions", () => {
    fc.assert(
      fc.property(idsArb(6), idsArb(6), votesArb, (a, b, votes) => {
        const m = new Map(votes);
        const want = bruteJointVote(a, b, m);
        const j = new JointConfig(new MajorityConfig(a), new MajorityConfig(b));
        assert.equal(j.voteResult(m), want);
        assert.equal(new JointConfig(new MajorityConfig(b), new MajorityConfig(a)).voteResult(m), want);
      }),
      { numRuns: 500 },
    );
  });
});
