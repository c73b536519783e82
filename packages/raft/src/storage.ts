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

/**
 * Why `entries` cannot be written to a log as one batch, or `undefined` when they can (an empty
 * batch can): each index and term must be a safe integer >= 1 (index 0 is a fresh log's dummy
 * entry, never an entry; term 0 is no leader's), the indexes consecutive, and the terms never
 * decreasing (a log's terms never go down: each leader appends at its own term, which is above
 * every earlier leader's, Raft §5.3). The message names the entries (prefix it with the storage
 * and the call). How the batch must meet the log is {@link appendJoinProblem}'s.
 *
 * MemoryStorage's `append` and the WAL's `save` (so DiskStorage's) refuse what this describes,
 * before changing anything: the WAL's reader refuses such entries as corruption, so a WAL that
 * took them could not be opened again.
 */
export function entryRunProblem(entries: readonly Entry[]): string | undefined {
  const k = badEntryAt(entries);
  return k < 0 ? undefined : describeBadEntry(entries, k);
}

/**
 * Why a batch whose first kept entry is `e` cannot be appended to a log whose last index is
 * `lastIndex`, or `undefined` when it can: `e` must not leave a gap after the last index (etcd:
 * "missing log entry"), and its term must not be below `termBefore`, the term of entry
 * `e.index - 1` (read only when there is no gap; pass anything otherwise).
 */
export function appendJoinProblem(e: Entry, lastIndex: number, termBefore: number): string | undefined {
  if (e.index > lastIndex + 1) return `entry ${e.index} leaves a gap after the last index ${lastIndex} (missing log entry)`;
  if (e.term < termBefore) {
    return `entry ${e.index} has term ${e.term}, below the term ${termBefore} of entry ${e.index - 1} before it (terms never decrease along a log)`;
  }
  return undefined;
}

/**
 * The position of the first entry that breaks the run (see {@link entryRunProblem}), or -1.
 * No message is built here: with template literals in this loop V8 converted numbers to
 * strings on every iteration, taken or not (the WAL's README, "Figures").
 */
function badEntryAt(entries: readonly Entry[]): number {
  let prevIndex = 0;
  let prevTerm = 0;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    const index = e.index;
    const term = e.term;
    if (!Number.isSafeInteger(index) || index < 1 || !Number.isSafeInteger(term) || term < 1) return k;
    if (k > 0 && (index !== prevIndex + 1 || term < prevTerm)) return k;
    prevIndex = index;
    prevTerm = term;
  }
  return -1;
}

function describeBadEntry(entries: readonly Entry[], k: number): string {
  const e = entries[k]!;
  if (!Number.isSafeInteger(e.index) || e.index < 1 || !Number.isSafeInteger(e.term) || e.term < 1) {
    return `entry index ${e.index} term ${e.term}: both must be integers >= 1`;
  }
  const prev = entries[k - 1]!;
  if (e.index !== prev.index + 1) return `entries are not contiguous (${prev.index} then ${e.index})`;
  return `entry ${e.index} has term ${e.term}, below the term ${prev.term} of entry ${prev.index} before it (terms never decrease along a log)`;
}
