/**
 * Damage classification of WAL segment bytes: whether a record that does not decode or check in
 * the last segment is a torn write (cut by a crash: the end of the log, which repair may cut
 * away) or corruption (never repaired), and the error that names it. Pure: works on buffers.
 * The rules and why are in the package README, "Corruption handling".
 * @module
 */
import { crc32c } from "./crc32c.js";
import { CrcMismatchError, RecordTooLargeError, WalCorruptError, type WalError } from "./errors.js";
import { Frame, FrameStatus, RecordType, parseFrame } from "./record.js";
import { markerClaim } from "./sync-marker.js";

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
  // Entry, HardState and snapshot records always have data (their messages encode their fields
  // even when zero); an empty one is not a record either implementation writes. (A sync marker
  // carries the running CRC, so with its type bit flipped and its data cut off it would pass.)
  if (len === 0 && type !== RecordType.Metadata) return -1;
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

/**
 * In the last segment a damaged record is a torn write (returns true) when its body is not a
 * whole record in a damaged frame, one flipped bit does not explain it, and either: records
 * follow it but the segment's sync markers say none of it was durable (`markersBefore`: the
 * segment had markers before `off`; undefined: the segment is read from the middle, where the
 * markers are not consulted); or nothing that looks like a record follows it and the file
 * ends inside it, one of its 512-byte pieces is all zero (etcd's rule), or the file is all zero
 * from inside it to the end (a zero-filled tail).
 */
export function classify(
  buf: Uint8Array,
  n: number,
  off: number,
  f: Frame,
  status: FrameStatus,
  crc: number,
  last: boolean,
  maxRecordBytes: number,
  markersBefore: boolean | undefined = false,
): true | undefined {
  if (!last) return undefined;
  if (status === FrameStatus.PartialWord) return true;
  if (intactBody(buf, n, off, crc, f, status)) return undefined;
  if (findRecordAfter(buf, n, off + 8, maxRecordBytes) >= 0) {
    if (markersBefore === undefined || markerVerdict(buf, n, off + 8, off, markersBefore, maxRecordBytes) !== "torn") return undefined;
    return explainedByBitFlip(buf, n, off, f, status, crc, Math.min(n, f.end)) ? undefined : true;
  }
  if (status === FrameStatus.PastEnd) return true;
  if (status === FrameStatus.TooLarge) return undefined;
  const end = Math.min(n, f.end);
  // where the zero-filled tail starts (end of the record's extent if the file is not zero to its end)
  const zeroFrom = firstNonZero(buf, end, n) < 0 ? lastNonZero(buf, off + 8, end) + 1 : end;
  if (explainedByBitFlip(buf, n, off, f, status, crc, zeroFrom)) return undefined;
  return hasZeroSector(buf, off + 8, end) || zeroFrom < end ? true : undefined;
}

export function damageError(file: string, off: number, f: Frame, status: FrameStatus, max: number): WalError {
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

/** Whether the frame `f` (status Ok) is a marker. */
export function isMarker(buf: Uint8Array, f: Frame): boolean {
  return f.type === RecordType.Crc && f.hasData && markerClaim(buf, f.dataStart, f.dataEnd) >= 0;
}

/**
 * What the markers of `buf[from, n)` (8-aligned offsets) say about damage at `damageAt`:
 * "corrupt" if one claims the bytes there were durable, "torn" if there are markers (after it,
 * or `markersBefore`) and none does, "none" if the segment has no markers at all.
 */
export function markerVerdict(
  buf: Uint8Array,
  n: number,
  from: number,
  damageAt: number,
  markersBefore: boolean,
  maxRecordBytes: number,
): "corrupt" | "torn" | "none" {
  const f = new Frame();
  let seen = markersBefore;
  for (let y = Math.ceil(from / 8) * 8; y + 8 <= n; y += 8) {
    const w = buf[y]!;
    if (w < 18 || w > 22 || buf[y + 1] !== 0) continue; // a marker's record is 18 to 22 bytes
    if (parseFrame(buf, n, y, maxRecordBytes, f) !== FrameStatus.Ok || !isMarker(buf, f)) continue;
    seen = true;
    if (markerClaim(buf, f.dataStart, f.dataEnd) > damageAt) return "corrupt";
  }
  return seen ? "torn" : "none";
}
