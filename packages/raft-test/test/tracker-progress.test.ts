// Progress: table tests of the state transitions and the update rules (etcd-io/raft v3.6
// semantics), its rendering, and a property over random response sequences.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Inflights } from "../../raft/src/tracker/inflights.js";
import { Progress, ProgressMap, describeProgressMap, type ProgressState } from "../../raft/src/tracker/progress.js";

interface Setup {
  state?: ProgressState;
  match?: number;
  next: number;
  pendingSnapshot?: number;
  paused?: boolean;
  size?: number;
  inflight?: number[]; // indexes already in flight
}

function mk(s: Setup): Progress {
  const pr = new Progress({ next: s.next, match: s.match ?? 0, inflights: new Inflights(s.size ?? 256), recentActive: true });
  pr.state = s.state ?? "probe";
  pr.pendingSnapshot = s.pendingSnapshot ?? 0;
  pr.msgAppFlowPaused = s.paused ?? false;
  for (const i of s.inflight ?? []) pr.inflights.add(i, 1);
  return pr;
}

describe("Progress transitions", () => {
  const cases: {
    name: string;
    from: Setup;
    act: (pr: Progress) => void;
    want: Partial<Record<"state" | "match" | "next" | "pendingSnapshot" | "paused" | "inflight", unknown>>;
  }[] = [
    {
      name: "probe -> replicate: next = match + 1",
      from: { state: "probe", match: 4, next: 9 },
      act: (p) => p.becomeReplicate(),
      want: { state: "replicate", next: 5, paused: false },
    },
    {
      name: "replicate -> probe: next = match + 1, window cleared",
      from: { state: "replicate", match: 4, next: 9, inflight: [6, 8] },
      act: (p) => p.becomeProbe(),
      want: { state: "probe", next: 5, inflight: 0, paused: false },
    },
    {
      name: "snapshot -> probe: next after the snapshot",
      from: { state: "snapshot", match: 1, next: 11, pendingSnapshot: 10 },
      act: (p) => p.becomeProbe(),
      want: { state: "probe", next: 11, pendingSnapshot: 0 },
    },
    {
      name: "snapshot -> probe: next after match if beyond the snapshot",
      from: { state: "snapshot", match: 12, next: 13, pendingSnapshot: 10 },
      act: (p) => p.becomeProbe(),
      want: { state: "probe", next: 13, pendingSnapshot: 0 },
    },
    {
      name: "probe -> snapshot: pending snapshot, next after it",
      from: { state: "probe", match: 1, next: 3, paused: true },
      act: (p) => p.becomeSnapshot(10),
      want: { state: "snapshot", pendingSnapshot: 10, next: 11, paused: true },
    },
    {
      name: "replicate -> snapshot clears the window",
      from: { state: "replicate", match: 1, next: 5, inflight: [3, 4] },
      act: (p) => p.becomeSnapshot(7),
      want: { state: "snapshot", inflight: 0, next: 8 },
    },
    {
      name: "resetState keeps match and next",
      from: { state: "snapshot", match: 2, next: 8, pendingSnapshot: 7 },
      act: (p) => p.resetState("replicate"),
      want: { state: "replicate", match: 2, next: 8, pendingSnapshot: 0 },
    },
    {
      name: "replicate: sentEntries moves next and fills the window",
      from: { state: "replicate", match: 4, next: 5, size: 2 },
      act: (p) => p.sentEntries(3, 100),
      want: { next: 8, inflight: 1, paused: false },
    },
    {
      name: "replicate: sentEntries pauses when the window fills",
      from: { state: "replicate", match: 4, next: 5, size: 2, inflight: [4] },
      act: (p) => p.sentEntries(1, 100),
      want: { next: 6, inflight: 2, paused: true },
    },
    {
      name: "replicate: empty append changes nothing",
      from: { state: "replicate", match: 4, next: 5 },
      act: (p) => p.sentEntries(0, 0),
      want: { next: 5, inflight: 0, paused: false },
    },
    {
      name: "probe: a non-empty append pauses",
      from: { state: "probe", match: 4, next: 5 },
      act: (p) => p.sentEntries(2, 10),
      want: { next: 5, paused: true },
    },
    {
      name: "probe: an empty append does not pause",
      from: { state: "probe", match: 4, next: 5 },
      act: (p) => p.sentEntries(0, 0),
      want: { next: 5, paused: false },
    },
    {
      name: "maybeUpdate raises match and next, unpauses",
      from: { state: "probe", match: 2, next: 3, paused: true },
      act: (p) => assert.ok(p.maybeUpdate(7)),
      want: { match: 7, next: 8, paused: false },
    },
    {
      name: "maybeUpdate keeps a larger next",
      from: { state: "replicate", match: 2, next: 10 },
      act: (p) => assert.ok(p.maybeUpdate(5)),
      want: { match: 5, next: 10 },
    },
    {
      name: "maybeUpdate ignores a stale ack",
      from: { state: "probe", match: 5, next: 6, paused: true },
      act: (p) => assert.ok(!p.maybeUpdate(5)),
      want: { match: 5, next: 6, paused: true },
    },
    {
      name: "maybeUpdate ignores an older ack",
      from: { state: "replicate", match: 5, next: 9 },
      act: (p) => assert.ok(!p.maybeUpdate(3)),
      want: { match: 5, next: 9 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const pr = mk(c.from);
      c.act(pr);
      const got = {
        state: pr.state,
        match: pr.match,
        next: pr.next,
        pendingSnapshot: pr.pendingSnapshot,
        paused: pr.isPaused(),
        inflight: pr.inflights.count(),
      };
      for (const [k, v] of Object.entries(c.want)) assert.equal(got[k as keyof typeof got], v, `${k}`);
      assert.ok(pr.match < pr.next, "invariant match < next");
    });
  }

  test("sentEntries in snapshot state is a bug", () => {
    assert.throws(() => mk({ state: "snapshot", next: 5, pendingSnapshot: 4 }).sentEntries(1, 1), /unhandled state StateSnapshot/);
  });
});

describe("Progress.maybeDecrTo", () => {
  const cases: { name: string; from: Setup; rejected: number; hint: number; ok: boolean; next: number }[] = [
    // StateReplicate: a rejection at or below match is stale.
    { name: "replicate, rejected == match: stale", from: { state: "replicate", match: 5, next: 10 }, rejected: 5, hint: 5, ok: false, next: 10 },
    { name: "replicate, rejected < match: stale", from: { state: "replicate", match: 5, next: 10 }, rejected: 4, hint: 4, ok: false, next: 10 },
    { name: "replicate, rejected > match: back to match + 1", from: { state: "replicate", match: 5, next: 10 }, rejected: 9, hint: 9, ok: true, next: 6 },
    { name: "replicate, hint ignored", from: { state: "replicate", match: 5, next: 10 }, rejected: 9, hint: 2, ok: true, next: 6 },
    // StateProbe: only the rejection of the last probe (next - 1) counts.
    { name: "probe, rejected != next - 1: stale", from: { state: "probe", match: 0, next: 10 }, rejected: 5, hint: 5, ok: false, next: 10 },
    { name: "probe, next - 1 rejected, hint above it", from: { state: "probe", match: 0, next: 10 }, rejected: 9, hint: 9, ok: true, next: 9 },
    { name: "probe, hint lowers next", from: { state: "probe", match: 0, next: 10 }, rejected: 9, hint: 2, ok: true, next: 3 },
    { name: "probe, hint 0", from: { state: "probe", match: 0, next: 10 }, rejected: 9, hint: 0, ok: true, next: 1 },
    { name: "probe, never below match + 1", from: { state: "probe", match: 5, next: 10 }, rejected: 9, hint: 2, ok: true, next: 6 },
    { name: "probe at next 1 rejected 0", from: { state: "probe", match: 0, next: 1 }, rejected: 0, hint: 0, ok: true, next: 1 },
    // StateSnapshot: the same rule as probe.
    { name: "snapshot, stale", from: { state: "snapshot", match: 0, next: 11, pendingSnapshot: 10 }, rejected: 5, hint: 5, ok: false, next: 11 },
    { name: "snapshot, next - 1 rejected", from: { state: "snapshot", match: 0, next: 11, pendingSnapshot: 10 }, rejected: 10, hint: 3, ok: true, next: 4 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const pr = mk({ ...c.from, paused: true });
      const before = { match: pr.match, paused: pr.msgAppFlowPaused };
      assert.equal(pr.maybeDecrTo(c.rejected, c.hint), c.ok);
      assert.equal(pr.next, c.next);
      assert.equal(pr.match, before.match, "match never changes");
      if (c.ok && c.from.state !== "replicate") assert.equal(pr.msgAppFlowPaused, false, "accepted probe rejection unpauses");
      if (!c.ok) assert.equal(pr.msgAppFlowPaused, before.paused, "stale rejection changes nothing");
    });
  }
});

describe("Progress.isPaused", () => {
  const cases: { name: string; from: Setup; want: boolean }[] = [
    { name: "probe, not paused", from: { state: "probe", next: 2 }, want: false },
    { name: "probe, probe in flight", from: { state: "probe", next: 2, paused: true }, want: true },
    { name: "replicate, window open", from: { state: "replicate", next: 2 }, want: false },
    { name: "replicate, window full", from: { state: "replicate", next: 2, paused: true }, want: true },
    { name: "snapshot, always", from: { state: "snapshot", next: 2, pendingSnapshot: 1 }, want: true },
  ];
  for (const c of cases) test(c.name, () => assert.equal(mk(c.from).isPaused(), c.want));

  test("maybeUpdate frees a full replicate window only through freeLE", () => {
    const pr = mk({ state: "replicate", match: 0, next: 1, size: 1 });
    pr.sentEntries(1, 10);
    assert.ok(pr.isPaused());
    assert.ok(pr.maybeUpdate(1));
    pr.inflights.freeLE(1);
    pr.sentEntries(1, 10); // window was freed: not full before, full after
    assert.equal(pr.next, 3);
    assert.ok(pr.isPaused());
  });
});

describe("Progress commit tracking", () => {
  test("canBumpCommit / sentCommit", () => {
    const pr = mk({ state: "replicate", match: 3, next: 6 });
    assert.ok(pr.canBumpCommit(4));
    pr.sentCommit(4);
    assert.ok(!pr.canBumpCommit(4), "already sent");
    assert.ok(pr.canBumpCommit(5));
    pr.sentCommit(5);
    assert.ok(!pr.canBumpCommit(9), "follower cannot take a commit beyond next - 1");
    // A rejection makes the sent commit unreliable: it regresses with next.
    assert.ok(pr.maybeDecrTo(5, 5));
    assert.equal(pr.next, 4);
    assert.equal(pr.sentCommitIndex, 3);
    pr.becomeSnapshot(10);
    assert.equal(pr.sentCommitIndex, 10);
    pr.becomeProbe();
    assert.equal(pr.sentCommitIndex, 10);
  });
});

describe("Progress rendering", () => {
  test("etcd's format", () => {
    const pr = new Progress({ next: 6, match: 5, inflights: new Inflights(1), recentActive: true });
    pr.becomeReplicate();
    pr.sentEntries(1, 10);
    assert.equal(pr.toString(), "StateReplicate match=5 next=7 paused inflight=1[full]");
    const p2 = new Progress({ next: 12, match: 11, inflights: new Inflights(256), recentActive: true });
    assert.equal(p2.toString(), "StateProbe match=11 next=12");
    const p3 = new Progress({ next: 1, inflights: new Inflights(10), isLearner: true });
    p3.msgAppFlowPaused = true;
    assert.equal(p3.toString(), "StateProbe match=0 next=1 learner paused inactive");
    const p4 = new Progress({ next: 1, inflights: new Inflights(10), recentActive: true });
    p4.becomeSnapshot(11);
    assert.equal(p4.toString(), "StateSnapshot match=0 next=12 paused pendingSnap=11");
    const p5 = new Progress({ next: 12, match: 11, inflights: new Inflights(3), recentActive: true });
    p5.becomeReplicate();
    p5.sentEntries(1, 1);
    assert.equal(p5.toString(), "StateReplicate match=11 next=13 inflight=1");
    p5.sentEntries(1, 1);
    p5.sentEntries(1, 1);
    assert.equal(p5.toString(), "StateReplicate match=11 next=15 paused inflight=3[full]");
  });

  test("progress map rendering, sorted by id, and clone independence", () => {
    const m = new ProgressMap();
    m.set(3n, new Progress({ next: 2, inflights: new Inflights(4), recentActive: true }));
    m.set(1n, new Progress({ next: 1, inflights: new Inflights(4), recentActive: true, isLearner: true }));
    assert.equal(m.toString(), "1: StateProbe match=0 next=1 learner\n3: StateProbe match=0 next=2\n");
    assert.equal(describeProgressMap(new Map(m)), m.toString());
    const c = m.clone();
    c.get(3n)!.maybeUpdate(5);
    c.get(3n)!.inflights.add(9, 1);
    assert.equal(m.get(3n)!.match, 0);
    assert.equal(m.get(3n)!.inflights.count(), 0);
    assert.equal(m.ackedIndex(3n), 0);
    assert.equal(m.ackedIndex(7n), undefined);
  });
});

describe("Progress property", () => {
  test("responses never decrease match; next only drops on an accepted rejection; stale ones change nothing", () => {
    type Op =
      | { kind: "ack"; n: number }
      | { kind: "reject"; back: number; hint: number }
      | { kind: "send"; entries: number }
      | { kind: "state"; to: "probe" | "replicate" | "snapshot"; snap: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant("ack" as const), n: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ kind: fc.constant("reject" as const), back: fc.integer({ min: 0, max: 6 }), hint: fc.integer({ min: 0, max: 60 }) }),
      fc.record({ kind: fc.constant("send" as const), entries: fc.integer({ min: 0, max: 4 }) }),
      fc.record({
        kind: fc.constant("state" as const),
        to: fc.constantFrom("probe" as const, "replicate" as const, "snapshot" as const),
        snap: fc.integer({ min: 0, max: 60 }),
      }),
    );
    // Up to 80 ops (size "max"). The default size stops at 10: then the 4-slot window filled in
    // 1 run of 500 and 58 runs saw all three states; now 28 and 349.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.array(op, { maxLength: 80, size: "max" }), (next0, ops) => {
        const pr = new Progress({ next: next0, inflights: new Inflights(4), recentActive: true });
        for (const o of ops) {
          const before = { match: pr.match, next: pr.next, state: pr.state, paused: pr.msgAppFlowPaused };
          switch (o.kind) {
            case "ack": {
              const ok = pr.maybeUpdate(o.n);
              assert.equal(ok, o.n > before.match);
              assert.ok(pr.next >= before.next, "an ack never lowers next");
              if (!ok)
                assert.deepEqual(
                  { match: pr.match, next: pr.next, paused: pr.msgAppFlowPaused },
                  { match: before.match, next: before.next, paused: before.paused },
                );
              if (ok) pr.inflights.freeLE(o.n);
              break;
            }
            case "reject": {
              const rejected = Math.max(0, before.next - 1 - o.back);
              const ok = pr.maybeDecrTo(rejected, o.hint);
              if (!ok)
                assert.deepEqual(
                  { match: pr.match, next: pr.next, paused: pr.msgAppFlowPaused },
                  { match: before.match, next: before.next, paused: before.paused },
                );
              break;
            }
            case "send":
              if (pr.state !== "snapshot" && !pr.isPaused()) {
                // As raft's send path (raft.ts, sendAppend): a replicating follower whose window is
                // full gets an empty MsgApp (an ack unpauses the flow without freeing a slot).
                const n = pr.state === "replicate" && pr.inflights.full() ? 0 : o.entries;
                pr.sentEntries(n, n * 10);
              }
              assert.ok(pr.next >= before.next);
              break;
            case "state":
              if (o.to === "probe") pr.becomeProbe();
              else if (o.to === "replicate") pr.becomeReplicate();
              else pr.becomeSnapshot(Math.max(o.snap, pr.match));
              break;
          }
          assert.ok(pr.match >= before.match, "match never decreases");
          assert.ok(pr.match < pr.next, `invariant match < next (${pr.match} < ${pr.next})`);
          assert.ok(pr.next >= 1);
        }
      }),
      { numRuns: 500 },
    );
  });
});

test("ProgressMap lookups see every set, delete and clear (the last lookup is cached)", () => {
  const mk = (match: number): Progress => new Progress({ next: match + 1, match, inflights: new Inflights(4), recentActive: true });
  const m = new ProgressMap();
  const a = mk(1);
  m.set(1n, a);
  assert.equal(m.get(1n), a);
  assert.equal(m.get(2n), undefined);
  assert.equal(m.has(2n), false);
  const b = mk(2);
  m.set(2n, b); // the last lookup was of 2n: a miss
  assert.equal(m.get(2n), b);
  assert.equal(m.has(2n), true);
  const b2 = mk(3);
  m.set(2n, b2); // replaced while cached
  assert.equal(m.get(2n), b2);
  assert.equal(m.ackedIndex(BigInt(2)), 3); // an equal bigint, another object
  m.delete(2n);
  assert.equal(m.get(2n), undefined);
  assert.equal(m.has(2n), false);
  assert.equal(m.get(1n), a);
  m.clear();
  assert.equal(m.get(1n), undefined);
  assert.equal(m.has(1n), false);
});
