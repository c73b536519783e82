/**
 * The unstable part of the raft log: entries (and at most one snapshot) that raft has accepted
 * but the application has not yet reported as persisted.
 * @module
 */
import type { Entry, Snapshot } from "@tsraft/raftpb";
import { panic } from "./errors.js";
import type { Logger } from "./logger.js";
import { NO_ENTRIES } from "./util.js";

/**
 * Unstable log entries and an unstable snapshot.
 *
 * Invariant: `entries[i]` has index `offset + i`.
 * Invariant: if `snapshot` is set, `offset === snapshot.metadata.index + 1` or entries follow it.
 * Invariant: `offset <= offsetInProgress <= offset + entries.length`: entries below
 *   `offsetInProgress` were handed to the application in a Ready and are being written.
 * Invariant: when `entriesShared` is true, `entries` itself was handed out (by
 *   {@link Unstable.nextEntries}) and is never written again: appends copy it first.
 */
export class Unstable {
  /** The incoming snapshot, if any, not yet persisted. */
  snapshot: Snapshot | undefined = undefined;
  /** The entries not yet persisted; `entries[i]` has index `offset + i`. */
  entries: readonly Entry[] = NO_ENTRIES;
  /** The index of `entries[0]` (or where the next entry would go). */
  offset: number;
  /** True when `snapshot` was handed out in a Ready and is being written. */
  snapshotInProgress = false;
  /** The first index not yet handed out for persistence. */
  offsetInProgress: number;
  /**
   * Whether `entries` is the array a Ready holds (handed out whole by {@link nextEntries}
   * instead of a copy: at one entry per Ready, the common case, that saves an array per Ready).
   */
  private entriesShared = false;

  constructor(
    offset: number,
    private readonly logger: Logger,
  ) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index of the log if a snapshot is pending, else undefined. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  /** The last index if there are unstable entries or a snapshot, else undefined. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index;
  }

  /** The term of entry `i` if this part of the log knows it, else undefined. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      const s = this.snapshot;
      return s !== undefined && s.metadata.index === i ? s.metadata.term : undefined;
    }
    const k = i - this.offset;
    return k < this.entries.length ? this.entries[k]!.term : undefined;
  }

  /**
   * Entries not yet handed out for persistence (empty when none). Read-only: when none was
   * handed out before, this is the unstable log's own array, which is not written again.
   */
  nextEntries(): readonly Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    if (this.entries.length === inProgress) return NO_ENTRIES;
    if (inProgress !== 0) return this.entries.slice(inProgress);
    this.entriesShared = true;
    return this.entries;
  }

  /**
   * All the unstable entries, as the unstable log's own array, which is not written again
   * (appends copy it first). Read-only.
   */
  shareEntries(): readonly Entry[] {
    if (this.entries.length > 0) this.entriesShared = true;
    return this.entries;
  }

  /** True when there are entries not yet handed out. */
  hasNextEntries(): boolean {
    return this.offsetInProgress - this.offset < this.entries.length;
  }

  /** The snapshot, if it has not been handed out yet. */
  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything currently unstable as handed out for persistence. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * Marks entries up to `(index, term)` as persisted. Nothing happens if the entry at `index`
   * now has another term (it was overwritten after being handed out) or is not unstable.
   */
  stableTo(index: number, term: number): void {
    const gt = this.maybeTerm(index);
    if (gt === undefined) {
      this.logger.info(`entry at index ${index} missing from unstable log; ignoring`, { index, term });
      return;
    }
    if (index < this.offset) {
      this.logger.info(`entry at index ${index} matched unstable snapshot; ignoring`, { index, term });
      return;
    }
    if (gt !== term) {
      this.logger.info(`entry at (index,term)=(${index},${term}) mismatched with entry at (${index},${gt}) in unstable log; ignoring`, {
        index,
        term,
      });
      return;
    }
    const num = index + 1 - this.offset;
    this.setEntries(num === this.entries.length ? NO_ENTRIES : this.entries.slice(num));
    this.offset = index + 1;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  /** Marks the snapshot at `index` as persisted. */
  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  /** Replaces everything with `s`: the log now starts after the snapshot. */
  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.setEntries(NO_ENTRIES);
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /**
   * Appends `ents`, first truncating any unstable suffix they conflict with.
   * Precondition: `ents` is non-empty and contiguous, and `ents[0].index <= lastIndex + 1`.
   */
  truncateAndAppend(ents: readonly Entry[]): void {
    const fromIndex = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (fromIndex === end) {
      // The common case: a plain append (a copy of exactly `ents` when empty: an empty array
      // grown by push allocates room for 17 entries). The array is ours unless it is the shared
      // empty one or was handed out whole by nextEntries.
      if (this.entries.length === 0) this.setEntries(ents.slice());
      else if (this.entriesShared) this.setEntries(this.entries.concat(ents));
      else {
        const mine = this.entries as Entry[];
        for (let i = 0; i < ents.length; i++) mine.push(ents[i]!);
      }
    } else if (fromIndex <= this.offset) {
      // Everything unstable is replaced.
      this.logger.info(`replace the unstable entries from index ${fromIndex}`);
      this.setEntries(ents.slice());
      this.offset = fromIndex;
      this.offsetInProgress = this.offset;
    } else {
      // Truncate to fromIndex (exclusive) and append.
      this.logger.info(`truncate the unstable entries before index ${fromIndex}`);
      const keep = this.slice(this.offset, fromIndex);
      for (let i = 0; i < ents.length; i++) keep.push(ents[i]!);
      this.setEntries(keep);
      if (this.offsetInProgress > fromIndex) this.offsetInProgress = fromIndex;
    }
  }

  /** Replaces `entries` by `ents`, an array nobody else holds (or the shared empty one). */
  private setEntries(ents: readonly Entry[]): void {
    this.entries = ents;
    this.entriesShared = false;
  }

  /** A copy of the unstable entries in `[lo, hi)`. */
  slice(lo: number, hi: number): Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }

  private mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) panic(`invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    if (lo < this.offset || hi > upper) panic(`unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
  }
}
