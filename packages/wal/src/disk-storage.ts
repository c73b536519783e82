/**
 * DiskStorage: a raft {@link Storage} over a WAL directory and a snapshot directory.
 *
 * Layout: `DIR/wal` (the WAL) and `DIR/snap` (snapshot files). Terms of every entry in the log
 * are kept in memory (8 bytes each, so `term()` is O(1)); entries themselves live in blocks of
 * {@link BLOCK} consecutive indexes in an lru-cache bounded by `maxCachedBytes`; a block that
 * was evicted is read back from the segment files on demand (synchronously, since `Storage` is
 * synchronous) and decoded again. Writes go through the WAL first; memory is updated only once
 * they are durable, so every cached or evictable entry is on disk.
 * @module
 */
import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { CompactedError, SnapOutOfDateError, UnavailableError } from "@tsraft/raft";
import type { InitialState, Storage } from "@tsraft/raft";
import { entrySize } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, Snapshot } from "@tsraft/raftpb";
import { LRUCache } from "lru-cache";
import { NoSnapshotError, WalStateError, WalTornTailError } from "./errors.js";
import { readSegments } from "./reader.js";
import { Snapshotter } from "./snapshotter.js";
import { WAL } from "./wal.js";
import type { WalOptions } from "./wal.js";

/** Entries per cached block. */
export const BLOCK = 256;

/** Options of {@link DiskStorage.open}. */
export interface DiskStorageOptions extends WalOptions {
  /** Bytes of decoded entries (their `entrySize`) kept in memory. Default 64 MiB. */
  maxCachedBytes?: number;
  /** Metadata written when the WAL is created. */
  metadata?: Uint8Array;
  /** Repair a torn WAL tail at open, as etcd's server does (default true). */
  repairTornTail?: boolean;
}

const ZERO_HS: HardState = { term: 0, vote: 0n, commit: 0 };
const EMPTY_CS = (): ConfState => ({ voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
const emptySnap = (): Snapshot => ({ metadata: { index: 0, term: 0, confState: EMPTY_CS() } });

/** A disk-backed raft Storage (see the module comment). */
export class DiskStorage implements Storage {
  readonly dir: string;
  private readonly wal: WAL;
  private readonly snapshotter: Snapshotter;
  private readonly maxRecordBytes: number;
  private hardState: HardState;
  private snap: Snapshot;
  /** Invariant: terms[i - offset] is the term of entry i, for i in [offset, lastIndex]; terms[0] is the snapshot (or compaction) term. */
  private terms: number[];
  private offset: number;
  private readonly cache: LRUCache<number, Entry[]>;

  private constructor(dir: string, wal: WAL, snapshotter: Snapshotter, opts: DiskStorageOptions, snap: Snapshot, hs: HardState) {
    this.dir = dir;
    this.wal = wal;
    this.snapshotter = snapshotter;
    this.maxRecordBytes = opts.maxRecordBytes ?? 10 * 1024 * 1024;
    this.snap = snap;
    this.hardState = hs;
    this.offset = snap.metadata.index;
    this.terms = [snap.metadata.term];
    this.cache = new LRUCache<number, Entry[]>({
      maxSize: opts.maxCachedBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (blk) => {
        let n = 64;
        for (const e of blk) if (e !== undefined) n += entrySize(e);
        return n;
      },
    });
  }

  /**
   * Opens (or creates) the storage in `dir`: loads the newest snapshot the WAL knows, opens the
   * WAL at it (repairing a torn tail once, like etcd's server), and reads the log.
   * @throws the errors of {@link WAL.open}, {@link WAL.readAll} and {@link Snapshotter.load}.
   */
  static async open(dir: string, options: DiskStorageOptions = {}): Promise<DiskStorage> {
    const walDir = join(dir, "wal");
    const snapDir = join(dir, "snap");
    await mkdir(snapDir, { recursive: true });
    const snapshotter = new Snapshotter(snapDir);
    const walOpts: WalOptions = { ...options, copyEntryData: true };
    if (!(await WAL.exists(walDir))) {
      const wal = await WAL.create(walDir, options.metadata, walOpts);
      return new DiskStorage(dir, wal, snapshotter, options, emptySnap(), ZERO_HS);
    }
    const walSnaps = await WAL.snapshotEntries(walDir, walOpts);
    let snap = emptySnap();
    try {
      snap = await snapshotter.loadNewestAvailable(walSnaps);
    } catch (e) {
      if (!(e instanceof NoSnapshotError)) throw e;
    }
    const at = { index: snap.metadata.index, term: snap.metadata.term };
    let wal = await WAL.open(walDir, at, walOpts);
    let res;
    try {
      res = await wal.readAll();
    } catch (e) {
      await wal.close();
      if (!(e instanceof WalTornTailError) || options.repairTornTail === false || !(await WAL.repair(walDir, walOpts))) throw e;
      wal = await WAL.open(walDir, at, walOpts);
      res = await wal.readAll();
    }
    const s = new DiskStorage(dir, wal, snapshotter, options, snap, res.hardState);
    s.remember(res.entries);
    return s;
  }

  // ---------------------------------------------------------------------------------------------
  // Storage

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.terms.length - 1;
  }

  term(i: number): number {
    if (i < this.offset) throw new CompactedError();
    if (i > this.lastIndex()) throw new UnavailableError();
    return this.terms[i - this.offset]!;
  }

  entries(lo: number, hi: number, maxSize: number): readonly Entry[] {
    if (lo <= this.offset) throw new CompactedError();
    if (hi > this.lastIndex() + 1) throw new UnavailableError(`entries' hi(${hi}) is out of bound lastindex(${this.lastIndex()})`);
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; ) {
      const b = Math.floor(i / BLOCK);
      const blk = this.block(b);
      const end = Math.min(hi, (b + 1) * BLOCK);
      for (; i < end; i++) {
        const e = blk[i - b * BLOCK]!;
        size += entrySize(e);
        if (out.length > 0 && size > maxSize) return out;
        out.push(e);
      }
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  // ---------------------------------------------------------------------------------------------
  // persistence

  /**
   * Persists what a `Ready` hands out, in etcd's order: the snapshot (file, then WAL record),
   * then the entries and HardState (one WAL save: one fdatasync when needed). Memory is updated
   * when the writes are durable.
   * @throws the errors of {@link WAL.save}; {@link SnapOutOfDateError} for an old snapshot.
   */
  async save(hardState: HardState, entries: readonly Entry[], snapshot?: Snapshot): Promise<void> {
    if (snapshot !== undefined && snapshot.metadata.index > 0) await this.applySnapshot(snapshot);
    await this.wal.save(hardState, entries);
    if (!(hardState.term === 0 && hardState.vote === 0n && hardState.commit === 0)) this.hardState = hardState;
    if (entries.length > 0) this.remember(entries);
  }

  /** Appends entries (overwriting a conflicting suffix); durable when the promise resolves. */
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
   * @throws {@link SnapOutOfDateError} if it is older than the current one.
   */
  async applySnapshot(snapshot: Snapshot): Promise<void> {
    if (snapshot.metadata.index <= this.snap.metadata.index) throw new SnapOutOfDateError();
    await this.snapshotter.save(snapshot);
    await this.wal.saveSnapshot({ index: snapshot.metadata.index, term: snapshot.metadata.term });
    this.snap = snapshot;
    this.offset = snapshot.metadata.index;
    this.terms = [snapshot.metadata.term];
    this.cache.clear();
  }

  /**
   * Makes and saves a snapshot of the state machine at applied index `i` (file, then WAL record).
   * Does not compact: call {@link DiskStorage.compact} afterwards.
   * @throws {@link SnapOutOfDateError} if `i` is not after the current snapshot; {@link UnavailableError} past the last index.
   */
  async createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Promise<Snapshot> {
    if (i <= this.snap.metadata.index) throw new SnapOutOfDateError();
    if (i > this.lastIndex()) throw new UnavailableError();
    const snap: Snapshot = { data, metadata: { index: i, term: this.term(i), confState: cs ?? this.snap.metadata.confState } };
    await this.snapshotter.save(snap);
    await this.wal.saveSnapshot({ index: i, term: snap.metadata.term });
    this.snap = snap;
    return snap;
  }

  /**
   * Discards entries before `compactIndex` from memory, and releases and deletes the WAL
   * segments that only hold entries before both `compactIndex` and the last saved snapshot.
   * @throws {@link CompactedError} if already compacted; {@link UnavailableError} past the last index.
   */
  async compact(compactIndex: number): Promise<void> {
    if (compactIndex <= this.offset) throw new CompactedError();
    if (compactIndex > this.lastIndex()) throw new UnavailableError();
    this.terms = this.terms.slice(compactIndex - this.offset);
    this.offset = compactIndex;
    for (const b of [...this.cache.keys()]) if ((b + 1) * BLOCK <= compactIndex) this.cache.delete(b);
    this.wal.releaseLockTo(Math.min(compactIndex, this.snap.metadata.index));
    await this.wal.purgeReleased();
  }

  /** Closes the WAL (syncs, releases the lock). */
  close(): Promise<void> {
    return this.wal.close();
  }

  // ---------------------------------------------------------------------------------------------
  // memory

  /** Records durable entries: their terms, and the entries themselves in cached blocks. */
  private remember(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first <= this.offset) throw new WalStateError(`DiskStorage: entry ${first} is at or below the compacted index ${this.offset}`);
    // overwrite: drop what follows
    this.terms.length = first - this.offset;
    for (const b of [...this.cache.keys()]) if ((b + 1) * BLOCK > first) this.dropFrom(b, first);
    for (const e of entries) this.terms.push(e.term);
    let i = 0;
    while (i < entries.length) {
      const b = Math.floor(entries[i]!.index / BLOCK);
      const blk = this.cache.get(b) ?? this.loadPartial(b, entries[i]!.index);
      for (; i < entries.length && Math.floor(entries[i]!.index / BLOCK) === b; i++) blk[entries[i]!.index - b * BLOCK] = entries[i]!;
      this.cache.set(b, blk);
    }
  }

  private dropFrom(b: number, first: number): void {
    const blk = this.cache.get(b);
    if (blk === undefined) return;
    const keep = first - b * BLOCK;
    if (keep <= 0) this.cache.delete(b);
    else {
      blk.length = Math.min(blk.length, keep);
      this.cache.set(b, blk);
    }
  }

  /** The entries of block `b` before index `upTo` (a block appended to that was evicted). */
  private loadPartial(b: number, upTo: number): Entry[] {
    const lo = Math.max(b * BLOCK, this.offset + 1);
    if (lo >= upTo) return [];
    return this.readBlock(b, lo, upTo - 1);
  }

  /** Block `b`, from the cache or read back from the segments. */
  private block(b: number): Entry[] {
    const hit = this.cache.get(b);
    const lo = Math.max(b * BLOCK, this.offset + 1);
    const hi = Math.min((b + 1) * BLOCK - 1, this.lastIndex());
    if (hit !== undefined && hit.length > hi - b * BLOCK && hit[lo - b * BLOCK] !== undefined) return hit;
    const blk = this.readBlock(b, lo, hi);
    this.cache.set(b, blk);
    return blk;
  }

  /**
   * Reads entries `[lo, hi]` back from the segment files: from the last segment that starts at or
   * before `lo`, on through later ones until each index has an entry of the term recorded in
   * memory (a later segment may overwrite an earlier one's entries).
   */
  private readBlock(b: number, lo: number, hi: number): Entry[] {
    const blk: Entry[] = [];
    let missing = hi - lo + 1;
    const segs = this.wal.segments();
    let k = segs.length - 1;
    while (k > 0 && segs[k]!.index > lo) k--;
    for (; k < segs.length && missing > 0; k++) {
      const seg = segs[k]!;
      let bytes = new Uint8Array(readFileSync(join(this.dir, "wal", seg.name)));
      if (k === segs.length - 1) bytes = bytes.subarray(0, this.wal.stableTailBytes());
      readSegments([{ name: seg.name, firstIndex: seg.index, bytes }], {
        start: { index: Math.max(seg.index - 1, 0), term: 0 },
        strictTail: false,
        maxRecordBytes: this.maxRecordBytes,
        copyData: true,
        onEntry: (e) => {
          if (e.index < lo || e.index > hi || e.term !== this.terms[e.index - this.offset]) return;
          if (blk[e.index - b * BLOCK] === undefined) missing--;
          blk[e.index - b * BLOCK] = e;
        },
      });
    }
    if (missing > 0) throw new Error(`wal: DiskStorage: entries ${lo}..${hi} of block ${b} not found in the WAL segments`);
    return blk;
  }
}
