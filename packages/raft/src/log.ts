/**
 * The raft log: the stable entries in {@link Storage} followed by the {@link Unstable} ones,
 * with the commit and apply cursors.
 * @module
 */
import type { Entry, Snapshot } from "@tsraft/raftpb";
import { CompactedError, UnavailableError, errorCode, panic } from "./errors.js";
import type { Logger } from "./logger.js";
import type { Storage } from "./storage.js";
import { Unstable } from "./unstable.js";
import { NO_ENTRIES, entsSize, limitSize, min } from "./util.js";

/** "No limit" for byte sizes. */
export const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * Errors the Storage threw, as opposed to raft's own (a broken invariant, a bug): marked where
 * raft calls the storage, so that the send path can skip a follower on a failed read and let
 * everything else through. Held weakly.
 */
const storageFailures = new WeakSet<object>();

/** Marks `err` as thrown by the Storage and rethrows it. */
function rethrowFromStorage(err: unknown): never {
  if (typeof err === "object" && err !== null) storageFailures.add(err);
  throw err;
}

/** Whether `err` was thrown by the Storage (a failed read), not by raft itself. */
export function isStorageFailure(err: unknown): boolean {
  return typeof err === "object" && err !== null && storageFailures.has(err);
}

/**
 * The log of one raft node.
 *
 * Invariant: `applied <= applying <= committed <= lastIndex()`.
 * Invariant: `committed` and `applied` never decrease.
 */
export class RaftLog {
  readonly storage: Storage;
  readonly unstable: Unstable;
  /** The highest index known to be committed on a quorum. */
  committed: number;
  /** The highest index handed to the application to apply (may not be applied yet). */
  applying: number;
  /** The highest index the application reported applied. */
  applied: number;
  /** The most bytes of committed entries handed out but not yet applied. */
  readonly maxApplyingEntsSize: number;
  /** Bytes of committed entries handed out and not yet reported applied. */
  applyingEntsSize = 0;
  /** True while no more committed entries may be handed out (the byte budget is used). */
  applyingEntsPaused = false;
  /**
   * The entries the last {@link stableTo} moved out of the unstable log, when it moved all of
   * them: that array, and the index of its first entry. They are persisted now, and the next
   * committed entries are usually exactly these (the sync loop's second Ready, after the
   * leader's self-acknowledgement commits them), which {@link nextCommittedEnts} then hands out
   * instead of reading them back from the storage. Read-only (the unstable log no longer holds
   * the array, and handed-out arrays are never written). Forgotten when an append replaces any
   * of their indexes and on a snapshot restore.
   */
  private recentStable: readonly Entry[] = NO_ENTRIES;
  private recentStableOffset = 0;
  private readonly logger: Logger;

  constructor(storage: Storage, logger: Logger, maxApplyingEntsSize: number = NO_LIMIT) {
    this.storage = storage;
    this.logger = logger;
    const firstIndex = storage.firstIndex();
    const lastIndex = storage.lastIndex();
    this.unstable = new Unstable(lastIndex + 1, logger);
    this.committed = firstIndex - 1;
    this.applying = firstIndex - 1;
    this.applied = firstIndex - 1;
    this.maxApplyingEntsSize = maxApplyingEntsSize > 0 ? maxApplyingEntsSize : 1;
  }

  toString(): string {
    return `committed=${this.committed}, applied=${this.applied}, applying=${this.applying}, unstable.offset=${this.unstable.offset}, unstable.offsetInProgress=${this.unstable.offsetInProgress}, len(unstable.Entries)=${this.unstable.entries.length}`;
  }

  /**
   * Appends `ents` (which follow `(index, logTerm)`) if the log matches at `index`, truncating a
   * conflicting suffix at the first conflict, and commits up to `min(committed, last new)`.
   * @returns the index of the last new entry, or -1 when the log does not match at `index`.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number {
    if (!this.matchTerm(index, logTerm)) return -1;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) panic(`entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      const offset = index + 1;
      if (ci - offset > ents.length) panic(`index, ${ci - offset}, is out of range [${ents.length}]`);
      this.append(ci === offset ? ents : ents.slice(ci - offset));
    }
    this.commitTo(min(committed, lastNew));
    return lastNew;
  }

  /** Appends `ents` to the unstable log (truncating any conflicting unstable suffix). */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) panic(`after(${after}) is out of range [committed(${this.committed})]`);
    if (after < this.recentStableOffset + this.recentStable.length - 1) this.recentStable = NO_ENTRIES; // some replaced
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry of `ents` whose term differs from the log's (or that the log
   * does not have), or 0 when all of `ents` is already in the log.
   */
  findConflict(ents: readonly Entry[]): number {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          this.logger.info(`found conflict at index ${e.index} [existing term: ${this.zeroTermOnOutOfBounds(e.index)}, conflicting term: ${e.term}]`);
        }
        return e.index;
      }
    }
    return 0;
  }

  /**
   * The largest index `<= index` whose term is `<= term`, with that term: where the log may
   * match a log whose entry at `index` has `term`. Lets a leader skip a whole term of
   * mismatching entries in one round trip. Returns `[index, 0]` where the term is unknown
   * (compacted) and `[0, 0]` at the start of the log.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const t = this.termOrUndefined(index);
      if (t === undefined) return [index, 0];
      if (t <= term) return [index, t];
    }
    return [0, 0];
  }

  /** Unstable entries not yet handed out for persistence. */
  nextUnstableEnts(): readonly Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  /** True if there are unstable entries, handed out or not. */
  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== undefined;
  }

  nextUnstableSnapshot(): Snapshot | undefined {
    return this.unstable.nextSnapshot();
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== undefined;
  }

  /**
   * Committed entries ready to be applied, within the apply byte budget. With
   * `allowUnstable`, committed entries not yet persisted locally may be included (safe in the
   * synchronous Ready loop, where they are persisted before being applied).
   */
  nextCommittedEnts(allowUnstable: boolean): readonly Entry[] {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return NO_ENTRIES;
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1;
    if (lo >= hi) return NO_ENTRIES;
    const maxSize = this.maxApplyingEntsSize - this.applyingEntsSize;
    if (maxSize <= 0) panic(`applying entry size (${this.applyingEntsSize}-${this.maxApplyingEntsSize})=${maxSize} not positive`);
    const u = this.unstable;
    if (lo === u.offset && hi === u.offset + u.entries.length && u.snapshot === undefined) {
      // Exactly the unstable entries (committed in the Ready that persists them: a follower's
      // MsgApp that carries its own commit, a sole voter with soleVoterCommitOnAppend): hand out
      // the unstable log's own array, as nextUnstableEnts does, instead of a copy.
      return limitSize(u.shareEntries(), maxSize);
    }
    const rs = this.recentStable;
    if (lo === this.recentStableOffset && hi === lo + rs.length && rs.length > 0 && u.snapshot === undefined) {
      // Exactly the entries persisted by the last Ready (see recentStable): no read back.
      return limitSize(rs, maxSize);
    }
    return this.slice(lo, hi, maxSize);
  }

  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingEntsPaused || this.hasNextOrInProgressSnapshot()) return false;
    return this.applying + 1 < this.maxAppliableIndex(allowUnstable) + 1;
  }

  private maxAppliableIndex(allowUnstable: boolean): number {
    let hi = this.committed;
    if (!allowUnstable) hi = min(hi, this.unstable.offset - 1);
    return hi;
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex();
    return i !== undefined ? i : this.storage.firstIndex();
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex();
    return i !== undefined ? i : this.storage.lastIndex();
  }

  /** Raises the commit index to `toCommit`; never lowers it. */
  commitTo(toCommit: number): void {
    if (this.committed < toCommit) {
      const last = this.lastIndex();
      if (last < toCommit) {
        panic(`tocommit(${toCommit}) is out of range [lastIndex(${last})]. Was the raft log corrupted, truncated, or lost?`);
      }
      this.committed = toCommit;
    }
  }

  /** Records that entries up to `i` (totalling `size` bytes handed out) were applied. */
  appliedTo(i: number, size: number): void {
    if (this.committed < i || i < this.applied) {
      panic(`applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    if (this.applying < i) this.applying = i;
    this.applyingEntsSize = this.applyingEntsSize > size ? this.applyingEntsSize - size : 0;
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize;
  }

  /** Records that committed entries up to `i` (of `size` bytes) were handed out to apply. */
  acceptApplying(i: number, size: number, allowUnstable: boolean): void {
    if (this.committed < i) panic(`applying(${i}) is out of range [prevApplying(${this.applying}), committed(${this.committed})]`);
    this.applying = i;
    this.applyingEntsSize += size;
    // Pause when the budget is used up, or when the slice was cut short by it: in the latter
    // case we wait for the application to catch up before handing out more.
    this.applyingEntsPaused = this.applyingEntsSize >= this.maxApplyingEntsSize || i < this.maxAppliableIndex(allowUnstable);
  }

  stableTo(index: number, term: number): void {
    const u = this.unstable;
    const ents = u.entries;
    const offset = u.offset;
    u.stableTo(index, term);
    if (ents.length > 0 && u.entries.length === 0 && u.offset === offset + ents.length) {
      this.recentStable = ents;
      this.recentStableOffset = offset;
    } else if (u.offset !== offset) {
      this.recentStable = NO_ENTRIES;
    }
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): number {
    const t = this.termOrUndefined(this.lastIndex());
    if (t === undefined) panic(`unexpected error when getting the last term`);
    return t;
  }

  /**
   * The term of entry `i`.
   * @throws {@link CompactedError} below `firstIndex() - 1`, {@link UnavailableError} past the end.
   */
  term(i: number): number {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    if (i + 1 < this.firstIndex()) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    try {
      return this.storage.term(i);
    } catch (err) {
      return rethrowFromStorage(err);
    }
  }

  /** The term of entry `i`, or undefined when it is compacted or not in the log. */
  termOrUndefined(i: number): number | undefined {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    // The valid range is [firstIndex-1, lastIndex]: the term of the entry before the first is
    // still known (the snapshot's), for matching appends.
    if (i + 1 < this.firstIndex() || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (err) {
      const code = errorCode(err);
      if (code === "TSRAFT_COMPACTED" || code === "TSRAFT_UNAVAILABLE") return undefined;
      return rethrowFromStorage(err);
    }
  }

  /** The term of entry `i`, or 0 when it is out of bounds. */
  zeroTermOnOutOfBounds(i: number): number {
    return this.termOrUndefined(i) ?? 0;
  }

  /**
   * Entries from `i` to the end, at most `maxSize` bytes (at least one).
   * @throws {@link CompactedError} if `i` is compacted.
   */
  entries(i: number, maxSize: number): readonly Entry[] {
    if (i > this.lastIndex()) return NO_ENTRIES;
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /**
   * Every entry of the log (for tests and debugging). Storage is synchronous and raft the only
   * caller, so nothing compacts between `firstIndex()` and the read: a CompactedError here is a
   * storage that contradicts itself, and propagates (it used to be retried forever).
   */
  allEntries(): readonly Entry[] {
    return this.entries(this.firstIndex(), NO_LIMIT);
  }

  /**
   * Whether a candidate whose last entry is `(lastIndex, term)` has a log at least as
   * up-to-date as ours: a later last term, or the same last term and at least our length.
   * Reference: §5.4.1.
   */
  isUpToDate(lastIndex: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    const t = this.termOrUndefined(i);
    return t !== undefined && t === term;
  }

  /** Commits up to `maxIndex` if the entry there has `term` (the Figure 8 rule). */
  maybeCommit(maxIndex: number, term: number): boolean {
    // A leader only counts replicas for entries of its own term (§5.4.2): if the term at
    // maxIndex is older, the entry may still be overwritten by another leader's log.
    if (maxIndex > this.committed && this.zeroTermOnOutOfBounds(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Resets the log to start after snapshot `s`, which becomes the committed point. */
  restore(s: Snapshot): void {
    this.logger.info(`log [${this.toString()}] starts to restore snapshot [index: ${s.metadata.index}, term: ${s.metadata.term}]`);
    this.committed = s.metadata.index;
    this.recentStable = NO_ENTRIES;
    this.unstable.restore(s);
  }

  /** The snapshot the log starts from: the unstable one, or the storage's. */
  snapshot(): Snapshot {
    const s = this.unstable.snapshot;
    if (s !== undefined) return s;
    try {
      return this.storage.snapshot();
    } catch (err) {
      return rethrowFromStorage(err);
    }
  }

  /**
   * Entries in `[lo, hi)`, at most `maxSize` bytes (always at least one entry).
   * @throws {@link CompactedError} if `lo` is compacted.
   */
  slice(lo: number, hi: number, maxSize: number): readonly Entry[] {
    this.mustCheckOutOfBounds(lo, hi);
    if (lo === hi) return NO_ENTRIES;
    const offset = this.unstable.offset;
    if (lo >= offset) {
      return limitSize(this.unstable.slice(lo, hi), maxSize);
    }
    const cut = min(hi, offset);
    let ents: readonly Entry[];
    try {
      ents = this.storage.entries(lo, cut, maxSize);
    } catch (err) {
      const code = errorCode(err);
      if (code === "TSRAFT_COMPACTED") throw err;
      if (code === "TSRAFT_UNAVAILABLE") panic(`entries[${lo}:${cut}) is unavailable from storage`);
      return rethrowFromStorage(err);
    }
    if (hi <= offset) return ents;
    // The storage returned fewer entries than asked: its size limit cut them.
    if (ents.length < cut - lo) return ents;
    const size = entsSize(ents);
    if (size >= maxSize) return ents;
    const more = limitSize(this.unstable.slice(offset, hi), maxSize - size);
    // Only a single unstable entry that alone breaks the limit: leave it out.
    if (more.length === 1 && size + entsSize(more) > maxSize) return ents;
    const out = ents.slice();
    for (let i = 0; i < more.length; i++) out.push(more[i]!);
    return out;
  }

  private mustCheckOutOfBounds(lo: number, hi: number): void {
    if (lo > hi) panic(`invalid slice ${lo} > ${hi}`);
    const fi = this.firstIndex();
    if (lo < fi) throw new CompactedError();
    const last = this.lastIndex();
    if (hi > last + 1) panic(`slice[${lo},${hi}) out of bound [${fi},${last}]`);
  }
}
