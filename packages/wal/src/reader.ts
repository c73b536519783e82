/**
 * Reading a WAL from the bytes of its segment files, so that `readAll`, `verify`, `repair` and
 * the crash tests share one implementation. The log reader and the damage classification work
 * on buffers only (the tests run them over bytes in memory); the chunked read-ahead
 * (`readSegmentsChunked`) is the one part that reads, through a `SegmentSource` it is given.
 *
 * What counts as the end of the log, what as a torn tail and what as corruption is decided
 * here; see the package README "Corruption handling" for the rules and why.
 * @module
 */
import { bytesEqual } from "@tsraft/raftpb";
import type { Entry, HardState } from "@tsraft/raftpb";
import { crc32c, crc32cView } from "./crc32c.js";
import {
  CrcMismatchError,
  RecordTooLargeError,
  WalCorruptError,
  type WalError,
  WalSnapshotMismatchError,
  WalTornTailError,
} from "./errors.js";
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

const SECTOR = 512;
const ZERO_CHUNK = new Uint8Array(1 << 16);

/** Offset of the first non-zero byte of `buf[from, to)`, or -1. */
export function firstNonZero(buf: Uint8Array, from: number, to: number): number {
  let i = from;
  // memcmp-speed skip over zero chunks
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  while (to - i >= ZERO_CHUNK.length) {
    if (b.compare(ZERO_CHUNK, 0, ZERO_CHUNK.length, i, i + ZERO_CHUNK.length) !== 0) break;
    i += ZERO_CHUNK.length;
  }
  for (; i < to; i++) if (buf[i] !== 0) return i;
  return -1;
}

/**
 * etcd's torn-write test (`isTornEntry`): split the record bytes after the length word at
 * 512-byte file-offset boundaries; if any piece is all zero, the write was torn.
 */
function hasZeroSector(buf: Uint8Array, from: number, to: number): boolean {
  let p = from;
  while (p < to) {
    const next = Math.min(to, (Math.floor(p / SECTOR) + 1) * SECTOR);
    let zero = true;
    for (let i = p; i < next; i++) {
      if (buf[i] !== 0) {
        zero = false;
        break;
      }
    }
    if (zero) return true;
    p = next;
  }
  return false;
}

/**
 * The first 8-aligned offset in `[from, n)` where a well-formed record starts (framing, padding
 * and walpb.Record structure all valid), or -1. Random bytes pass with a probability of about
 * 2^-40 per offset; real records always do.
 */
export function findRecordAfter(buf: Uint8Array, n: number, from: number, maxRecordBytes: number): number {
  const f = new Frame();
  let y = Math.ceil(from / 8) * 8;
  while (y + 8 <= n) {
    const nz = firstNonZero(buf, y, n);
    if (nz < 0) return -1;
    y = Math.max(y, Math.floor(nz / 8) * 8);
    if (parseFrame(buf, n, y, maxRecordBytes, f) === FrameStatus.Ok && f.type !== RecordType.Crc) return y;
    y += 8;
  }
  return -1;
}

/**
 * Decodes the walpb.Record at `start` by its own field lengths (etcd's layout: 08 type 10 crc
 * 1a len data) and checks its CRC against `crc`. Returns the record's natural length, or -1.
 */
function naturalValid(buf: Uint8Array, n: number, start: number, crc: number): number {
  let p = start;
  const rd = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8 && p < n; i++) {
      const b = buf[p++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    return -1;
  };
  if (p >= n || buf[p++] !== 0x08) return -1;
  const type = rd();
  if (type < 1 || type > 5 || type === RecordType.Crc || p >= n || buf[p++] !== 0x10) return -1;
  const stored = rd();
  if (stored < 0 || p >= n || buf[p++] !== 0x1a) return -1;
  const len = rd();
  if (len < 0 || p + len > n) return -1;
  return crc32c(crc, buf, p, p + len) === stored ? p + len - start : -1;
}

/**
 * Is the record at `off` whole, with only its frame damaged (a wrong length word or padding)?
 * Then it was written completely and must not be cut away as torn.
 */
function intactBody(buf: Uint8Array, n: number, off: number, crc: number, f: Frame, status: FrameStatus): boolean {
  const len = naturalValid(buf, n, off + 8, crc);
  if (len < 0) return false;
  // a consistent length word whose padding the end of the file cut off is a torn write
  return !(status === FrameStatus.PastEnd && len === f.recBytes);
}

/** One zero-byte step of the raw (non-inverted) CRC-32C register. */
function zeroStep(c: number): number {
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
}

/**
 * Would flipping one bit make the record at `off` valid? Checks the data by CRC linearity (the
 * syndrome of a flip at each position, O(8 * length)), the crc field (a one-bit syndrome), and
 * the record header bytes by trial. A torn write matches by chance with probability about
 * 8 * length / 2^32, so a match means bit rot, never a torn tail.
 */
function explainedByBitFlip(buf: Uint8Array, n: number, off: number, f: Frame, status: FrameStatus, crc: number, zeroFrom: number): boolean {
  // A flip inside the trailing zeros (a 1 read as 0) is just as well a zero-filled tail: only
  // flips before `zeroFrom` count.
  if (status === FrameStatus.Ok && f.hasData) {
    const s = (crc32c(crc, buf, f.dataStart, f.dataEnd) ^ f.crc) >>> 0;
    if ((s & (s - 1)) === 0 && zeroFrom > f.dataStart) return true; // the crc field itself
    const k = new Uint32Array(8);
    for (let b = 0; b < 8; b++) k[b] = zeroStep((1 << b) >>> 0) >>> 0;
    for (let p = f.dataEnd - 1; p >= f.dataStart; p--) {
      for (let b = 0; b < 8; b++) {
        if (k[b] === s && p < zeroFrom) return true;
        k[b] = zeroStep(k[b]!);
      }
    }
  }
  const start = off + 8;
  const hdrEnd = Math.min(n, start + 24, zeroFrom, status === FrameStatus.Ok && f.hasData ? f.dataStart : start + 24);
  for (let q = start; q < hdrEnd; q++) {
    for (let b = 0; b < 8; b++) {
      buf[q]! ^= 1 << b;
      const ok = naturalValid(buf, n, start, crc) >= 0;
      buf[q]! ^= 1 << b;
      if (ok) return true;
    }
  }
  return false;
}

/** The offset of the last non-zero byte of `buf[from, to)`, or -1. */
function lastNonZero(buf: Uint8Array, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (buf[i] !== 0) return i;
  return -1;
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
    this.st = { res: this.res, lastEntryTerm: 0, maxIndex: 0, lastState: undefined, seenMetadata: false, terms: [] };
  }

  /** Starts the next segment (consecutive sequence numbers, checked by the caller). */
  beginSegment(name: string, firstIndex: number, last: boolean): void {
    this.name = name;
    this.firstIndex = firstIndex;
    this.last = last;
    this.si++;
    this.rec = 0;
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
          crc = f.crc; // checked by apply, against the chain
        } else {
          crc = f.hasData ? crc32c(res.crc, buf, f.dataStart, f.dataEnd) : res.crc;
        }
        if (crc !== f.crc) {
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
        if (y >= 0) throw new WalCorruptError(this.name, off, `zero-filled block followed by a valid record at offset ${y}`);
        if (last) res.tailDirty = firstNonZero(buf, off, n) >= 0;
        break;
      }
      if (status === FrameStatus.Ok) {
        const expect = f.type === RecordType.Crc ? -1 : f.hasData ? crc32c(res.crc, buf, f.dataStart, f.dataEnd) : res.crc;
        if (expect === -1 || expect === f.crc) {
          this.apply(buf, 0);
          off = f.end;
          continue;
        }
      }
      // A record that cannot be read: a torn tail, or corruption.
      const torn = classify(buf, n, off, f, status, res.crc, last, opts.maxRecordBytes);
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
    if ((rec === 0) !== (f.type === RecordType.Crc)) throw new WalCorruptError(name, fileOff, rec === 0 ? "segment does not start with a crc record" : "crc record inside a segment");
    if ((rec === 1) !== (f.type === RecordType.Metadata)) throw new WalCorruptError(name, fileOff, rec === 1 ? "second record is not metadata" : "metadata record inside a segment");
    try {
      switch (f.type) {
        case RecordType.Entry: {
          const crcBefore = res.crc;
          res.crc = f.crc;
          applyEntry(st, pre ?? readEntry(buf, f.dataStart, f.hasData ? f.dataEnd : f.dataStart, this.opts.copyData), this.opts, name, this.si, fileOff, crcBefore);
          return;
        }
        case RecordType.Crc:
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
          if (st.lastState !== undefined && h.term < st.lastState.term) throw new WalCorruptError(name, fileOff, `HardState term ${h.term} below the previous ${st.lastState.term}`);
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

/** A segment file to read in chunks (a file, or bytes in memory for tests). */
export interface SegmentSource {
  name: string;
  /** First raft index of the segment, from its name. */
  firstIndex: number;
  /** The file's size. */
  size: number;
  /** Reads up to `len` bytes at file offset `pos` into `buf[off, off + len)`; returns how many. */
  read(buf: Uint8Array, off: number, len: number, pos: number): Promise<number>;
}

/** Default chunk size of {@link readSegmentsChunked}. */
export const DEFAULT_READ_CHUNK_BYTES = 8 << 20;

/**
 * A frame cut by a chunk boundary that is at most this long is carried into the next chunk,
 * which is read with this much room in front of it (so the next read can be issued before the
 * current chunk is parsed); a longer one makes the reader read again from its start.
 */
const DEFAULT_CARRY_BYTES = 64 << 10;

/** A fresh buffer without zero-filling it (it is overwritten by the read). */
function uninitialized(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

interface Chunk {
  buf: Uint8Array;
  /** File offset of `buf[carry]`. */
  pos: number;
  /** Bytes read into `buf[carry, carry + len)`. */
  len: number;
}

/**
 * Reads `segments` as {@link readSegments} does, but from sources, chunk by chunk: the next chunk
 * is read while the current one is parsed, the zero-filled tail of a preallocated segment is
 * only checked to be zero (in a reused buffer), and a segment is read whole only when damage
 * needs the slow path. Entries' data (unless copied) are views into the chunk buffers, which
 * live as long as any entry of theirs. Same results and errors as {@link readSegments}.
 * @throws the errors of {@link readSegments}, and I/O errors of the sources.
 */
export async function readSegmentsChunked(
  segments: readonly SegmentSource[],
  opts: ReadOptions,
  chunkBytes = DEFAULT_READ_CHUNK_BYTES,
  carryBytes = DEFAULT_CARRY_BYTES,
): Promise<ReadResult> {
  const CARRY = carryBytes;
  const r = new LogReader(opts);
  let scratch: Uint8Array[] | undefined;
  // Nothing keeps a view into the chunks when data are copied or entries skipped: then chunk
  // buffers take turns (one parsed, one or two being read) instead of one allocation per chunk.
  const recycle = opts.copyData || opts.skipEntries === true;
  const spare: Uint8Array[] = [];
  const release = (c: Chunk): void => {
    if (recycle && c.buf.length === CARRY + chunkBytes) spare.push(c.buf);
  };
  const read = async (src: SegmentSource, pos: number, want: number): Promise<Chunk> => {
    const len = Math.max(0, Math.min(want, src.size - pos));
    const buf = recycle && want === chunkBytes ? (spare.pop() ?? uninitialized(CARRY + chunkBytes)) : uninitialized(CARRY + len);
    let done = 0;
    while (done < len) {
      const k = await src.read(buf, CARRY + done, len - done, pos + done);
      if (k === 0) break;
      done += k;
    }
    return { buf, pos, len: done };
  };
  /** The first chunk of the next segment, read while the current one's last chunk is parsed. */
  let nextSegment: Promise<Chunk> | undefined;
  try {
    for (let si = 0; si < segments.length; si++) {
      const src = segments[si]!;
      const size = src.size;
      r.beginSegment(src.name, src.firstIndex, si === segments.length - 1);
      let next: Promise<Chunk> | undefined = nextSegment ?? read(src, 0, chunkBytes);
      nextSegment = undefined;
      let start = CARRY;
      try {
        for (;;) {
          const c: Chunk = await next!;
          const end = CARRY + c.len;
          const atEnd = c.pos + c.len >= size || c.len === 0;
          next = atEnd ? undefined : read(src, c.pos + c.len, chunkBytes);
          next?.catch(() => undefined); // awaited below; never an unhandled rejection
          if (atEnd && si + 1 < segments.length) {
            nextSegment = read(segments[si + 1]!, 0, chunkBytes);
            nextSegment.catch(() => undefined);
          }
          const delta = c.pos - CARRY;
          const p = r.scan(c.buf, start, end, delta, atEnd);
          if (r.stop === ScanStop.NeedMore) {
            const carry = end - p;
            if (carry <= CARRY) {
              const n: Chunk = await next!;
              n.buf.set(c.buf.subarray(p, end), CARRY - carry);
              release(c);
              start = CARRY - carry;
              next = Promise.resolve(n);
              continue;
            }
            // a long frame cut by the boundary: read again from its start, big enough for it
            const n = await next!;
            release(n);
            release(c);
            next = read(src, p + delta, Math.max(chunkBytes, opts.maxRecordBytes + 16));
            start = CARRY;
            continue;
          }
          if (r.stop === ScanStop.FileEnd) {
            r.endSegment(p + delta);
            release(c);
            break;
          }
          if (r.stop === ScanStop.Zero) {
            scratch ??= [uninitialized(Math.min(chunkBytes, 4 << 20)), uninitialized(Math.min(chunkBytes, 4 << 20))];
            if (await zeroToEnd(src, c.buf, p, end, c.pos + c.len, scratch)) {
              r.endSegment(p + delta);
              release(c);
              break;
            }
          }
          // the slow path, with the whole file
          await next;
          next = undefined;
          const whole = await read(src, 0, size);
          r.finishSegment(whole.buf.subarray(CARRY, CARRY + whole.len), p + delta);
          break;
        }
      } finally {
        await next?.catch(() => undefined);
      }
    }
  } finally {
    await nextSegment?.catch(() => undefined);
  }
  return r.res;
}

/**
 * Are `buf[from, to)` and the file from `pos` to its end all zero? The file is read through the
 * scratch buffers in turn, the next read issued before the current one is checked.
 */
async function zeroToEnd(src: SegmentSource, buf: Uint8Array, from: number, to: number, pos: number, scratch: readonly Uint8Array[]): Promise<boolean> {
  if (firstNonZero(buf, from, to) >= 0) return false;
  const step = scratch[0]!.length;
  const readAt = (k: number, at: number): Promise<number> => (at < src.size ? src.read(scratch[k]!, 0, Math.min(step, src.size - at), at) : Promise.resolve(0));
  let k = 0;
  let pending = readAt(0, pos);
  try {
    while (pos < src.size) {
      const n = await pending;
      if (n === 0) break;
      pending = readAt(1 - k, pos + n);
      if (firstNonZero(scratch[k]!, 0, n) >= 0) return false;
      pos += n;
      k = 1 - k;
    }
    return true;
  } finally {
    await pending.catch(() => undefined);
  }
}

/**
 * In the last segment a damaged record is a torn write (returns true) when nothing that looks
 * like a record follows it, its body is not a whole record in a damaged frame, one flipped bit
 * does not explain it, and either the file ends inside it, one of its 512-byte pieces is all zero
 * (etcd's rule), or the file is all zero from inside it to the end (a zero-filled tail).
 */
function classify(
  buf: Uint8Array,
  n: number,
  off: number,
  f: Frame,
  status: FrameStatus,
  crc: number,
  last: boolean,
  maxRecordBytes: number,
): true | undefined {
  if (!last) return undefined;
  if (status === FrameStatus.PartialWord) return true;
  if (intactBody(buf, n, off, crc, f, status)) return undefined;
  if (findRecordAfter(buf, n, off + 8, maxRecordBytes) >= 0) return undefined;
  if (status === FrameStatus.PastEnd) return true;
  if (status === FrameStatus.TooLarge) return undefined;
  const end = Math.min(n, f.end);
  // where the zero-filled tail starts (end of the record's extent if the file is not zero to its end)
  const zeroFrom = firstNonZero(buf, end, n) < 0 ? lastNonZero(buf, off + 8, end) + 1 : end;
  if (explainedByBitFlip(buf, n, off, f, status, crc, zeroFrom)) return undefined;
  return hasZeroSector(buf, off + 8, end) || zeroFrom < end ? true : undefined;
}

function damageError(file: string, off: number, f: Frame, status: FrameStatus, max: number): WalError {
  switch (status) {
    case FrameStatus.Ok:
      return new CrcMismatchError(file, off);
    case FrameStatus.TooLarge:
      return new RecordTooLargeError(file, off, f.recBytes, max);
    case FrameStatus.PartialWord:
    case FrameStatus.PastEnd:
      return new WalCorruptError(file, off, "segment ends inside a record");
    case FrameStatus.BadFraming:
      return new WalCorruptError(file, off, "bad length word or padding");
    default:
      return new WalCorruptError(file, off, `undecodable record: ${f.why}`);
  }
}

function applyEntry(st: State, e: Entry, opts: ReadOptions, name: string, si: number, fileOff: number, crcBefore: number): void {
  const res = st.res;
  const index = e.index;
  if (index < 1 || e.term < 1) throw new WalCorruptError(name, fileOff, `entry with index ${index} term ${e.term}`);
  if (e.type > 2) throw new WalCorruptError(name, fileOff, `entry of unknown type ${e.type}`);
  if (index > st.maxIndex + 1) throw new WalCorruptError(name, fileOff, `entry ${index} leaves a gap after ${st.maxIndex}`);
  const start = opts.start.index;
  // Terms never decrease along the log: check against the entry before, when it is known.
  let prevTerm = -1;
  if (index === res.lastIndex + 1) prevTerm = st.lastEntryTerm;
  else if (index - 1 > start) prevTerm = st.terms[index - start - 2] ?? -1;
  if (e.term < prevTerm) throw new WalCorruptError(name, fileOff, `entry ${index} has term ${e.term}, below the previous entry's ${prevTerm}`);
  if (opts.rawEntries === true) opts.onEntry?.(e, si, fileOff, crcBefore);
  else if (index > start && !opts.skipEntries) {
    const up = index - start - 1;
    if (up > st.terms.length) throw new WalCorruptError(name, fileOff, `entry ${index} leaves a gap after ${start + st.terms.length}`);
    if (up < st.terms.length) st.terms.length = up;
    st.terms.push(e.term);
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

