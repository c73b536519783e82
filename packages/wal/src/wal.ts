/**
 * The write-ahead log: etcd v3.4's on-disk format, Promise-based, group-committing.
 *
 * Durability contract (see README "Durability"): a `save` whose promise resolved and that had to
 * sync (new entries, a term or vote change) is on disk: its records were written with one
 * `write` and made durable with one `fdatasync` (shared with the saves queued behind it). Calls
 * may overlap: they are written in call order; each promise resolves when its own records are
 * durable (or written, for a save that need not sync).
 * @module
 */
import { entryRunProblem } from "@tsraft/raft";
import { EntryType, isEmptyHardState } from "@tsraft/raftpb";
import type { Entry, HardState } from "@tsraft/raftpb";
import { dirname, join } from "node:path";
import { walSyncChannel, walWriteChannel, type WalTailRepair } from "./diagnostics.js";
import { WalConfigError, WalExistsError, WalNoSpaceError, WalSnapshotNotFoundError, WalStateError, noSpaceOr } from "./errors.js";
import { walFaultsOf, type WalFaultSwitches } from "./internal/faults.js";
import { nodeIO } from "./io.js";
import type { WalFileHandle, WalIO } from "./io.js";
import type { DirLock } from "./lock.js";
import { encodeWalSnapshot } from "./proto.js";
import type { WalSnapshot } from "./proto.js";
import { repairWal, snapshotRecords, verifyWal } from "./offline.js";
import { DEFAULT_READ_CHUNK_BYTES, readFiles } from "./read-ahead.js";
import type { ReadResult } from "./reader.js";
import { BatchEncoder, DEFAULT_MAX_RECORD_BYTES, RecordType, batchBytesBound } from "./record.js";
import { ChunkWriter } from "./chunk-writer.js";
import { datasyncFd, listSegments, selectSegments, syncDir, walName, writeAll, writeAllFd, writeAllFdSync } from "./segment.js";
import type { SegmentName } from "./segment.js";

/** etcd's `SegmentSizeBytes`: segments are preallocated to, and cut after, 64,000,000 bytes. */
export const DEFAULT_SEGMENT_SIZE_BYTES = 64_000_000;

/** Default {@link WalOptions.zeroAheadBytes}. */
const DEFAULT_ZERO_AHEAD_BYTES = 1 << 20;
/** Zero-ahead runs before writes smaller than this (larger ones amortize the block allocation themselves). */
const ZERO_AHEAD_MAX_WRITE = 64 << 10;
/** Zero-ahead runs when fewer than this many zeroed bytes would be left after the write. */
const ZERO_AHEAD_LOW_WATER = 256 << 10;
let zeros: Uint8Array | undefined;
/** Default {@link WalOptions.largeWriteBytes}. */
const DEFAULT_LARGE_WRITE_BYTES = 512 << 10;

/** Options of {@link WAL.create}, {@link WAL.open} and the static helpers. */
export interface WalOptions {
  /** Segment size: preallocation and cut threshold. Default 64,000,000 (etcd's). */
  segmentSizeBytes?: number;
  /** The largest record accepted on read. Default 10 MiB (etcd's `maxWALEntrySizeLimit`). */
  maxRecordBytes?: number;
  /**
   * Copy entry data out of the read buffers in `readAll` (default false: entries' `data` are
   * views into the read chunks of `readChunkBytes`, each alive as long as any entry in it).
   */
  copyEntryData?: boolean;
  /** Segments are read in chunks of this many bytes (default 8 MiB), the next one read while the current one is parsed. */
  readChunkBytes?: number;
  /**
   * Zero-ahead (default 1 MiB; 0 turns it off): before a small write (under 64 KiB) that comes
   * within 256 KiB of the end of the zeroed area, the next this-many bytes from the tail are
   * written with zeros and fdatasynced, so that small synced saves land in blocks already
   * allocated on disk and their sync has no block allocation to journal (Node has no
   * `fallocate`). See README "Durability" (preallocation).
   */
  zeroAheadBytes?: number;
  /**
   * The file system (default {@link nodeIO}, node:fs): every file-system call of the WAL goes
   * through it. Tests pass a recording or simulated one (`@tsraft/wal/testing`).
   */
  io?: WalIO;
  /**
   * Write (and fdatasync) saves on the calling thread, blocking the event loop until they are
   * durable, instead of in Node's thread pool (default false). A synced save then costs its
   * write and sync and nothing else, as etcd's `Save` does on its goroutine: on the
   * development VM, 100-byte saves one at a time went from 6,000-6,400 to 7,300-7,600 a
   * second (bench medians), because a thread-pool job wakes an idle CPU twice (README "Inline
   * writes"). The price: for as long as the disk takes to sync (about 0.13 ms here,
   * milliseconds to tens of them on network or busy disks) nothing else in the process runs:
   * no timers, no sockets. For a process that does little but write its log, on a disk that
   * syncs fast; not for a busy server (the KV service measured slower with it). Saves called in
   * the same turn of the event loop still share one write. Segment cuts and zero-ahead's write
   * of zeros stay in the thread pool (the save after it syncs them, inline). Needs
   * `io.writeSync` and `io.fdatasyncSync`.
   */
  inlineWrites?: boolean;
  /**
   * Large saves (default 512 KiB; 0 turns it off): a batch whose records may take this many
   * bytes or more is written in chunks of a quarter of it, each handed to the thread pool as
   * soon as it is encoded, then fdatasynced once; smaller batches are one write (through the
   * `O_DSYNC` descriptor when they sync). Measured on the development VM with saves of 1,000
   * entries of 1,000 bytes: 541,000-629,000 entries/s as one `O_DSYNC` write, 661,000-713,000
   * chunked; below about 500 KB chunks cost (README "Large saves"). Also with `inlineWrites`
   * (the chunks then go to the thread pool, the fdatasync is inline). 0, or an integer of 1,024
   * or more.
   */
  largeWriteBytes?: number;
}

/** Options of {@link WAL.readAll}. */
export interface ReadAllOptions {
  /**
   * Receives each entry after the snapshot in file order instead of collecting them in
   * `entries` (which is then empty): an entry at index i replaces i and everything after it,
   * and the receiver must apply that. Lets a caller keep less than the whole log in memory.
   * `segment`, `offset` and `crcBefore` say where the entry's record is (see {@link WalPosition}).
   */
  onEntry?: (e: Entry, segment: string, offset: number, crcBefore: number) => void;
}

/** What {@link WAL.readAll} returns. */
export interface ReadAllResult {
  /** The metadata given to `create` (`undefined` if it was created without). */
  metadata: Uint8Array | undefined;
  /** The last HardState saved (all zero if none). */
  hardState: HardState;
  /** The entries after the snapshot the WAL was opened at, overwrites applied (empty with `onEntry`). */
  entries: Entry[];
  /** The index of the last entry (or of a later snapshot record): the next save continues after it. */
  lastIndex: number;
}

interface Resolved {
  segmentSizeBytes: number;
  maxRecordBytes: number;
  copyEntryData: boolean;
  readChunkBytes: number;
  zeroAheadBytes: number;
  io: WalIO;
  inlineWrites: boolean;
  largeWriteBytes: number;
  /** Test-only fault switches attached to the options (all off in normal operation). */
  faults: WalFaultSwitches;
}

/** Fills in the defaults of `o` and checks it. @throws {@link WalConfigError} naming the first invalid option. */
function resolve(o: WalOptions | undefined): Resolved {
  const r: Resolved = {
    segmentSizeBytes: o?.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES,
    maxRecordBytes: o?.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    copyEntryData: o?.copyEntryData ?? false,
    readChunkBytes: o?.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES,
    zeroAheadBytes: o?.zeroAheadBytes ?? DEFAULT_ZERO_AHEAD_BYTES,
    io: o?.io ?? nodeIO,
    inlineWrites: o?.inlineWrites ?? false,
    largeWriteBytes: o?.largeWriteBytes ?? DEFAULT_LARGE_WRITE_BYTES,
    faults: walFaultsOf(o),
  };
  if (typeof r.inlineWrites !== "boolean") throw new WalConfigError("inlineWrites", "must be a boolean");
  if (r.inlineWrites && (r.io.writeSync === undefined || r.io.fdatasyncSync === undefined)) {
    throw new WalConfigError("inlineWrites", "needs an io with writeSync and fdatasyncSync");
  }
  if (!Number.isSafeInteger(r.largeWriteBytes) || (r.largeWriteBytes !== 0 && r.largeWriteBytes < 1024)) {
    throw new WalConfigError("largeWriteBytes", "must be 0 or an integer >= 1024");
  }
  if (!Number.isSafeInteger(r.zeroAheadBytes) || r.zeroAheadBytes < 0) throw new WalConfigError("zeroAheadBytes", "must be an integer >= 0");
  if (!Number.isSafeInteger(r.readChunkBytes) || r.readChunkBytes < 64) throw new WalConfigError("readChunkBytes", "must be an integer >= 64");
  if (!Number.isSafeInteger(r.segmentSizeBytes) || r.segmentSizeBytes < 64) throw new WalConfigError("segmentSizeBytes", "must be an integer >= 64");
  if (!Number.isSafeInteger(r.maxRecordBytes) || r.maxRecordBytes < 64) throw new WalConfigError("maxRecordBytes", "must be an integer >= 64");
  return r;
}

const EMPTY_HS: HardState = { term: 0, vote: 0n, commit: 0 };

/**
 * Where a record starts: its segment file, its byte offset there, and the running CRC before
 * it (what a reader needs to read on from there with every CRC checked).
 */
export interface WalPosition {
  segment: string;
  offset: number;
  crc: number;
}

interface Pending {
  kind: "save" | "snapshot" | "sync";
  hs: HardState;
  entries: readonly Entry[];
  snap: Uint8Array | undefined;
  snapIndex: number;
  mustSync: boolean;
  /** Where this call's first record went (set when its batch is encoded). */
  pos: WalPosition | undefined;
  resolve: (pos: WalPosition | undefined) => void;
  reject: (e: unknown) => void;
}

/** The key of {@link WAL}'s save for a batch DiskStorage has checked (not exported by the package). */
export const SAVE_CHECKED_BATCH: unique symbol = Symbol("tsraft.wal.saveCheckedBatch");

/**
 * A write-ahead log directory. Obtain one with {@link WAL.create}, {@link WAL.open} (write mode:
 * call {@link WAL.readAll} once, then save) or {@link WAL.openForRead}.
 */
export class WAL {
  readonly dir: string;
  private readonly opts: Resolved;
  private readonly lock: DirLock | undefined;
  /** Segments this WAL holds (etcd's `locks`): the tail is last. Released ones are not here. */
  private held: SegmentName[];
  private released: SegmentName[] = [];
  private readonly start: WalSnapshot;
  private tail: WalFileHandle | undefined;
  /**
   * The tail opened a second time with O_DSYNC: a batch that must sync is written through it, so
   * write + fdatasync is one syscall and one thread-pool round trip (measured: wal-write
   * syncEvery=1 went from 0.6-0.8x to about etcd's rate). Undefined where O_DSYNC is missing.
   */
  private dsyncTail: WalFileHandle | undefined;
  private tailOffset = 0;
  /**
   * The tail may hold bytes that were written but not fdatasynced (by a save that need not sync,
   * or, after `open`, by a previous writer): the next sync must then be a whole-file fdatasync.
   */
  private unsynced = false;
  /**
   * Zero-ahead state. Invariant: the tail's bytes in [alignUp(tailOffset), zeroedTo) are zeros
   * that were written (and are allocated on disk once the next sync is done).
   */
  private zeroedTo = 0;

  /** Bytes of the tail known to hold only whole, written records (advanced after each flush). */
  private stableOffset = 0;
  /** Bytes of the tail known durable (advanced after each sync): what a sync marker claims. */
  private durableOffset = 0;
  /**
   * This WAL has written records to the tail that no marker claims yet: {@link WAL.close} seals
   * them. False after an open (an open, read and close leaves the files as they were, as etcd's).
   */
  private unsealed = false;
  private enc: BatchEncoder | undefined;
  private metadata: Uint8Array | undefined;
  /** Flush-time state: the last HardState written and etcd's `enti` (last entry index written). */
  private state: HardState = EMPTY_HS;
  private enti = 0;
  /** Call-time state, for validation and the must-sync rule. */
  private qState: HardState = EMPTY_HS;
  private qIndex = 0;
  private qMaxIndex = 0;
  private qTerm = 0;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failed: unknown = undefined;
  private closed = false;
  private readDone = false;

  private constructor(dir: string, opts: Resolved, lock: DirLock | undefined, held: SegmentName[], start: WalSnapshot) {
    this.dir = dir;
    this.opts = opts;
    this.lock = lock;
    this.held = held;
    this.start = start;
  }

  /** True if `dir` holds at least one segment file. */
  static async exists(dir: string, options?: WalOptions): Promise<boolean> {
    try {
      return (await listSegments(dir, options?.io ?? nodeIO)).length > 0;
    } catch {
      return false;
    }
  }

  /**
   * Creates a WAL in `dir` (created, or an empty existing directory) and returns it in write mode.
   * Written atomically: the first segment (a crc record, the metadata, an empty snapshot record)
   * is built in `dir.tmp`, synced, and renamed to `dir`; the parent directory is synced.
   * @throws {@link WalExistsError} if `dir` already holds segments; {@link WalLockedError}.
   */
  static async create(dir: string, metadata: Uint8Array | undefined, options?: WalOptions): Promise<WAL> {
    const opts = resolve(options);
    const io = opts.io;
    if (await WAL.exists(dir, opts)) throw new WalExistsError(dir);
    // Creators of `dir` exclude each other; the directory itself is locked once it exists (as
    // `dir.tmp`: the lock follows the directory through the rename).
    const creating = await io.lockDirCreation(dir);
    let lock: DirLock | undefined;
    let h: WalFileHandle | undefined;
    try {
      const tmp = dir.replace(/\/+$/, "") + ".tmp";
      await io.rm(tmp, { recursive: true, force: true });
      await io.mkdir(tmp, { recursive: true });
      lock = await io.lockDir(tmp);
      const name = walName(0, 0);
      h = await io.open(join(tmp, name), "w+", 0o600);
      await h.truncate(opts.segmentSizeBytes);
      const enc = new BatchEncoder(0);
      enc.crcRecord(0);
      enc.raw(RecordType.Metadata, metadata);
      enc.raw(RecordType.Snapshot, encodeWalSnapshot({ index: 0, term: 0 }));
      // The header's own marker (claiming nothing: 0): every segment has one before its first
      // batch, so damage in that batch is judged by the markers' rules, even when the torn
      // write lost the batch's own marker (README "Sync markers").
      if (!opts.faults.noSyncMarkers) enc.marker(0);
      await writeAll(h, enc.buf, enc.len, 0);
      await h.sync();
      await h.close();
      h = undefined;
      // The segment's entry in the new directory must be durable too before the directory
      // is renamed into place (POSIX: only an fsync of the directory makes it so; found by
      // the simulated disk, sim-fs.test.ts, where acknowledged saves vanished with it).
      await syncDir(tmp, io);
      const existing = await io.readdir(dir).catch(() => undefined);
      if (existing !== undefined) {
        if (existing.length > 0) throw new WalStateError(`create: ${dir} exists and is not empty`);
        await io.rmdir(dir);
      }
      await io.rename(tmp, dir);
      await syncDir(dirname(join(dir, ".")), io);
      const w = new WAL(dir, opts, lock, [{ name, seq: 0, index: 0 }], { index: 0, term: 0 });
      w.tail = await io.open(join(dir, name), "r+");
      w.tailOffset = w.stableOffset = w.durableOffset = enc.len;
      w.unsealed = true; // the header's records: its marker claims only what precedes it
      await w.openDsync(name);
      w.enc = enc;
      enc.reset();
      w.metadata = metadata;
      w.readDone = true;
      return w;
    } catch (e) {
      await h?.close().catch(() => undefined);
      await lock?.release();
      throw e;
    } finally {
      await creating.release();
    }
  }

  /**
   * Opens the WAL in write mode at `snap` (as etcd's server does at boot): locks the directory,
   * selects the segments from the last one starting at or before `snap.index`. Call
   * {@link WAL.readAll} before saving.
   * @throws {@link WalFileNotFoundError}, {@link WalLockedError}.
   */
  static async open(dir: string, snap: WalSnapshot, options?: WalOptions): Promise<WAL> {
    const opts = resolve(options);
    const names = await listSegments(dir, opts.io);
    const sel = selectSegments(dir, names, snap.index);
    const lock = await opts.io.lockDir(dir);
    try {
      const w = new WAL(dir, opts, lock, sel, snap);
      // Segments before the selected ones hold nothing after the snapshot: the next purge
      // deletes them first. Left behind, a purge of the held ones would leave a sequence gap
      // after them, which the next open refuses (found by the simulated disk, sim-fs.test.ts).
      w.released = names.slice(0, names.length - sel.length);
      w.tail = await opts.io.open(join(dir, sel[sel.length - 1]!.name), "r+");
      return w;
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  /**
   * Opens the WAL for reading only: no lock, no writes. A torn tail ends the log instead of
   * failing the read.
   * @throws {@link WalFileNotFoundError}.
   */
  static async openForRead(dir: string, snap: WalSnapshot, options?: WalOptions): Promise<WAL> {
    const opts = resolve(options);
    const sel = selectSegments(dir, await listSegments(dir, opts.io), snap.index);
    return new WAL(dir, opts, undefined, sel, snap);
  }

  private get writeMode(): boolean {
    return this.lock !== undefined;
  }

  /**
   * Reads every record from the snapshot on: the metadata, the last HardState, and the entries
   * after the snapshot. In write mode the log must end cleanly (a torn tail throws
   * {@link WalTornTailError}: close, {@link WAL.repair}, open again), any non-zero bytes after
   * the last record are zero-filled, and the WAL is then ready to save. In read mode a torn tail
   * ends the log, and a snapshot that is not found throws {@link WalSnapshotNotFoundError} with
   * the data in `result` (etcd 3.4's write mode ignores that case, and so does this one).
   * @throws {@link CrcMismatchError}, {@link WalCorruptError}, {@link RecordTooLargeError},
   *   {@link WalSnapshotMismatchError}, {@link WalTornTailError}, {@link WalSnapshotNotFoundError}.
   */
  async readAll(options?: ReadAllOptions): Promise<ReadAllResult> {
    if (this.closed) throw new WalStateError("readAll after close");
    if (this.readDone) throw new WalStateError("readAll called twice");
    this.readDone = true;
    const onEntry = options?.onEntry;
    const { res, lastSize } = await readFiles(
      this.dir,
      this.held,
      this.opts.readChunkBytes,
      {
        start: this.start,
        strictTail: this.writeMode,
        maxRecordBytes: this.opts.maxRecordBytes,
        copyData: this.opts.copyEntryData,
        skipSealedCrc: this.opts.faults.skipSealedCrc,
        onEntry: onEntry === undefined ? undefined : (e, si, off, crc) => onEntry(e, this.held[si]!.name, off, crc),
      },
      this.opts.io,
      this.writeMode ? this.tail : undefined,
    );
    const out: ReadAllResult = { metadata: res.metadata, hardState: res.hardState, entries: res.entries, lastIndex: res.lastIndex };
    if (this.writeMode) {
      await this.prepareAppend(res, lastSize);
    } else if (!res.matched) {
      throw Object.assign(new WalSnapshotNotFoundError(), { result: out });
    }
    return out;
  }

  private async prepareAppend(res: ReadResult, fileSize: number): Promise<void> {
    const tail = this.tail!;
    if (res.tailDirty) {
      // etcd's ZeroToEnd: what follows the last record was never synced; zero it so later
      // writes cannot leave a mix of old and new records.
      await tail.truncate(res.tailOffset);
      await tail.truncate(fileSize);
    }
    // Make what the reader accepted durable before anything is appended to it: the zero fill
    // above (a crash that undid it but kept later records would put them against the stale
    // bytes: a garbage length word, a log that never opens again; etcd's ZeroToEnd has no
    // sync), and whatever a previous process left only in the page cache (it ended without
    // a crash: records appended now must not outlive them). One fdatasync per open.
    await tail.datasync();
    this.tailOffset = this.stableOffset = this.durableOffset = res.tailOffset;
    this.unsynced = false;
    await this.openDsync(this.held[this.held.length - 1]!.name);
    this.enc = new BatchEncoder(res.crc);
    this.metadata = res.metadata;
    this.state = this.qState = res.hardState;
    this.enti = this.qIndex = res.lastIndex;
    this.qMaxIndex = Math.max(res.lastIndex, this.start.index);
    for (const s of res.snapshots) if (s.index > this.qMaxIndex) this.qMaxIndex = s.index;
    this.qTerm = Math.max(res.hardState.term, res.maxEntryTerm);
  }

  /** The path of the tail segment (where a failed write was going). */
  private tailPath(): string {
    const t = this.held[this.held.length - 1];
    return t === undefined ? this.dir : join(this.dir, t.name);
  }

  private checkWritable(what: string): void {
    if (this.closed) throw new WalStateError(`${what} after close`);
    if (this.failed instanceof WalNoSpaceError) throw this.failed; // the disk is full: the same typed error on every later call
    if (this.failed !== undefined) throw new WalStateError(`${what} after a failed write or sync: ${String(this.failed)}`);
    if (this.enc === undefined) throw new WalStateError(this.writeMode ? `${what} before readAll` : `${what} on a WAL opened for reading`);
  }

  /**
   * Appends `entries` then `hardState` (when not empty). Resolves once they are durable when
   * they must be (entries given, or term/vote changed: one fdatasync, shared by every save queued
   * while the previous write was in flight), or once written otherwise. The arrays and the
   * entries' data must not change until the promise settles. An entry index at or below the last
   * one overwrites the log from there (raft's conflict resolution). Resolves with the position of
   * the save's first record (undefined when there was nothing to write).
   * @throws {@link WalStateError} (rejected) if the WAL is closed, failed, not read yet, or the
   *   entries are not a run that continues the log (an index or term that is not an integer
   *   >= 1, indexes not consecutive, a term below the one before it in the batch: `@tsraft/raft`'s
   *   `entryRunProblem`, which MemoryStorage applies too; a gap after the last index; the WAL
   *   keeps no terms, so a first term below the entry before the batch is
   *   {@link DiskStorage.save}'s check; a type other than 0, 1, 2 or an EntryConfChange without
   *   data, which the reader would refuse as corrupt), or the HardState's commit is
   *   beyond the last index; I/O errors reject this and every later call ({@link WalNoSpaceError}
   *   when the disk is full: every later call is rejected with the same error).
   */
  save(hardState: HardState, entries: readonly Entry[]): Promise<WalPosition | undefined> {
    return this.saveBatch(hardState, entries, true);
  }

  /**
   * {@link WAL.save} for DiskStorage, which has checked the batch itself with
   * {@link walBatchProblem} before writing anything else: not checked twice per entry.
   */
  [SAVE_CHECKED_BATCH](hardState: HardState, entries: readonly Entry[]): Promise<WalPosition | undefined> {
    return this.saveBatch(hardState, entries, false);
  }

  private saveBatch(hardState: HardState, entries: readonly Entry[], checkBatch: boolean): Promise<WalPosition | undefined> {
    try {
      this.checkWritable("save");
      const emptyHs = isEmptyHardState(hardState);
      if (emptyHs && entries.length === 0) return Promise.resolve(undefined);
      this.validate(hardState, entries, emptyHs, checkBatch);
    } catch (e) {
      return Promise.reject(e);
    }
    const prev = this.qState;
    const mustSync = entries.length > 0 || hardState.vote !== prev.vote || hardState.term !== prev.term;
    if (entries.length > 0) {
      this.qIndex = entries[entries.length - 1]!.index;
      if (this.qIndex > this.qMaxIndex) this.qMaxIndex = this.qIndex;
    }
    if (!isEmptyHardState(hardState)) this.qState = hardState;
    return this.enqueue("save", hardState, entries, undefined, 0, mustSync);
  }

  private validate(hs: HardState, entries: readonly Entry[], emptyHs: boolean, checkBatch: boolean): void {
    // The messages are built by saveRefused, out of the loop: with template literals in the
    // loop's throw branches V8's optimizing compiler converted e.index to a string on every
    // iteration, taken or not (callgrind: ~500 instructions per entry, README "Figures").
    // The batch itself (walBatchProblem: a run, of types the reader accepts) is checked here
    // unless DiskStorage did: the reader refuses a WAL holding anything else as corrupt. So
    // the last entry has the largest term.
    if (checkBatch) {
      const problem = walBatchProblem(entries);
      if (problem !== undefined) throw new WalStateError(`save: ${problem}`);
    }
    let prevIndex = -1;
    let maxTerm = this.qTerm;
    const n = entries.length;
    if (n > 0) {
      const e = entries[0]!;
      if (e.index > this.qIndex + 1) throw saveRefused("gap", e.index, this.qIndex);
      prevIndex = entries[n - 1]!.index;
      maxTerm = Math.max(maxTerm, entries[n - 1]!.term);
    }
    if (!emptyHs) {
      const last = Math.max(this.qMaxIndex, prevIndex);
      if (hs.commit > last) throw saveRefused("commit", hs.commit, last);
      if (hs.term < maxTerm) throw saveRefused("termBelowEntry", hs.term, maxTerm);
      if (hs.term < this.qState.term) throw saveRefused("termBelowSaved", hs.term, this.qState.term);
      this.qTerm = Math.max(this.qTerm, maxTerm);
    } else if (maxTerm > Math.max(this.qState.term, this.qTerm)) {
      this.qTerm = maxTerm;
    }
  }

  /**
   * Appends a snapshot record (etcd's `SaveSnapshot`) and syncs. Call it after the snapshot
   * itself is durable (e.g. {@link Snapshotter.save}). Resolves with the record's position.
   * @throws {@link WalStateError} (rejected) as {@link WAL.save}.
   */
  saveSnapshot(snapshot: WalSnapshot): Promise<WalPosition | undefined> {
    try {
      this.checkWritable("saveSnapshot");
    } catch (e) {
      return Promise.reject(e);
    }
    if (snapshot.index > this.qIndex) this.qIndex = snapshot.index;
    if (snapshot.index > this.qMaxIndex) this.qMaxIndex = snapshot.index;
    return this.enqueue("snapshot", EMPTY_HS, [], encodeWalSnapshot(snapshot), snapshot.index, true);
  }

  /**
   * fdatasyncs the tail after every queued write.
   * @throws {@link WalStateError} (rejected) as {@link WAL.save}.
   */
  async sync(): Promise<void> {
    this.checkWritable("sync");
    await this.enqueue("sync", EMPTY_HS, [], undefined, 0, true);
  }

  private enqueue(
    kind: Pending["kind"],
    hs: HardState,
    entries: readonly Entry[],
    snap: Uint8Array | undefined,
    snapIndex: number,
    mustSync: boolean,
  ): Promise<WalPosition | undefined> {
    return new Promise<WalPosition | undefined>((resolve, reject) => {
      this.queue.push({ kind, hs, entries, snap, snapIndex, mustSync, pos: undefined, resolve, reject });
      if (this.flushing === undefined) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    // Invariant: `flushing` is cleared in the same synchronous step as the check that nothing
    // is queued (no await between them), so a save queued by a continuation of the last
    // resolve starts a new loop at once and is never stranded.
    // Inline writes: the loop may run to its end without an await; it starts after the current
    // turn's synchronous code (a microtask), so that `flushing` is set before it ends and the
    // saves of this turn share one write.
    const inline = this.opts.inlineWrites;
    if (inline) await undefined;
    let chunks: ChunkWriter | undefined;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        const enc = this.enc!;
        enc.reset();
        let sync = false;
        for (const p of batch) sync ||= p.mustSync;
        // A batch that syncs starts with a sync marker: the bytes of the tail before
        // `durableOffset` were durable before it was written (README, "Sync markers").
        if (sync && !this.opts.faults.noSyncMarkers) enc.marker(this.durableOffset);
        const segment = this.held[this.held.length - 1]!.name;
        // A large batch goes to the tail in chunks while it is encoded (README "Large saves").
        const large = this.opts.largeWriteBytes;
        if (large !== 0) {
          const bound = batchBytesBound(batch);
          if (bound >= large) {
            enc.reserve(bound); // the chunks in flight are views of the buffer: it must not move
            chunks = new ChunkWriter(this.tail!.fd, this.tailOffset, this.opts.io);
          }
        }
        const chunkBytes = large >>> 2;
        for (const p of batch) {
          if (p.kind !== "sync") p.pos = { segment, offset: this.tailOffset + enc.len, crc: enc.crc };
          for (const e of p.entries) {
            enc.entry(e);
            this.enti = e.index;
            if (chunks !== undefined && enc.len - chunks.queued >= chunkBytes) chunks.write(enc.buf, enc.len);
          }
          if (p.kind === "save" && !isEmptyHardState(p.hs)) {
            enc.state(p.hs);
            this.state = p.hs;
          }
          if (p.snap !== undefined) {
            enc.raw(RecordType.Snapshot, p.snap);
            if (this.enti < p.snapIndex) this.enti = p.snapIndex;
          }
        }
        if (this.opts.faults.ackBeforeSync) sync = false;
        const willCut = this.tailOffset + enc.len >= this.opts.segmentSizeBytes;
        // (Never after chunks: zero-ahead writes from the tail's next page boundary.)
        if (!willCut && chunks === undefined && this.wantsZeroAhead(enc.len)) await this.zeroAhead();
        // An O_DSYNC write makes only its own range durable: with unsynced bytes before it (a
        // commit-only save, or what a crashed writer left in the page cache), a crash could keep
        // the new records and lose the older ones, leaving a hole. Then write + fdatasync.
        let t0 = 0; // diagnostics: when the durable part began (measured only with a subscriber)
        if (sync && !willCut && enc.len > 0 && chunks === undefined && this.dsyncTail !== undefined && !this.unsynced) {
          if (walSyncChannel.hasSubscribers) t0 = performance.now();
          if (inline) writeAllFdSync(this.dsyncTail.fd, enc.buf, enc.len, this.tailOffset, this.opts.io);
          else await writeAllFd(this.dsyncTail.fd, enc.buf, enc.len, this.tailOffset, this.opts.io); // write + fdatasync in one
          this.tailOffset += enc.len;
          this.durableOffset = this.tailOffset;
        } else {
          if (chunks !== undefined) {
            chunks.write(enc.buf, enc.len);
            const c = chunks;
            chunks = undefined;
            await c.done();
          } else if (enc.len > 0) {
            if (inline) writeAllFdSync(this.tail!.fd, enc.buf, enc.len, this.tailOffset, this.opts.io);
            else await writeAllFd(this.tail!.fd, enc.buf, enc.len, this.tailOffset, this.opts.io);
          }
          this.tailOffset += enc.len;
          if (walSyncChannel.hasSubscribers) t0 = performance.now();
          if (willCut) await this.cut();
          else if (sync) {
            if (inline) this.opts.io.fdatasyncSync!(this.tail!.fd);
            else await datasyncFd(this.tail!.fd, this.opts.io);
            this.durableOffset = this.tailOffset;
          }
          this.unsynced = !sync && !willCut && (this.unsynced || enc.len > 0);
        }
        this.stableOffset = this.tailOffset;
        if (enc.len > 0) this.unsealed = true;
        if (t0 !== 0 && (sync || willCut)) walSyncChannel.publish({ dir: this.dir, seconds: (performance.now() - t0) / 1000 });
        if (enc.len > 0 && walWriteChannel.hasSubscribers) walWriteChannel.publish({ dir: this.dir, bytes: enc.len });
        for (const p of batch) p.resolve(p.pos);
      } catch (e) {
        // Chunks still in flight settle first: their descriptor may be closed next.
        if (chunks !== undefined) await chunks.done().catch(() => undefined);
        chunks = undefined;
        const err = noSpaceOr(e, this.tailPath());
        if (err instanceof WalNoSpaceError && this.opts.faults.swallowNoSpace) {
          for (const p of batch) p.resolve(p.pos); // planted bug: the batch was never written
          continue;
        }
        this.failed = err;
        for (const p of batch) p.reject(err);
        for (const p of this.queue.splice(0)) p.reject(err);
      }
    }
    this.flushing = undefined;
  }

  /** Should a batch of `len` bytes be preceded by a zero-ahead step? */
  private wantsZeroAhead(len: number): boolean {
    const z = this.opts.zeroAheadBytes;
    if (z === 0 || len === 0 || len >= ZERO_AHEAD_MAX_WRITE) return false;
    const end = this.opts.segmentSizeBytes;
    return this.zeroedTo < end && this.zeroedTo < this.tailOffset + len + Math.min(ZERO_AHEAD_LOW_WATER, z);
  }

  /**
   * Writes zeros after the tail, from the first page boundary at or after it; the next sync
   * (whole-file, see `unsynced`) makes the blocks allocated on disk. Runs inside the flush loop,
   * before the batch is written, so nothing else writes the tail meanwhile. Best effort: a
   * failure turns zero-ahead off and leaves the WAL as it was (those bytes read as zeros anyway).
   */
  private async zeroAhead(): Promise<void> {
    const from = Math.max(this.zeroedTo, Math.ceil(this.tailOffset / 4096) * 4096);
    const to = Math.min(from + this.opts.zeroAheadBytes, this.opts.segmentSizeBytes);
    if (to <= from) {
      this.zeroedTo = Math.max(this.zeroedTo, from);
      return;
    }
    try {
      zeros ??= new Uint8Array(DEFAULT_ZERO_AHEAD_BYTES);
      for (let p = from; p < to; p += zeros.length) await writeAllFd(this.tail!.fd, zeros, Math.min(zeros.length, to - p), p, this.opts.io);
      // No sync of its own (one sync per save at most): the batch that follows is then written
      // and fdatasynced whole-file, which allocates these blocks in the same journal commit.
      this.unsynced = true;
      this.zeroedTo = to;
    } catch {
      this.opts.zeroAheadBytes = 0;
    }
  }

  /** Starts a new segment, as etcd's `cut`: see the module comment of README "Segments". */
  private async cut(): Promise<void> {
    const tail = this.tail!;
    await tail.truncate(this.tailOffset);
    await tail.sync();
    const prev = this.held[this.held.length - 1]!;
    const next: SegmentName = { name: walName(prev.seq + 1, this.enti + 1), seq: prev.seq + 1, index: this.enti + 1 };
    const tmp = join(this.dir, `${next.name}.tmp`);
    const h = await this.opts.io.open(tmp, "w+", 0o600);
    try {
      await h.truncate(this.opts.segmentSizeBytes);
      const enc = this.enc!;
      enc.reset();
      enc.crcRecord(enc.crc);
      enc.raw(RecordType.Metadata, this.metadata);
      if (!isEmptyHardState(this.state)) enc.state(this.state);
      if (!this.opts.faults.noSyncMarkers) enc.marker(0); // the header's marker, as in create
      await writeAll(h, enc.buf, enc.len, 0);
      await h.sync();
      await this.opts.io.rename(tmp, join(this.dir, next.name));
      await syncDir(this.dir, this.opts.io);
      this.tailOffset = this.durableOffset = enc.len;
      this.zeroedTo = 0;
      enc.reset();
    } catch (e) {
      await h.close().catch(() => undefined);
      throw e;
    }
    this.tail = h;
    this.held.push(next);
    await tail.close();
    await this.openDsync(next.name);
  }

  private async openDsync(name: string): Promise<void> {
    await this.dsyncTail?.close();
    this.dsyncTail = undefined;
    const { O_RDWR, O_DSYNC } = this.opts.io.constants;
    if (O_DSYNC === undefined) return;
    this.dsyncTail = await this.opts.io.open(join(this.dir, name), O_RDWR | O_DSYNC);
  }

  /**
   * Releases the segments whose entries are all below `index`, keeping the one that contains it
   * (etcd's `ReleaseLockTo`); {@link WAL.purgeReleased} then deletes them.
   */
  releaseLockTo(index: number): void {
    let smaller = this.held.length - 1;
    for (let i = 0; i < this.held.length; i++) {
      if (this.held[i]!.index >= index) {
        smaller = i - 1;
        break;
      }
    }
    if (smaller <= 0) return;
    this.released.push(...this.held.slice(0, smaller));
    this.held = this.held.slice(smaller);
  }

  /**
   * Deletes the segment files released by {@link WAL.releaseLockTo} and syncs the directory.
   * @returns the names deleted.
   */
  async purgeReleased(): Promise<string[]> {
    const names = this.released.map((s) => s.name);
    this.released = [];
    for (const n of names)
      await this.opts.io.unlink(join(this.dir, n)).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? undefined : Promise.reject(e)));
    if (names.length > 0) await syncDir(this.dir, this.opts.io);
    return names;
  }

  /** The segments this WAL holds, oldest first (the tail last). */
  segments(): SegmentName[] {
    return this.held.slice();
  }

  /**
   * How many bytes of the tail segment hold whole records whose writes completed: a reader of
   * the tail (DiskStorage) stops there, so that it never sees a write in flight.
   */
  stableTailBytes(): number {
    return this.stableOffset;
  }

  /**
   * Waits for queued writes, syncs the tail, seals it, closes it and releases the lock.
   * Idempotent. The seal is a sync marker claiming the whole tail durable, written and synced
   * after the final sync: damage found at the next open anywhere before it (the last synced
   * batch included) is then refused as damage, not cut as a torn write (README "Sync markers").
   * The seal is best effort (a full disk: the close succeeds, the tail left as a crash leaves it).
   * @throws the error of a failed final sync (the lock is released anyway).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.flushing !== undefined) await this.flushing;
      if (this.tail !== undefined && this.enc !== undefined && this.failed === undefined) {
        await this.tail.datasync();
        // Best effort: everything is durable already; a seal that cannot be written (a full
        // disk) leaves the tail as a crash would (unsealed, or with a torn seal that the next
        // open's repair cuts and reports), and the close succeeds.
        if (this.unsealed && !this.opts.faults.noSyncMarkers && !this.opts.faults.noSeal) await this.seal().catch(() => undefined);
      }
    } finally {
      await this.tail?.close().catch(() => undefined);
      await this.dsyncTail?.close().catch(() => undefined);
      this.tail = this.dsyncTail = undefined;
      await this.lock?.release();
    }
  }

  /**
   * Appends the close's seal (see {@link WAL.close}): a marker claiming every byte before it
   * durable (true: the caller has just synced), made durable itself.
   */
  private async seal(): Promise<void> {
    const enc = this.enc!;
    enc.reset();
    enc.marker(this.tailOffset);
    await writeAllFd(this.tail!.fd, enc.buf, enc.len, this.tailOffset, this.opts.io);
    await datasyncFd(this.tail!.fd, this.opts.io);
    this.tailOffset += enc.len;
    this.durableOffset = this.stableOffset = this.tailOffset;
    this.unsealed = false;
    enc.reset();
  }

  /**
   * Gives the WAL up the way a crash would, without syncing: saves queued but not started yet
   * are rejected with {@link WalStateError} (never written), the write in progress (if any) is
   * let finish, then the files are closed without a sync and the lock is released. For crash
   * tests, and for giving up after a fatal error. Idempotent; a no-op after `close`.
   */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new WalStateError("save on an abandoned WAL");
    for (const p of this.queue.splice(0)) p.reject(err);
    try {
      if (this.flushing !== undefined) await this.flushing;
    } finally {
      await this.tail?.close().catch(() => undefined);
      await this.dsyncTail?.close().catch(() => undefined);
      this.tail = this.dsyncTail = undefined;
      await this.lock?.release();
    }
  }

  /**
   * Reads the WAL from `snap` without locking or changing it and checks every record (etcd's
   * `Verify`). A torn tail is not an error here (the next write-mode open reports it).
   * @throws {@link WalSnapshotNotFoundError} and the errors of {@link WAL.readAll}.
   */
  static verify(dir: string, snap: WalSnapshot, options?: WalOptions): Promise<void> {
    return verifyWal(dir, snap, resolve(options));
  }

  /**
   * The snapshot records of the WAL at or below the last HardState's commit (etcd's
   * `ValidSnapshotEntries`): the snapshots a restart may use.
   * @throws the errors of {@link WAL.readAll} other than a torn tail.
   */
  static async validSnapshotEntries(dir: string, options?: WalOptions): Promise<WalSnapshot[]> {
    const { snapshots, commit } = await snapshotRecords(dir, resolve(options));
    return snapshots.filter((s) => s.index <= commit);
  }

  /**
   * Every snapshot record of the WAL, whatever the HardState's commit (DiskStorage writes a
   * snapshot's file and record durably before anything refers to them).
   * @throws the errors of {@link WAL.readAll} other than a torn tail.
   */
  static async snapshotEntries(dir: string, options?: WalOptions): Promise<WalSnapshot[]> {
    return (await snapshotRecords(dir, resolve(options))).snapshots;
  }

  /**
   * Repairs a torn tail of the last segment (etcd's `Repair`): copies the segment to
   * `NAME.broken`, truncates it after the last whole record, and fsyncs. Any other damage is
   * left alone.
   * @returns true if the last segment now ends cleanly (repaired or already clean), false if
   *   it has damage that is not a torn tail.
   * @throws {@link WalLockedError} if the WAL is open in write mode; {@link WalFileNotFoundError}.
   */
  static async repair(dir: string, options?: WalOptions): Promise<boolean> {
    return (await repairWal(dir, resolve(options))).clean;
  }

  /**
   * {@link WAL.repair}, also saying what was cut.
   * @returns undefined if the last segment has damage that is not a torn tail; else what was
   *   cut (`cut` undefined when the segment already ended cleanly).
   * @throws as {@link WAL.repair}.
   */
  static async repairTail(dir: string, options?: WalOptions): Promise<{ cut: WalTailRepair | undefined } | undefined> {
    const r = await repairWal(dir, resolve(options));
    return r.clean ? { cut: r.cut } : undefined;
  }
}

/**
 * Why the WAL refuses `entries` as one batch, or `undefined`: not a run (`@tsraft/raft`'s
 * `entryRunProblem`: indexes and terms integers >= 1, consecutive, terms never decreasing, as
 * MemoryStorage's append checks), or a type the reader refuses ({@link entryTypeProblem}).
 * Checked by {@link WAL.save} and, before it writes anything, by DiskStorage's save.
 */
export function walBatchProblem(entries: readonly Entry[]): string | undefined {
  return entryRunProblem(entries) ?? entryTypeProblem(entries);
}

/**
 * Why the reader would refuse one of `entries` for its type (see `applyEntry` in reader.ts), or
 * `undefined`: a type other than 0, 1, 2, or an EntryConfChange without data (a v1 conf change
 * always carries its encoded ConfChange).
 */
function entryTypeProblem(entries: readonly Entry[]): string | undefined {
  const k = badTypeAt(entries);
  if (k < 0) return undefined;
  const e = entries[k]!;
  if (e.type === EntryType.EntryConfChange) return `entry ${e.index} is a conf change (EntryConfChange) without data: it must carry its encoded ConfChange`;
  return `entry ${e.index} has type ${String(e.type)}, want 0, 1 or 2 (EntryNormal, EntryConfChange, EntryConfChangeV2)`;
}

/** The position of the first entry {@link entryTypeProblem} describes, or -1 (no message here, see `validate`). */
function badTypeAt(entries: readonly Entry[]): number {
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    const t = e.type as number;
    // (t >>> 0) !== t: NaN, fractions, negatives
    if (t >>> 0 !== t || t > EntryType.EntryConfChangeV2 || (t === EntryType.EntryConfChange && e.data === undefined)) return k;
  }
  return -1;
}

/** The {@link WalStateError} of an input {@link WAL.save} refuses (kept out of its loop, see `validate`). */
function saveRefused(why: "gap" | "commit" | "termBelowEntry" | "termBelowSaved", a: number, b: number): WalStateError {
  switch (why) {
    case "gap":
      return new WalStateError(`save: entry ${a} leaves a gap after the last index ${b}`);
    case "commit":
      return new WalStateError(`save: HardState commit ${a} is beyond the last index ${b}`);
    case "termBelowEntry":
      return new WalStateError(`save: HardState term ${a} is below an entry's term ${b}`);
    case "termBelowSaved":
      return new WalStateError(`save: HardState term ${a} is below the saved term ${b}`);
  }
}
