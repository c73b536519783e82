// What raft takes from the Storage at start is checked like a message from the network: a
// term or index beyond the bounds, or a commit index outside the stored log, is refused by
// `new RawNode()` with StorageStateError naming the value, instead of a crash later (a
// campaign at term + 1 that no codec can write) or a panic.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { EntryType, type ConfState, type HardState } from "@tsraft/raftpb";
import * as raft from "@tsraft/raft";
import { RawNode, type Storage } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";

/** The bounds, spelled out: 2^53-1 - 2^32. */
const MAX = Number.MAX_SAFE_INTEGER - 2 ** 32;
const cs: ConfState = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

/** A storage with a snapshot at `snapIndex` (term `snapTerm`), entries of `terms` after it, and `hs`. */
function storage(opts: { snapIndex?: number; snapTerm?: number; terms?: number[]; hs: HardState }): MemoryStorage {
  const s = new MemoryStorage();
  const snapIndex = opts.snapIndex ?? 0;
  if (snapIndex > 0) s.applySnapshot({ data: undefined, metadata: { index: snapIndex, term: opts.snapTerm ?? 1, confState: cs } });
  const terms = opts.terms ?? [];
  s.append(terms.map((term, i) => ({ index: snapIndex + 1 + i, term, type: EntryType.EntryNormal, data: undefined })));
  s.setHardState(opts.hs);
  return s;
}

/** The storage, with the ConfState of a one-voter cluster (which a fresh MemoryStorage does not have). */
function withConfState(s: Storage, override: Partial<Storage> = {}): Storage {
  return {
    initialState: () => ({ hardState: s.initialState().hardState, confState: cs }),
    entries: (lo, hi, max) => s.entries(lo, hi, max),
    term: (i) => s.term(i),
    firstIndex: () => s.firstIndex(),
    lastIndex: () => s.lastIndex(),
    snapshot: () => s.snapshot(),
    ...override,
  };
}

/** Persists and acknowledges every Ready of `node` into `s`. */
function drain(node: RawNode, s: MemoryStorage): void {
  while (node.hasReady()) {
    const rd = node.ready();
    s.append(rd.entries);
    if (rd.hardState !== undefined) s.setHardState(rd.hardState);
    node.advance(rd);
  }
}

const rows: Array<{ name: string; field: string; s: () => Storage }> = [
  { name: "a HardState term above MAX_TERM", field: "hardState.term", s: () => storage({ terms: [1], hs: { term: MAX + 1, vote: 0n, commit: 1 } }) },
  { name: "a HardState term of 2^53-1", field: "hardState.term", s: () => storage({ terms: [1], hs: { term: Number.MAX_SAFE_INTEGER, vote: 0n, commit: 1 } }) },
  { name: "a last entry of a term above MAX_TERM", field: "term(lastIndex)", s: () => storage({ terms: [1, MAX + 1], hs: { term: 1, vote: 0n, commit: 1 } }) },
  {
    name: "a snapshot of a term above MAX_TERM, no entries after it",
    field: "term(lastIndex)",
    s: () => storage({ snapIndex: 5, snapTerm: MAX + 1, hs: { term: 1, vote: 0n, commit: 5 } }),
  },
  {
    name: "a snapshot index above MAX_INDEX",
    field: "lastIndex",
    s: () => storage({ snapIndex: MAX + 1, snapTerm: 1, hs: { term: 1, vote: 0n, commit: MAX + 1 } }),
  },
  {
    name: "a first index beyond the last index + 1",
    field: "firstIndex",
    s: () => withConfState(storage({ terms: [1], hs: { term: 1, vote: 0n, commit: 1 } }), { firstIndex: () => 3 }),
  },
  { name: "a commit index beyond the last index", field: "hardState.commit", s: () => storage({ terms: [1, 1], hs: { term: 1, vote: 0n, commit: 3 } }) },
  {
    name: "a commit index below the snapshot index",
    field: "hardState.commit",
    s: () => storage({ snapIndex: 5, snapTerm: 1, terms: [1], hs: { term: 1, vote: 0n, commit: 4 } }),
  },
];

describe("new RawNode refuses a storage it cannot use", () => {
  for (const row of rows) {
    test(row.name, () => {
      assert.equal(typeof raft.StorageStateError, "function");
      assert.throws(
        () => new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: withConfState(row.s()) }),
        (err: unknown) => err instanceof raft.StorageStateError && err.field === row.field && err.code === "TSRAFT_STORAGE_STATE",
      );
    });
  }
});

test("a storage at the bounds is used; the node then does not campaign, and nothing throws", () => {
  const errors: string[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (s: string) => void errors.push(s) };
  const node = new RawNode({
    id: 1n,
    electionTick: 10,
    heartbeatTick: 1,
    logger,
    storage: withConfState(storage({ terms: [1, MAX], hs: { term: MAX, vote: 1n, commit: 2 } })),
  });
  node.campaign();
  for (let i = 0; i < 40; i++) node.tick();
  assert.equal(node.basicStatus().softState.raftState, "follower");
  assert.equal(node.basicStatus().hardState.term, MAX);
  assert.ok(
    errors.some((e) => e.includes(`cannot campaign at term ${MAX}`)),
    errors.join("; "),
  );
});

test("a log that ends at MAX_INDEX: the node does not campaign", () => {
  const errors: string[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (s: string) => void errors.push(s) };
  const s = storage({ snapIndex: MAX, snapTerm: 1, hs: { term: 1, vote: 0n, commit: MAX } });
  const node = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, logger, storage: withConfState(s) });
  node.campaign(); // a single voter: it would win, and append an entry at MAX + 1
  drain(node, s);
  assert.equal(node.basicStatus().softState.raftState, "follower");
  assert.equal(node.raft.raftLog.lastIndex(), MAX);
  assert.ok(
    errors.some((e) => e.includes(`with last index ${MAX}`)),
    errors.join("; "),
  );
});

test("a leader whose log would pass MAX_INDEX drops the proposal with ProposalDroppedError", () => {
  const s = storage({ snapIndex: MAX - 1, snapTerm: 1, hs: { term: 1, vote: 0n, commit: MAX - 1 } });
  const node = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: withConfState(s) });
  node.campaign(); // wins, and appends its empty entry at MAX
  drain(node, s);
  assert.equal(node.basicStatus().softState.raftState, "leader");
  assert.equal(node.raft.raftLog.lastIndex(), MAX);
  assert.throws(() => node.propose(new Uint8Array([1])), raft.ProposalDroppedError);
  assert.equal(node.raft.raftLog.lastIndex(), MAX);
});
