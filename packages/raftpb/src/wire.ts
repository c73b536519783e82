/**
 * Protobuf wire primitives for a size-then-write encoder and a strict decoder.
 *
 * Encoding: `xSize(v)` gives the bytes of a varint, `writeX(buf, pos, v)` writes it into a
 * preallocated `Uint8Array` and returns the new position. The caller sizes a whole message
 * first, allocates one exact-size array, then writes; no intermediate buffers, no copies.
 *
 * Decoding: a {@link Reader} is a cursor (`buf`, `pos`, `end`) over the input; `end` is the end
 * of the message being read, so an embedded message is read by narrowing `end` and restoring
 * it afterwards. Every read checks bounds and throws a {@link FieldError} naming the field; the
 * decode entry points turn it into a `DecodeError`. Varints are read strictly: at most 10
 * bytes, and a 10th byte above 1 (a value of 2^64 or more) is an error, where protobufjs's
 * `Reader` and gogo both accept or misread such input.
 *
 * These functions are public through `@tsraft/raftpb/wire` so that other tsraft packages (the
 * WAL's record and snapshot-file codecs) can encode and decode their own small messages the
 * same way.
 * @module
 */
import { privateCopy } from "./copy-slab.js";
import { FieldError, MAX_DEPTH } from "./errors.js";

/** 2^53 - 1: indexes, terms and commit indexes above it are decode errors. */
export const MAX_SAFE = 9007199254740991;
const TWO_32 = 4294967296;
const MAX_U64 = 0xffffffffffffffffn;

/** Wire type 0: varint (int32, uint64, bool, enum). */
export const WIRE_VARINT = 0;
/** Wire type 1: 8 fixed bytes. */
export const WIRE_FIXED64 = 1;
/** Wire type 2: length-delimited (bytes, string, embedded message, packed repeated). */
export const WIRE_BYTES = 2;
/** Wire type 3: start of a group (deprecated; skipped when unknown). */
export const WIRE_START_GROUP = 3;
/** Wire type 4: end of a group. */
export const WIRE_END_GROUP = 4;
/** Wire type 5: 4 fixed bytes. */
export const WIRE_FIXED32 = 5;

// ---------------------------------------------------------------------------------------------
// Sizes

/**
 * Bytes of the varint of `v`, a non-negative integer up to 2^53 - 1. No validation: for
 * values the caller vouches for (see {@link checkedUint53Size} for the validating form).
 */
export function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  if (v < 0x800000000) return 5;
  let n = 5;
  v = Math.floor(v / 0x800000000);
  while (v > 0) {
    n++;
    v = Math.floor(v / 0x80);
  }
  return n;
}

/** Bytes of the varint of a uint64 `v` (no validation). */
export function varint64Size(v: bigint): number {
  if (v <= 0xffffffffn) return varintSize(Number(v));
  const hi = Number(v >> 32n);
  // bits above 32: 5 bytes carry 35 bits, each further byte 7 more.
  if (hi < 0x8) return 5;
  if (hi < 0x400) return 6;
  if (hi < 0x20000) return 7;
  if (hi < 0x1000000) return 8;
  if (hi < 0x80000000) return 9;
  return 10;
}

/**
 * Bytes of the varint of `v`, checking that `v` is an integer in [0, 2^53 - 1].
 * @throws {@link FieldError} naming `field` otherwise.
 */
export function checkedUint53Size(v: number, field: string): number {
  if (v >>> 0 === v) return varintSize(v);
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return varintSize(v);
  throw new FieldError(field, `${String(v)} is not an integer in [0, 2^53-1]`);
}

/**
 * Bytes of the varint of `v`, checking that `v` is a bigint in [0, 2^64 - 1].
 * @throws {@link FieldError} naming `field` otherwise.
 */
export function checkedUint64Size(v: bigint, field: string): number {
  if (typeof v === "bigint" && v >= 0n && v <= MAX_U64) return varint64Size(v);
  throw new FieldError(field, `${typeof v === "bigint" ? v.toString() : String(v)} is not a bigint in [0, 2^64-1]`);
}

/**
 * Checks that `v` is an enum value in [0, max] (every raftpb enum fits one varint byte).
 * @throws {@link FieldError} naming `field` otherwise.
 */
export function checkEnum(v: number, max: number, field: string): void {
  if (!(v >>> 0 === v && v <= max)) throw new FieldError(field, `${String(v)} is not a valid enum value (0..${max})`);
}

/**
 * Checks that `v` is a `Uint8Array` and returns the bytes of its length prefix plus contents.
 * @throws {@link FieldError} naming `field` otherwise.
 */
export function checkedBytesSize(v: Uint8Array, field: string): number {
  if (!(v instanceof Uint8Array)) throw new FieldError(field, "is not a Uint8Array");
  const n = v.length;
  return varintSize(n) + n;
}

// ---------------------------------------------------------------------------------------------
// Writes: each writes at `pos` and returns the position after what it wrote.

/** Writes the varint of a uint32 `v`. */
export function writeVarint32(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) {
    buf[pos] = v;
    return pos + 1;
  }
  if (v < 0x4000) {
    buf[pos] = v | 0x80;
    buf[pos + 1] = v >>> 7;
    return pos + 2;
  }
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Writes the varint of an integer `v` in [0, 2^53 - 1]. */
export function writeVarint53(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80) {
    buf[pos] = v;
    return pos + 1;
  }
  if (v < 0x4000) {
    buf[pos] = v | 0x80;
    buf[pos + 1] = v >>> 7;
    return pos + 2;
  }
  if (v <= 0xffffffff) return writeVarint32(buf, pos, v >>> 0);
  while (v > 0x7f) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** Writes the varint of a uint64 `v`. */
export function writeVarint64(buf: Uint8Array, pos: number, v: bigint): number {
  if (v <= 0xffffffffn) return writeVarint32(buf, pos, Number(v));
  let lo = Number(v & 0xffffffffn);
  let hi = Number(v >> 32n);
  // 4 bytes of lo, then a byte with lo's top 4 bits and hi's low 3, then hi's remaining bits.
  for (let i = 0; i < 4; i++) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  const b = lo | ((hi & 0x7) << 4);
  hi >>>= 3;
  if (hi === 0) {
    buf[pos++] = b;
    return pos;
  }
  buf[pos++] = b | 0x80;
  while (hi > 0x7f) {
    buf[pos++] = (hi & 0x7f) | 0x80;
    hi >>>= 7;
  }
  buf[pos++] = hi;
  return pos;
}

/** Writes a length prefix and the bytes of `v`. */
export function writeBytes(buf: Uint8Array, pos: number, v: Uint8Array): number {
  const n = v.length;
  pos = writeVarint32(buf, pos, n);
  if (n > 8) {
    buf.set(v, pos);
  } else {
    // A few bytes: a loop beats set()'s ~15 ns call overhead (measured: set costs 15 ns at
    // any size up to 48 bytes, the loop ~1.7 ns a byte).
    for (let i = 0; i < n; i++) buf[pos + i] = v[i]!;
  }
  return pos + n;
}

// ---------------------------------------------------------------------------------------------
// Reads

/** A decoding cursor. Invariant: `0 <= pos <= end <= buf.length`. */
export class Reader {
  /** The input. */
  readonly buf: Uint8Array;
  /** The next byte to read. */
  pos: number;
  /** The end of the message being read (narrowed for embedded messages). */
  end: number;
  /** Nesting depth of embedded recursive messages, bounded by {@link MAX_DEPTH}. */
  depth: number;
  /**
   * @param copy when true, the reader works on a private copy of `buf` (one copy of the whole
   * input; from 65 bytes to 16 KiB a view into a shared slab, see copy-slab.ts), so bytes
   * fields read from it are views into that copy, never into `buf`.
   */
  constructor(buf: Uint8Array, copy = false) {
    if (!(buf instanceof Uint8Array)) throw new TypeError("raftpb: decode expects a Uint8Array");
    if (copy) buf = privateCopy(buf);
    this.buf = buf;
    this.pos = 0;
    this.end = buf.length;
    this.depth = 0;
  }
}

/**
 * Reads a varint. Returns its exact value when it is at most 2^53 - 1, otherwise a number of at
 * least 2^53 (callers that accept only safe integers check `> MAX_SAFE`).
 * @throws {@link FieldError} naming `field` when the input ends inside the varint, when it is
 * longer than 10 bytes, or when its 10th byte makes it 2^64 or more.
 */
export function readVarint(r: Reader, field: string): number {
  const pos = r.pos;
  if (pos < r.end) {
    const b = r.buf[pos]!;
    if (b < 0x80) {
      r.pos = pos + 1;
      return b;
    }
  }
  return readVarintSlow(r, field);
}

function readVarintSlow(r: Reader, field: string): number {
  const buf = r.buf;
  const end = r.end;
  let pos = r.pos;
  let v = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw truncated(field);
    const b = buf[pos++]!;
    v |= (b & 0x7f) << shift;
    if (b < 0x80) {
      r.pos = pos;
      return v;
    }
  }
  let mul = 0x10000000;
  for (let i = 4; i < 10; i++) {
    if (pos >= end) throw truncated(field);
    const b = buf[pos++]!;
    if (i === 9 && b > 1) throw new FieldError(field, "varint overflows 64 bits");
    v += (b & 0x7f) * mul;
    mul *= 0x80;
    if (b < 0x80) {
      r.pos = pos;
      return v;
    }
  }
  throw new FieldError(field, "varint longer than 10 bytes");
}

function truncated(field: string): FieldError {
  return new FieldError(field, "unexpected end of input");
}

/**
 * Reads a varint that must be at most 2^53 - 1 (an index, a term, a commit index).
 * @throws {@link FieldError} for a malformed varint or a larger value.
 */
export function readUint53(r: Reader, field: string): number {
  const v = readVarint(r, field);
  if (v > MAX_SAFE) throw new FieldError(field, "value above 2^53-1 (Number.MAX_SAFE_INTEGER)");
  return v;
}

/** The bigints 0n..127n, shared: bigints are immutable, and small ids are the common case. */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: 128 }, (_, i) => BigInt(i));

/**
 * Reads a uint64 varint as a bigint (the full range).
 * @throws {@link FieldError} for a malformed varint.
 */
export function readUint64(r: Reader, field: string): bigint {
  const buf = r.buf;
  let pos = r.pos;
  const end = r.end;
  if (pos < end) {
    const b = buf[pos]!;
    if (b < 0x80) {
      r.pos = pos + 1;
      return SMALL_BIGINTS[b]!;
    }
  }
  let lo = 0;
  let hi = 0;
  let i = 0;
  for (; i < 4; i++) {
    if (pos >= end) throw truncated(field);
    const b = buf[pos++]!;
    lo |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      r.pos = pos;
      return BigInt(lo);
    }
  }
  if (pos >= end) throw truncated(field);
  let b = buf[pos++]!;
  lo = (lo | ((b & 0x7f) << 28)) >>> 0;
  hi = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    for (i = 0; i < 5; i++) {
      if (pos >= end) throw truncated(field);
      b = buf[pos++]!;
      if (i === 4 && b > 1) throw new FieldError(field, "varint overflows 64 bits");
      hi = (hi | ((b & 0x7f) << (7 * i + 3))) >>> 0;
      if (b < 0x80) break;
    }
    if (b >= 0x80) throw new FieldError(field, "varint longer than 10 bytes");
  }
  r.pos = pos;
  if (hi < 0x200000) return BigInt(hi * TWO_32 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * Reads a bool varint: any non-zero value is true, as in protobuf.
 * @throws {@link FieldError} for a malformed varint.
 */
export function readBool(r: Reader, field: string): boolean {
  return readVarint(r, field) !== 0;
}

/**
 * Reads an enum varint whose value must be in [0, max].
 * @throws {@link FieldError} for a malformed varint or a value outside the enum.
 */
export function readEnum(r: Reader, field: string, max: number, enumName: string): number {
  const v = readVarint(r, field);
  if (v > max) {
    const shown = v > MAX_SAFE ? "a value >= 2^53 (a negative int32?)" : String(v);
    throw new FieldError(field, `${shown} is not a ${enumName} (0..${max})`);
  }
  return v;
}

/**
 * Reads a length prefix and checks that that many bytes remain in the current message.
 * @throws {@link FieldError} for a malformed varint or a length past the end.
 */
export function readLength(r: Reader, field: string): number {
  const n = readVarint(r, field);
  if (n > r.end - r.pos) throw new FieldError(field, `length ${n} past the end of the input (${r.end - r.pos} bytes left)`);
  return n;
}

/**
 * Reads a length-delimited bytes field as a view into the reader's buffer (no copy): a plain
 * `Uint8Array` even when the input is a Node `Buffer`. A view keeps the whole buffer alive and
 * changes if the buffer is overwritten (see the `copy` argument of {@link Reader}).
 * @throws {@link FieldError} for a malformed length or a length past the end.
 */
export function readBytes(r: Reader, field: string): Uint8Array {
  const n = readLength(r, field);
  const start = r.pos;
  r.pos = start + n;
  const buf = r.buf;
  return new Uint8Array(buf.buffer, buf.byteOffset + start, n);
}

/**
 * Reads a field tag: a varint of at most 32 bits with a field number of at least 1.
 * @throws {@link FieldError} naming `"(tag)"` otherwise.
 */
export function readTag(r: Reader): number {
  const pos = r.pos;
  const b = r.buf[pos]!; // the caller checked pos < end
  if (b < 0x80 && b >= 0x08) {
    r.pos = pos + 1;
    return b;
  }
  const tag = readVarint(r, "(tag)");
  if (tag > 0xffffffff || tag < 0x08) throw new FieldError("(tag)", `invalid tag ${tag} (field number 0 or above 2^29-1)`);
  return tag;
}

/**
 * Skips a field this decoder does not read. `names[n]` is the name of field `n` when the schema
 * knows it: such a field arriving here has the wrong wire type, which is an error.
 * @throws {@link FieldError} for a known field with a wrong wire type, an illegal wire type, a
 * stray end-group, or a truncated field.
 */
export function skipField(r: Reader, tag: number, names: readonly (string | undefined)[]): void {
  const num = tag >>> 3;
  const wt = tag & 7;
  const known = names[num];
  if (known !== undefined) throw new FieldError(known, `wrong wire type ${wt}`);
  skipUnknown(r, tag, `(field ${num})`, 0);
}

function skipUnknown(r: Reader, tag: number, label: string, depth: number): void {
  const wt = tag & 7;
  switch (wt) {
    case WIRE_VARINT:
      readVarint(r, label);
      return;
    case WIRE_FIXED64:
      skipFixed(r, 8, label);
      return;
    case WIRE_BYTES: {
      const n = readLength(r, label);
      r.pos += n;
      return;
    }
    case WIRE_FIXED32:
      skipFixed(r, 4, label);
      return;
    case WIRE_START_GROUP:
      skipGroup(r, tag >>> 3, label, depth + 1);
      return;
    case WIRE_END_GROUP:
      throw new FieldError(label, "end-group without a start-group");
    default:
      throw new FieldError(label, `illegal wire type ${wt}`);
  }
}

function skipFixed(r: Reader, n: number, label: string): void {
  if (r.end - r.pos < n) throw truncated(label);
  r.pos += n;
}

function skipGroup(r: Reader, num: number, label: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new FieldError(label, `groups nested deeper than ${MAX_DEPTH}`);
  for (;;) {
    if (r.pos >= r.end) throw new FieldError(label, "unexpected end of input inside a group");
    const tag = readTag(r);
    if ((tag & 7) === WIRE_END_GROUP) {
      if (tag >>> 3 !== num) throw new FieldError(label, `end-group of field ${tag >>> 3} closes group ${num}`);
      return;
    }
    skipUnknown(r, tag, label, depth);
  }
}
