// The contract suite is only worth running if it fails on broken storages: each row below is
// MemoryStorage with one plausible bug, and the suite must report at least one failing case.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Entry, HardState } from "@tsraft/raftpb";
import { storageContractCases } from "@tsraft/raft/testing";
import type { StorageFactory } from "@tsraft/raft/testing";
import { CompactedError, UnavailableError, type InitialState } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";

function factory(Cls: typeof MemoryStorage): StorageFactory {
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
