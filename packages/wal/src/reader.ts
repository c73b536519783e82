/**
 * Reading a WAL from the bytes of its segment files: pure (no I/O), so that `readAll`, `verify`,
 * `repair` and the crash tests share one implementation and the tests can run it over buffers.
 *
 * What counts as the end of the log, what as a torn tail and what as corruption is decided
 * here; see the package README "Corruption handling" for the rules and why.
 * @module
 */
import type { Entry, HardState } from "@tsraft/raftpb";
import { crc32c } from "./crc32c.js";
import {
  CrcMismatchError,
  RecordTooLargeError,
  WalCorruptError,
  WalError,
  WalSnapshotMismatchError,
  WalTornTailError,
} from "./errors.js";
import { ProtoError, decodeWalSnapshot, readEntry, readHardState } from "./proto.js";
import type { WalSnapshot } from "./proto.js";
import { Frame, FrameStatus, RecordType, parseFrame } from "./record.js";

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
  /** Receives every entry record in file order instead of collecting them (DiskStorage). */
  onEntry?: ((e: Entry) => void) | undefined;
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
  /** The highest term of any entry read (a HardState's term is never below it). */
  maxEntryTerm: number;
  /** The term of the entry at `res.lastIndex` (entry terms never decrease along the log). */
  lastEntryTerm: number;
  seenMetadata: boolean;
  /** Highest index known to exist: entries, snapshot records, the segment's first index - 1. */
  maxIndex: number;
  lastState: HardState | undefined;
}

/**
 * Reads the records of `segments` (in order, consecutive sequence numbers) as etcd's
 * `ReadAll` does, with the stricter damage rules of the README.
 * @throws {@link CrcMismatchError}, {@link WalCorruptError}, {@link RecordTooLargeError},
 *   {@link WalSnapshotMismatchError}, {@link WalTornTailError} (write mode only).
 */
export function readSegments(segments: readonly SegmentBytes[], opts: ReadOptions): ReadResult {
  const res: ReadResult = {
    metadata: undefined,
    hardState: { term: 0, vote: 0n, commit: 0 },
    entries: [],
    snapshots: [],
    matched: false,
    crc: 0,
    tailOffset: 0,
    tailDirty: false,
    lastIndex: 0,
    torn: undefined,
  };
  const st: State = { res, maxEntryTerm: 0, lastEntryTerm: 0, maxIndex: 0, lastState: undefined, seenMetadata: false };
  const f = new Frame();
  for (let si = 0; si < segments.length; si++) {
    const seg = segments[si]!;
    const last = si === segments.length - 1;
    const buf = seg.bytes;
    const n = buf.length;
    st.maxIndex = Math.max(st.maxIndex, seg.firstIndex - 1);
    if (res.lastIndex < seg.firstIndex - 1) res.lastIndex = seg.firstIndex - 1;
    let off = 0;
    let rec = 0;
    for (;; rec++) {
      const status = parseFrame(buf, n, off, opts.maxRecordBytes, f);
      if (status === FrameStatus.End) break;
      if (status === FrameStatus.Zero) {
        const y = findRecordAfter(buf, n, off + 8, opts.maxRecordBytes);
        if (y >= 0) throw new WalCorruptError(seg.name, off, `zero-filled block followed by a valid record at offset ${y}`);
        if (last) res.tailDirty = firstNonZero(buf, off, n) >= 0;
        break;
      }
      if (status === FrameStatus.Ok) {
        const expect = f.type === RecordType.Crc ? -1 : f.hasData ? crc32c(res.crc, buf, f.dataStart, f.dataEnd) : res.crc;
        if (expect === -1 || expect === f.crc) {
          applyRecord(st, seg, si, rec, f, opts);
          off = f.end;
          continue;
        }
      }
      // A record that cannot be read: a torn tail, or corruption.
      const torn = classify(buf, n, off, f, status, res.crc, last, opts.maxRecordBytes);
      if (torn === undefined) throw damageError(seg.name, off, f, status, opts.maxRecordBytes);
      const err = new WalTornTailError(seg.name, off);
      if (opts.strictTail) throw err;
      res.torn = err;
      break;
    }
    if (last) res.tailOffset = off;
    if (rec === 0 && off === 0 && !last) throw new WalCorruptError(seg.name, 0, "empty segment before the last one");
  }
  return res;
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

function applyRecord(st: State, seg: SegmentBytes, si: number, rec: number, f: Frame, opts: ReadOptions): void {
  const res = st.res;
  const buf = seg.bytes;
  const corrupt = (why: string): WalCorruptError => new WalCorruptError(seg.name, f.off, why);
  // Layout every segment has: crc record first, metadata second, neither anywhere else. The
  // record type is not covered by the CRC; these rules make a flipped type bit visible.
  if ((rec === 0) !== (f.type === RecordType.Crc)) throw corrupt(rec === 0 ? "segment does not start with a crc record" : "crc record inside a segment");
  if ((rec === 1) !== (f.type === RecordType.Metadata)) throw corrupt(rec === 1 ? "second record is not metadata" : "metadata record inside a segment");
  const data = f.hasData ? buf.subarray(f.dataStart, f.dataEnd) : undefined;
  try {
    switch (f.type) {
      case RecordType.Crc:
        if (f.hasData) throw corrupt("crc record with data");
        // The running CRC of the segments before must continue here; unknown for the first
        // segment read (etcd skips the check when its decoder's CRC is still 0).
        if (!(si === 0) && f.crc !== res.crc) throw new CrcMismatchError(seg.name, f.off, "crc record (running crc of the previous segments)");
        if (si === 0 && seg.firstIndex === 0 && f.crc !== 0) throw new CrcMismatchError(seg.name, f.off, "crc record of the first segment");
        res.crc = f.crc;
        return;
      case RecordType.Metadata: {
        if (st.seenMetadata && !bytesEqual(res.metadata, data)) throw corrupt("metadata conflicts with the first segment's");
        if (!st.seenMetadata) res.metadata = data === undefined || !opts.copyData ? data : data.slice();
        st.seenMetadata = true;
        res.crc = f.crc;
        return;
      }
      case RecordType.Entry:
        applyEntry(st, buf, f, opts, corrupt);
        res.crc = f.crc;
        return;
      case RecordType.State: {
        const h = readHardState(buf, f.dataStart, f.hasData ? f.dataEnd : f.dataStart);
        if (st.lastState !== undefined && h.term < st.lastState.term) throw corrupt(`HardState term ${h.term} below the previous ${st.lastState.term}`);
        if (h.term < st.maxEntryTerm) throw corrupt(`HardState term ${h.term} below an entry's term ${st.maxEntryTerm}`);
        if (h.commit > st.maxIndex) throw corrupt(`HardState commit ${h.commit} beyond the last index ${st.maxIndex}`);
        st.lastState = h;
        res.hardState = h;
        res.crc = f.crc;
        return;
      }
      case RecordType.Snapshot: {
        const s = data === undefined ? { index: 0, term: 0 } : decodeWalSnapshot(buf, f.dataStart, f.dataEnd);
        res.snapshots.push(s);
        if (s.index === opts.start.index) {
          if (s.term !== opts.start.term) throw new WalSnapshotMismatchError();
          res.matched = true;
        }
        if (s.index > res.lastIndex) res.lastIndex = s.index;
        if (s.index > st.maxIndex) st.maxIndex = s.index;
        res.crc = f.crc;
        return;
      }
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new WalCorruptError(seg.name, f.off, `undecodable record data: ${e.message}`, { cause: e });
    throw e;
  }
}

function applyEntry(st: State, buf: Uint8Array, f: Frame, opts: ReadOptions, corrupt: (why: string) => WalCorruptError): void {
  const res = st.res;
  const e = readEntry(buf, f.dataStart, f.hasData ? f.dataEnd : f.dataStart, opts.copyData);
  if (e.index < 1 || e.term < 1) throw corrupt(`entry with index ${e.index} term ${e.term}`);
  if (e.type > 2) throw corrupt(`entry of unknown type ${e.type}`);
  if (e.index > st.maxIndex + 1) throw corrupt(`entry ${e.index} leaves a gap after ${st.maxIndex}`);
  const start = opts.start.index;
  if (opts.onEntry !== undefined) opts.onEntry(e);
  else if (e.index > start && !opts.skipEntries) {
    const up = e.index - start - 1;
    if (up > res.entries.length) throw corrupt(`entry ${e.index} leaves a gap after ${start + res.entries.length}`);
    res.entries.length = up;
    res.entries.push(e);
  }
  // Terms never decrease along the log: check against the entry before, when it is known.
  let prevTerm = -1;
  if (e.index === res.lastIndex + 1) prevTerm = st.lastEntryTerm;
  else if (e.index - 1 > start && !opts.skipEntries) prevTerm = res.entries[e.index - start - 2]?.term ?? -1;
  if (e.term < prevTerm) throw corrupt(`entry ${e.index} has term ${e.term}, below the previous entry's ${prevTerm}`);
  st.lastEntryTerm = e.term;
  if (e.term > st.maxEntryTerm) st.maxEntryTerm = e.term;
  res.lastIndex = e.index;
  if (e.index > st.maxIndex) st.maxIndex = e.index;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
