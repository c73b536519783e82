// Runs the Storage contract suite of @tsraft/raft/testing against MemoryStorage, twice: once
// with the content loaded the way a restart would (applySnapshot, append, setHardState), once
// reached through the log (append a prefix, createSnapshot, compact), which exercises the
// compaction and rebase paths instead.
import { describe, test } from "node:test";
import { EntryType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { storageContractCases, writableStorageContractCases } from "@tsraft/raft/testing";
import type { StorageFactory, WritableStorageFactory } from "@tsraft/raft/testing";
import { MemoryStorage } from "@tsraft/storage-memory";

const loaded: StorageFactory & WritableStorageFactory = ({ snapshot, entries, hardState }) => {
  const s = new MemoryStorage();
  if (snapshot !== undefined) s.applySnapshot(snapshot);
  s.append(entries);
  if (hardState !== undefined) s.setHardState(hardState);
  return s;
};

/** Long enough for compact() to rebase its array (it does so past 16 dead slots). */
const PREFIX = 40;

const compacted: StorageFactory = ({ snapshot, entries, hardState }) => {
  const s = new MemoryStorage();
  if (snapshot !== undefined) {
    const { index, term, confState } = snapshot.metadata;
    const n = Math.min(index, PREFIX);
    const from = index - n; // the log before `index` starts with a snapshot at `from`, if any
    if (from > 0) s.applySnapshot({ metadata: { confState, index: from, term } });
    const prefix: Entry[] = [];
    for (let i = from + 1; i <= index; i++) prefix.push({ term, index: i, type: EntryType.EntryNormal, data: new Uint8Array(8) });
    s.append(prefix);
    s.append(entries);
    s.createSnapshot(index, confState, snapshot.data);
    s.compact(index);
  } else {
    s.append(entries);
  }
  if (hardState !== undefined) s.setHardState(hardState);
  return s;
};

for (const [label, make] of [
  ["loaded with applySnapshot + append", loaded],
  ["reached by append + createSnapshot + compact", compacted],
] as const) {
  describe(`storage contract: MemoryStorage ${label}`, () => {
    for (const c of storageContractCases(make)) test(c.name, () => c.run());
  });
}

describe("writable storage contract: MemoryStorage (append, compact, createSnapshot, applySnapshot)", () => {
  for (const c of writableStorageContractCases(loaded)) test(c.name, () => c.run());
});
