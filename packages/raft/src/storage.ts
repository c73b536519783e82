/**
 * The Storage interface: how raft reads the stable part of the log.
 * @module
 */
import type { ConfState, Entry, HardState, Snapshot } from "@tsraft/raftpb";

/** What a Storage holds at startup. */
export interface InitialState {
  hardState: HardState;
  confState: ConfState;
}

/**
 * The stable storage raft reads from. The application writes to it (persisting what `Ready`
 * hands out) and raft only reads. Semantics follow etcd's `raft.Storage`:
 *
 * - The log holds entries `[firstIndex(), lastIndex()]`, and the term of `firstIndex() - 1`
 *   (the index of the last snapshot, or 0) is still known to `term()`.
 * - Indexes are integers >= 0 (etcd's are `uint64`; 0 is a fresh log's dummy entry).
 * - `term(i)` throws {@link CompactedError} below `firstIndex() - 1` and
 *   {@link UnavailableError} past `lastIndex()`; `entries(lo, hi)` throws `CompactedError`
 *   when `lo <= firstIndex() - 1`. Raft reads these as states of the log.
 * - A call outside the contract (`entries` with `hi > lastIndex() + 1` or `lo > hi`, an index
 *   that is not an integer >= 0, a `maxSize` that is not an integer >= 0 nor `Infinity`)
 *   throws a plain `Error` naming the bounds, never a `RaftError` and never wrong data
 *   (DESIGN.md; etcd's MemoryStorage panics). Raft never makes one: its log checks bounds
 *   against `firstIndex()` (>= 1) before asking, so it never passes a negative index.
 * - `snapshot()` may throw {@link SnapshotTemporarilyUnavailableError}; raft retries later.
 *
 * `storageContractCases` in `@tsraft/raft/testing` holds an implementation to all of this.
 *
 * Ownership: arrays and entries returned belong to raft until the next call that changes the
 * storage; raft does not mutate them, and the storage must not mutate them either once handed
 * out (append replaces, it does not edit in place).
 */
export interface Storage {
  /** The HardState and ConfState saved, for restarts. */
  initialState(): InitialState;
  /**
   * Entries in `[lo, hi)`, stopping once their total `entrySize` would exceed `maxSize`, but
   * always at least one entry when `lo < hi`; `lo === hi` (up to `lastIndex() + 1`) gives none.
   * `maxSize` is a byte count: an integer >= 0 (etcd's `uint64`), or `Infinity` for no limit.
   * Raft asks only for `firstIndex() <= lo <= hi <= lastIndex() + 1`, with a `maxSize` that is
   * a safe integer >= 0 (its configured limits, or `Number.MAX_SAFE_INTEGER` for none).
   * @throws {@link CompactedError} if `lo` is at or below the last snapshot index
   * (`lo < firstIndex()`).
   * @throws {@link UnavailableError} only if an entry inside `[firstIndex(), lastIndex()]`
   * cannot be produced (etcd's `ErrUnavailable`; raft panics: its log is broken). A storage may
   * throw its own error for a read that failed (I/O, damage; DiskStorage does, with a plain
   * `Error` for entries no longer in its files): raft treats that as a storage failure (README
   * "Storage errors": logged and the follower skipped on the send path, thrown out of
   * `ready()` elsewhere), not as a panic.
   * @throws `Error` (a caller bug, naming the bounds) if `lo` or `hi` is not an integer >= 0
   * (a negative `lo` is not "compacted": no entry ever had that index), or
   * `hi > lastIndex() + 1`, or `lo > hi` (and `lo` is not compacted).
   * @throws `Error` (a caller bug, naming `maxSize`) if `maxSize` is `NaN`, negative or not an
   * integer (and not `Infinity`), whatever `lo` and `hi` are: never read as a limit or as none.
   */
  entries(lo: number, hi: number, maxSize: number): readonly Entry[];
  /**
   * The term of entry `i`, for `i` in `[firstIndex() - 1, lastIndex()]`.
   * @throws {@link CompactedError} below that range (`0 <= i < firstIndex() - 1`),
   * {@link UnavailableError} above it.
   * @throws `Error` (a caller bug, naming `i`) if `i` is not an integer >= 0.
   */
  term(i: number): number;
  /** The index of the first entry that may be read (the last snapshot index + 1). */
  firstIndex(): number;
  /** The index of the last entry (the snapshot index if the log is empty). */
  lastIndex(): number;
  /**
   * The most recent snapshot.
   * @throws {@link SnapshotTemporarilyUnavailableError} if it is being built.
   */
  snapshot(): Snapshot;
}

/**
 * Whether `i` can be given to a {@link Storage} as a log index: a safe integer >= 0 (etcd's are
 * `uint64`; 0 is a fresh log's dummy entry). Anything else is a caller bug, which a storage
 * refuses with a plain `Error`: a negative index is not "compacted", a fraction is never rounded.
 */
export function isLogIndex(i: number): boolean {
  return Number.isSafeInteger(i) && i >= 0;
}

/**
 * Whether `n` can be the `maxSize` of {@link Storage.entries}: an integer >= 0 (etcd's `uint64`
 * byte count) or `Infinity` for no limit; not `NaN`, a negative or a fraction.
 */
export function isEntriesMaxSize(n: number): boolean {
  return n >= 0 && (Number.isInteger(n) || n === Infinity);
}
