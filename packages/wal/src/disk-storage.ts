/**
 * DiskStorage: a raft {@link Storage} over a WAL directory and a snapshot directory.
 *
 * Layout: `DIR/wal` (the WAL) and `DIR/snap` (snapshot files). Terms of every entry in the log
 * are kept in memory (8 bytes each, so `term()` is O(1)); entries themselves live in blocks of
 * {@link BLOCK} consecutive indexes, each an `EntryColumns` (terms and types in typed arrays,
 * payloads in one slab), in an lru-cache bounded by `maxCachedBytes`, which counts what a
 * block really costs (its arrays plus a measured per-block overhead); a block that
 * was evicted is read back from the segment files on demand (synchronously, since `Storage` is
 * synchronous, in chunks of at most 1 MiB) and decoded again. At open the log is streamed from
 * the WAL into the same structures, never held whole (README "Memory bound"). Writes go through
 * the WAL first; memory is updated only once they are durable, so every cached or evictable
 * entry is on disk.
 * @module
 */
import { join } from "node:path";
import { CompactedError, SnapOutOfDateError, UnavailableError, appendJoinProblem, isEntriesMaxSize, isLogIndex, errorCode } from "@tsraft/raft";
import type { InitialState, Storage } from "@tsraft/raft";
import { bytesEqual, isEmptyHardState } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, Snapshot } from "@tsraft/raftpb";
import { EntryColumns } from "@tsraft/storage-memory";
import { LRUCache } from "lru-cache";
import type { WalTailRepair } from "./diagnostics.js";
import { WalCorruptError, WalStateError, noSpaceOr } from "./errors.js";
import { carryWalFaults, walFaultsOf, type WalFaultSwitches } from "./internal/faults.js";
import { nodeIO } from "./io.js";
import type { WalIO } from "./io.js";
import { LogReader, ScanStop, entryShape } from "./reader.js";
import type { ReadOptions } from "./reader.js";
import { DEFAULT_MAX_RECORD_BYTES } from "./record.js";
import { Snapshotter } from "./snapshotter.js";
import { SAVE_CHECKED_BATCH, WAL, walBatchProblem } from "./wal.js";
import type { WalOptions, WalPosition } from "./wal.js";
import type { SegmentName } from "./segment.js";

/** Entries per cached block. */
export const BLOCK = 256;

/** Default of {@link DiskStorageOptions.maxCachedBytes}: 64 MiB. */
export const DEFAULT_MAX_CACHED_BYTES = 64 * 1024 * 1024;

/** Chunk size of the synchronous reads that bring an evicted block back (at most). */
const BLOCK_READ_CHUNK_BYTES = 1 << 20;

/** The first read of a block read-back; each further read of the same scan doubles, up to the chunk size. */
const FIRST_BLOCK_READ_BYTES = 64 << 10;

/**
 * What a cached block counts against `maxCachedBytes`: its typed arrays (columns and payload
 * slab) plus V8's per-run overhead (`EntryColumns.heapBytes`); README "Memory bound" has the
 * measured error.
 */
function blockSize(blk: EntryColumns): number {
  return blk.heapBytes();
}

/**
 * The entries of `raw` (indexed by `index - b * BLOCK`) from index `lo` to `hi` as one block
 * (every one of them must be there).
 */
function toColumns(raw: readonly (Entry | undefined)[], b: number, lo: number, hi: number): EntryColumns {
  let bytes = 0;
  for (let i = lo; i <= hi; i++) bytes += raw[i - b * BLOCK]!.data?.length ?? 0;
  const blk = new EntryColumns(lo, hi - lo + 1, bytes);
  for (let i = lo; i <= hi; i++) blk.push(raw[i - b * BLOCK]!);
  return blk;
}

/** The entries of `blk` as an array indexed by `index - b * BLOCK` (views into its slab). */
function fromColumns(blk: EntryColumns, b: number): Entry[] {
  const out: Entry[] = [];
  for (let k = 0; k < blk.length; k++) out[blk.first + k - b * BLOCK] = blk.entry(k);
  return out;
}

/**
 * Where entries of a block were written: the entries of indexes `from` up to the next hint's
 * `from` (or the block's end) are in `segment`, at or after `offset`, and the running CRC before
 * that record is `crc`. A block read starts there instead of at the segment's start.
 */
interface Hint extends WalPosition {
  from: number;
}

/**
 * The hints of every block: at most a few per block (a new one only where an overwrite starts or
 * the block's entries move on to another segment), about 80 bytes per 256 entries.
 */
class Hints {
  private readonly byBlock = new Map<number, Hint[]>();

  get(b: number): readonly Hint[] | undefined {
    return this.byBlock.get(b);
  }

  /** Entry `first` and everything after it are overwritten: forget where they were. */
  truncate(first: number): void {
    const b = Math.floor(first / BLOCK);
    for (const k of [...this.byBlock.keys()]) {
      if (k > b) this.byBlock.delete(k);
      else if (k === b) {
        const kept = this.byBlock.get(k)!.filter((h) => h.from < first);
        if (kept.length > 0) this.byBlock.set(k, kept);
        else this.byBlock.delete(k);
      }
    }
  }

  /**
   * Entry `index` (of block `b`) was written at or after `pos`; `fresh` when it starts an
   * overwrite or a block. Records a hint unless the block's last one already leads there.
   */
  note(b: number, index: number, pos: WalPosition, fresh: boolean): void {
    const list = this.byBlock.get(b);
    const last = list?.[list.length - 1];
    if (last !== undefined && !fresh && last.segment === pos.segment && last.offset <= pos.offset) return;
    const h: Hint = { from: index, segment: pos.segment, offset: pos.offset, crc: pos.crc };
    if (list === undefined) this.byBlock.set(b, [h]);
    else list.push(h);
  }

  /** Drops the blocks wholly below `index`. */
  dropBelow(index: number): void {
    for (const k of [...this.byBlock.keys()]) if ((k + 1) * BLOCK <= index) this.byBlock.delete(k);
  }

  clear(): void {
    this.byBlock.clear();
  }
}

/**
 * Builds the memory of a DiskStorage from the entries `WAL.readAll` streams at open, in file
 * order: every term, and the entries in blocks put in the cache as they complete (so the cache
 * bound holds during the read). A block is cached only from its first live index on, so a
 * cached block never has holes; one whose start was not seen is left to be read back on demand.
 */
class Loader {
  /** terms[i - offset]: the term of entry i; terms[0] the snapshot's. */
  readonly terms: number[];
  private readonly offset: number;
  private readonly cache: LRUCache<number, EntryColumns>;
  private openB = -1;
  private open: Entry[] | undefined;
  readonly hints = new Hints();

  constructor(offset: number, term: number, maxCachedBytes: number) {
    this.offset = offset;
    this.terms = [term];
    this.cache = new LRUCache<number, EntryColumns>({ maxSize: maxCachedBytes, sizeCalculation: blockSize });
  }

  /**
   * Drops the entries after `lastIndex`, the WAL's last index: an entry at or below the
   * snapshot index (not streamed) may have overwritten entries after it (found by the simulated
   * disk: entries a later overwrite had cut came back at open).
   */
  truncateAfter(lastIndex: number): void {
    const i = Math.max(lastIndex, this.offset) + 1;
    if (i > this.offset + this.terms.length - 1) return;
    const b = Math.floor(i / BLOCK);
    this.hints.truncate(i);
    this.terms.length = i - this.offset;
    for (const k of [...this.cache.keys()]) if (k >= b) this.cache.delete(k);
    if (this.openB >= b) this.open = undefined;
  }

  add(e: Entry, segment: string, offset: number, crc: number): void {
    const i = e.index;
    const last = this.offset + this.terms.length - 1;
    if (i > last + 1) throw new WalStateError(`DiskStorage: entry ${i} leaves a gap after ${last}`);
    const b = Math.floor(i / BLOCK);
    const overwrite = i <= last;
    if (overwrite) this.hints.truncate(i);
    this.hints.note(b, i, { segment, offset, crc }, overwrite || i === Math.max(b * BLOCK, this.offset + 1));
    if (overwrite) {
      // an overwrite: drop what follows i, in memory and in the blocks
      this.terms.length = i - this.offset;
      for (const k of [...this.cache.keys()]) if (k > b) this.cache.delete(k);
      if (this.openB > b) this.open = undefined;
      if (this.openB !== b) {
        const blk = this.cache.get(b);
        this.cache.delete(b);
        this.openB = b;
        this.open = blk === undefined ? undefined : fromColumns(blk, b);
      }
      if (this.open !== undefined) this.open.length = Math.min(this.open.length, i - b * BLOCK);
    }
    this.terms.push(e.term);
    if (b !== this.openB) {
      this.flush();
      this.openB = b;
      this.open = i === Math.max(b * BLOCK, this.offset + 1) ? [] : undefined;
    }
    if (this.open !== undefined) {
      if (this.open.length !== i - b * BLOCK && !(this.open.length === 0 && i === this.offset + 1)) this.open = undefined;
      else this.open[i - b * BLOCK] = e;
    }
  }

  private flush(): void {
    const open = this.open;
    if (open !== undefined && open.length > 0) {
      const b = this.openB;
      const lo = Math.max(b * BLOCK, this.offset + 1);
      this.cache.set(b, toColumns(open, b, lo, b * BLOCK + open.length - 1));
    }
    this.open = undefined;
  }

  /** Moves the cached blocks, least recently filled first, into `cache`. */
  finish(cache: LRUCache<number, EntryColumns>): void {
    this.flush();
    for (const [k, v] of [...this.cache.entries()].reverse()) cache.set(k, v);
  }
}

/** Options of {@link DiskStorage.open}. */
export interface DiskStorageOptions extends WalOptions {
  /**
   * Bytes of cached entry blocks kept in memory, counted as what they cost: their typed arrays
   * and payload slab plus a measured per-block overhead (README "Memory bound"). Default 64 MiB.
   */
  maxCachedBytes?: number;
  /** Metadata written when the WAL is created (ignored when it exists); read back with {@link DiskStorage.metadata}. */
  metadata?: Uint8Array;
  /** Repair a torn WAL tail at open, as etcd's server does (default true). */
  repairTornTail?: boolean;
}

const ZERO_HS: HardState = { term: 0, vote: 0n, commit: 0 };
const EMPTY_CS = (): ConfState => ({ voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
const emptySnap = (): Snapshot => ({ metadata: { index: 0, term: 0, confState: EMPTY_CS() } });

/** A save in flight that changes the log: a snapshot (`snapIndex` -1 without one) and the entries after it. */
interface QueuedSave {
  readonly snapIndex: number;
  readonly snapTerm: number;
  readonly entries: readonly Entry[];
}

/** A log a batch is checked against: `(offset, last]` its entries, `term(offset)` the snapshot's term. */
interface LogView {
  readonly offset: number;
  readonly last: number;
  /** The term of entry `i`, for `i` in `[offset, last]` (undefined outside). */
  term(i: number): number | undefined;
  /** Entry `i`, for `i` in `(offset, last]`. */
  entry(i: number): Entry;
}

/** The log that is a snapshot at `(index, term)` and nothing else. */
function snapshotView(index: number, term: number): LogView {
  return {
    offset: index,
    last: index,
    term: (i) => (i === index ? term : undefined),
    entry: (i) => {
      throw new WalStateError(`DiskStorage: no entry ${i} after the snapshot at ${index}`); // never asked: the log holds none
    },
  };
}

/** A disk-backed raft Storage (see the module comment). */
export class DiskStorage implements Storage {
  readonly dir: string;
  private repaired: WalTailRepair | undefined = undefined;
  private readonly wal: WAL;
  private readonly snapshotter: Snapshotter;
  private readonly io: WalIO;
  /** Test-only fault switches attached to the options (all off in normal operation). */
  private readonly faults: WalFaultSwitches;
  private readonly maxRecordBytes: number;
  private hardState: HardState;
  private snap: Snapshot;
  /** Invariant: terms[i - offset] is the term of entry i, for i in [offset, lastIndex]; terms[0] is the snapshot (or compaction) term. */
  private terms: number[] = [];
  /**
   * Saves called and not settled yet that change the log, oldest first: memory learns of a save
   * only once it is durable, so a save is checked against the log as these will leave it (see
   * `queuedView`). Invariant: an entry leaves when its save settles (durable or refused).
   */
  private queued: QueuedSave[] = [];
  private offset: number;
  /**
   * Blocks of entries: block b holds indexes in [b * BLOCK, (b + 1) * BLOCK). Invariant: a
   * cached block is a run from max(b * BLOCK, offset + 1) or below (not below b * BLOCK) to the
   * block's end or `lastIndex() + 1`, whichever comes first, whose terms match `terms`.
   */
  private readonly cache: LRUCache<number, EntryColumns>;
  private readonly readChunkBytes: number;
  /** The reused buffer of block reads. */
  private scratch: Uint8Array | undefined;
  /** Where each block's entries were written (offsets kept in memory next to the terms). */
  private hints = new Hints();
  private readonly counters = { blockReads: 0, blockReadBytes: 0 };
  /** The WAL's metadata record (a copy), as written at creation. */
  private readonly meta: Uint8Array | undefined;

  private constructor(dir: string, wal: WAL, snapshotter: Snapshotter, opts: DiskStorageOptions, snap: Snapshot, hs: HardState, meta: Uint8Array | undefined) {
    this.dir = dir;
    this.meta = meta;
    this.wal = wal;
    this.snapshotter = snapshotter;
    this.io = opts.io ?? nodeIO;
    this.faults = walFaultsOf(opts);
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.readChunkBytes = Math.min(opts.readChunkBytes ?? BLOCK_READ_CHUNK_BYTES, BLOCK_READ_CHUNK_BYTES);
    this.snap = snap;
    // A snapshot holds only committed entries, so its index is committed. The HardState read
    // back can be older than the snapshot: a save of a leader's snapshot writes the snapshot
    // (synced), then the HardState, and a crash between the two keeps the old one, whose commit
    // index raft would refuse as below the log (found by the simulated disk).
    this.hardState = !isEmptyHardState(hs) && hs.commit < snap.metadata.index ? { ...hs, commit: snap.metadata.index } : hs;
    this.offset = snap.metadata.index;
    this.terms = [snap.metadata.term];
    this.cache = new LRUCache<number, EntryColumns>({ maxSize: opts.maxCachedBytes ?? DEFAULT_MAX_CACHED_BYTES, sizeCalculation: blockSize });
  }

  /**
   * Opens (or creates) the storage in `dir`: loads the newest snapshot the WAL knows, opens the
   * WAL at it (repairing a torn tail once, like etcd's server), and reads the log.
   * @throws the errors of {@link WAL.open}, {@link WAL.readAll} and
   *   {@link Snapshotter.loadNewestRecorded} (a damaged snapshot file is refused, not skipped);
   *   `WalNoSpaceError` when a write it needs (creating the WAL, repairing a torn tail) meets a
   *   full disk.
   */
  static async open(dir: string, options: DiskStorageOptions = {}): Promise<DiskStorage> {
    try {
      return await DiskStorage.openOrCreate(dir, options);
    } catch (e) {
      throw noSpaceOr(e, dir); // creating the WAL, repairing or zero-filling its tail write
    }
  }

  private static async openOrCreate(dir: string, options: DiskStorageOptions): Promise<DiskStorage> {
    const walDir = join(dir, "wal");
    const snapDir = join(dir, "snap");
    const io = options.io ?? nodeIO;
    await io.mkdir(snapDir, { recursive: true });
    const snapshotter = new Snapshotter(snapDir, io);
    const walOpts: WalOptions = { ...options, copyEntryData: true };
    carryWalFaults(options, walOpts);
    if (!(await WAL.exists(walDir, walOpts))) {
      const wal = await WAL.create(walDir, options.metadata, walOpts);
      return new DiskStorage(dir, wal, snapshotter, options, emptySnap(), ZERO_HS, options.metadata?.slice());
    }
    const walSnaps = await WAL.snapshotEntries(walDir, walOpts);
    let snap = emptySnap();
    try {
      // Strict: a damaged snapshot file the WAL has a record of is refused (typed), never
      // replaced by an older one that the HardState and the log may have moved past.
      snap = await snapshotter.loadNewestRecorded(walSnaps);
    } catch (e) {
      if (errorCode(e) !== "TSRAFT_SNAP_NO_SNAPSHOT") throw e;
    }
    const at = { index: snap.metadata.index, term: snap.metadata.term };
    // Entries are streamed, never collected: memory holds their terms and what the cache keeps.
    const load = async (): Promise<{ wal: WAL; loader: Loader; hs: HardState; meta: Uint8Array | undefined }> => {
      const wal = await WAL.open(walDir, at, walOpts);
      const loader = new Loader(at.index, at.term, options.maxCachedBytes ?? DEFAULT_MAX_CACHED_BYTES);
      try {
        const res = await wal.readAll({ onEntry: (e, seg, off, crc) => loader.add(e, seg, off, crc) });
        loader.truncateAfter(res.lastIndex);
        return { wal, loader, hs: res.hardState, meta: res.metadata };
      } catch (e) {
        await wal.close();
        throw e;
      }
    };
    let r;
    let repaired: WalTailRepair | undefined;
    try {
      r = await load();
    } catch (e) {
      if (errorCode(e) !== "TSRAFT_WAL_TORN_TAIL" || options.repairTornTail === false) throw e;
      const rep = await WAL.repairTail(walDir, walOpts);
      if (rep === undefined) throw e;
      repaired = rep.cut;
      r = await load();
    }
    const s = new DiskStorage(dir, r.wal, snapshotter, options, snap, r.hs, r.meta);
    s.repaired = repaired;
    r.loader.finish(s.cache);
    s.terms = r.loader.terms;
    s.hints = r.loader.hints;
    return s;
  }

  /**
   * The metadata the WAL was created with (`options.metadata` of the `open` that created the
   * directory; later opens' `options.metadata` is ignored), or `undefined` if it was created
   * without. Applications keep what identifies the data here, e.g. the member and cluster ids,
   * as etcd's server does. The caller must not modify the bytes.
   */
  metadata(): Uint8Array | undefined {
    return this.meta;
  }

  // ---------------------------------------------------------------------------------------------
  // Storage

  /**
   * The HardState last saved (or the zero HardState) and the ConfState of the current
   * snapshot. Both are shared: do not mutate them.
   */
  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  /** The index of the first entry that may be read: the snapshot index + 1 (1 with no snapshot). */
  firstIndex(): number {
    return this.offset + 1;
  }

  /** The index of the last entry; `firstIndex() - 1` (the snapshot index) when the log holds none. */
  lastIndex(): number {
    return this.offset + this.terms.length - 1;
  }

  /**
   * The term of entry `i`, for `i` in `[firstIndex() - 1, lastIndex()]` (the snapshot's term at
   * `firstIndex() - 1`). Served from memory: every term is kept, no disk read.
   * @throws `Error` (a caller bug, naming `i`) if `i` is not an integer >= 0.
   * @throws {@link CompactedError} if `i < firstIndex() - 1`.
   * @throws {@link UnavailableError} if `i > lastIndex()`.
   */
  term(i: number): number {
    if (!isLogIndex(i)) throw new Error(`wal: DiskStorage: term(${i}): the index must be an integer >= 0 (log [${this.offset}, ${this.lastIndex()}])`);
    if (i < this.offset) throw new CompactedError(`requested index ${i} is unavailable due to compaction (first index ${this.offset + 1})`);
    if (i > this.lastIndex()) throw new UnavailableError(`requested entry at index ${i} is unavailable (last index ${this.lastIndex()})`);
    return this.terms[i - this.offset]!;
  }

  /**
   * The entries in `[lo, hi)`, stopping before their total `entrySize` would exceed
   * `maxSize` (an integer >= 0, or `Infinity` for no limit) but always at least one entry when
   * `lo < hi`; `lo === hi` gives an empty array.
   * Entries come from the block cache, a missing block read back from the WAL segments.
   *
   * The array is fresh; the Entry objects in it are shared with the cache and must not be
   * mutated.
   * @throws `Error` (a caller bug, naming the bounds) if `lo` or `hi` is not an integer >= 0.
   * @throws `Error` (a caller bug, naming `maxSize`) if `maxSize` is not an integer >= 0 nor
   * `Infinity` (`NaN`, negative, fractional).
   * @throws {@link CompactedError} if `lo <= firstIndex() - 1` (compacted, or the snapshot index).
   * @throws `Error` (a caller bug, naming the bounds) if `hi > lastIndex() + 1` or `lo > hi`.
   * @throws a `WalError` ({@link WalCorruptError}, `CrcMismatchError`, ...) if a segment
   * read back for a block no longer reads cleanly, and the file system's errors.
   * @throws `Error` (plain, not etcd's `ErrUnavailable`) "wal: DiskStorage: entries LO..HI of
   * block B not found in the WAL segments" if an evicted block's entries, which this storage
   * saw written and synced, are no longer in the segment files (they changed under it: a
   * segment deleted or cut by hand, or, in tests, a fault switch). Not {@link UnavailableError}:
   * raft answers that with a panic whose message drops this one, and on the send path a panic
   * propagates. A plain Error is a storage failure to raft: reading entries for a follower it
   * logs it at error level and skips that follower (retrying on its next response); building
   * a Ready, `ready()` throws it and RaftNode stops (`onFatal`). The storage stays as it was.
   */
  entries(lo: number, hi: number, maxSize: number): readonly Entry[] {
    if (!isLogIndex(lo) || !isLogIndex(hi)) {
      throw new Error(`wal: DiskStorage: entries [${lo}, ${hi}): indexes must be integers >= 0 (log [${this.offset + 1}, ${this.lastIndex() + 1}))`);
    }
    if (!isEntriesMaxSize(maxSize)) {
      throw new Error(`wal: DiskStorage: entries [${lo}, ${hi}): maxSize ${maxSize} must be an integer >= 0 or Infinity`);
    }
    if (lo <= this.offset) throw new CompactedError(`requested index ${lo} is unavailable due to compaction (first index ${this.offset + 1})`);
    if (hi > this.lastIndex() + 1 || lo > hi) {
      throw new Error(`wal: DiskStorage: entries [${lo}, ${hi}) out of bound [${this.offset + 1}, ${this.lastIndex() + 1})`);
    }
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; ) {
      const b = Math.floor(i / BLOCK);
      const blk = this.block(b);
      const end = Math.min(hi, (b + 1) * BLOCK);
      for (; i < end; i++) {
        const k = i - blk.first;
        size += blk.size(k);
        if (out.length > 0 && size > maxSize) return out;
        out.push(blk.entry(k));
      }
    }
    return out;
  }

  /**
   * The most recent snapshot (the one opened at, or the last one saved, created or applied);
   * the empty snapshot (index 0) if there is none. Held in memory: never throws. Shared: do not
   * mutate it.
   */
  snapshot(): Snapshot {
    return this.snap;
  }

  // ---------------------------------------------------------------------------------------------
  // persistence

  /**
   * Persists what a `Ready` hands out, in etcd's order: the snapshot (file, then WAL record),
   * then the entries and HardState (one WAL save: one fdatasync when needed). Memory is updated
   * when the writes are durable. Entries at or below the compacted index (the snapshot's, when
   * one is given) are ignored, as MemoryStorage's append does.
   * @throws {@link WalStateError} naming the entries, before anything is written (the snapshot
   * included), if they are not a run that joins the log (see {@link DiskStorage.append}) or
   * hold a type the WAL's reader refuses (not 0, 1 or 2; an EntryConfChange without data), or
   * another entry at an index and term the log holds. "The log" is the log as the saves still
   * in flight will leave it, so concurrent saves are checked as if each had been awaited.
   * @throws the errors of {@link WAL.save}; {@link SnapOutOfDateError} for an old snapshot.
   */
  async save(hardState: HardState, entries: readonly Entry[], snapshot?: Snapshot): Promise<void> {
    const withSnap = snapshot !== undefined && snapshot.metadata.index > 0;
    // Every check before anything is written (the snapshot included): against what follows the
    // snapshot, or against the log as the saves still in flight will leave it (memory learns of
    // a save only once it is durable).
    const kept = withSnap
      ? this.partToWrite(entries, snapshotView(snapshot.metadata.index, snapshot.metadata.term))
      : this.partToWrite(entries, this.queuedView());
    const q: QueuedSave | undefined =
      withSnap || kept.length > 0
        ? { snapIndex: withSnap ? snapshot.metadata.index : -1, snapTerm: withSnap ? snapshot.metadata.term : 0, entries: kept }
        : undefined;
    if (q !== undefined) this.queued.push(q);
    try {
      if (withSnap) await this.applySnapshot(snapshot);
      const early = this.faults.serveBeforeDurable && kept.length > 0;
      if (early) this.remember(kept, undefined);
      const pos = await this.wal[SAVE_CHECKED_BATCH](hardState, kept); // checked above: not twice
      if (!isEmptyHardState(hardState)) this.hardState = hardState;
      if (kept.length > 0 && !early) this.remember(kept, pos);
    } finally {
      if (q !== undefined) this.queued.splice(this.queued.indexOf(q), 1);
    }
  }

  /**
   * The log as the saves in flight will leave it: `queued` over memory. Their order is the
   * order of their calls, which is the WAL's order for saves without a snapshot (a save with
   * one writes its entries after the snapshot file, so a save called meanwhile may reach the
   * WAL first; the WAL's own gap check then refuses what does not join its queue).
   */
  private queuedView(): LogView {
    const q = this.queued;
    let offset = this.offset;
    for (let k = q.length - 1; k >= 0; k--) {
      if (q[k]!.snapIndex >= 0) {
        offset = q[k]!.snapIndex;
        break;
      }
    }
    const newest = q[q.length - 1];
    const last = newest === undefined ? this.lastIndex() : newest.entries.length > 0 ? newest.entries[newest.entries.length - 1]!.index : newest.snapIndex;
    // Entry i of the newest save that has it, the term of a snapshot at i, or memory's term.
    const at = (i: number): Entry | number | undefined => {
      for (let k = q.length - 1; k >= 0; k--) {
        const { entries, snapIndex, snapTerm } = q[k]!;
        const lo = entries.length > 0 ? entries[0]!.index : snapIndex + 1;
        if (i >= lo) return entries[i - lo]; // i <= last: within this save's entries
        if (i === snapIndex) return snapTerm;
        if (i < snapIndex) return undefined;
      }
      return i >= this.offset && i <= this.lastIndex() ? this.terms[i - this.offset] : undefined;
    };
    return {
      offset,
      last,
      term: (i) => {
        const x = at(i);
        return typeof x === "object" ? x.term : x;
      },
      entry: (i) => {
        const x = at(i);
        return typeof x === "object" ? x : this.entries(i, i + 1, Infinity)[0]!;
      },
    };
  }

  /**
   * The part of `entries` to write: they must be a batch the WAL takes (`walBatchProblem`: a
   * run, as MemoryStorage's append checks, of types the reader accepts) that joins `log`
   * without a gap and with a first term not below the term of the entry before it; the part at
   * or below `log.offset` (compacted) is dropped, as MemoryStorage (and etcd's) does. Before
   * this, a batch reaching below the compacted index was written to the WAL and then refused,
   * so a restart read it (and lost the entries after it) where memory had not.
   * @throws {@link WalStateError} naming the entries.
   */
  private partToWrite(entries: readonly Entry[], log: LogView): readonly Entry[] {
    const n = entries.length;
    if (n === 0) return entries;
    const problem = walBatchProblem(entries);
    if (problem !== undefined) throw new WalStateError(`save: ${problem}`);
    const lo = entries[0]!.index;
    const { offset, last } = log;
    if (lo + n - 1 <= offset) return [];
    const from = lo <= offset ? offset + 1 - lo : 0;
    const at = lo + from;
    const joinProblem = appendJoinProblem(entries[from]!, last, at > last + 1 ? 0 : (log.term(at - 1) ?? 0));
    if (joinProblem !== undefined) throw new WalStateError(`save: ${joinProblem}`);
    // Raft never writes another entry at an index and term the log holds (Log Matching); the
    // reader refuses such a log as corrupt (another type or size: at open; other bytes: when
    // the block is read back), so it is refused here. An overlap only comes with a
    // conflicting suffix from a new leader (other terms), so this loop rarely compares.
    for (let i = at, end = Math.min(last, lo + n - 1); i <= end; i++) {
      const e = entries[i - lo]!;
      if (e.term !== log.term(i)) continue;
      const had = log.entry(i);
      if (entryShape(had) !== entryShape(e) || !bytesEqual(had.data, e.data)) {
        throw new WalStateError(`save: entry ${i} differs from the entry ${i} of the same term ${e.term} the log holds (raft never rewrites one)`);
      }
    }
    return from === 0 ? entries : entries.slice(from);
  }

  /**
   * Appends entries (overwriting a conflicting suffix; the part at or below `firstIndex() - 1`
   * is ignored, as MemoryStorage does); durable when the promise resolves.
   * @throws {@link WalStateError} naming the entries, before anything is written, for what
   * MemoryStorage's `append` refuses with a plain `Error` (indexes and terms integers >= 1,
   * consecutive, terms never decreasing, no gap after the last index), and as {@link WAL.save}.
   */
  append(entries: readonly Entry[]): Promise<void> {
    return this.save(ZERO_HS, entries);
  }

  /** Saves the HardState; durable when the promise resolves (if term or vote changed). */
  setHardState(hardState: HardState): Promise<void> {
    return this.save(hardState, []);
  }

  /**
   * Installs a snapshot received from the leader: writes the snapshot file and the WAL snapshot
   * record, then drops the whole log.
   * @throws {@link SnapOutOfDateError} (naming both indexes) if it is not newer than the current one.
   */
  async applySnapshot(snapshot: Snapshot): Promise<void> {
    if (snapshot.metadata.index <= this.snap.metadata.index) {
      throw new SnapOutOfDateError(`requested index ${snapshot.metadata.index} is not newer than the existing snapshot (index ${this.snap.metadata.index})`);
    }
    await this.snapshotter.save(snapshot);
    await this.wal.saveSnapshot({ index: snapshot.metadata.index, term: snapshot.metadata.term });
    this.snap = snapshot;
    this.offset = snapshot.metadata.index;
    this.terms = [snapshot.metadata.term];
    this.cache.clear();
    this.hints.clear();
  }

  /**
   * Makes and saves a snapshot of the state machine at applied index `i` (file, then WAL record).
   * Does not compact: call {@link DiskStorage.compact} afterwards. Rejects before writing
   * anything, so a refused call changes nothing.
   * @throws `Error` (a caller bug, naming `i`) if `i` is not an integer >= 0.
   * @throws {@link SnapOutOfDateError} if `i` is not after the current snapshot.
   * @throws `Error` (a caller bug, naming `i` and the last index) if `i > lastIndex()`, as
   * MemoryStorage does (DESIGN.md; etcd's MemoryStorage panics).
   * @throws {@link CompactedError} if `i < firstIndex() - 1` (compacted past the snapshot: the
   * term of `i` is gone).
   * @throws the errors of {@link Snapshotter.save} and {@link WAL.saveSnapshot}.
   */
  async createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Promise<Snapshot> {
    if (!isLogIndex(i))
      throw new Error(`wal: DiskStorage: createSnapshot(${i}): the index must be an integer >= 0 (log [${this.offset}, ${this.lastIndex()}])`);
    if (i <= this.snap.metadata.index) {
      throw new SnapOutOfDateError(`requested index ${i} is older than the existing snapshot (index ${this.snap.metadata.index})`);
    }
    if (i > this.lastIndex()) throw new Error(`wal: DiskStorage: snapshot index ${i} is out of bound lastIndex ${this.lastIndex()}`);
    const snap: Snapshot = { data, metadata: { index: i, term: this.term(i), confState: cs ?? this.snap.metadata.confState } };
    await this.snapshotter.save(snap);
    await this.wal.saveSnapshot({ index: i, term: snap.metadata.term });
    this.snap = snap;
    return snap;
  }

  /**
   * Discards entries before `compactIndex` from memory, and releases and deletes the WAL
   * segments that only hold entries before both `compactIndex` and the last saved snapshot.
   * The application must not compact past its applied index.
   * @throws `Error` (a caller bug, naming the index) if `compactIndex` is not an integer >= 0.
   * @throws {@link CompactedError} if `compactIndex <= firstIndex() - 1` (already compacted).
   * @throws {@link WalStateError} if a save still in flight writes entries at or below
   * `compactIndex` (a conflicting suffix: raft compacts only what is applied, which no leader
   * rewrites); nothing changed, and the call may be made again once that save settled.
   * @throws `Error` (a caller bug, naming the index and the last index) if
   * `compactIndex > lastIndex()`, as MemoryStorage does (DESIGN.md; etcd's MemoryStorage
   * panics: "compact %d is out of bound lastindex(%d)"). Either way nothing changed.
   * @throws the file system's errors when deleting released segments (memory is compacted by then).
   */
  async compact(compactIndex: number): Promise<void> {
    if (!isLogIndex(compactIndex)) {
      throw new Error(`wal: DiskStorage: compact(${compactIndex}): the index must be an integer >= 0 (log [${this.offset}, ${this.lastIndex()}])`);
    }
    if (compactIndex <= this.offset) {
      throw new CompactedError(`requested index ${compactIndex} is unavailable due to compaction (first index ${this.offset + 1})`);
    }
    if (compactIndex > this.lastIndex()) throw new Error(`wal: DiskStorage: compact index ${compactIndex} is out of bound lastIndex ${this.lastIndex()}`);
    // A save in flight lands in memory once durable: entries at or below the compacted index
    // could not, and memory would go on serving the entries they replace.
    for (const q of this.queued) {
      const first = q.entries.length > 0 ? q.entries[0]!.index : Infinity;
      if (q.snapIndex < 0 && first <= compactIndex) {
        const last = q.entries[q.entries.length - 1]!.index;
        throw new WalStateError(`compact(${compactIndex}): a save in flight writes entries ${first}..${last} (it would land at or below the compacted index)`);
      }
    }
    this.terms = this.terms.slice(compactIndex - this.offset);
    this.offset = compactIndex;
    for (const b of [...this.cache.keys()]) if ((b + 1) * BLOCK <= compactIndex) this.cache.delete(b);
    this.hints.dropBelow(compactIndex);
    this.wal.releaseLockTo(Math.min(compactIndex, this.snap.metadata.index));
    await this.wal.purgeReleased();
  }

  /** Bytes the entry cache holds, as counted against `maxCachedBytes` (what its blocks cost). */
  cachedBytes(): number {
    return this.cache.calculatedSize;
  }

  /** Closes the WAL (syncs, releases the lock). */
  close(): Promise<void> {
    return this.wal.close();
  }

  /**
   * What {@link DiskStorage.open} cut when it repaired a torn WAL tail (the records of a write
   * that never completed: worth a log line), or undefined when it repaired nothing. Also
   * published on `WAL_REPAIR_CHANNEL`.
   */
  get repairedTail(): WalTailRepair | undefined {
    return this.repaired;
  }

  /**
   * Drops the storage the way a crash would ({@link WAL.abandon}): queued writes are rejected,
   * the one in progress finishes, nothing is synced, the lock is released. For crash tests.
   */
  abandon(): Promise<void> {
    return this.wal.abandon();
  }

  // ---------------------------------------------------------------------------------------------
  // memory

  /**
   * Records durable entries: their terms, where they were written (`pos`: the save's first
   * record, the first entry's), and the entries themselves in cached blocks.
   */
  private remember(entries: readonly Entry[], pos: WalPosition | undefined): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first <= this.offset) throw new WalStateError(`DiskStorage: entry ${first} is at or below the compacted index ${this.offset}`);
    // overwrite: drop what follows
    const overwrite = first <= this.lastIndex();
    this.terms.length = first - this.offset;
    if (overwrite) this.hints.truncate(first);
    for (const b of [...this.cache.keys()]) if ((b + 1) * BLOCK > first) this.dropFrom(b, first);
    for (const e of entries) this.terms.push(e.term);
    let i = 0;
    while (i < entries.length) {
      const idx = entries[i]!.index;
      const b = Math.floor(idx / BLOCK);
      // the entries of the block before `idx`, when the block is not cached (read with the old hints)
      let blk = this.cache.get(b);
      if (blk === undefined || blk.end !== idx) blk = this.loadPartial(b, idx);
      if (pos !== undefined) this.hints.note(b, idx, pos, (i === 0 && overwrite) || idx === Math.max(b * BLOCK, this.offset + 1));
      for (; i < entries.length && Math.floor(entries[i]!.index / BLOCK) === b; i++) blk.push(entries[i]!);
      if (blk.end === (b + 1) * BLOCK) blk.trim(); // complete: give the spare room back
      this.recache(b, blk);
    }
  }

  /**
   * Counters of block reads from the segment files (cache misses): how many, and the bytes read.
   * For monitoring and tests.
   */
  blockReadStats(): { blockReads: number; blockReadBytes: number } {
    return { ...this.counters };
  }

  private dropFrom(b: number, first: number): void {
    const blk = this.cache.get(b);
    if (blk === undefined) return;
    const keep = first - blk.first;
    if (keep <= 0) this.cache.delete(b);
    else {
      blk.truncate(keep);
      this.recache(b, blk);
    }
  }

  /**
   * Puts block `b` (changed in place, or new) in the cache, counted at its current size:
   * lru-cache's `set` of the value already cached under a key keeps the old size, so a block
   * that grew would stay counted at what it held when first cached.
   */
  private recache(b: number, blk: EntryColumns): void {
    if (this.cache.peek(b) === blk) this.cache.delete(b);
    this.cache.set(b, blk);
  }

  /** The entries of block `b` before index `upTo` (a block appended to that was evicted). */
  private loadPartial(b: number, upTo: number): EntryColumns {
    const lo = Math.max(b * BLOCK, this.offset + 1);
    if (lo >= upTo) return new EntryColumns(upTo);
    return toColumns(this.readBlock(b, lo, upTo - 1), b, lo, upTo - 1);
  }

  /** Block `b`, from the cache or read back from the segments. */
  private block(b: number): EntryColumns {
    const hit = this.cache.get(b);
    const lo = Math.max(b * BLOCK, this.offset + 1);
    const hi = Math.min((b + 1) * BLOCK - 1, this.lastIndex());
    if (hit !== undefined && hit.first <= lo && hit.end > hi) return hit;
    const blk = toColumns(this.readBlock(b, lo, hi), b, lo, hi);
    this.cache.set(b, blk);
    return blk;
  }

  /**
   * Reads entries `[lo, hi]` back from the segment files: from the last segment that starts at or
   * before `lo`, on through later ones until each index has an entry of the term recorded in
   * memory (a later segment may overwrite an earlier one's entries). Each segment is read
   * synchronously in chunks of at most 1 MiB through one reused buffer (`Storage` is
   * synchronous), the tail only up to {@link WAL.stableTailBytes}.
   */
  private readBlock(b: number, lo: number, hi: number): (Entry | undefined)[] {
    const blk: (Entry | undefined)[] = [];
    let missing = hi - lo + 1;
    this.counters.blockReads++;
    const opts: ReadOptions = {
      start: { index: 0, term: 0 },
      strictTail: false,
      maxRecordBytes: this.maxRecordBytes,
      copyData: true,
      rawEntries: true,
      onEntry: (e, _si, off) => {
        if (e.index < lo || e.index > hi || e.term !== this.terms[e.index - this.offset]) return;
        const prev = blk[e.index - b * BLOCK];
        if (prev === undefined) missing--;
        // The same index and term again must be the same entry (raft never writes another): a
        // HardState record whose type bit flipped reads as one (reader.ts, entryShape).
        else if (entryShape(prev) !== entryShape(e) || !bytesEqual(prev.data, e.data)) {
          throw new WalCorruptError(reading, off, `entry ${e.index} rewritten by another entry of the same term ${e.term}`);
        }
        blk[e.index - b * BLOCK] = e;
      },
    };
    const segs = this.wal.segments();
    const tail = segs[segs.length - 1]!;
    let reading = "";
    const read = (seg: SegmentName, from: WalPosition | undefined, enough: () => boolean): void => {
      reading = seg.name;
      const limit = seg === tail ? this.wal.stableTailBytes() : undefined;
      const r = readSegmentSync(this.io, join(this.dir, "wal", seg.name), seg, limit, from, opts, this.scratch ?? new Uint8Array(this.readChunkBytes), enough);
      this.scratch = r.buf;
      this.counters.blockReadBytes += r.bytesRead;
    };
    const found = (from: number, to: number): boolean => {
      for (let i = from; i <= to; i++) if (blk[i - b * BLOCK] === undefined) return false;
      return true;
    };
    // where the block's entries were written, when known: each hint's entries, from its position
    const hints = this.hints.get(b) ?? [];
    for (let h = 0; h < hints.length && missing > 0; h++) {
      const hint = hints[h]!;
      const from = Math.max(lo, hint.from);
      const to = Math.min(hi, (hints[h + 1]?.from ?? hi + 1) - 1);
      const seg = segs.find((x) => x.name === hint.segment);
      if (seg === undefined || from > to || found(from, to)) continue;
      read(seg, hint, () => missing === 0 || found(from, to));
    }
    if (missing > 0) {
      // no hint (or a stale one): from the last segment that starts at or before `lo`, on
      let k = segs.length - 1;
      while (k > 0 && segs[k]!.index > lo) k--;
      for (; k < segs.length && missing > 0; k++) read(segs[k]!, undefined, () => missing === 0);
    }
    // A plain Error, deliberately (see entries()): the files changed under this storage.
    if (missing > 0) throw new Error(`wal: DiskStorage: entries ${lo}..${hi} of block ${b} not found in the WAL segments`);
    return blk;
  }
}

/**
 * Reads one segment file synchronously through `buf` (reused; grown for a record longer than
 * it), from its start or from position `from`, up to `limit` bytes or its end, delivering
 * entries through `opts.onEntry`, and stops early once `enough()` says so (checked after each
 * chunk).
 * @returns the buffer (the grown one, if it had to grow), for the next call, and the bytes read.
 * @throws the errors of the reader for damage found on the way.
 */
function readSegmentSync(
  io: WalIO,
  path: string,
  seg: SegmentName,
  limit: number | undefined,
  from: WalPosition | undefined,
  opts: ReadOptions,
  buf: Uint8Array,
  enough: () => boolean,
): { buf: Uint8Array; bytesRead: number } {
  const fd = io.openSync(path, "r");
  let bytesRead = 0;
  try {
    const size = limit ?? io.fstatSync(fd).size;
    const r = new LogReader(opts);
    if (from === undefined) r.beginSegment(seg.name, seg.index, true);
    else r.resumeSegment(seg.name, seg.index, from.crc);
    let filePos = from?.offset ?? 0; // file offset of buf[0]
    let have = 0; // valid bytes in buf
    let step = FIRST_BLOCK_READ_BYTES; // a block is often found in the first read: start small
    for (;;) {
      const want = Math.min(buf.length - have, size - filePos - have, step);
      step = Math.min(2 * step, buf.length);
      if (want > 0) {
        const n = io.readSync(fd, buf, have, want, filePos + have);
        have += n;
        bytesRead += n;
      }
      const atEnd = filePos + have >= size;
      const p = r.scan(buf, 0, have, filePos, atEnd);
      if (r.stop === ScanStop.NeedMore) {
        if (enough()) return { buf, bytesRead };
        buf.copyWithin(0, p, have);
        filePos += p;
        have -= p;
        if (have === buf.length) {
          const nb = new Uint8Array(Math.min(2 * buf.length, 2 * (opts.maxRecordBytes + 16)));
          nb.set(buf);
          buf = nb;
        }
        continue;
      }
      if (r.stop === ScanStop.Slow && from === undefined) {
        // damage since open (or a bug): the whole-file reader names it
        const whole = new Uint8Array(io.readFileSync(path)).subarray(0, size);
        bytesRead += whole.length;
        r.finishSegment(whole, p + filePos);
      }
      // (from a hint, an unreadable record ends this read; the caller's scan from the segment's
      // start then meets it again, and names it)
      return { buf, bytesRead }; // the end of the file, or of the records (a zero-filled tail)
    }
  } finally {
    io.closeSync(fd);
  }
}
