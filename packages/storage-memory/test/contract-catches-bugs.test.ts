// The contract suite is only worth running if it fails on broken storages: each row below is
// MemoryStorage with one plausible bug, and the suite must report at least one failing case.
// The same for the writable part of the contract, further down.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ConfState, Entry, HardState, Snapshot } from "@tsraft/raftpb";
import { storageContractCases, writableStorageContractCases } from "@tsraft/raft/testing";
import type { StorageFactory, WritableStorageFactory } from "@tsraft/raft/testing";
import { CompactedError, SnapOutOfDateError, UnavailableError, type InitialState } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";

function factory(Cls: typeof MemoryStorage): StorageFactory & WritableStorageFactory {
  return ({ snapshot, entries, hardState }) => {
    const s = new Cls();
    if (snapshot !== undefined) s.applySnapshot(snapshot);
    s.append(entries);
    if (hardState !== undefined) s.setHardState(hardState);
    return s;
  };
}

const bugs: { name: string; Cls: typeof MemoryStorage }[] = [
  {
    name: "entries() ignores maxSize",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number): Entry[] {
        return super.entries(lo, hi, Infinity);
      }
    },
  },
  {
    name: "entries() returns nothing when the first entry is over maxSize",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        const got = super.entries(lo, hi, max);
        return got.length === 1 && max < 10 ? [] : got;
      }
    },
  },
  {
    name: "entries() stops one entry early when the total is exactly maxSize",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        const got = super.entries(lo, hi, max);
        return got.length > 1 && got.length < hi - lo ? got.slice(0, -1) : got;
      }
    },
  },
  {
    name: "entries() past the end returns what exists instead of throwing",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        return super.entries(lo, Math.min(hi, this.lastIndex() + 1), max);
      }
    },
  },
  {
    name: "entries() past the end throws UnavailableError (a state of the log, not a caller bug)",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        if (hi > this.lastIndex() + 1) throw new UnavailableError(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
        return super.entries(lo, hi, max);
      }
    },
  },
  {
    name: "entries() with lo > hi returns nothing instead of throwing",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        return lo > hi && lo > this.firstIndex() - 1 ? [] : super.entries(lo, hi, max);
      }
    },
  },
  {
    name: "entries() rounds a non-integer index",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        return super.entries(Math.floor(lo), Math.floor(hi), max);
      }
    },
  },
  {
    name: "entries() does not check maxSize (NaN reads as no limit, a negative or fractional one as a limit)",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        return super.entries(
          lo,
          hi,
          max >= 0 && (Number.isInteger(max) || max === Infinity) ? max : Number.isNaN(max) ? Infinity : Math.max(0, Math.floor(max)),
        );
      }
    },
  },
  {
    name: "term() of a negative index throws CompactedError (a caller bug read as a state of the log)",
    Cls: class extends MemoryStorage {
      override term(i: number): number {
        if (Number.isInteger(i) && i < 0) throw new CompactedError(`requested index ${i} is unavailable due to compaction`);
        return super.term(i);
      }
    },
  },
  {
    name: "entries() with a negative lo throws CompactedError (a caller bug read as a state of the log)",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        if (Number.isInteger(lo) && lo < 0) throw new CompactedError(`requested index ${lo} is unavailable due to compaction`);
        return super.entries(lo, hi, max);
      }
    },
  },
  {
    name: "term() rounds a non-integer index",
    Cls: class extends MemoryStorage {
      override term(i: number): number {
        return super.term(Math.floor(i));
      }
    },
  },
  {
    name: "entries() serves the dummy entry",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        if (lo === this.firstIndex() - 1 && lo > 0 && hi > lo) {
          return [{ term: this.term(lo), index: lo, type: 0 }, ...super.entries(lo + 1, hi, max)];
        }
        return super.entries(lo, hi, max);
      }
    },
  },
  {
    name: "term() of a compacted index is 0 instead of CompactedError",
    Cls: class extends MemoryStorage {
      override term(i: number): number {
        return i < this.firstIndex() - 1 ? 0 : super.term(i);
      }
    },
  },
  {
    name: "term() past the end is 0 instead of UnavailableError",
    Cls: class extends MemoryStorage {
      override term(i: number): number {
        return i > this.lastIndex() ? 0 : super.term(i);
      }
    },
  },
  {
    name: "term() loses the dummy entry's term",
    Cls: class extends MemoryStorage {
      override term(i: number): number {
        return i === this.firstIndex() - 1 ? 0 : super.term(i);
      }
    },
  },
  {
    name: "firstIndex() is the snapshot index",
    Cls: class extends MemoryStorage {
      override firstIndex(): number {
        return super.firstIndex() - 1;
      }
    },
  },
  {
    name: "absent entry data comes back empty",
    Cls: class extends MemoryStorage {
      override entries(lo: number, hi: number, max: number): Entry[] {
        return super.entries(lo, hi, max).map((e) => (e.data === undefined ? { ...e, data: new Uint8Array(0) } : e));
      }
    },
  },
  {
    name: "terms are stored as 32-bit integers",
    Cls: class extends MemoryStorage {
      override term(i: number): number {
        return super.term(i) | 0;
      }
    },
  },
  {
    name: "the vote loses its high bits",
    Cls: class extends MemoryStorage {
      override setHardState(st: HardState): void {
        super.setHardState({ ...st, vote: BigInt(Number(st.vote) | 0) });
      }
    },
  },
  {
    name: "initialState() forgets learners",
    Cls: class extends MemoryStorage {
      override initialState(): InitialState {
        const st = super.initialState();
        return { ...st, confState: { ...st.confState, learners: [] } };
      }
    },
  },
];

for (const { name, Cls } of bugs) {
  test(`the storage contract catches: ${name}`, async () => {
    const failed: string[] = [];
    for (const c of storageContractCases(factory(Cls))) {
      try {
        await c.run();
      } catch {
        failed.push(c.name);
      }
    }
    assert.ok(failed.length > 0, "no contract case failed");
  });
}

test("the storage contract passes on MemoryStorage itself (the control)", async () => {
  for (const c of storageContractCases(factory(MemoryStorage))) await c.run();
});

// The writable part of the contract (compact, createSnapshot, applySnapshot, append): each row
// below is MemoryStorage with one plausible bug in a write, and the suite must fail on it.
const writeBugs: { name: string; Cls: typeof MemoryStorage }[] = [
  {
    name: "compact() past the last index is ignored",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        if (i > this.lastIndex()) return;
        super.compact(i);
      }
    },
  },
  {
    name: "compact() past the last index compacts everything there is",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        super.compact(Number.isInteger(i) ? Math.min(i, this.lastIndex()) : i);
      }
    },
  },
  {
    name: "compact() past the last index throws UnavailableError (a state of the log, not a caller bug)",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        if (i > this.lastIndex()) throw new UnavailableError(`compact ${i} is out of bound lastindex(${this.lastIndex()})`);
        super.compact(i);
      }
    },
  },
  {
    name: "compact() past the last index compacts to the last index, then throws",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        if (i > this.lastIndex() && Number.isInteger(i)) super.compact(this.lastIndex());
        super.compact(i);
      }
    },
  },
  {
    name: "compact() at firstIndex() - 1 is a silent no-op",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        if (i === this.firstIndex() - 1) return;
        super.compact(i);
      }
    },
  },
  {
    name: "compact() rounds a non-integer index",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        super.compact(Math.floor(i));
      }
    },
  },
  {
    name: "compact(i) keeps entry i readable (compacts to i - 1: off by one)",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        super.compact(i - 1 > this.firstIndex() - 1 ? i - 1 : i);
      }
    },
  },
  {
    name: "compact() below firstIndex() - 1 is a silent no-op",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        if (Number.isInteger(i) && i >= 0 && i < this.firstIndex() - 1) return;
        super.compact(i);
      }
    },
  },
  {
    name: "compact() reads NaN and negative indexes as compacted (CompactedError)",
    Cls: class extends MemoryStorage {
      override compact(i: number): void {
        if (Number.isNaN(i) || i < 0) throw new CompactedError(`requested index ${i} is unavailable due to compaction`);
        super.compact(i);
      }
    },
  },
  {
    name: "createSnapshot() older than the current snapshot returns the current one",
    Cls: class extends MemoryStorage {
      override createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array | undefined): Snapshot {
        return i <= this.snapshot().metadata.index ? this.snapshot() : super.createSnapshot(i, cs, data);
      }
    },
  },
  {
    name: "createSnapshot() past the last index snapshots the last index",
    Cls: class extends MemoryStorage {
      override createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array | undefined): Snapshot {
        return super.createSnapshot(Number.isInteger(i) ? Math.min(i, this.lastIndex()) : i, cs, data);
      }
    },
  },
  {
    name: "createSnapshot() also compacts",
    Cls: class extends MemoryStorage {
      override createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array | undefined): Snapshot {
        const s = super.createSnapshot(i, cs, data);
        if (i > this.firstIndex() - 1) this.compact(i);
        return s;
      }
    },
  },
  {
    name: "createSnapshot() of a compacted index throws SnapOutOfDateError (the index is newer than the snapshot)",
    Cls: class extends MemoryStorage {
      override createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array | undefined): Snapshot {
        if (i < this.firstIndex() - 1) throw new SnapOutOfDateError(`requested index ${i} is older than the existing snapshot`);
        return super.createSnapshot(i, cs, data);
      }
    },
  },
  {
    name: "createSnapshot() reads a non-integer index as out of date (SnapOutOfDateError)",
    Cls: class extends MemoryStorage {
      override createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array | undefined): Snapshot {
        if (!Number.isInteger(i)) throw new SnapOutOfDateError(`requested index ${i} is older than the existing snapshot`);
        return super.createSnapshot(i, cs, data);
      }
    },
  },
  {
    name: "applySnapshot() of an older snapshot is ignored",
    Cls: class extends MemoryStorage {
      override applySnapshot(snap: Snapshot): void {
        if (snap.metadata.index <= this.snapshot().metadata.index) return;
        super.applySnapshot(snap);
      }
    },
  },
  {
    name: "applySnapshot() keeps the entries after the snapshot's index",
    Cls: class extends MemoryStorage {
      override applySnapshot(snap: Snapshot): void {
        const i = snap.metadata.index;
        const kept = i >= this.firstIndex() && i < this.lastIndex() ? this.entries(i + 1, this.lastIndex() + 1, Infinity) : [];
        super.applySnapshot(snap);
        this.append(kept);
      }
    },
  },
  {
    name: "applySnapshot() loses the snapshot's term",
    Cls: class extends MemoryStorage {
      override applySnapshot(snap: Snapshot): void {
        super.applySnapshot({ ...snap, metadata: { ...snap.metadata, term: 0 } });
      }
    },
  },
  {
    name: "append() swallows its refusals (bad entries are silently dropped)",
    Cls: class extends MemoryStorage {
      override append(entries: readonly Entry[]): void {
        try {
          super.append(entries);
        } catch {
          // the old MemoryStorage took most of these without a word
        }
      }
    },
  },
  {
    name: "append() writes the valid head of a refused batch, then throws",
    Cls: class extends MemoryStorage {
      override append(entries: readonly Entry[]): void {
        try {
          super.append(entries);
        } catch (e) {
          for (let k = entries.length - 1; k > 0; k--) {
            try {
              super.append(entries.slice(0, k));
              break;
            } catch {
              // a shorter head
            }
          }
          throw e;
        }
      }
    },
  },
  {
    name: "append() refuses with a message that names nothing",
    Cls: class extends MemoryStorage {
      override append(entries: readonly Entry[]): void {
        try {
          super.append(entries);
        } catch {
          throw new Error("storage-memory: append: bad entries");
        }
      }
    },
  },
  {
    name: "append() never replaces a suffix (only appends after the last index)",
    Cls: class extends MemoryStorage {
      override append(entries: readonly Entry[]): void {
        const last = this.lastIndex();
        super.append(entries.filter((e) => !(e.index <= last)));
      }
    },
  },
  {
    name: "append() drops the batch's last entry",
    Cls: class extends MemoryStorage {
      override append(entries: readonly Entry[]): void {
        super.append(entries.length > 1 ? entries.slice(0, -1) : entries);
      }
    },
  },
  {
    name: "append([]) reads entries[0] (a TypeError)",
    Cls: class extends MemoryStorage {
      override append(entries: readonly Entry[]): void {
        if (entries.length === 0) throw new TypeError("Cannot read properties of undefined (reading 'index')");
        super.append(entries);
      }
    },
  },
  {
    name: "append() of an entirely compacted batch throws CompactedError",
    Cls: class extends MemoryStorage {
      override append(entries: readonly Entry[]): void {
        const e = entries[entries.length - 1];
        if (e !== undefined && e.index > 0 && e.index < this.firstIndex()) throw new CompactedError(`entry ${e.index} is compacted`);
        super.append(entries);
      }
    },
  },
];

/** The names of the writable cases that fail on `Cls`. */
async function failingWritableCases(Cls: typeof MemoryStorage): Promise<string[]> {
  const failed: string[] = [];
  for (const c of writableStorageContractCases(factory(Cls))) {
    try {
      await c.run();
    } catch {
      failed.push(c.name);
    }
  }
  return failed;
}

for (const { name, Cls } of writeBugs) {
  test(`the writable storage contract catches: ${name}`, async () => {
    assert.ok((await failingWritableCases(Cls)).length > 0, "no contract case failed");
  });
}

test("every row of the writable storage contract fails on at least one of these bugs (no row that cannot fail)", async () => {
  const killed = new Set<string>();
  for (const { Cls } of writeBugs) for (const n of await failingWritableCases(Cls)) killed.add(n);
  const survivors = writableStorageContractCases(factory(MemoryStorage))
    .map((c) => c.name)
    .filter((n) => !killed.has(n));
  assert.deepEqual(survivors, []);
});

test("the writable storage contract passes on MemoryStorage itself (the control)", async () => {
  for (const c of writableStorageContractCases(factory(MemoryStorage))) await c.run();
});
