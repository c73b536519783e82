// The unstable part of the log (unstable.ts), tested directly for its own rules: what it knows
// of indexes and terms, stableTo only when (index, term) still match, truncation on append, and
// entries handed out for persistence exactly once.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { emptyConfState, type Entry, type Snapshot } from "@tsraft/raftpb";
import { silentLogger } from "@tsraft/raft";
import { Unstable } from "../../raft/src/unstable.js";
import { ents } from "./harness/network.js";

function snap(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: emptyConfState() } };
}

function unstable(entries: Entry[], offset: number, snapshot?: Snapshot, offsetInProgress = offset): Unstable {
  const u = new Unstable(offset, silentLogger);
  u.entries = entries.slice();
  u.snapshot = snapshot;
  u.offsetInProgress = offsetInProgress;
  return u;
}

const it = (es: readonly Entry[]) => es.map((e) => [e.index, e.term]);

describe("Unstable.maybeFirstIndex", () => {
  const cases = [
    { name: "entries, no snapshot: unknown", u: () => unstable(ents([5, 1]), 5), want: undefined },
    { name: "nothing: unknown", u: () => unstable([], 0), want: undefined },
    { name: "entries after a snapshot: snapshot index + 1", u: () => unstable(ents([5, 1]), 5, snap(4, 1)), want: 5 },
    { name: "snapshot only: snapshot index + 1", u: () => unstable([], 5, snap(4, 1)), want: 5 },
  ];
  for (const c of cases) test(c.name, () => assert.equal(c.u().maybeFirstIndex(), c.want));
});

describe("Unstable.maybeLastIndex", () => {
  const cases = [
    { name: "last entry", u: () => unstable(ents([5, 1]), 5), want: 5 },
    { name: "last entry, even with a snapshot", u: () => unstable(ents([5, 1]), 5, snap(4, 1)), want: 5 },
    { name: "snapshot only: its index", u: () => unstable([], 5, snap(4, 1)), want: 4 },
    { name: "nothing: unknown", u: () => unstable([], 0), want: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.equal(c.u().maybeLastIndex(), c.want));
});

describe("Unstable.maybeTerm", () => {
  const cases = [
    { name: "entry in range", u: () => unstable(ents([5, 1]), 5), i: 5, want: 1 },
    { name: "past the entries", u: () => unstable(ents([5, 1]), 5), i: 6, want: undefined },
    { name: "below the entries, no snapshot", u: () => unstable(ents([5, 1]), 5), i: 4, want: undefined },
    { name: "entry in range, with snapshot", u: () => unstable(ents([5, 1]), 5, snap(4, 1)), i: 5, want: 1 },
    { name: "past the entries, with snapshot", u: () => unstable(ents([5, 1]), 5, snap(4, 1)), i: 6, want: undefined },
    { name: "the snapshot's index: the snapshot's term", u: () => unstable(ents([5, 1]), 5, snap(4, 1)), i: 4, want: 1 },
    { name: "below the snapshot", u: () => unstable(ents([5, 1]), 5, snap(4, 1)), i: 3, want: undefined },
    { name: "snapshot only: past it", u: () => unstable([], 5, snap(4, 1)), i: 5, want: undefined },
    { name: "snapshot only: at it", u: () => unstable([], 5, snap(4, 1)), i: 4, want: 1 },
    { name: "nothing at all", u: () => unstable([], 0), i: 5, want: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.equal(c.u().maybeTerm(c.i), c.want));
});

test("Unstable.restore replaces everything with the snapshot", () => {
  const u = unstable(ents([5, 1]), 5, snap(4, 1), 6);
  const s = snap(6, 2);
  u.restore(s);
  assert.equal(u.offset, 7);
  assert.equal(u.offsetInProgress, 7);
  assert.equal(u.entries.length, 0);
  assert.equal(u.snapshot, s);
  assert.equal(u.snapshotInProgress, false);
  assert.equal(u.nextSnapshot(), s);
});

describe("Unstable.stableTo only marks entries stable whose (index, term) still match", () => {
  const cases: Array<{
    name: string;
    entries: Entry[];
    offset: number;
    inProgress?: number;
    snap?: Snapshot;
    index: number;
    term: number;
    wOffset: number;
    wLen: number;
    wInProgress?: number;
  }> = [
    { name: "empty log: nothing to do", entries: [], offset: 0, index: 5, term: 1, wOffset: 0, wLen: 0 },
    { name: "the only entry becomes stable", entries: ents([5, 1]), offset: 5, index: 5, term: 1, wOffset: 6, wLen: 0 },
    { name: "a prefix becomes stable", entries: ents([5, 1], [6, 1]), offset: 5, index: 5, term: 1, wOffset: 6, wLen: 1 },
    { name: "term mismatch: the entry was overwritten, nothing changes", entries: ents([6, 2]), offset: 6, index: 6, term: 1, wOffset: 6, wLen: 1 },
    { name: "an index below the unstable entries (already stable)", entries: ents([5, 1]), offset: 5, index: 4, term: 1, wOffset: 5, wLen: 1 },
    { name: "below the unstable entries, other term", entries: ents([5, 1]), offset: 5, index: 4, term: 2, wOffset: 5, wLen: 1 },
    { name: "with snapshot: the entry after it", entries: ents([5, 1]), offset: 5, snap: snap(4, 1), index: 5, term: 1, wOffset: 6, wLen: 0 },
    { name: "with snapshot: a prefix", entries: ents([5, 1], [6, 1]), offset: 5, snap: snap(4, 1), index: 5, term: 1, wOffset: 6, wLen: 1 },
    { name: "with snapshot: term mismatch", entries: ents([6, 2]), offset: 6, snap: snap(5, 1), index: 6, term: 1, wOffset: 6, wLen: 1 },
    { name: "the snapshot's own index is left to stableSnapTo", entries: ents([5, 1]), offset: 5, snap: snap(4, 1), index: 4, term: 1, wOffset: 5, wLen: 1 },
    { name: "an old entry below the snapshot", entries: ents([5, 2]), offset: 5, snap: snap(4, 2), index: 4, term: 1, wOffset: 5, wLen: 1 },
    { name: "past the last entry", entries: ents([5, 1], [6, 1]), offset: 5, index: 7, term: 1, wOffset: 5, wLen: 2 },
    {
      name: "entries handed out stay handed out after part of them is stable",
      entries: ents([5, 1], [6, 1], [7, 1]),
      offset: 5,
      inProgress: 8,
      index: 5,
      term: 1,
      wOffset: 6,
      wLen: 2,
      wInProgress: 8,
    },
    {
      name: "in-progress pointer follows the offset up",
      entries: ents([5, 1], [6, 1], [7, 1]),
      offset: 5,
      inProgress: 6,
      index: 6,
      term: 1,
      wOffset: 7,
      wLen: 1,
      wInProgress: 7,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const u = unstable(c.entries, c.offset, c.snap, c.inProgress ?? c.offset);
      u.stableTo(c.index, c.term);
      assert.equal(u.offset, c.wOffset, "offset");
      assert.equal(u.entries.length, c.wLen, "entries");
      if (c.wInProgress !== undefined) assert.equal(u.offsetInProgress, c.wInProgress, "offsetInProgress");
      assert.ok(u.offset <= u.offsetInProgress && u.offsetInProgress <= u.offset + u.entries.length, "invariant offset <= inProgress <= end");
    });
  }
});

describe("Unstable.truncateAndAppend", () => {
  const cases: Array<{
    name: string;
    entries: Entry[];
    offset: number;
    inProgress?: number;
    append: Entry[];
    wOffset: number;
    want: Entry[];
    wInProgress?: number;
  }> = [
    {
      name: "append to the end",
      entries: ents([5, 1]),
      offset: 5,
      append: ents([6, 1], [7, 1]),
      wOffset: 5,
      want: ents([5, 1], [6, 1], [7, 1]),
    },
    { name: "replace the unstable entries", entries: ents([5, 1]), offset: 5, append: ents([5, 2], [6, 2]), wOffset: 5, want: ents([5, 2], [6, 2]) },
    {
      name: "replace from before the unstable entries",
      entries: ents([5, 1]),
      offset: 5,
      append: ents([4, 2], [5, 2], [6, 2]),
      wOffset: 4,
      want: ents([4, 2], [5, 2], [6, 2]),
    },
    {
      name: "truncate the existing entries and append",
      entries: ents([5, 1], [6, 1], [7, 1]),
      offset: 5,
      append: ents([6, 2]),
      wOffset: 5,
      want: ents([5, 1], [6, 2]),
    },
    {
      name: "truncate the last entry and append two",
      entries: ents([5, 1], [6, 1], [7, 1]),
      offset: 5,
      append: ents([7, 2], [8, 2]),
      wOffset: 5,
      want: ents([5, 1], [6, 1], [7, 2], [8, 2]),
    },
    {
      name: "truncating entries that were handed out takes the in-progress pointer back",
      entries: ents([5, 1], [6, 1], [7, 1]),
      offset: 5,
      inProgress: 8,
      append: ents([6, 2]),
      wOffset: 5,
      want: ents([5, 1], [6, 2]),
      wInProgress: 6,
    },
    {
      name: "appending after handed-out entries leaves the pointer",
      entries: ents([5, 1], [6, 1]),
      offset: 5,
      inProgress: 7,
      append: ents([7, 1]),
      wOffset: 5,
      want: ents([5, 1], [6, 1], [7, 1]),
      wInProgress: 7,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const u = unstable(c.entries, c.offset, undefined, c.inProgress ?? c.offset);
      u.truncateAndAppend(c.append);
      assert.equal(u.offset, c.wOffset);
      assert.deepEqual(it(u.entries), it(c.want));
      if (c.wInProgress !== undefined) assert.equal(u.offsetInProgress, c.wInProgress);
    });
  }
});

test("entries are handed out for persistence once; new ones after them", () => {
  const u = new Unstable(1, silentLogger);
  assert.equal(u.hasNextEntries(), false);
  u.truncateAndAppend(ents([1, 1], [2, 1]));
  assert.deepEqual(it(u.nextEntries()), [
    [1, 1],
    [2, 1],
  ]);
  u.acceptInProgress();
  assert.equal(u.hasNextEntries(), false);
  assert.deepEqual(u.nextEntries(), []);
  u.truncateAndAppend(ents([3, 1]));
  assert.deepEqual(it(u.nextEntries()), [[3, 1]]);
  u.acceptInProgress();
  // A conflicting append replaces handed-out entries: they are handed out again.
  u.truncateAndAppend(ents([2, 2]));
  assert.deepEqual(it(u.nextEntries()), [[2, 2]]);
  u.acceptInProgress();
  u.stableTo(2, 1); // the ack of the overwritten (2, 1): ignored
  assert.equal(u.offset, 1);
  u.stableTo(2, 2);
  assert.equal(u.offset, 3);
  assert.equal(u.entries.length, 0);
});

test("a snapshot is handed out once and stableSnapTo only clears the same snapshot", () => {
  const u = new Unstable(1, silentLogger);
  u.restore(snap(10, 2));
  assert.equal(u.nextSnapshot()?.metadata.index, 10);
  u.acceptInProgress();
  assert.equal(u.nextSnapshot(), undefined);
  u.stableSnapTo(9);
  assert.notEqual(u.snapshot, undefined);
  u.stableSnapTo(10);
  assert.equal(u.snapshot, undefined);
  assert.equal(u.snapshotInProgress, false);
});
