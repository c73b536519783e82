/**
 * The log reader: a WAL's records, segment after segment, from the bytes of its segment files,
 * so that `readAll`, `verify`, `repair` and the crash tests share one implementation. Pure (no
 * I/O): it works on buffers; read-ahead.ts feeds it chunks of files, damage.ts decides what a
 * damaged record is (torn tail or corruption; the package README "Corruption handling" has the
 * rules and why).
 * @module
 */
import { EntryType, bytesEqual } from "@tsraft/raftpb";
import type { Entry, HardState } from "@tsraft/raftpb";
import { crc32c, crc32cView } from "./crc32c.js";
import { classify, damageError, findRecordAfter, firstNonZero, isMarker, markerVerdict } from "./damage.js";
import { CrcMismatchError, WalCorruptError, WalSnapshotMismatchError, WalTornTailError } from "./errors.js";
import { ProtoError, decodeWalSnapshot, readEntry, readEntryFast, readHardState } from "./proto.js";
import type { WalSnapshot } from "./proto.js";
import { Frame, FrameStatus, RecordType, parseFrame } from "./record.js";

/** What {@link LogReader.scan} stopped at. */
export const ScanStop = {
  /** The bytes end inside a frame, or exactly after one: give the reader more. */
  NeedMore: 0,
  /** The segment file ends cleanly here. */
  FileEnd: 1,
  /** An all-zero length word: the segment ends here if the rest of the file is zero too. */
  Zero: 2,
  /** Anything else (damage, or a frame cut by the end of the file): read the rest with {@link LogReader.finishSegment}. */
  Slow: 3,
} as const;
export type ScanStop = (typeof ScanStop)[keyof typeof ScanStop];

/** One segment file's name and content (the whole file, including any zero-filled tail). */
export interface SegmentBytes {
  name: string;
  /** First raft index of the segment, from its name. */
  firstIndex: number;
  bytes: Uint8Array;
}

/** What the reader is for. */
export interface ReadOptions {
  /** The snapshot the log is read from: entries at or below `start.index` are skipped. */
  start: WalSnapshot;
  /** `true` for write mode (a torn tail is an error), `false` for read mode (it ends the log). */
  strictTail: boolean;
  maxRecordBytes: number;
  /** Copy entry data out of the segment buffers (otherwise entries hold views into them). */
  copyData: boolean;
  /** Stop collecting entries (for verify and snapshot listing). */
  skipEntries?: boolean;
  /**
   * Receives every entry record after `start.index`, in file order, instead of collecting them
   * in `entries` (an entry at index i replaces i and everything after it: the receiver applies
   * overwrites). `offset` is the record's offset in its segment file, `crcBefore` the running
   * CRC before it (enough to read the file again from there).
   */
  onEntry?: ((e: Entry, segment: number, offset: number, crcBefore: number) => void) | undefined;
  /**
   * With `onEntry`: deliver every entry record, whatever its index, without tracking the log
   * from `start` (DiskStorage reading one segment back).
   */
  rawEntries?: boolean;
  /** Test-only (the `skipSealedCrc` fault switch): take the records of a segment before the last one without checking their CRC. */
  skipSealedCrc?: boolean | undefined;
}

/** What a read found. */
export interface ReadResult {
  metadata: Uint8Array | undefined;
  hardState: HardState;
  entries: Entry[];
  /** Every snapshot record read, in order. */
  snapshots: WalSnapshot[];
  /** A snapshot record matched `start`. */
  matched: boolean;
  /** The running CRC after the last valid record. */
  crc: number;
  /** Offset in the last segment after its last valid record. */
  tailOffset: number;
  /** The last segment has non-zero bytes after `tailOffset` (write mode zero-fills them). */
  tailDirty: boolean;
  /** Index of the last entry record read (or of a later snapshot record), as etcd's `enti`. */
  lastIndex: number;
  /** The highest term of any entry read. */
  maxEntryTerm: number;
  /** The read stopped at a torn tail (read mode only; write mode throws it). */
  torn: WalTornTailError | undefined;
}

interface State {
  res: ReadResult;
  /** The term of the entry at `res.lastIndex` (entry terms never decrease along the log). */
  lastEntryTerm: number;
  seenMetadata: boolean;
  /** Highest index known to exist: entries, snapshot records, the segment's first index - 1. */
  maxIndex: number;
  lastState: HardState | undefined;
  /** terms[k]: the term of the entry at start.index + 1 + k (entries read after the start). */
  terms: number[];
  /** shapes[k]: {@link entryShape} of the same entry. */
  shapes: number[];
}

/**
 * Reads a WAL record by record, segment after segment, as etcd's `ReadAll` does, with the
 * stricter damage rules of the README. Incremental, so that segment files can be read in chunks:
 * {@link LogReader.scan} takes the whole, valid records of a chunk (the fast path: nothing there
 * needs to look ahead), {@link LogReader.finishSegment} the rest of a segment from a given offset
 * with the whole file in hand (the slow path: torn-tail and corruption analysis look at every
 * byte after a damaged record). Both apply records with the same code.
 */
export class LogReader {
  readonly res: ReadResult;
  private readonly st: State;
  private readonly opts: ReadOptions;
  private readonly f = new Frame();
  /** Why the last {@link LogReader.scan} stopped. */
  stop: ScanStop = ScanStop.NeedMore;
  // the current segment
  private name = "";
  private firstIndex = 0;
  private si = -1;
  private last = false;
  private rec = 0;
  /**
   * Whether the current segment had a sync marker (`sync-marker.ts`) among the records applied
   * so far; undefined when it is read from the middle (`resumeSegment`: a block read of bytes
   * that were durable, where damage is never a torn write).
   */
  private markers: boolean | undefined = false;

  constructor(opts: ReadOptions) {
    this.opts = opts;
    this.res = {
      metadata: undefined,
      hardState: { term: 0, vote: 0n, commit: 0 },
      entries: [],
      snapshots: [],
      matched: false,
      crc: 0,
      tailOffset: 0,
      tailDirty: false,
      lastIndex: 0,
      maxEntryTerm: 0,
      torn: undefined,
    };
    this.st = { res: this.res, lastEntryTerm: 0, maxIndex: 0, lastState: undefined, seenMetadata: false, terms: [], shapes: [] };
  }

  /** Starts the next segment (consecutive sequence numbers, checked by the caller). */
  beginSegment(name: string, firstIndex: number, last: boolean): void {
    this.name = name;
    this.firstIndex = firstIndex;
    this.last = last;
    this.si++;
    this.rec = 0;
    this.markers = false;
    const st = this.st;
    st.maxIndex = Math.max(st.maxIndex, firstIndex - 1);
    if (this.res.lastIndex < firstIndex - 1) this.res.lastIndex = firstIndex - 1;
  }

  /**
   * Starts reading segment `name` in the middle, at a record boundary whose running CRC before it
   * is `crc` (a `WalPosition`), to read entries back (with `rawEntries`): every record's CRC is
   * checked from there on; the checks that need the records before it (layout, gaps) are off.
   */
  resumeSegment(name: string, firstIndex: number, crc: number): void {
    this.beginSegment(name, firstIndex, true);
    this.rec = 2;
    this.markers = undefined;
    this.res.crc = crc;
    this.st.maxIndex = Number.MAX_SAFE_INTEGER - 1;
  }

  /**
   * The fast path: applies the whole, valid records of `buf[pos, n)`, where `buf[q]` is byte
   * `q + delta` of the segment file and `atFileEnd` tells whether `n` is the end of the file.
   * Stops at the first byte it cannot take alone and says why in {@link LogReader.stop}.
   * @returns the position in `buf` where it stopped (a frame boundary).
   * @throws the structural errors of the records it applies (corrupt, snapshot mismatch).
   */
  scan(buf: Uint8Array, pos: number, n: number, delta: number, atFileEnd: boolean): number {
    const f = this.f;
    const max = this.opts.maxRecordBytes;
    const res = this.res;
    for (;;) {
      const status = parseFrame(buf, n, pos, max, f);
      if (status === FrameStatus.Ok) {
        let pre: Entry | undefined;
        let crc: number;
        if (f.type === RecordType.Entry && f.hasData && (pre = readEntryFast(buf, f.dataStart, f.dataEnd)) !== undefined && pre.data !== undefined) {
          // one view for both: the payload's CRC through the entry's own data view
          crc = crc32cView(crc32c(res.crc, buf, f.dataStart, f.dataEnd - pre.data.length), pre.data);
          if (this.opts.copyData) pre.data = pre.data.slice();
        } else if (f.type === RecordType.Crc) {
          crc = this.crcRecordCrc(buf);
        } else {
          crc = f.hasData ? crc32c(res.crc, buf, f.dataStart, f.dataEnd) : res.crc;
        }
        if (crc !== f.crc && !(this.opts.skipSealedCrc === true && !this.last)) {
          this.stop = ScanStop.Slow; // damage: the slow path decides what it is
          return pos;
        }
        this.apply(buf, delta, pre);
        pos = f.end;
        continue;
      }
      if (!atFileEnd && (status === FrameStatus.End || status === FrameStatus.PartialWord || status === FrameStatus.PastEnd)) {
        this.stop = ScanStop.NeedMore;
      } else if (status === FrameStatus.End) {
        this.stop = ScanStop.FileEnd;
      } else {
        this.stop = status === FrameStatus.Zero ? ScanStop.Zero : ScanStop.Slow;
      }
      return pos;
    }
  }

  /**
   * Ends the segment at file offset `off`: where the file ends, or where an all-zero length word
   * starts a tail that the caller checked to be all zero to the end of the file.
   * @throws {@link WalCorruptError} for an empty segment before the last one.
   */
  endSegment(off: number): void {
    if (this.last) this.res.tailOffset = off;
    if (this.rec === 0 && off === 0 && !this.last) throw new WalCorruptError(this.name, 0, "empty segment before the last one");
  }

  /**
   * The CRC a crc record (frame `f`) must carry to be read on: its own (checked by `apply`
   * against the chain), except that one with data after the metadata must be a sync marker
   * whose own check holds; one whose check fails (a torn marker) gets a value it cannot carry,
   * so that it is damage, for the slow path's verdict.
   */
  private crcRecordCrc(buf: Uint8Array): number {
    const f = this.f;
    return this.rec > 1 && f.hasData && !isMarker(buf, f) ? ~f.crc : f.crc;
  }

  /**
   * The slow path: reads the rest of the segment from file offset `off`, `bytes` being the whole
   * file, deciding what a damaged record is (see the README), and ends the segment.
   * @throws {@link CrcMismatchError}, {@link WalCorruptError}, {@link RecordTooLargeError},
   *   {@link WalSnapshotMismatchError}, {@link WalTornTailError} (write mode only).
   */
  finishSegment(bytes: Uint8Array, off: number): void {
    const opts = this.opts;
    const res = this.res;
    const f = this.f;
    const buf = bytes;
    const n = buf.length;
    const last = this.last;
    for (;;) {
      const status = parseFrame(buf, n, off, opts.maxRecordBytes, f);
      if (status === FrameStatus.End) break;
      if (status === FrameStatus.Zero) {
        const y = findRecordAfter(buf, n, off + 8, opts.maxRecordBytes);
        if (y >= 0) {
          // what follows a zeroed block was never durable if the markers say so: a torn write
          if (!last || this.markers === undefined || markerVerdict(buf, n, off + 8, off, this.markers, opts.maxRecordBytes) !== "torn") {
            throw new WalCorruptError(this.name, off, `zero-filled block followed by a valid record at offset ${y}`);
          }
          const err = new WalTornTailError(this.name, off);
          if (opts.strictTail) throw err;
          res.torn = err;
          break;
        }
        if (last) res.tailDirty = firstNonZero(buf, off, n) >= 0;
        break;
      }
      if (status === FrameStatus.Ok) {
        const expect = f.type === RecordType.Crc ? this.crcRecordCrc(buf) : f.hasData ? crc32c(res.crc, buf, f.dataStart, f.dataEnd) : res.crc;
        if (expect === f.crc || (opts.skipSealedCrc === true && !last)) {
          this.apply(buf, 0);
          off = f.end;
          continue;
        }
      }
      // A record that cannot be read: a torn tail, or corruption.
      const torn = classify(buf, n, off, f, status, res.crc, last, opts.maxRecordBytes, this.markers);
      if (torn === undefined) throw damageError(this.name, off, f, status, opts.maxRecordBytes);
      const err = new WalTornTailError(this.name, off);
      if (opts.strictTail) throw err;
      res.torn = err;
      break;
    }
    this.endSegment(off);
  }

  /**
   * Applies the record in `this.f` (positions in `buf`, file offset = position + delta); `pre`
   * is its entry when the caller decoded it already.
   */
  private apply(buf: Uint8Array, delta: number, pre?: Entry): void {
    const f = this.f;
    const res = this.res;
    const st = this.st;
    const rec = this.rec++;
    const fileOff = f.off + delta;
    const name = this.name;
    // Layout every segment has: crc record first, metadata second, neither anywhere else. The
    // record type is not covered by the CRC; these rules make a flipped type bit visible.
    // (A crc record with data after the metadata passed as a sync marker: `crcRecordCrc`.)
    if ((rec === 0) !== (f.type === RecordType.Crc) && !(rec > 1 && f.hasData))
      throw new WalCorruptError(name, fileOff, rec === 0 ? "segment does not start with a crc record" : "crc record inside a segment");
    if ((rec === 1) !== (f.type === RecordType.Metadata))
      throw new WalCorruptError(name, fileOff, rec === 1 ? "second record is not metadata" : "metadata record inside a segment");
    try {
      switch (f.type) {
        case RecordType.Entry: {
          const crcBefore = res.crc;
          res.crc = f.crc;
          applyEntry(
            st,
            pre ?? readEntry(buf, f.dataStart, f.hasData ? f.dataEnd : f.dataStart, this.opts.copyData),
            this.opts,
            name,
            this.si,
            fileOff,
            crcBefore,
          );
          return;
        }
        case RecordType.Crc:
          if (rec > 1) {
            // a sync marker: the chain goes on through it unchanged
            if (f.crc !== res.crc) throw new CrcMismatchError(this.name, fileOff, "sync marker (running crc)");
            if (this.markers !== undefined) this.markers = true;
            return;
          }
          if (f.hasData) throw new WalCorruptError(name, fileOff, "crc record with data");
          // The running CRC of the segments before must continue here; unknown for the first
          // segment read (etcd skips the check when its decoder's CRC is still 0).
          if (this.si !== 0 && f.crc !== res.crc) throw new CrcMismatchError(this.name, fileOff, "crc record (running crc of the previous segments)");
          if (this.si === 0 && this.firstIndex === 0 && f.crc !== 0) throw new CrcMismatchError(this.name, fileOff, "crc record of the first segment");
          res.crc = f.crc;
          return;
        case RecordType.Metadata: {
          const data = f.hasData ? buf.subarray(f.dataStart, f.dataEnd) : undefined;
          if (st.seenMetadata && !bytesEqual(res.metadata, data)) throw new WalCorruptError(name, fileOff, "metadata conflicts with the first segment's");
          // always a copy: the metadata outlives the read buffers
          if (!st.seenMetadata) res.metadata = data?.slice();
          st.seenMetadata = true;
          res.crc = f.crc;
          return;
        }
        case RecordType.State: {
          const h = readHardState(buf, f.dataStart, f.hasData ? f.dataEnd : f.dataStart);
          if (st.lastState !== undefined && h.term < st.lastState.term)
            throw new WalCorruptError(name, fileOff, `HardState term ${h.term} below the previous ${st.lastState.term}`);
          if (h.term < res.maxEntryTerm) throw new WalCorruptError(name, fileOff, `HardState term ${h.term} below an entry's term ${res.maxEntryTerm}`);
          if (h.commit > st.maxIndex) throw new WalCorruptError(name, fileOff, `HardState commit ${h.commit} beyond the last index ${st.maxIndex}`);
          st.lastState = h;
          res.hardState = h;
          res.crc = f.crc;
          return;
        }
        case RecordType.Snapshot: {
          const s = f.hasData ? decodeWalSnapshot(buf, f.dataStart, f.dataEnd) : { index: 0, term: 0 };
          res.snapshots.push(s);
          if (s.index === this.opts.start.index) {
            if (s.term !== this.opts.start.term) throw new WalSnapshotMismatchError();
            res.matched = true;
          }
          if (s.index > res.lastIndex) res.lastIndex = s.index;
          if (s.index > st.maxIndex) st.maxIndex = s.index;
          res.crc = f.crc;
          return;
        }
      }
    } catch (e) {
      if (e instanceof ProtoError) throw new WalCorruptError(this.name, fileOff, `undecodable record data: ${e.message}`, { cause: e });
      throw e;
    }
  }
}

/**
 * Reads the records of `segments` (in order, consecutive sequence numbers), each given whole,
 * as etcd's `ReadAll` does, with the stricter damage rules of the README.
 * @throws {@link CrcMismatchError}, {@link WalCorruptError}, {@link RecordTooLargeError},
 *   {@link WalSnapshotMismatchError}, {@link WalTornTailError} (write mode only).
 */
export function readSegments(segments: readonly SegmentBytes[], opts: ReadOptions): ReadResult {
  const r = new LogReader(opts);
  for (let si = 0; si < segments.length; si++) {
    const seg = segments[si]!;
    r.beginSegment(seg.name, seg.firstIndex, si === segments.length - 1);
    r.finishSegment(seg.bytes, 0);
  }
  return r.res;
}

/**
 * What tells two entries of one index and term apart cheaply: type and data length (0 without
 * a data field, else length + 1). Equal for the same entry written twice; a HardState record read as an entry
 * has no data field.
 */
export function entryShape(e: Entry): number {
  return e.type * 0x100000000 + (e.data === undefined ? 0 : e.data.length + 1);
}

/** The error for an entry record {@link applyEntry} refuses (messages built here, see there). */
function entryRefused(
  name: string,
  fileOff: number,
  why: "index" | "type" | "confChange" | "gap" | "termBelow" | "rewrite",
  a: number,
  b: number,
  c = 0,
): WalCorruptError {
  switch (why) {
    case "index":
      return new WalCorruptError(name, fileOff, `entry with index ${a} term ${b}`);
    case "type":
      return new WalCorruptError(name, fileOff, `entry of unknown type ${a}`);
    case "confChange":
      return new WalCorruptError(name, fileOff, `conf change entry ${a} without data`);
    case "gap":
      return new WalCorruptError(name, fileOff, `entry ${a} leaves a gap after ${b}`);
    case "termBelow":
      return new WalCorruptError(name, fileOff, `entry ${a} has term ${b}, below the previous entry's ${c}`);
    case "rewrite":
      return new WalCorruptError(name, fileOff, `entry ${a} rewritten by another entry of the same term ${b}`);
  }
}

function applyEntry(st: State, e: Entry, opts: ReadOptions, name: string, si: number, fileOff: number, crcBefore: number): void {
  const res = st.res;
  const index = e.index;
  // The refusals' messages are built by entryRefused, out of this per-entry function: with
  // template literals here, V8's optimizing compiler converted `index` to a string on every
  // entry, the branch taken or not (930 instructions per entry, 8% of readAll: README).
  if (index < 1 || e.term < 1) throw entryRefused(name, fileOff, "index", index, e.term);
  if (e.type > 2) throw entryRefused(name, fileOff, "type", e.type, 0);
  // A conf change (v1) always carries its encoded ConfChange; without a data field this is a
  // HardState record whose type bit flipped (README, "Type bits").
  if (e.type === EntryType.EntryConfChange && e.data === undefined) throw entryRefused(name, fileOff, "confChange", index, 0);
  if (index > st.maxIndex + 1) throw entryRefused(name, fileOff, "gap", index, st.maxIndex);
  const start = opts.start.index;
  // Terms never decrease along the log: check against the entry before, when it is known.
  let prevTerm = -1;
  if (index === res.lastIndex + 1) prevTerm = st.lastEntryTerm;
  else if (index - 1 > start) prevTerm = st.terms[index - start - 2] ?? -1;
  if (e.term < prevTerm) throw entryRefused(name, fileOff, "termBelow", index, e.term, prevTerm);
  if (opts.rawEntries === true) opts.onEntry?.(e, si, fileOff, crcBefore);
  else if (index > start && !opts.skipEntries) {
    const up = index - start - 1;
    if (up > st.terms.length) throw entryRefused(name, fileOff, "gap", index, start + st.terms.length);
    const shape = entryShape(e);
    if (up < st.terms.length) {
      // Raft never rewrites an index with another entry of the same term (Log Matching): a
      // HardState record read as an entry (its type bit flipped) would.
      if (st.terms[up] === e.term && st.shapes[up] !== shape) throw entryRefused(name, fileOff, "rewrite", index, e.term);
      st.terms.length = up;
      st.shapes.length = up;
    }
    st.terms.push(e.term);
    st.shapes.push(shape);
    if (opts.onEntry !== undefined) opts.onEntry(e, si, fileOff, crcBefore);
    else {
      if (up < res.entries.length) res.entries.length = up;
      res.entries.push(e);
    }
  }
  st.lastEntryTerm = e.term;
  if (e.term > res.maxEntryTerm) res.maxEntryTerm = e.term;
  res.lastIndex = index;
  if (index > st.maxIndex) st.maxIndex = index;
}
