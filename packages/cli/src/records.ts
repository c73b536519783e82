/**
 * A record-by-record reader of a WAL directory for `tsraft wal dump`: every frame with its
 * offset, sizes, stored CRC and whether the running CRC-32C chain agrees, decoded as far as it
 * decodes. Unlike `@tsraft/wal`'s reader (built to recover a log fast), it never stops at what
 * it can skip: it shows what is on disk, and stops at the first frame it cannot read, saying
 * why. The verdict on damage (what is a torn tail, what is corruption) is the wal package's
 * (see verify.ts); this module only displays.
 *
 * Format (etcd 3.4's): each frame is a little-endian 64-bit length word (low 56 bits: record
 * bytes; top byte `0x80 | pad` when padded to 8 bytes) and a `walpb.Record {type = 1, crc = 2,
 * data = 3}`; the CRC of a record is CRC-32C over its data, continuing the previous record's
 * (a crc record, type 4, restarts the chain at its value).
 * @module
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { decodeEntry, decodeHardState, EntryType } from "@tsraft/raftpb";
import { crc32c, parseWalName, syncMarkerClaim } from "@tsraft/wal";

/** etcd's record types. */
export const RECORD_TYPES: Readonly<Record<number, string>> = { 1: "metadata", 2: "entry", 3: "state", 4: "crc", 5: "snapshot" };

/** One record as found on disk. */
export interface DumpRecord {
  segment: string;
  /** Byte offset of the frame's length word in the segment. */
  offset: number;
  /** `metadata`, `entry`, `state`, `crc`, `snapshot`, or `unknown(N)`. */
  type: string;
  /** Bytes of the walpb.Record (after the length word, before padding). */
  recordBytes: number;
  padBytes: number;
  /** Bytes of the record's data field. */
  dataBytes: number;
  /** The CRC stored in the record (hex). */
  crc: string;
  /** Whether it matches the running CRC-32C of the data. */
  crcOk: boolean;
  /** Entry: index, term, entry type; snapshot: index, term; state: term, vote, commit. */
  index?: number;
  term?: number;
  entryType?: string;
  vote?: string;
  commit?: number;
  /**
   * Crc record that is a sync marker (tsraft writes one before each synced batch): the bytes of
   * the segment before this offset were durable when the batch after it was written.
   */
  durableTo?: number;
  /** Why the data did not decode, if it did not. */
  error?: string;
}

/** How a segment ended. */
export interface SegmentEnd {
  segment: string;
  /** `end` (end of file), `zeros` (the preallocated tail), or a reason the reader stopped. */
  how: string;
  offset: number;
  size: number;
}

/** The segment files of `dir`, in order. */
export async function segmentFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => parseWalName(n) !== undefined);
  return names.sort();
}

function varint(buf: Uint8Array, pos: number, end: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Error("truncated varint");
    const b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [v, pos];
    mul *= 128;
  }
  throw new Error("varint too long");
}

interface RawRecord {
  type: number;
  crc: number;
  dataStart: number;
  dataEnd: number;
}

function decodeRecord(buf: Uint8Array, start: number, end: number): RawRecord {
  const r: RawRecord = { type: 0, crc: 0, dataStart: start, dataEnd: start };
  let p = start;
  while (p < end) {
    let tag: number;
    [tag, p] = varint(buf, p, end);
    const field = Math.floor(tag / 8);
    const wt = tag & 7;
    if (wt === 0) {
      let v: number;
      [v, p] = varint(buf, p, end);
      if (field === 1) r.type = v;
      else if (field === 2) r.crc = v >>> 0;
    } else if (wt === 2) {
      let len: number;
      [len, p] = varint(buf, p, end);
      if (p + len > end) throw new Error("field past the end of the record");
      if (field === 3) {
        r.dataStart = p;
        r.dataEnd = p + len;
      }
      p += len;
    } else throw new Error(`unexpected wire type ${wt}`);
  }
  return r;
}

function describeData(rec: DumpRecord, type: number, data: Uint8Array): void {
  try {
    if (type === 2) {
      const e = decodeEntry(data);
      rec.index = e.index;
      rec.term = e.term;
      rec.entryType = EntryType[e.type] ?? String(e.type);
    } else if (type === 3) {
      const h = decodeHardState(data);
      rec.term = h.term;
      rec.vote = h.vote.toString();
      rec.commit = h.commit;
    } else if (type === 4) {
      if (data.length > 0) {
        const x = syncMarkerClaim(data, 0, data.length);
        if (x >= 0) rec.durableTo = x;
        else rec.error = `crc record with ${data.length} bytes of data that are not a sync marker`;
      }
    } else if (type === 5) {
      let p = 0;
      while (p < data.length) {
        let tag: number;
        let v: number;
        [tag, p] = varint(data, p, data.length);
        if ((tag & 7) !== 0) break; // conf_state (etcd 3.5+): not shown
        [v, p] = varint(data, p, data.length);
        if (tag >>> 3 === 1) rec.index = v;
        else if (tag >>> 3 === 2) rec.term = v;
      }
    }
  } catch (e) {
    rec.error = e instanceof Error ? e.message : String(e);
  }
}

/**
 * Reads every segment of `dir` and hands each record to `onRecord` and each segment's end to
 * `onEnd`. Reading stops in a segment at its end, at the zero-filled tail, or at the first
 * frame that cannot be read (`onEnd` says which); the CRC chain goes on across segments.
 */
export async function scanWal(dir: string, onRecord: (r: DumpRecord) => void, onEnd: (e: SegmentEnd) => void): Promise<void> {
  let crc = 0;
  for (const segment of await segmentFiles(dir)) {
    const buf = new Uint8Array(await readFile(join(dir, segment)));
    let off = 0;
    let how = "end";
    while (off < buf.length) {
      if (buf.length - off < 8) {
        how = "partial length word";
        break;
      }
      const lo = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
      const hi = buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16);
      const top = buf[off + 7]!;
      if (lo === 0 && hi === 0 && top === 0) {
        how = "zeros";
        break;
      }
      const recordBytes = hi * 0x1_0000_0000 + lo;
      const padBytes = top & 0x80 ? top & 7 : 0;
      if (off + 8 + recordBytes + padBytes > buf.length) {
        how = `record of ${recordBytes} bytes past the end of the file`;
        break;
      }
      let raw: RawRecord;
      try {
        raw = decodeRecord(buf, off + 8, off + 8 + recordBytes);
      } catch (e) {
        how = `undecodable record: ${e instanceof Error ? e.message : String(e)}`;
        break;
      }
      const data = buf.subarray(raw.dataStart, raw.dataEnd);
      let crcOk: boolean;
      if (raw.type === 4) {
        crcOk = raw.crc === crc;
        crc = raw.crc;
      } else {
        crcOk = raw.crc === crc32c(crc, data);
        crc = raw.crc; // on a mismatch, go on from the stored value: only the damaged record shows
      }
      const rec: DumpRecord = {
        segment,
        offset: off,
        type: RECORD_TYPES[raw.type] ?? `unknown(${raw.type})`,
        recordBytes,
        padBytes,
        dataBytes: data.length,
        crc: raw.crc.toString(16).padStart(8, "0"),
        crcOk,
      };
      describeData(rec, raw.type, data);
      onRecord(rec);
      off += 8 + recordBytes + padBytes;
    }
    onEnd({ segment, how, offset: off, size: buf.length });
  }
}
