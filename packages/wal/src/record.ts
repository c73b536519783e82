/**
 * WAL record framing, etcd v3.4 layout: an 8-byte little-endian length word (low 56 bits the
 * length of the `walpb.Record` that follows, top byte `0x80 | pad` when `pad` zero bytes follow
 * to reach 8-byte alignment), then `walpb.Record{type int64 = 1, crc uint32 = 2, data bytes = 3}`.
 *
 * {@link BatchEncoder} writes a batch of records into one growing buffer (one copy of each
 * payload, no allocation per record); {@link parseFrame} reads one frame without allocating.
 * @module
 */
import type { Entry, HardState } from "@tsraft/raftpb";
import { LITTLE_ENDIAN, NATIVE_MIN_BYTES, crc32c, crc32cBackend, crc32cInt32, crc32cInt32Words, crc32cView } from "./crc32c.js";
import { type WasmCrcBuffer, createWasmCrcBuffer, wasmCrcAvailable } from "./crc32c-wasm.js";
import { ProtoError, ProtoReader, hardStateSizeOf, putHardState, putVarint, varintSize } from "./proto.js";
import { MARKER_DATA_BYTES, putMarker } from "./sync-marker.js";

/**
 * Below this many bytes the WebAssembly CRC beats a native call (the call costs ~110 ns; README
 * "CRC-32C": 73 against 117 ns at 256 bytes, 145 against 134 at 512).
 */
export const WASM_CRC_MAX_BYTES = 448;

/**
 * Payloads shorter than this are copied before the CRC and checksummed with their header in one
 * pass (WebAssembly, or JavaScript without it); longer ones go to the native CRC as they are
 * (see {@link BatchEncoder.entry}). Without the native CRC every payload takes the one pass.
 */
const FUSED_CRC_MAX_BYTES = crc32cBackend !== "native" ? Infinity : wasmCrcAvailable ? WASM_CRC_MAX_BYTES : NATIVE_MIN_BYTES;

/** walpb record types. */
export const RecordType = {
  Metadata: 1,
  Entry: 2,
  State: 3,
  Crc: 4,
  Snapshot: 5,
} as const;

/**
 * At least what an entry record's frame takes beyond its payload: length word 8, record header
 * up to 14 (type, crc varint up to 5, data length varint up to 5, three tags), entry header up
 * to 39 (type, term and index varints up to 10 each, data length varint up to 5, four tags),
 * padding up to 7: 68, rounded up. What {@link BatchEncoder.reserve} is given per entry before
 * a chunked write.
 */
export const ENTRY_FRAME_BOUND = 80;
/** At least the frame of a HardState record (62) or of a sync marker (37), or a raw record's frame beyond its data (29). */
export const SMALL_RECORD_BOUND = 96;

/**
 * At least the bytes that a batch's records take: a sync marker, then for each part its
 * entries, a HardState record and a snapshot record (`snap`, when there is one).
 */
export function batchBytesBound(parts: readonly { readonly entries: readonly Entry[]; readonly snap: Uint8Array | undefined }[]): number {
  let n = SMALL_RECORD_BOUND;
  for (const p of parts) {
    n += SMALL_RECORD_BOUND + p.entries.length * ENTRY_FRAME_BOUND;
    for (const e of p.entries) n += e.data === undefined ? 0 : e.data.length;
    if (p.snap !== undefined) n += SMALL_RECORD_BOUND + p.snap.length;
  }
  return n;
}

/** etcd's `maxWALEntrySizeLimit`: the default maximum record length (10 MiB). */
export const DEFAULT_MAX_RECORD_BYTES = 10 * 1024 * 1024;

/** Varint length of the unsigned 32-bit value of `v` (given as an int32, `v | 0`). */
function varintSize32(v: number): number {
  return v >>> 7 === 0 ? 1 : v >>> 14 === 0 ? 2 : v >>> 21 === 0 ? 3 : v >>> 28 === 0 ? 4 : 5;
}

/** Writes the unsigned 32-bit value of `v` (given as an int32) as a varint at `pos`; returns the end. */
function putVarint32(buf: Uint8Array, pos: number, v: number): number {
  while (v >>> 7 !== 0) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Padding after a record of `n` bytes. */
export function padOf(n: number): number {
  return (8 - (n % 8)) % 8;
}

/**
 * Encodes records into one reusable, growing buffer, chaining the CRC as etcd's encoder does.
 * Invariant: `len` is a multiple of 8 (every frame is padded).
 */
export class BatchEncoder {
  /**
   * The encoded bytes are `buf[0, len)`. Replaced when the buffer grows (by any append): hold
   * no reference across one.
   */
  buf: Uint8Array;
  /** `buf`'s bytes as 32-bit words (same ArrayBuffer, from byte 0), for the CRC; undefined on big-endian platforms. */
  private words: Int32Array | undefined;
  /** Where `buf` lives when the WebAssembly CRC is available (it checks `buf` in place). */
  private readonly wasm: WasmCrcBuffer | undefined;
  len = 0;
  /**
   * The running CRC as an int32 (`| 0`). Why-fast: an unsigned CRC of 2^31 or more (every other
   * record) is a heap number, and storing one per record showed in the encoder's CPU profile.
   */
  private crcBits: number;

  constructor(crc: number, initialBytes = 1 << 16) {
    this.crcBits = crc | 0;
    this.wasm = createWasmCrcBuffer(initialBytes);
    if (this.wasm !== undefined) {
      this.buf = this.wasm.bytes;
      this.words = LITTLE_ENDIAN ? this.wasm.words : undefined; // (WebAssembly itself is always little-endian)
    } else {
      this.buf = new Uint8Array((initialBytes + 3) & ~3);
      this.words = LITTLE_ENDIAN ? new Int32Array(this.buf.buffer) : undefined;
    }
  }

  /** The running CRC: the crc field of the last record encoded (an unsigned 32-bit number). */
  get crc(): number {
    return this.crcBits >>> 0;
  }

  set crc(crc: number) {
    this.crcBits = crc | 0;
  }

  /** Empties the buffer (keeps its memory and the running CRC). */
  reset(): void {
    this.len = 0;
  }

  /**
   * Makes room now for `extra` more bytes, so that appends of up to that many bytes in total
   * leave `buf` where it is (a chunked write holds on to it: see `chunk-writer.ts`).
   */
  reserve(extra: number): void {
    this.ensure(extra);
  }

  private ensure(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    const wasm = this.wasm;
    if (wasm !== undefined) {
      wasm.grow(need); // in place: the memory keeps its bytes
      this.buf = wasm.bytes;
      this.words = LITTLE_ENDIAN ? wasm.words : undefined;
      return;
    }
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    if (this.words !== undefined) this.words = new Int32Array(nb.buffer);
  }

  /**
   * Appends a record whose data is produced by `write(buf, pos)` (exactly `dataLen` bytes, or
   * no data field at all when `dataLen` is -1). The payload is written once, straight into its
   * final place: the header is laid out for a 5-byte crc varint and moved up if the crc is
   * shorter (1 time in 16).
   */
  private append(type: number, dataLen: number, write: ((buf: Uint8Array, pos: number) => void) | undefined): void {
    const lenHdr = dataLen < 0 ? 0 : 1 + varintSize(dataLen);
    const maxRec = 1 + varintSize(type) + 1 + 5 + lenHdr + Math.max(dataLen, 0);
    this.ensure(8 + maxRec + 7);
    const buf = this.buf;
    const start = this.len;
    const dataPos = start + 8 + maxRec - Math.max(dataLen, 0);
    let crc = this.crc;
    if (dataLen >= 0) {
      write!(buf, dataPos);
      const wasm = this.wasm;
      crc =
        wasm !== undefined && dataLen < FUSED_CRC_MAX_BYTES ? wasm.crc(crc, dataPos, dataPos + dataLen) >>> 0 : crc32c(crc, buf, dataPos, dataPos + dataLen);
    }
    this.crc = crc;
    const recLen = maxRec - 5 + varintSize(crc);
    const shift = maxRec - recLen;
    if (shift > 0 && dataLen > 0) buf.copyWithin(dataPos - shift, dataPos, dataPos + dataLen);
    let p = start + 8;
    buf[p++] = 0x08;
    p = putVarint(buf, p, type);
    buf[p++] = 0x10;
    p = putVarint(buf, p, crc);
    if (dataLen >= 0) {
      buf[p++] = 0x1a;
      p = putVarint(buf, p, dataLen);
    }
    this.finish(start, recLen);
  }

  /**
   * Appends an entry record. Specialised (the hot path of every save): the payload is copied
   * once, straight to its final place; a small one before the CRC, which then runs over header
   * and payload in one pass (WebAssembly, or JavaScript), a large one (native CRC) after it, the CRC taken over
   * the header bytes and then over `e.data` itself (so the native call needs no view).
   */
  entry(e: Entry): void {
    const d = e.data;
    const dlen = d === undefined ? 0 : d.length;
    const type = e.type;
    const term = e.term;
    const index = e.index;
    // Why-fast: one-byte varints are written (and sized) inline, and the frame is finished here
    // rather than by finish(): V8 does not inline the helpers into a function this large, and
    // their calls were about a fifth of this function's time (CPU profile, README "Figures").
    const entLen =
      3 +
      (type < 0x80 ? 1 : varintSize(type)) +
      (term < 0x80 ? 1 : varintSize(term)) +
      varintSize(index) +
      (d === undefined ? 0 : 1 + (dlen < 0x80 ? 1 : varintSize(dlen)) + dlen);
    const entLenSize = entLen < 0x80 ? 1 : varintSize(entLen);
    // record: 08 02 10 crc(1..5) 1a varint(entLen) entry; frame: 8-byte word, record, padding
    const maxRec = 3 + 5 + 1 + entLenSize + entLen;
    this.ensure(8 + maxRec + 7);
    const buf = this.buf;
    const words = this.words;
    const start = this.len;
    // the entry header goes where it ends up if the crc takes 5 bytes; moved down if fewer
    const hdrPos = start + 8 + maxRec - entLen;
    let p = hdrPos;
    buf[p++] = 0x08;
    if (type < 0x80) buf[p++] = type;
    else p = putVarint(buf, p, type);
    buf[p++] = 0x10;
    if (term < 0x80) buf[p++] = term;
    else p = putVarint(buf, p, term);
    buf[p++] = 0x18;
    p = putVarint(buf, p, index);
    if (d !== undefined) {
      buf[p++] = 0x22;
      if (dlen < 0x80) buf[p++] = dlen;
      else p = putVarint(buf, p, dlen);
    }
    let crc: number; // as an int32 (`| 0`), unboxed; `>>> 0` is the unsigned value
    let shift: number;
    if (dlen < FUSED_CRC_MAX_BYTES) {
      // Small payload: copied first, then one CRC pass over header and payload together (one
      // call, no byte-wise tail between them), in WebAssembly where the buffer lives.
      if (d !== undefined) buf.set(d, p);
      const wasm = this.wasm;
      crc =
        wasm !== undefined
          ? wasm.crc(this.crcBits, hdrPos, p + dlen)
          : words === undefined
            ? crc32cInt32(this.crcBits, buf, hdrPos, p + dlen)
            : crc32cInt32Words(this.crcBits, buf, words, hdrPos, p + dlen);
      shift = crc >>> 28 !== 0 ? 0 : 5 - varintSize32(crc);
      if (shift > 0) buf.copyWithin(hdrPos - shift, hdrPos, p + dlen);
    } else {
      // Large payload: the native CRC over `e.data` itself (no view made for the call).
      crc = crc32cView(crc32cInt32(this.crcBits, buf, hdrPos, p) >>> 0, d!) | 0; // the header: under 30 bytes
      shift = crc >>> 28 !== 0 ? 0 : 5 - varintSize32(crc);
      if (shift > 0) buf.copyWithin(hdrPos - shift, hdrPos, p);
      buf.set(d!, p - shift);
    }
    this.crcBits = crc;
    let q = start + 8;
    buf[q] = 0x08;
    buf[q + 1] = RecordType.Entry;
    buf[q + 2] = 0x10;
    if (shift === 0) {
      // a 5-byte crc varint (15 times in 16)
      buf[q + 3] = (crc & 0x7f) | 0x80;
      buf[q + 4] = ((crc >>> 7) & 0x7f) | 0x80;
      buf[q + 5] = ((crc >>> 14) & 0x7f) | 0x80;
      buf[q + 6] = ((crc >>> 21) & 0x7f) | 0x80;
      buf[q + 7] = crc >>> 28;
      q += 8;
    } else {
      q = putVarint32(buf, q + 3, crc);
    }
    buf[q++] = 0x1a;
    if (entLenSize === 1) buf[q] = entLen;
    else putVarint(buf, q, entLen);
    const recLen = maxRec - shift;
    if (words === undefined) {
      this.finish(start, recLen);
      return;
    }
    // finish() with two aligned 32-bit stores for the length word (`start` is a multiple of 8,
    // the class invariant; recLen < 2^32 as any buffer length, so bytes 4-6 are zero)
    const pad = (8 - (recLen & 7)) & 7;
    const end = start + 8 + recLen;
    for (let i = 0; i < pad; i++) buf[end + i] = 0;
    words[start >> 2] = recLen;
    words[(start >> 2) + 1] = pad === 0 ? 0 : (0x80 | pad) << 24;
    this.len = end + pad;
  }

  /** Writes the length word and the padding of the frame at `start` holding a record of `recLen` bytes. */
  private finish(start: number, recLen: number): void {
    const buf = this.buf;
    const pad = padOf(recLen);
    const end = start + 8 + recLen;
    for (let i = 0; i < pad; i++) buf[end + i] = 0;
    // length word: low 56 bits the record length, top byte 0x80 | pad when padded
    buf[start] = recLen & 0xff;
    buf[start + 1] = (recLen >>> 8) & 0xff;
    buf[start + 2] = (recLen >>> 16) & 0xff;
    buf[start + 3] = (recLen >>> 24) & 0xff;
    buf[start + 4] = 0;
    buf[start + 5] = 0;
    buf[start + 6] = 0;
    buf[start + 7] = pad === 0 ? 0 : 0x80 | pad;
    this.len = end + pad;
  }

  /** Appends a state record. */
  state(h: HardState): void {
    this.append(RecordType.State, hardStateSizeOf(h), (b, p) => putHardState(b, p, h));
  }

  /** Appends a record with raw data (metadata, snapshot), or none (`undefined`). */
  raw(type: number, data: Uint8Array | undefined): void {
    if (data === undefined) this.append(type, -1, undefined);
    else this.append(type, data.length, (b, p) => b.set(data, p));
  }

  /**
   * Appends a sync marker (see `sync-marker.ts`): a crc record carrying the running CRC (the
   * chain goes on unchanged) with data saying that the segment's bytes before offset `durableTo`
   * were durable when this batch was written.
   */
  marker(durableTo: number): void {
    // record: 08 04 10 crc(1..5) 1a 0c data(12); frame: 8-byte word, record, padding
    const crc = this.crc;
    const recLen = 3 + varintSize(crc) + 2 + MARKER_DATA_BYTES;
    this.ensure(8 + recLen + 7);
    const buf = this.buf;
    const start = this.len;
    let p = start + 8;
    buf[p++] = 0x08;
    buf[p++] = RecordType.Crc;
    buf[p++] = 0x10;
    p = putVarint(buf, p, crc);
    buf[p++] = 0x1a;
    buf[p++] = MARKER_DATA_BYTES;
    putMarker(buf, p, durableTo);
    this.finish(start, recLen);
  }

  /**
   * Appends a crc record carrying `prevCrc` and restarts the chain from it (the first record of
   * every segment).
   */
  crcRecord(prevCrc: number): void {
    this.crc = prevCrc;
    this.append(RecordType.Crc, -1, undefined);
  }
}

/** Why a frame could not be read (see {@link parseFrame}). */
export const FrameStatus = {
  Ok: 0,
  /** `off` is exactly the end of the bytes. */
  End: 1,
  /** An all-zero length word: the preallocated tail. */
  Zero: 2,
  /** Fewer than 8 bytes remain for the length word. */
  PartialWord: 3,
  /** The frame claims more bytes than remain. */
  PastEnd: 4,
  /** The length exceeds the configured maximum. */
  TooLarge: 5,
  /** The top byte of the length word is not what etcd writes for this length, or padding is not zero. */
  BadFraming: 6,
  /** The walpb.Record does not decode, or has no crc/type. */
  Undecodable: 7,
} as const;
export type FrameStatus = (typeof FrameStatus)[keyof typeof FrameStatus];

/** The fields of the last frame {@link parseFrame} read; reused, never allocated per record. */
export class Frame {
  status: FrameStatus = FrameStatus.End;
  off = 0;
  /** Offset after the frame (length word + record + padding). */
  end = 0;
  recBytes = 0;
  type = 0;
  crc = 0;
  /** `data` range; `hasData` false for a record without a data field (crc records). */
  dataStart = 0;
  dataEnd = 0;
  hasData = false;
  /** The reason of an Undecodable status. */
  why = "";
}

/**
 * Reads the frame at `off` of `buf[0, n)` into `f`. Framing is checked strictly: the top byte
 * must be exactly `0x80 | pad` (or 0 without padding) and the padding bytes zero, as etcd writes
 * them, so that a flipped bit there is seen even though the CRC does not cover it.
 */
export function parseFrame(buf: Uint8Array, n: number, off: number, maxRecordBytes: number, f: Frame): FrameStatus {
  f.off = off;
  f.hasData = false;
  if (off === n) return (f.status = FrameStatus.End);
  if (n - off < 8) return (f.status = FrameStatus.PartialWord);
  const lo = (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
  const hi = (buf[off + 4]! | (buf[off + 5]! << 8) | (buf[off + 6]! << 16)) >>> 0;
  const top = buf[off + 7]!;
  if (lo === 0 && hi === 0 && top === 0) return (f.status = FrameStatus.Zero);
  const recBytes = hi * 0x100000000 + lo;
  f.recBytes = recBytes;
  const pad = top & 0x80 ? top & 7 : 0;
  const end = off + 8 + recBytes + pad;
  f.end = end;
  if (recBytes > maxRecordBytes) return (f.status = FrameStatus.TooLarge);
  if (end > n) return (f.status = FrameStatus.PastEnd);
  const expectPad = padOf(recBytes);
  if (top !== (expectPad === 0 ? 0 : 0x80 | expectPad)) return (f.status = FrameStatus.BadFraming);
  for (let i = end - pad; i < end; i++) if (buf[i] !== 0) return (f.status = FrameStatus.BadFraming);
  return (f.status = decodeRecord(buf, off + 8, off + 8 + recBytes, f));
}

function decodeRecord(buf: Uint8Array, start: number, end: number, f: Frame): FrameStatus {
  // Fast path: etcd's exact layout `08 type 10 crc [1a len data]`, type one byte in 1..5, crc
  // at most 5 bytes and <= 2^32-1, data up to `end`; anything else takes the general decoder
  // below, which accepts the same bytes with the same values (and more layouts, or none).
  if (end - start >= 4 && buf[start] === 0x08 && buf[start + 2] === 0x10) {
    const type = buf[start + 1]!;
    let p = start + 3;
    let crc = 0;
    let mul = 1;
    let ok = false;
    for (let i = 0; i < 5 && p < end; i++) {
      const b = buf[p++]!;
      crc += (b & 0x7f) * mul;
      if (b < 0x80) {
        ok = true;
        break;
      }
      mul *= 128;
    }
    if (ok && type >= 1 && type <= 5 && crc <= 0xffffffff) {
      if (p === end) {
        f.type = type;
        f.crc = crc;
        return FrameStatus.Ok;
      }
      if (buf[p] === 0x1a) {
        p++;
        let len = 0;
        mul = 1;
        ok = false;
        for (let i = 0; i < 5 && p < end; i++) {
          const b = buf[p++]!;
          len += (b & 0x7f) * mul;
          if (b < 0x80) {
            ok = true;
            break;
          }
          mul *= 128;
        }
        if (ok && p + len === end) {
          f.type = type;
          f.crc = crc;
          f.dataStart = p;
          f.dataEnd = end;
          f.hasData = true;
          return FrameStatus.Ok;
        }
      }
    }
  }
  const r = new ProtoReader(buf, start, end);
  let seenType = false;
  let seenCrc = false;
  try {
    while (r.pos < end) {
      const tag = r.varint("Record.(tag)");
      switch (tag) {
        case 0x08:
          f.type = r.varint("Record.type");
          seenType = true;
          break;
        case 0x10:
          f.crc = r.varint("Record.crc");
          if (f.crc > 0xffffffff) throw new ProtoError("Record.crc", "value above 2^32-1");
          seenCrc = true;
          break;
        case 0x1a:
          f.dataStart = r.bytesRange("Record.data");
          f.dataEnd = r.pos;
          f.hasData = true;
          break;
        default:
          throw new ProtoError("Record", `unexpected tag ${tag}`);
      }
    }
  } catch (e) {
    if (!(e instanceof ProtoError)) throw e;
    f.why = e.message;
    return FrameStatus.Undecodable;
  }
  if (!seenType || !seenCrc) {
    f.why = "record without type or crc";
    return FrameStatus.Undecodable;
  }
  if (f.type < 1 || f.type > 5) {
    f.why = `unknown record type ${f.type}`;
    return FrameStatus.Undecodable;
  }
  return FrameStatus.Ok;
}
