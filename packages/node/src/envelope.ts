/**
 * The envelope RaftNode puts around every payload it proposes (entry data, conf change
 * context, ReadIndex context), so that the node which proposed an entry recognises it when it
 * is applied and settles the matching promise.
 *
 * Layout: byte 0 = {@link ENVELOPE_VERSION}; bytes 1..8 = the proposer's tag (random per
 * RaftNode instance, so a restarted process never confuses an old entry with a new request);
 * bytes 9..16 = the request's sequence number (uint64 big-endian); then the application's bytes.
 * @module
 */

/** The first byte of every envelope. */
export const ENVELOPE_VERSION = 1;
/** Bytes before the application's payload. */
export const ENVELOPE_HEADER_BYTES = 17;

/** A proposer tag: 64 random bits as two uint32 halves. */
export interface Tag {
  hi: number;
  lo: number;
}

/** The parts of an envelope. `payload` is a view into the input. */
export interface Opened {
  tagHi: number;
  tagLo: number;
  seq: number;
  payload: Uint8Array;
}

/** Bytes of the shared buffers small envelopes are cut from. */
const SLAB_BYTES = 64 * 1024;
/** Envelopes longer than this get a buffer of their own. */
const MAX_SLAB_ALLOC = 4096;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * A new zeroed array of `n` bytes. Small ones are views cut from a shared 64 KiB buffer: V8
 * keeps a small `new Uint8Array(n)` (up to 64 bytes) on its heap and must move it out the first
 * time its `.buffer` is read (as making the payload view does, on every member): measured at
 * 13% of the driver's time with 17-byte envelopes. A buffer stays alive while any of its views
 * does (entries leave the log in order, so buffers are released in order).
 */
function alloc(n: number): Uint8Array {
  if (n > MAX_SLAB_ALLOC) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}

/** Wraps `payload` (copied) for request `seq` of proposer `tag`. */
export function seal(tag: Tag, seq: number, payload: Uint8Array | undefined): Uint8Array {
  const n = payload === undefined ? 0 : payload.length;
  const out = alloc(ENVELOPE_HEADER_BYTES + n);
  // Bytes written one by one: a DataView per proposal costs an allocation on the hot path.
  out[0] = ENVELOPE_VERSION;
  putUint32(out, 1, tag.hi);
  putUint32(out, 5, tag.lo);
  putUint32(out, 9, Math.floor(seq / 2 ** 32));
  putUint32(out, 13, seq >>> 0);
  if (payload !== undefined && n > 0) out.set(payload, ENVELOPE_HEADER_BYTES);
  return out;
}

function putUint32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function getUint32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Whether `data` is an envelope. */
export function isSealed(data: Uint8Array): boolean {
  return data.length >= ENVELOPE_HEADER_BYTES && data[0] === ENVELOPE_VERSION;
}

/** The high half of the proposer tag of an envelope (`data` must be one: {@link isSealed}). */
export function tagHiOf(data: Uint8Array): number {
  return getUint32(data, 1);
}

/** The low half of the proposer tag of an envelope. */
export function tagLoOf(data: Uint8Array): number {
  return getUint32(data, 5);
}

/** The request sequence number of an envelope. */
export function seqOf(data: Uint8Array): number {
  return getUint32(data, 9) * 2 ** 32 + getUint32(data, 13);
}

/**
 * The application's bytes of an envelope: a view (made with the constructor, which V8 makes
 * faster than `subarray`).
 */
export function payloadOf(data: Uint8Array): Uint8Array {
  if (data.length === ENVELOPE_HEADER_BYTES) return EMPTY_PAYLOAD;
  return new Uint8Array(data.buffer, data.byteOffset + ENVELOPE_HEADER_BYTES, data.length - ENVELOPE_HEADER_BYTES);
}

/** The payload of an envelope with no application bytes (shared; it has no elements to change). */
const EMPTY_PAYLOAD = new Uint8Array(0);

/** Opens an envelope; `undefined` if `data` is not one. */
export function open(data: Uint8Array): Opened | undefined {
  if (data.length < ENVELOPE_HEADER_BYTES || data[0] !== ENVELOPE_VERSION) return undefined;
  return {
    tagHi: getUint32(data, 1),
    tagLo: getUint32(data, 5),
    seq: getUint32(data, 9) * 2 ** 32 + getUint32(data, 13),
    payload: data.subarray(ENVELOPE_HEADER_BYTES),
  };
}

/** The tag of bootstrap entries: matches no live request. */
export const BOOTSTRAP_TAG: Tag = { hi: 0, lo: 0 };
