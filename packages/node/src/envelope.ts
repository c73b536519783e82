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

/** Wraps `payload` (copied) for request `seq` of proposer `tag`. */
export function seal(tag: Tag, seq: number, payload: Uint8Array | undefined): Uint8Array {
  const n = payload === undefined ? 0 : payload.length;
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES + n);
  const dv = new DataView(out.buffer);
  out[0] = ENVELOPE_VERSION;
  dv.setUint32(1, tag.hi);
  dv.setUint32(5, tag.lo);
  dv.setUint32(9, Math.floor(seq / 2 ** 32));
  dv.setUint32(13, seq >>> 0);
  if (payload !== undefined) out.set(payload, ENVELOPE_HEADER_BYTES);
  return out;
}

/** Opens an envelope; `undefined` if `data` is not one. */
export function open(data: Uint8Array): Opened | undefined {
  if (data.length < ENVELOPE_HEADER_BYTES || data[0] !== ENVELOPE_VERSION) return undefined;
  const dv = new DataView(data.buffer, data.byteOffset, data.length);
  return {
    tagHi: dv.getUint32(1),
    tagLo: dv.getUint32(5),
    seq: dv.getUint32(9) * 2 ** 32 + dv.getUint32(13),
    payload: data.subarray(ENVELOPE_HEADER_BYTES),
  };
}

/** The tag of bootstrap entries: matches no live request. */
export const BOOTSTRAP_TAG: Tag = { hi: 0, lo: 0 };
