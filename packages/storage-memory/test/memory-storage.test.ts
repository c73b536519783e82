// MemoryStorage's own operations (the mutating ones the Storage interface does not have), as
// tables after etcd's TestStorageCompact, TestStorageCreateSnapshot, TestStorageAppend and
// TestStorageApplySnapshot, plus the error paths and the ownership rules of the README.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EntryType } from "@tsraft/raftpb";
import type { ConfState, Entry, Snapshot } from "@tsraft/raftpb";
import { CompactedError, RaftError, SnapOutOfDateError, UnavailableError } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";

function ent(index: number, term: number, data?: Uint8Array): Entry {
  return data === undefined ? { term, index, type: EntryType.EntryNormal } : { term, index, type: EntryType.EntryNormal, data };
}

const cs: ConfState = { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const data = new TextEncoder().encode("data");

function snap(index: number, term: number, c: ConfState = cs): Snapshot {
  return { data, metadata: { confState: c, index, term } };
}

/** etcd's `MemoryStorage{ents: [{3,3}, {4,4}, {5,5}]}`: the dummy entry at 3, then 4 and 5. */
function storage345(): MemoryStorage {
  const s = new MemoryStorage();
  s.applySnapshot(snap(3, 3));
  s.append([ent(4, 4), ent(5, 5)]);
  return s;
}

/** `s` still holds exactly the entries 3, 4, 5 of terms 3, 4, 5 (`storage345`, unchanged). */
function assertStill345(s: MemoryStorage): void {
  assert.deepEqual(dump(s), [
    [3, 3],
    [4, 4],
    [5, 5],
  ]);
}

/** The whole log including the dummy entry, as (index, term) pairs: etcd's `ms.ents`. */
function dump(s: MemoryStorage): [number, number][] {
  const first = s.firstIndex();
  const out: [number, number][] = [[first - 1, s.term(first - 1)]];
  if (s.lastIndex() >= first) for (const e of s.entries(first, s.lastIndex() + 1, Infinity)) out.push([e.index, e.term]);
  return out;
}

/** A plain Error (a caller bug), not one of the typed errors callers handle. */
function isPlainError(re: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof Error && !(e instanceof RaftError) && re.test(e.message);
}

describe("compact", () => {
  const cases = [
    {
      i: 2,
      err: CompactedError,
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
    {
      i: 3,
      err: CompactedError,
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
    {
      i: 4,
      err: undefined,
      want: [
        [4, 4],
        [5, 5],
      ],
    },
    { i: 5, err: undefined, want: [[5, 5]] },
  ];
  for (const { i, err, want } of cases) {
    test(`compact(${i}) on [3 (dummy), 4, 5] ${err ? `throws ${err.name}` : `leaves ${JSON.stringify(want)}`}`, () => {
      const s = storage345();
      if (err) assert.throws(() => s.compact(i), err);
      else s.compact(i);
      assert.deepEqual(dump(s), want);
    });
  }

  test("compact past lastIndex() is a plain Error naming the bounds, and changes nothing", () => {
    const s = storage345();
    assert.throws(() => s.compact(6), isPlainError(/compact index 6 .*lastIndex 5/));
    assertStill345(s);
  });

  test("compact(4.5) / (NaN) is a plain Error naming the call and the index, and changes nothing", () => {
    const s = storage345();
    assert.throws(() => s.compact(4.5), isPlainError(/compact\(4\.5\)/));
    assert.throws(() => s.compact(Number.NaN), isPlainError(/compact\(NaN\)/));
    assertStill345(s);
  });

  test("compact(-1) is a plain Error naming it (no index is negative), not CompactedError; nothing changes", () => {
    const s = storage345();
    assert.throws(() => s.compact(-1), isPlainError(/compact\(-1\)/));
    const fresh = new MemoryStorage();
    assert.throws(() => fresh.compact(-1), isPlainError(/compact\(-1\)/));
    assertStill345(s);
  });

  test("compact one entry at a time over 50,000 entries (rebasing as it goes) keeps every read right", () => {
    const s = new MemoryStorage();
    const n = 50_000;
    const ents: Entry[] = [];
    for (let i = 1; i <= n; i++) ents.push(ent(i, 1 + Math.floor(i / 1000)));
    s.append(ents);
    for (let i = 1; i < n; i++) {
      s.compact(i);
      if (i % 997 === 0 || i > n - 40) {
        assert.equal(s.firstIndex(), i + 1);
        assert.equal(s.lastIndex(), n);
        assert.equal(s.term(i), ents[i - 1]!.term);
        assert.throws(() => s.term(i - 1), CompactedError);
        const got = s.entries(i + 1, n + 1, Infinity);
        assert.equal(got.length, n - i);
        assert.deepStrictEqual(got[0], ents[i]);
        assert.equal(got[got.length - 1], ents[n - 1], "the newest entries are the caller's objects (the tail)");
      }
    }
    // Appending after heavy compaction still lines up.
    s.append([ent(n + 1, 99)]);
    assert.deepEqual(dump(s), [
      [n - 1, ents[n - 2]!.term],
      [n, ents[n - 1]!.term],
      [n + 1, 99],
    ]);
  });

  test("compact in large steps, then overwrite the tail", () => {
    const s = new MemoryStorage();
    s.append(Array.from({ length: 1000 }, (_, k) => ent(k + 1, 1)));
    for (const i of [10, 100, 500, 700, 990]) s.compact(i);
    s.append([ent(995, 2), ent(996, 2)]);
    assert.deepEqual(dump(s), [
      [990, 1],
      [991, 1],
      [992, 1],
      [993, 1],
      [994, 1],
      [995, 2],
      [996, 2],
    ]);
  });
});

describe("createSnapshot", () => {
  const cases = [
    { i: 4, want: snap(4, 4) },
    { i: 5, want: snap(5, 5) },
  ];
  for (const { i, want } of cases) {
    test(`createSnapshot(${i}) on [3 (dummy), 4, 5] makes snapshot ${i}/${want.metadata.term}`, () => {
      const s = storage345();
      const got = s.createSnapshot(i, cs, data);
      assert.deepEqual(got, want);
      assert.equal(s.snapshot(), got);
      assert.deepEqual(s.initialState().confState, cs);
      // The log is untouched: compaction is a separate step.
      assert.deepEqual(dump(s), [
        [3, 3],
        [4, 4],
        [5, 5],
      ]);
    });
  }

  test("createSnapshot at or below the current snapshot throws SnapOutOfDateError", () => {
    const s = storage345();
    assert.throws(() => s.createSnapshot(3, cs, data), SnapOutOfDateError);
    assert.throws(() => s.createSnapshot(2, cs, data), SnapOutOfDateError);
    s.createSnapshot(4, cs, data);
    assert.throws(() => s.createSnapshot(4, cs, data), SnapOutOfDateError);
    assert.equal(s.snapshot().metadata.index, 4);
  });

  test("createSnapshot past lastIndex() is a plain Error naming the bounds", () => {
    const s = storage345();
    assert.throws(() => s.createSnapshot(6, cs, data), isPlainError(/snapshot index 6 .*lastIndex 5/));
    assert.equal(s.snapshot().metadata.index, 3);
  });

  test("createSnapshot(4.5) / (NaN) is a plain Error naming the call and the index; nothing changes", () => {
    const s = storage345();
    assert.throws(() => s.createSnapshot(4.5, cs, data), isPlainError(/createSnapshot\(4\.5\)/));
    assert.throws(() => s.createSnapshot(Number.NaN, cs, data), isPlainError(/createSnapshot\(NaN\)/));
    assert.equal(s.snapshot().metadata.index, 3);
  });

  test("createSnapshot(-1) is a plain Error naming it (no index is negative), not SnapOutOfDateError", () => {
    const s = storage345();
    assert.throws(() => s.createSnapshot(-1, cs, data), isPlainError(/createSnapshot\(-1\)/));
    assert.equal(s.snapshot().metadata.index, 3);
  });

  test("createSnapshot below a compaction that went past the snapshot throws CompactedError", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
    s.compact(3);
    assert.throws(() => s.createSnapshot(2, cs, data), CompactedError);
    assert.equal(s.snapshot().metadata.index, 0);
    assert.equal(s.createSnapshot(3, cs, data).metadata.term, 2); // the dummy entry's term
  });

  test("createSnapshot without a ConfState keeps the previous one; without data has no data", () => {
    const s = storage345();
    const got = s.createSnapshot(5, undefined, undefined);
    assert.equal(got.metadata.confState, cs);
    assert.equal(got.data, undefined);
    assert.ok(!("data" in got));
  });
});

describe("append", () => {
  const cases: { name: string; entries: Entry[]; want: [number, number][] }[] = [
    {
      name: "entirely compacted: ignored",
      entries: [ent(1, 1), ent(2, 2)],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
    {
      name: "the same entries again",
      entries: [ent(3, 3), ent(4, 4), ent(5, 5)],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
    {
      name: "conflicting from 4",
      entries: [ent(3, 3), ent(4, 6), ent(5, 6)],
      want: [
        [3, 3],
        [4, 6],
        [5, 6],
      ],
    },
    {
      name: "the same plus one",
      entries: [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
        [6, 5],
      ],
    },
    {
      name: "compacted head dropped, existing tail cut, rest appended",
      entries: [ent(2, 3), ent(3, 3), ent(4, 5)],
      want: [
        [3, 3],
        [4, 5],
      ],
    },
    {
      name: "cut the tail and append",
      entries: [ent(4, 5)],
      want: [
        [3, 3],
        [4, 5],
      ],
    },
    {
      name: "direct append",
      entries: [ent(6, 5)],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
        [6, 5],
      ],
    },
    {
      name: "nothing",
      entries: [],
      want: [
        [3, 3],
        [4, 4],
        [5, 5],
      ],
    },
    // etcd replaces everything from entries[0].index on, even entries that agree.
    {
      name: "a shorter suffix that agrees still cuts what follows",
      entries: [ent(4, 4)],
      want: [
        [3, 3],
        [4, 4],
      ],
    },
  ];
  for (const { name, entries, want } of cases) {
    test(`append on [3 (dummy), 4, 5]: ${name}`, () => {
      const s = storage345();
      s.append(entries);
      assert.deepEqual(dump(s), want);
    });
  }

  test("a gap after lastIndex() is a plain Error naming the bounds, and changes nothing", () => {
    const s = storage345();
    assert.throws(() => s.append([ent(7, 5), ent(8, 5)]), isPlainError(/entry 7 leaves a gap after the last index 5 \(missing log entry\)/));
    assertStill345(s);
  });

  test("non-consecutive indexes are a plain Error, and change nothing", () => {
    const s = storage345();
    assert.throws(() => s.append([ent(4, 6), ent(6, 6)]), isPlainError(/entries are not contiguous \(4 then 6\)/));
    assert.throws(() => s.append([ent(5, 6), ent(5, 6)]), isPlainError(/entries are not contiguous \(5 then 5\)/));
    assertStill345(s);
  });

  test("an entry type that is not an integer in [0, 127] is a plain Error, and changes nothing", () => {
    for (const type of [128, -1, 1.5, Number.NaN]) {
      const s = storage345();
      const bad = { term: 6, index: 6, type: type as EntryType };
      assert.throws(() => s.append([ent(6, 6), bad].slice(1)), isPlainError(/has type .*want an integer in \[0, 127\]/), String(type));
      assert.throws(() => s.append([ent(5, 6), { ...bad }]), isPlainError(/entry 1 has type/), String(type));
      assert.deepEqual(dump(s), [
        [3, 3],
        [4, 4],
        [5, 5],
      ]);
    }
  });

  test("keeps the caller's Entry objects of the recent entries, not the caller's array", () => {
    const s = new MemoryStorage();
    const batch = [ent(1, 1, data), ent(2, 1)];
    s.append(batch);
    const first = batch[0];
    batch.length = 0;
    batch.push(ent(9, 9));
    const got = s.entries(1, 3, Infinity);
    assert.equal(got.length, 2);
    assert.equal(got[0], first);
    assert.equal(got[0]!.data, data);
  });

  test("older entries come back as equal fresh objects whose data are views that never change", () => {
    const s = new MemoryStorage();
    const n = 5000; // past the recent tail (TAIL_ENTRIES) and over a run boundary (RUN_ENTRIES)
    const ents: Entry[] = [];
    for (let i = 1; i <= n; i++) ents.push(ent(i, 1, Uint8Array.of(i & 0xff, i >> 8)));
    // In appends of 100: the tail keeps the last 4 appends whole, so one append of 5000 would stay in it.
    for (let k = 0; k < n; k += 100) s.append(ents.slice(k, k + 100));
    const old = s.entries(1, n + 1, Infinity);
    assert.deepStrictEqual(old, ents);
    assert.notEqual(old[0], ents[0], "not the caller's object: rebuilt from the columns");
    // overwrite from the middle of the first run, then compact past it: the views still read the same
    s.append([ent(100, 2, Uint8Array.of(7, 7))]);
    s.compact(99);
    assert.deepStrictEqual(old, ents);
    assert.deepStrictEqual(s.entries(100, 101, Infinity), [ent(100, 2, Uint8Array.of(7, 7))]);
  });

  test("a million entries in batches of 64", () => {
    const s = new MemoryStorage();
    const n = 1_000_000;
    const payload = new Uint8Array(128);
    for (let i = 1; i <= n; i += 64) {
      const batch: Entry[] = [];
      for (let k = i; k < i + 64 && k <= n; k++) batch.push(ent(k, 1, payload));
      s.append(batch);
    }
    assert.equal(s.lastIndex(), n);
    assert.equal(s.term(n), 1);
    assert.equal(s.entries(n - 9, n + 1, Infinity).length, 10);
  });
});

describe("applySnapshot", () => {
  test("a newer snapshot replaces everything; an older or equal one throws SnapOutOfDateError", () => {
    const s = new MemoryStorage();
    s.applySnapshot(snap(4, 4));
    assert.deepEqual(dump(s), [[4, 4]]);
    assert.throws(() => s.applySnapshot(snap(3, 3)), SnapOutOfDateError);
    assert.throws(() => s.applySnapshot(snap(4, 4)), SnapOutOfDateError);
    assert.equal(s.snapshot().metadata.index, 4);
  });

  test("a fresh storage refuses a snapshot at index 0", () => {
    assert.throws(() => new MemoryStorage().applySnapshot(snap(0, 0)), SnapOutOfDateError);
  });

  test("the log is dropped even where it extends past the snapshot", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2)]);
    const sn = snap(2, 1);
    s.applySnapshot(sn);
    assert.equal(s.snapshot(), sn);
    assert.deepEqual(dump(s), [[2, 1]]);
    assert.throws(() => s.term(3), UnavailableError);
    assert.equal(s.initialState().confState, cs);
  });

  test("as in etcd, a snapshot newer than the last one but below a later compaction is applied", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1), ent(2, 1), ent(3, 2), ent(4, 2), ent(5, 2)]);
    s.createSnapshot(2, cs, data);
    s.compact(4);
    s.applySnapshot(snap(3, 2));
    assert.deepEqual(dump(s), [[3, 2]]);
  });
});

describe("reads", () => {
  test("entries() with hi past lastIndex() + 1, or lo > hi, is a plain Error naming the bounds", () => {
    const s = storage345();
    assert.throws(() => s.entries(4, 7, Infinity), isPlainError(/\[4, 7\) out of bound \[4, 6\)/));
    assert.throws(() => s.entries(5, 4, Infinity), isPlainError(/\[5, 4\) out of bound/));
  });

  test("entries() returns a fresh array each time", () => {
    const s = storage345();
    const a = s.entries(4, 6, Infinity);
    a.pop();
    a.push(ent(99, 99));
    assertStill345(s);
    assert.notEqual(s.entries(4, 6, Infinity), s.entries(4, 6, Infinity));
  });

  test("typed errors name the index", () => {
    const s = storage345();
    assert.throws(
      () => s.term(2),
      (e: unknown) => e instanceof CompactedError && e.code === "TSRAFT_COMPACTED" && /2/.test(e.message),
    );
    assert.throws(
      () => s.term(6),
      (e: unknown) => e instanceof UnavailableError && e.code === "TSRAFT_UNAVAILABLE" && /6/.test(e.message),
    );
  });

  test("setHardState copies; initialState returns copies of it", () => {
    const s = new MemoryStorage();
    const hs = { term: 2, vote: 3n, commit: 1 };
    s.setHardState(hs);
    hs.term = 9;
    const got = s.initialState().hardState;
    assert.deepEqual(got, { term: 2, vote: 3n, commit: 1 });
    got.commit = 7;
    assert.equal(s.initialState().hardState.commit, 1);
  });
});
