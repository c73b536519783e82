/**
 * The few protobuf messages the WAL writes itself, hand-coded because they are tiny and sit on
 * the hot path of every save and replay: `walpb.Record`, `walpb.Snapshot`, `snappb.snapshot`,
 * and (for speed, byte-identical to @tsraft/raftpb's codec, which the tests check)
 * `raftpb.Entry` and `raftpb.HardState`. Encoders write into a caller's buffer at an offset and
 * return the new offset; decoders read a `[start, end)` range and throw {@link ProtoError}.
 * @module
 */
import type { ConfState, Entry, EntryType, HardState } from "@tsraft/raftpb";

/** A malformed message; `field` names what could not be read. */
export class ProtoError extends Error {
  readonly field: string;
  constructor(field: string, why: string) {
    super(`${field}: ${why}`);
    this.field = field;
  }
}

// ---------------------------------------------------------------------------------------------
// varints

/** Encoded length of a non-negative integer up to 2^53-1. */
export function varintSize(v: number): number {
  // comparisons, no division: this runs several times per record on the write path
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 5;
  for (v = Math.floor(v / 0x800000000); v >= 1; v = Math.floor(v / 128)) n++;
  return n;
}

/** Writes a non-negative integer up to 2^53-1 as a varint at `pos`. */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  // values below 2^31 with 32-bit shifts; larger ones (up to 2^53-1) by division first
  while (v > 0x7fffffff) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Encoded length of a uint64 given as a bigint. */
export function varintSize64(v: bigint): number {
  if (v < 0x20000000000000n) return varintSize(Number(v));
  let n = 1;
  while (v >= 128n) {
    v >>= 7n;
    n++;
  }
  return n;
}

/** Writes a uint64 (bigint) as a varint at `pos`. */
export function putVarint64(buf: Uint8Array, pos: number, v: bigint): number {
  if (v < 0x20000000000000n) return putVarint(buf, pos, Number(v));
  while (v >= 128n) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

/** A cursor over `buf[pos, end)`. */
export class ProtoReader {
  buf: Uint8Array;
  pos: number;
  end: number;
  constructor(buf: Uint8Array, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Reads a varint that must fit in 2^53-1 (indexes, terms, lengths, types). */
  varint(field: string): number {
    const b = this.buf;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError(field, "unexpected end of data");
      const byte = b[this.pos++]!;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw new ProtoError(field, "value above 2^53-1");
        return result;
      }
      mul *= 128;
    }
    throw new ProtoError(field, "varint too long");
  }

  /** Reads a full uint64 varint (node ids). */
  varint64(field: string): bigint {
    const start = this.pos;
    const fast = this.tryFast();
    if (fast >= 0) return BigInt(fast);
    this.pos = start;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError(field, "unexpected end of data");
      const byte = this.buf[this.pos++]!;
      if (i === 9 && byte > 1) throw new ProtoError(field, "varint overflows 64 bits");
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return result;
      shift += 7n;
    }
    throw new ProtoError(field, "varint too long");
  }

  /** A varint of at most 7 bytes as a number, or -1 (cursor then undefined). */
  private tryFast(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 7 && this.pos < this.end; i++) {
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 128;
    }
    return -1;
  }

  /** Reads a length-delimited field and returns its `[start, end)` in `buf`. */
  bytesRange(field: string): number {
    const len = this.varint(field);
    const start = this.pos;
    if (len > this.end - start) throw new ProtoError(field, "length past the end of data");
    this.pos = start + len;
    return start;
  }

  /** Skips a field of the given wire type (unknown fields are accepted, as protobuf requires). */
  skip(wireType: number, field: string): void {
    switch (wireType) {
      case 0:
        this.varint64(field);
        return;
      case 1:
        this.advance(8, field);
        return;
      case 2:
        this.bytesRange(field);
        return;
      case 5:
        this.advance(4, field);
        return;
      default:
        throw new ProtoError(field, `unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number, field: string): void {
    if (this.end - this.pos < n) throw new ProtoError(field, "unexpected end of data");
    this.pos += n;
  }
}

function expectWire(field: string, got: number, want: number): void {
  if (got !== want) throw new ProtoError(field, `wrong wire type ${got}`);
}

// ---------------------------------------------------------------------------------------------
// raftpb.Entry and raftpb.HardState

/** Encoded size of an Entry (etcd/gogoproto layout). */
export function entrySizeOf(e: Entry): number {
  let n = 3 + varintSize(e.type) + varintSize(e.term) + varintSize(e.index);
  if (e.data !== undefined) n += 1 + varintSize(e.data.length) + e.data.length;
  return n;
}

/**
 * Decodes an Entry in the layout etcd and record.ts write, `08 type 10 term 18 index
 * [22 len data]` (term and index of at most 7 bytes, i.e. below 2^49, data up to `end`), with
 * `data` a view into `buf`. Returns undefined for any other layout (then {@link readEntry}'s
 * general decoder, which reads the same bytes to the same values, decides). Never throws.
 */
export function readEntryFast(buf: Uint8Array, start: number, end: number): Entry | undefined {
  if (end - start >= 6 && buf[start] === 0x08 && buf[start + 1]! < 0x80 && buf[start + 2] === 0x10) {
    const type = buf[start + 1]!;
    let p = start + 3;
    let term = 0;
    let mul = 1;
    let i = 0;
    for (; i < 7 && p < end; i++) {
      const b = buf[p++]!;
      term += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    if (i < 7 && p + 1 < end && buf[p] === 0x18) {
      p++;
      let index = 0;
      mul = 1;
      for (i = 0; i < 7 && p < end; i++) {
        const b = buf[p++]!;
        index += (b & 0x7f) * mul;
        if (b < 0x80) break;
        mul *= 128;
      }
      if (i < 7 && buf[p - 1]! < 0x80) {
        if (p === end) return { term, index, type: type as EntryType, data: undefined };
        if (buf[p] === 0x22 && p + 1 < end) {
          p++;
          let len = 0;
          mul = 1;
          for (i = 0; i < 5 && p < end; i++) {
            const b = buf[p++]!;
            len += (b & 0x7f) * mul;
            if (b < 0x80) break;
            mul *= 128;
          }
          if (i < 5 && buf[p - 1]! < 0x80 && p + len === end) {
            const data = new Uint8Array(buf.buffer, buf.byteOffset + p, len);
            return { term, index, type: type as EntryType, data };
          }
        }
      }
    }
  }
  return undefined;
}

/**
 * Decodes an Entry from `buf[start, end)`. `data` is a view into `buf` unless `copy` is set.
 * @throws {@link ProtoError}
 */
export function readEntry(buf: Uint8Array, start: number, end: number, copy: boolean): Entry {
  const fast = readEntryFast(buf, start, end);
  if (fast !== undefined) {
    if (copy && fast.data !== undefined) fast.data = fast.data.slice();
    return fast;
  }
  const r = new ProtoReader(buf, start, end);
  let type = 0;
  let term = 0;
  let index = 0;
  let data: Uint8Array | undefined;
  while (r.pos < end) {
    const tag = r.varint("Entry.(tag)");
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWire("Entry.type", wt, 0);
        type = r.varint("Entry.type");
        break;
      case 2:
        expectWire("Entry.term", wt, 0);
        term = r.varint("Entry.term");
        break;
      case 3:
        expectWire("Entry.index", wt, 0);
        index = r.varint("Entry.index");
        break;
      case 4: {
        expectWire("Entry.data", wt, 2);
        const s = r.bytesRange("Entry.data");
        data = copy ? buf.slice(s, r.pos) : buf.subarray(s, r.pos);
        break;
      }
      default:
        r.skip(wt, "Entry.(unknown)");
    }
  }
  return { term, index, type: type as EntryType, data };
}

/** Encoded size of a HardState. */
export function hardStateSizeOf(h: HardState): number {
  return 3 + varintSize(h.term) + varintSize64(h.vote) + varintSize(h.commit);
}

/** Writes a HardState at `pos`: term 1, vote 2, commit 3, always all three. */
export function putHardState(buf: Uint8Array, pos: number, h: HardState): number {
  buf[pos++] = 0x08;
  pos = putVarint(buf, pos, h.term);
  buf[pos++] = 0x10;
  pos = putVarint64(buf, pos, h.vote);
  buf[pos++] = 0x18;
  return putVarint(buf, pos, h.commit);
}

/**
 * Decodes a HardState from `buf[start, end)`.
 * @throws {@link ProtoError}
 */
export function readHardState(buf: Uint8Array, start: number, end: number): HardState {
  const r = new ProtoReader(buf, start, end);
  const h: HardState = { term: 0, vote: 0n, commit: 0 };
  while (r.pos < end) {
    const tag = r.varint("HardState.(tag)");
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWire("HardState.term", wt, 0);
        h.term = r.varint("HardState.term");
        break;
      case 2:
        expectWire("HardState.vote", wt, 0);
        h.vote = r.varint64("HardState.vote");
        break;
      case 3:
        expectWire("HardState.commit", wt, 0);
        h.commit = r.varint("HardState.commit");
        break;
      default:
        r.skip(wt, "HardState.(unknown)");
    }
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// walpb.Snapshot

/** `walpb.Snapshot`: a snapshot's position as the WAL records it. */
export interface WalSnapshot {
  index: number;
  term: number;
  /** Field 3 (etcd 3.5+); etcd 3.4 never writes it. Written only when set. */
  confState?: ConfState | undefined;
}

/** Encodes a walpb.Snapshot (index 1, term 2 always; conf_state 3 when set). */
export function encodeWalSnapshot(s: WalSnapshot): Uint8Array {
  const cs = s.confState === undefined ? undefined : encodeConfStateLocal(s.confState);
  const n = 2 + varintSize(s.index) + varintSize(s.term) + (cs === undefined ? 0 : 1 + varintSize(cs.length) + cs.length);
  const buf = new Uint8Array(n);
  let p = 0;
  buf[p++] = 0x08;
  p = putVarint(buf, p, s.index);
  buf[p++] = 0x10;
  p = putVarint(buf, p, s.term);
  if (cs !== undefined) {
    buf[p++] = 0x1a;
    p = putVarint(buf, p, cs.length);
    buf.set(cs, p);
  }
  return buf;
}

/**
 * Decodes a walpb.Snapshot.
 * @throws {@link ProtoError}
 */
export function decodeWalSnapshot(buf: Uint8Array, start = 0, end = buf.length): WalSnapshot {
  const r = new ProtoReader(buf, start, end);
  const s: WalSnapshot = { index: 0, term: 0 };
  while (r.pos < end) {
    const tag = r.varint("walpb.Snapshot.(tag)");
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWire("walpb.Snapshot.index", wt, 0);
        s.index = r.varint("walpb.Snapshot.index");
        break;
      case 2:
        expectWire("walpb.Snapshot.term", wt, 0);
        s.term = r.varint("walpb.Snapshot.term");
        break;
      case 3: {
        expectWire("walpb.Snapshot.conf_state", wt, 2);
        const cs = r.bytesRange("walpb.Snapshot.conf_state");
        s.confState = decodeConfStateLocal(buf, cs, r.pos);
        break;
      }
      default:
        r.skip(wt, "walpb.Snapshot.(unknown)");
    }
  }
  return s;
}

function encodeConfStateLocal(cs: ConfState): Uint8Array {
  const lists = [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext];
  let n = 2;
  for (const l of lists) for (const id of l) n += 1 + varintSize64(id);
  const buf = new Uint8Array(n);
  let p = 0;
  lists.forEach((l, i) => {
    for (const id of l) {
      buf[p++] = ((i + 1) << 3) | 0;
      p = putVarint64(buf, p, id);
    }
  });
  buf[p++] = 0x28;
  buf[p++] = cs.autoLeave ? 1 : 0;
  return buf;
}

function decodeConfStateLocal(buf: Uint8Array, start: number, end: number): ConfState {
  const r = new ProtoReader(buf, start, end);
  const cs: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const lists = [cs.voters, cs.learners, cs.votersOutgoing, cs.learnersNext];
  while (r.pos < end) {
    const tag = r.varint("ConfState.(tag)");
    const f = tag >>> 3;
    const wt = tag & 7;
    if (f >= 1 && f <= 4) {
      const list = lists[f - 1]!;
      if (wt === 2) {
        const s = r.bytesRange("ConfState.(packed)");
        const inner = new ProtoReader(buf, s, r.pos);
        while (inner.pos < inner.end) list.push(inner.varint64("ConfState.(packed)"));
      } else {
        expectWire("ConfState.(list)", wt, 0);
        list.push(r.varint64("ConfState.(list)"));
      }
    } else if (f === 5) {
      expectWire("ConfState.autoLeave", wt, 0);
      cs.autoLeave = r.varint("ConfState.autoLeave") !== 0;
    } else {
      r.skip(wt, "ConfState.(unknown)");
    }
  }
  return cs;
}

// ---------------------------------------------------------------------------------------------
// snappb.snapshot

/** Encodes `snappb.snapshot{crc = 1, data = 2}`. */
export function encodeSnapFile(crc: number, data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + varintSize(crc) + 1 + varintSize(data.length) + data.length);
  let p = 0;
  buf[p++] = 0x08;
  p = putVarint(buf, p, crc);
  buf[p++] = 0x12;
  p = putVarint(buf, p, data.length);
  buf.set(data, p);
  return buf;
}

/**
 * Decodes `snappb.snapshot`; `data` is a view into `buf`.
 * @throws {@link ProtoError}
 */
export function decodeSnapFile(buf: Uint8Array): { crc: number; data: Uint8Array | undefined } {
  const r = new ProtoReader(buf, 0, buf.length);
  let crc = 0;
  let data: Uint8Array | undefined;
  while (r.pos < r.end) {
    const tag = r.varint("snappb.snapshot.(tag)");
    const wt = tag & 7;
    switch (tag >>> 3) {
      case 1:
        expectWire("snappb.snapshot.crc", wt, 0);
        crc = r.varint("snappb.snapshot.crc");
        if (crc > 0xffffffff) throw new ProtoError("snappb.snapshot.crc", "value above 2^32-1");
        break;
      case 2: {
        expectWire("snappb.snapshot.data", wt, 2);
        const s = r.bytesRange("snappb.snapshot.data");
        data = buf.subarray(s, r.pos);
        break;
      }
      default:
        r.skip(wt, "snappb.snapshot.(unknown)");
    }
  }
  return { crc, data };
}
