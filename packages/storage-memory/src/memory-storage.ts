/**
 * MemoryStorage: the in-memory {@link Storage}, with etcd's `raft.MemoryStorage` semantics.
 *
 * The log is an {@link EntryStore}: entries in columns (terms and types in typed arrays, the
 * payloads copied into slabs, indexes implicit), about 13 bytes per entry plus the payload,
 * except the most recent entries, kept as the caller's own Entry objects. The "dummy" entry
 * at the snapshot (or compaction) index is two numbers, `#base` and `#baseTerm`.
 *
 * Costs: `term`, `firstIndex`, `lastIndex` O(1) (`term` O(log runs) far from the end);
 * `append` amortised O(batch) plus copying each payload once (when it leaves the recent
 * tail); `entries` O(returned), with an object and a view made per entry outside the recent
 * tail; `compact` O(runs released); `applySnapshot` O(1); `createSnapshot` O(1).
 * @module
 */
import { emptyConfState } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, NodeId, Snapshot } from "@tsraft/raftpb";
import { CompactedError, SnapOutOfDateError, UnavailableError, appendJoinProblem, entryRunProblem, isEntriesMaxSize, isLogIndex } from "@tsraft/raft";
import type { InitialState, Storage } from "@tsraft/raft";
import { EntryStore } from "./entry-store.js";

/** The largest entry type the store can hold (raftpb's types are 0..2). */
const MAX_TYPE = 0x7f;

/**
 * An in-memory {@link Storage}: what a test, a simulation, or an application that keeps its
 * log in memory (and persists elsewhere) hands to raft.
 *
 * The application writes to it while processing a `Ready`: {@link MemoryStorage.append} the
 * entries, {@link MemoryStorage.setHardState} the hard state, {@link MemoryStorage.applySnapshot}
 * an incoming snapshot; later, {@link MemoryStorage.createSnapshot} and
 * {@link MemoryStorage.compact} to bound the log. Raft only reads.
 *
 * Semantics are etcd's: a dummy entry at the snapshot index keeps `term(firstIndex() - 1)`
 * readable; a fresh storage has `firstIndex() === 1`, `lastIndex() === 0`, `term(0) === 0`.
 *
 * Ownership: `append` keeps the Entry objects of the most recent entries (512 to 1,024) by
 * reference and copies the payloads of older ones into the storage's slabs; the snapshot, the ConfState and the
 * data given to `applySnapshot`/`createSnapshot` are kept by reference. The caller must not
 * mutate any of them afterwards. Everything returned (entries and their data, snapshots,
 * ConfStates) is shared with the storage and must not be mutated; the array returned by
 * `entries()` itself is fresh.
 *
 * Every method is synchronous; there is no locking (JavaScript runs them one at a time).
 */
export class MemoryStorage implements Storage {
  // The saved HardState, as its three fields: setHardState runs once per Ready that changes
  // it, and a copy per call cost an object (48 bytes) per Ready.
  #term = 0;
  #vote: NodeId = 0n;
  #commit = 0;
  #snapshot: Snapshot = { metadata: { confState: emptyConfState(), index: 0, term: 0 } };
  // Invariant: #store.firstIndex() === #base + 1. #base is the index of the dummy entry (the
  // index given to the last applySnapshot or compact, 0 at first) and #baseTerm its term; it is
  // unrelated to #snapshot.metadata.index otherwise (createSnapshot does not compact, and
  // compact may go past the snapshot).
  #store = new EntryStore(1);
  #base = 0;
  #baseTerm = 0;

  /** Creates an empty storage: no entries, an empty snapshot at index 0, a zero HardState. */
  constructor() {}

  /**
   * The saved HardState and the ConfState of the current snapshot. The HardState is a copy;
   * the ConfState is shared and must not be mutated.
   */
  initialState(): InitialState {
    return {
      hardState: { term: this.#term, vote: this.#vote, commit: this.#commit },
      confState: this.#snapshot.metadata.confState,
    };
  }

  /** Saves the current HardState (copied). */
  setHardState(st: HardState): void {
    this.#term = st.term;
    this.#vote = st.vote;
    this.#commit = st.commit;
  }

  /**
   * The entries in `[lo, hi)`, stopping before their total {@link entrySize} would exceed
   * `maxSize` but always at least one entry when `lo < hi`. `maxSize` is a byte count, an integer >= 0
   * (etcd's uint64), or `Infinity` for no limit.
   * `lo === hi` gives an empty array.
   *
   * The array is fresh (the caller may keep or change it); the Entry objects in it are the
   * storage's and must not be mutated.
   * @throws `Error` (a caller bug, naming the bounds) if `lo` or `hi` is not an integer >= 0.
   * @throws `Error` (a caller bug, naming `maxSize`) if `maxSize` is not an integer >= 0 nor
   * `Infinity` (`NaN`, negative, fractional).
   * @throws {@link CompactedError} if `lo <= firstIndex() - 1` (compacted, or the dummy entry).
   * @throws `Error` (a caller bug, naming the bounds) if `hi > lastIndex() + 1` or `lo > hi`.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const base = this.#base;
    const last = this.lastIndex();
    if (!isLogIndex(lo) || !isLogIndex(hi)) {
      throw new Error(`storage-memory: entries [${lo}, ${hi}): indexes must be integers >= 0 (log [${base + 1}, ${last + 1}))`);
    }
    if (!isEntriesMaxSize(maxSize)) {
      throw new Error(`storage-memory: entries [${lo}, ${hi}): maxSize ${maxSize} must be an integer >= 0 or Infinity`);
    }
    if (lo <= base) {
      throw new CompactedError(`requested index ${lo} is unavailable due to compaction (first index ${base + 1})`);
    }
    if (hi > last + 1 || lo > hi) {
      throw new Error(`storage-memory: entries [${lo}, ${hi}) out of bound [${base + 1}, ${last + 1})`);
    }
    return this.#store.slice(lo, hi, maxSize);
  }

  /**
   * The term of entry `i`, for `i` in `[firstIndex() - 1, lastIndex()]`.
   * @throws `Error` (a caller bug, naming `i`) if `i` is not an integer >= 0.
   * @throws {@link CompactedError} if `i < firstIndex() - 1`.
   * @throws {@link UnavailableError} if `i > lastIndex()`.
   */
  term(i: number): number {
    const base = this.#base;
    if (!isLogIndex(i)) throw new Error(`storage-memory: term(${i}): the index must be an integer >= 0 (log [${base}, ${this.lastIndex()}])`);
    if (i < base) {
      throw new CompactedError(`requested index ${i} is unavailable due to compaction (first index ${base + 1})`);
    }
    if (i === base) return this.#baseTerm;
    if (i > this.#store.lastIndex()) {
      throw new UnavailableError(`requested entry at index ${i} is unavailable (last index ${this.lastIndex()})`);
    }
    return this.#store.term(i);
  }

  /** The first index that `entries()` may return: the snapshot (or compaction) index + 1. */
  firstIndex(): number {
    return this.#base + 1;
  }

  /** The index of the last entry; `firstIndex() - 1` when the log holds no entry. */
  lastIndex(): number {
    return this.#store.lastIndex();
  }

  /** The most recent snapshot (shared: do not mutate). */
  snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * Replaces the whole content of the storage with `snap`: the log becomes empty, with its
   * dummy entry at the snapshot's index and term. The snapshot is kept by reference.
   * @throws {@link SnapOutOfDateError} if `snap` is not newer than the current snapshot.
   */
  applySnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    if (index <= this.#snapshot.metadata.index) {
      throw new SnapOutOfDateError(`requested index ${index} is older than the existing snapshot (index ${this.#snapshot.metadata.index})`);
    }
    this.#snapshot = snap;
    this.#store = new EntryStore(index + 1);
    this.#base = index;
    this.#baseTerm = term;
  }

  /**
   * Makes (and returns) a snapshot at index `i` with the term of entry `i`, the given data,
   * and `cs` as its ConfState (or the previous snapshot's ConfState when `cs` is undefined;
   * pass the result of the last `applyConfChange` if the membership changed since). The log is
   * left as it is: call {@link MemoryStorage.compact} to discard entries.
   * @throws `Error` (a caller bug, naming `i`) if `i` is not an integer >= 0.
   * @throws {@link SnapOutOfDateError} if `i <= snapshot().metadata.index`.
   * @throws `Error` (a caller bug, naming `i` and the last index) if `i > lastIndex()`.
   * @throws {@link CompactedError} if `i < firstIndex() - 1` (compacted beyond the snapshot,
   * so the term of `i` is gone).
   */
  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array | undefined): Snapshot {
    if (!isLogIndex(i)) throw new Error(`storage-memory: createSnapshot(${i}): the index must be an integer >= 0 (log [${this.#base}, ${this.lastIndex()}])`);
    const prev = this.#snapshot;
    if (i <= prev.metadata.index) {
      throw new SnapOutOfDateError(`requested index ${i} is older than the existing snapshot (index ${prev.metadata.index})`);
    }
    const last = this.lastIndex();
    if (i > last) {
      throw new Error(`storage-memory: snapshot index ${i} is out of bound lastIndex ${last}`);
    }
    const term = this.term(i); // CompactedError below the dummy entry
    const metadata = { confState: cs ?? prev.metadata.confState, index: i, term };
    const snap: Snapshot = data === undefined ? { metadata } : { data, metadata };
    this.#snapshot = snap;
    return snap;
  }

  /**
   * Discards the entries before `compactIndex`; entry `compactIndex` becomes the dummy entry,
   * so `firstIndex()` becomes `compactIndex + 1`. The application must not compact past its
   * applied index.
   * @throws `Error` (a caller bug, naming the index) if `compactIndex` is not an integer >= 0.
   * @throws {@link CompactedError} if `compactIndex <= firstIndex() - 1` (already compacted).
   * @throws `Error` (a caller bug, naming the index and the last index) if
   * `compactIndex > lastIndex()`.
   */
  compact(compactIndex: number): void {
    const base = this.#base;
    if (!isLogIndex(compactIndex)) {
      throw new Error(`storage-memory: compact(${compactIndex}): the index must be an integer >= 0 (log [${base}, ${this.lastIndex()}])`);
    }
    if (compactIndex <= base) {
      throw new CompactedError(`requested index ${compactIndex} is unavailable due to compaction (first index ${base + 1})`);
    }
    const last = this.lastIndex();
    if (compactIndex > last) {
      throw new Error(`storage-memory: compact index ${compactIndex} is out of bound lastIndex ${last}`);
    }
    this.#baseTerm = this.term(compactIndex);
    this.#base = compactIndex;
    this.#store.compactTo(compactIndex + 1);
  }

  /**
   * Appends `entries`, a run of consecutive indexes whose terms never decrease. Everything from
   * `entries[0].index` on is replaced (a conflicting suffix is cut first, as etcd does), and the
   * part of `entries` at or below `firstIndex() - 1` (already compacted) is ignored. The Entry
   * objects are kept by reference only for the most recent entries; the payloads are copied.
   * @throws `Error` (a caller bug, naming the entries; `@tsraft/raft`'s `entryRunProblem` and
   * `appendJoinProblem`, which the WAL applies too) if an index or term is not an integer >= 1,
   * the indexes are not consecutive, a term is below the one before it (in the batch, or the
   * term of the entry the batch follows), the entries would leave a gap after `lastIndex()`, or
   * a type is not an integer in [0, 127]. The whole batch is checked, compacted part included,
   * before anything changes: the storage is unchanged when it throws.
   */
  append(entries: readonly Entry[]): void {
    const n = entries.length;
    if (n === 0) return;
    for (let k = 0; k < n; k++) {
      const t = entries[k]!.type as number;
      if ((t & MAX_TYPE) !== t) {
        // (true for anything but an integer in [0, MAX_TYPE]: NaN, fractions, negatives, >= 128)
        throw new Error(`storage-memory: append: entry ${k} has type ${String(t)}, want an integer in [0, ${MAX_TYPE}]`);
      }
    }
    const run = entryRunProblem(entries);
    if (run !== undefined) throw new Error(`storage-memory: append: ${run}`);
    const lo = entries[0]!.index;
    const first = this.#base + 1;
    if (lo + n - 1 < first) return; // all compacted already
    const from = lo < first ? first - lo : 0; // skip the compacted head
    const at = lo + from;
    const last = this.lastIndex();
    const join = appendJoinProblem(entries[from]!, last, at <= last + 1 ? this.term(at - 1) : 0);
    if (join !== undefined) throw new Error(`storage-memory: append: ${join}`);
    this.#store.append(entries, from);
  }
}
