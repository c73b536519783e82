// RaftLog (log.ts) tested directly for its own rules: conflicts, the term-skipping hint, the
// up-to-date check, appends truncating exactly at the first conflict, commit never going back,
// the Figure 8 commit guard, the apply cursor, and never asking storage about what a snapshot
// replaced.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { emptyConfState, type Entry, type Snapshot } from "@tsraft/raftpb";
import { CompactedError, silentLogger } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftLog, NO_LIMIT } from "../../raft/src/log.js";
import { RaftPanic } from "@tsraft/raft";
import { ents, entsOfTerms } from "./harness/network.js";
import { RecordingStorage } from "./harness/recording-storage.js";

const it = (es: readonly Entry[]) => es.map((e) => [e.index, e.term]);

function logWith(entries: Entry[], committed = 0, storage = new MemoryStorage()): RaftLog {
  const l = new RaftLog(storage, silentLogger);
  l.append(entries);
  l.committed = committed;
  return l;
}

function snap(index: number, term: number): Snapshot {
  return { metadata: { index, term, confState: { ...emptyConfState(), voters: [1n, 2n, 3n] } } };
}

describe("findConflict: the first entry that is new or has another term", () => {
  const prev = ents([1, 1], [2, 2], [3, 3]);
  const cases: Array<{ name: string; ents: Entry[]; want: number }> = [
    { name: "no entries", ents: [], want: 0 },
    { name: "all present", ents: ents([1, 1], [2, 2], [3, 3]), want: 0 },
    { name: "a present suffix", ents: ents([2, 2], [3, 3]), want: 0 },
    { name: "the last one present", ents: ents([3, 3]), want: 0 },
    { name: "present, then new", ents: ents([1, 1], [2, 2], [3, 3], [4, 4], [5, 4]), want: 4 },
    { name: "a present suffix, then new", ents: ents([2, 2], [3, 3], [4, 4], [5, 4]), want: 4 },
    { name: "only new", ents: ents([4, 4], [5, 4]), want: 4 },
    { name: "conflict at the first entry", ents: ents([1, 4], [2, 4]), want: 1 },
    { name: "conflict in the middle", ents: ents([2, 1], [3, 4], [4, 4]), want: 2 },
    { name: "conflict at the last entry", ents: ents([3, 1], [4, 2], [5, 4], [6, 4]), want: 3 },
  ];
  for (const c of cases) test(c.name, () => assert.equal(logWith(prev).findConflict(c.ents), c.want));
});

describe("findConflictByTerm: the last index <= i whose term is <= t (one round trip per term)", () => {
  // Index:  1 2 3 4 5 6 7 8 9 10
  // Term:   1 1 2 2 2 4 4 4 5 5
  const terms = [1, 1, 2, 2, 2, 4, 4, 4, 5, 5];
  const cases: Array<{ name: string; index: number; term: number; want: [number, number]; compactAt?: number }> = [
    { name: "same term at the index: the index itself", index: 8, term: 4, want: [8, 4] },
    { name: "a higher term at the index: the index itself", index: 8, term: 6, want: [8, 4] },
    { name: "term 3 skips back over all of term 4", index: 8, term: 3, want: [5, 2] },
    { name: "term 2 skips back over terms 4 and 5 at once", index: 10, term: 2, want: [5, 2] },
    { name: "term 1 lands at the end of term 1", index: 10, term: 1, want: [2, 1] },
    { name: "term 0 goes to the start of the log", index: 10, term: 0, want: [0, 0] },
    { name: "an index below the term's last entry is kept", index: 4, term: 3, want: [4, 2] },
    { name: "index 0", index: 0, term: 5, want: [0, 0] },
    { name: "a compacted index: stop there with an unknown term", index: 8, term: 1, want: [4, 0], compactAt: 5 },
    { name: "the compaction point's term is known", index: 8, term: 2, want: [5, 2], compactAt: 5 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const ms = new MemoryStorage();
      ms.append(entsOfTerms(1, terms));
      if (c.compactAt !== undefined) ms.compact(c.compactAt);
      const l = new RaftLog(ms, silentLogger);
      assert.deepEqual(l.findConflictByTerm(c.index, c.term), c.want);
    });
  }
});

describe("isUpToDate: later last term wins, then the longer log (§5.4.1)", () => {
  const l = logWith(ents([1, 1], [2, 2], [3, 3]));
  const cases = [
    { name: "greater term, shorter log", index: 2, term: 4, want: true },
    { name: "greater term, same length", index: 3, term: 4, want: true },
    { name: "greater term, longer log", index: 4, term: 4, want: true },
    { name: "smaller term, shorter log", index: 2, term: 2, want: false },
    { name: "smaller term, same length", index: 3, term: 2, want: false },
    { name: "smaller term, longer log", index: 4, term: 2, want: false },
    { name: "same term, shorter log", index: 2, term: 3, want: false },
    { name: "same term, same length", index: 3, term: 3, want: true },
    { name: "same term, longer log", index: 4, term: 3, want: true },
  ];
  for (const c of cases) test(c.name, () => assert.equal(l.isUpToDate(c.index, c.term), c.want));
});

describe("maybeAppend: append if the log matches at (index, logTerm), truncate at the first conflict", () => {
  // Log: (1,1) (2,2) (3,3), committed 1.
  const cases: Array<{
    name: string;
    logTerm: number;
    index: number;
    commit: number;
    ents: Entry[];
    wLast: number;
    wCommit: number;
    wLog?: Array<[number, number]>;
    wPanic?: boolean;
  }> = [
    { name: "term mismatch at index: reject", logTerm: 2, index: 3, commit: 3, ents: ents([4, 4]), wLast: -1, wCommit: 1 },
    { name: "index past the end: reject", logTerm: 3, index: 4, commit: 3, ents: ents([5, 4]), wLast: -1, wCommit: 1 },
    { name: "match at the end, nothing new", logTerm: 3, index: 3, commit: 3, ents: [], wLast: 3, wCommit: 3 },
    { name: "commit is capped by the last new index", logTerm: 3, index: 3, commit: 4, ents: [], wLast: 3, wCommit: 3 },
    { name: "commit follows the message", logTerm: 3, index: 3, commit: 2, ents: [], wLast: 3, wCommit: 2 },
    { name: "commit never decreases", logTerm: 3, index: 3, commit: 0, ents: [], wLast: 3, wCommit: 1 },
    { name: "index 0 always matches", logTerm: 0, index: 0, commit: 3, ents: [], wLast: 0, wCommit: 1 },
    { name: "append one", logTerm: 3, index: 3, commit: 3, ents: ents([4, 4]), wLast: 4, wCommit: 3 },
    { name: "append one and commit it", logTerm: 3, index: 3, commit: 4, ents: ents([4, 4]), wLast: 4, wCommit: 4 },
    { name: "commit capped at the appended entries", logTerm: 3, index: 3, commit: 5, ents: ents([4, 4]), wLast: 4, wCommit: 4 },
    { name: "append two", logTerm: 3, index: 3, commit: 5, ents: ents([4, 4], [5, 4]), wLast: 5, wCommit: 5 },
    {
      name: "match in the middle, conflict at the last entry: truncated there",
      logTerm: 2,
      index: 2,
      commit: 3,
      ents: ents([3, 4]),
      wLast: 3,
      wCommit: 3,
      wLog: [
        [1, 1],
        [2, 2],
        [3, 4],
      ],
    },
    {
      name: "match at 1, conflict at 2",
      logTerm: 1,
      index: 1,
      commit: 3,
      ents: ents([2, 4]),
      wLast: 2,
      wCommit: 2,
      wLog: [
        [1, 1],
        [2, 4],
      ],
    },
    {
      name: "a conflict with a committed entry is a broken invariant",
      logTerm: 0,
      index: 0,
      commit: 3,
      ents: ents([1, 4]),
      wLast: 0,
      wCommit: 0,
      wPanic: true,
    },
    {
      name: "existing entries are kept, the conflict replaced",
      logTerm: 1,
      index: 1,
      commit: 3,
      ents: ents([2, 2], [3, 4]),
      wLast: 3,
      wCommit: 3,
      wLog: [
        [1, 1],
        [2, 2],
        [3, 4],
      ],
    },
    {
      name: "a shorter matching append does not truncate longer logs",
      logTerm: 1,
      index: 1,
      commit: 2,
      ents: ents([2, 2]),
      wLast: 2,
      wCommit: 2,
      wLog: [
        [1, 1],
        [2, 2],
        [3, 3],
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const l = logWith(ents([1, 1], [2, 2], [3, 3]), 1);
      if (c.wPanic) {
        assert.throws(() => l.maybeAppend(c.index, c.logTerm, c.commit, c.ents), RaftPanic);
        return;
      }
      assert.equal(l.maybeAppend(c.index, c.logTerm, c.commit, c.ents), c.wLast);
      assert.equal(l.committed, c.wCommit);
      if (c.wLog !== undefined) assert.deepEqual(it(l.allEntries()), c.wLog);
    });
  }
});

describe("commitTo never lowers the commit index", () => {
  const cases = [
    { name: "raise", commit: 3, to: 3, want: 3 },
    { name: "lower: ignored", commit: 3, to: 1, want: 3 },
    { name: "same", commit: 2, to: 2, want: 2 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const l = logWith(ents([1, 1], [2, 2], [3, 3]), c.commit === 3 ? 3 : 2);
      l.commitTo(c.to);
      assert.equal(l.committed, c.want);
    });
  }
  test("past the last index is a broken invariant", () => {
    const l = logWith(ents([1, 1], [2, 2], [3, 3]), 1);
    assert.throws(() => l.commitTo(4), RaftPanic);
    assert.equal(l.committed, 1);
  });
});

describe("maybeCommit: only an entry of the given term commits by counting (Figure 8)", () => {
  // Log terms: 1 1 2 2 3
  const cases = [
    { name: "quorum index holds an entry of the leader's term", max: 5, term: 3, want: true, wCommit: 5 },
    { name: "quorum index holds an older term: no commit", max: 4, term: 3, want: false, wCommit: 1 },
    { name: "older term even though the term matches a previous leader", max: 3, term: 3, want: false, wCommit: 1 },
    { name: "not above the commit index", max: 1, term: 1, want: false, wCommit: 1 },
    { name: "past the end", max: 6, term: 3, want: false, wCommit: 1 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const l = logWith(entsOfTerms(1, [1, 1, 2, 2, 3]), 1);
      assert.equal(l.maybeCommit(c.max, c.term), c.want);
      assert.equal(l.committed, c.wCommit);
    });
  }
});

describe("term() over storage, unstable entries and an unstable snapshot", () => {
  const ms = new MemoryStorage();
  ms.applySnapshot(snap(3, 2));
  ms.append(entsOfTerms(4, [2, 3, 3]));
  const l = new RaftLog(ms, silentLogger);
  l.append(entsOfTerms(7, [4, 4]));
  const cases = [
    { name: "below the dummy entry: compacted", i: 2, want: "compacted" },
    { name: "the dummy entry (snapshot index)", i: 3, want: 2 },
    { name: "a stable entry", i: 5, want: 3 },
    { name: "an unstable entry", i: 8, want: 4 },
    { name: "past the end", i: 9, want: "unavailable" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      if (c.want === "compacted") assert.throws(() => l.term(c.i), CompactedError);
      else if (c.want === "unavailable") assert.throws(() => l.term(c.i), { code: "TSRAFT_UNAVAILABLE" });
      else assert.equal(l.term(c.i), c.want);
    });
  }
});

describe("the log's stableTo ignores acks of entries since overwritten by another term", () => {
  const cases = [
    { name: "matching term: stable", ack: [3, 1] as const, wOffset: 4 },
    { name: "overwritten at a new term: nothing", ack: [3, 2] as const, wOffset: 1 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const l = new RaftLog(new MemoryStorage(), silentLogger);
      l.append(entsOfTerms(1, [1, 1, 1]));
      l.acceptUnstable();
      l.stableTo(c.ack[0], c.ack[1]);
      assert.equal(l.unstable.offset, c.wOffset);
    });
  }
});

describe("a snapshot arriving while older unstable entries exist never asks storage about them", () => {
  function setup() {
    // Storage: compacted at 5 (snapshot), entries 6..8 of term 2 stable.
    const ms = new MemoryStorage();
    ms.applySnapshot(snap(5, 2));
    ms.append(entsOfTerms(6, [2, 2, 2]));
    const rs = new RecordingStorage(ms);
    const l = new RaftLog(rs, silentLogger);
    l.committed = 5;
    // Unstable entries 9..11 of term 3, handed out for persistence but not acknowledged.
    l.append(entsOfTerms(9, [3, 3, 3]));
    l.acceptUnstable();
    // A snapshot at 20 arrives and replaces the log.
    l.restore(snap(20, 4));
    rs.reads.length = 0;
    return { l, rs };
  }
  const cases: Array<{ name: string; run: (l: RaftLog) => void }> = [
    { name: "stableTo of the old unstable entries", run: (l) => l.stableTo(11, 3) },
    { name: "stableTo of an old stable entry", run: (l) => l.stableTo(7, 2) },
    { name: "matchTerm below the snapshot", run: (l) => assert.equal(l.matchTerm(7, 2), false) },
    { name: "termOrUndefined below the snapshot", run: (l) => assert.equal(l.termOrUndefined(10), undefined) },
    { name: "term below the snapshot is compacted", run: (l) => assert.throws(() => l.term(4), CompactedError) },
    { name: "findConflictByTerm from the snapshot down", run: (l) => assert.deepEqual(l.findConflictByTerm(20, 3), [19, 0]) },
    { name: "maybeAppend of an out-of-date MsgApp", run: (l) => assert.equal(l.maybeAppend(8, 2, 8, entsOfTerms(9, [3])), -1) },
    { name: "the snapshot's own term", run: (l) => assert.equal(l.term(20), 4) },
    { name: "entries from below the snapshot are compacted", run: (l) => assert.throws(() => l.entries(10, NO_LIMIT), CompactedError) },
    { name: "committed entries: none until the snapshot is stable", run: (l) => assert.deepEqual(l.nextCommittedEnts(true), []) },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { l, rs } = setup();
      c.run(l);
      assert.deepEqual(rs.reads, [], "storage was asked about entries the snapshot replaced");
      assert.equal(l.lastIndex(), 20);
      assert.equal(l.committed, 20);
    });
  }
});

describe("committed entries are handed out once, within the byte budget", () => {
  test("allowUnstable decides whether committed but unpersisted entries go out", () => {
    const ms = new MemoryStorage();
    ms.append(entsOfTerms(1, [1, 1]));
    const l = new RaftLog(ms, silentLogger);
    l.append(entsOfTerms(3, [1, 1]));
    l.commitTo(4);
    assert.deepEqual(it(l.nextCommittedEnts(false)), [
      [1, 1],
      [2, 1],
    ]);
    assert.deepEqual(it(l.nextCommittedEnts(true)).length, 4);
  });
  test("acceptApplying moves the applying cursor; appliedTo the applied one", () => {
    const l = logWith(entsOfTerms(1, [1, 1, 1]), 3);
    const first = l.nextCommittedEnts(true);
    assert.equal(first.length, 3);
    l.acceptApplying(3, 0, true);
    assert.equal(l.hasNextCommittedEnts(true), false);
    assert.equal(l.applied, 0);
    l.appliedTo(3, 0);
    assert.equal(l.applied, 3);
    assert.throws(() => l.appliedTo(2, 0), RaftPanic, "applied never goes back");
  });
  test("applied beyond committed is a broken invariant", () => {
    const l = logWith(entsOfTerms(1, [1, 1, 1]), 2);
    assert.throws(() => l.appliedTo(3, 0), RaftPanic);
  });
});

test("slice spans storage and unstable entries and honours maxSize (at least one entry)", () => {
  const ms = new MemoryStorage();
  const big = (index: number): Entry => ({ index, term: 1, type: 0, data: new Uint8Array(100) });
  ms.append([big(1), big(2), big(3)]);
  const l = new RaftLog(ms, silentLogger);
  l.append([big(4), big(5)]);
  assert.equal(l.slice(1, 6, NO_LIMIT).length, 5);
  assert.equal(l.slice(1, 6, 1).length, 1, "at least one entry");
  assert.equal(l.slice(2, 6, 250).length, 2);
  assert.equal(l.slice(3, 6, 250).length, 2, "one stable + one unstable");
  assert.equal(l.slice(4, 6, 1).length, 1);
  assert.throws(() => l.slice(1, 7, NO_LIMIT), RaftPanic);
  ms.compact(2);
  assert.throws(() => l.slice(1, 3, NO_LIMIT), CompactedError);
});

describe("errors from the storage are told by code, not class", () => {
  // A storage built against another copy of @tsraft/raft throws that copy's CompactedError:
  // same code, other class. Raft must treat it as its own (with `instanceof` it took it for an
  // I/O failure and threw it out of term lookups).
  class OtherCopyStorage extends MemoryStorage {
    override term(i: number): number {
      if (i === 3) throw Object.assign(new Error("requested index is unavailable due to compaction"), { code: "TSRAFT_COMPACTED" });
      return super.term(i);
    }
  }

  test("a compaction error of another copy makes the term unknown", () => {
    const ms = new OtherCopyStorage();
    ms.append(ents([1, 1], [2, 2], [3, 3], [4, 4], [5, 5]));
    const l = new RaftLog(ms, silentLogger);
    assert.equal(l.termOrUndefined(3), undefined);
    assert.equal(l.termOrUndefined(4), 4);
  });
});
