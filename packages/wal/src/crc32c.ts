/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of etcd's WAL records
 * and snapshot files.
 *
 * Two implementations, picked by the replay benchmark (README "CRC-32C"), and a third for the
 * write path's small records (`crc32c-wasm.ts`, WebAssembly, used by the encoder on its own
 * buffer):
 * - native: `@node-rs/crc32` (an optional dependency whose platform package ships a prebuilt
 *   SSE4.2/ARMv8 binary), about 8.7 GB/s on large buffers and 3.2 GB/s on 1000-byte records
 *   on the development machine, where a call costs about 0.15 us;
 * - pure JavaScript, slicing-by-8 ({@link crc32cJs}), about 1.2 GB/s, and faster than the
 *   native call below {@link NATIVE_MIN_BYTES} (the call and the view it needs cost more than
 *   the bytes).
 * If the native module is missing or fails to load (another platform, an install without
 * optional dependencies), everything here runs on the JavaScript version; `TSRAFT_CRC32C=js` in the
 * environment forces it (and keeps the write path off WebAssembly, see `crc32c-wasm.ts`), and
 * `TSRAFT_CRC32C=wasm` leaves the native module out (the write path then checks every record in
 * WebAssembly).
 * @module
 */
import { createRequire } from "node:module";

const POLY = 0x82f63b78;

/** tables[k * 256 + b]: the CRC of byte b followed by k zero bytes. */
const TABLES: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
})();

/**
 * The pure JavaScript CRC-32C (slicing-by-8), with the same contract as {@link crc32c}. Exposed
 * for tests and measurements; {@link crc32c} uses it for short ranges and as the fallback.
 * @returns the new CRC as an unsigned 32-bit number.
 */
export function crc32cJs(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32cInt32(crc | 0, buf, start, end) >>> 0;
}

/**
 * {@link crc32cJs} on CRCs held as signed 32-bit integers (`crc | 0`): the write path's form,
 * which V8 keeps unboxed (an unsigned CRC of 2^31 or more is a heap number, allocated by every
 * call that returns one: half the calls).
 * @returns the new CRC, `| 0` (`>>> 0` gives the unsigned value).
 */
export function crc32cInt32(crc: number, buf: Uint8Array, start: number, end: number): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  // Byte-wise until 8 bytes remain a multiple; alignment does not matter for Uint8Array reads.
  const end8 = end - ((end - i) & 7);
  for (; i < end8; i += 8) {
    const lo = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + buf[i + 4]!]! ^
      t[2 * 256 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c;
}

/** Whether this platform stores integers little-endian (what {@link crc32cInt32Words} needs). */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * {@link crc32cInt32} reading the bytes four at a time: `words` is an `Int32Array` over the
 * same `ArrayBuffer` as `buf`, both from byte 0 (so `words[k]` holds `buf[4k, 4k + 4)`), on a
 * {@link LITTLE_ENDIAN} platform. Up to three bytes are taken one by one to reach a word
 * boundary; then two word loads per 8 bytes instead of eight byte loads, and one for 4 of the
 * last 4-7.
 * @returns the new CRC, `| 0`.
 */
export function crc32cInt32Words(crc: number, buf: Uint8Array, words: Int32Array, start: number, end: number): number {
  const t = TABLES;
  let c = ~crc;
  let i = start;
  const head = Math.min((4 - (i & 3)) & 3, end - i);
  for (const h = i + head; i < h; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  const end8 = end - ((end - i) & 7);
  for (let k = i >> 2; i < end8; i += 8, k += 2) {
    const lo = c ^ words[k]!;
    const hi = words[k + 1]!;
    c =
      t[7 * 256 + (lo & 0xff)]! ^
      t[6 * 256 + ((lo >>> 8) & 0xff)]! ^
      t[5 * 256 + ((lo >>> 16) & 0xff)]! ^
      t[4 * 256 + (lo >>> 24)]! ^
      t[3 * 256 + (hi & 0xff)]! ^
      t[2 * 256 + ((hi >>> 8) & 0xff)]! ^
      t[256 + ((hi >>> 16) & 0xff)]! ^
      t[hi >>> 24]!;
  }
  if (end - i >= 4) {
    // one more word, slicing-by-4, before the last 0-3 bytes
    const lo = c ^ words[i >> 2]!;
    c = t[3 * 256 + (lo & 0xff)]! ^ t[2 * 256 + ((lo >>> 8) & 0xff)]! ^ t[256 + ((lo >>> 16) & 0xff)]! ^ t[lo >>> 24]!;
    i += 4;
  }
  for (; i < end; i++) c = t[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c;
}

/** Ranges shorter than this go to the JavaScript version even when the native one is loaded. */
export const NATIVE_MIN_BYTES = 256;

type NativeCrc = (input: Uint8Array, initialState?: number) => number;

function loadNative(): NativeCrc | undefined {
  const force = typeof process !== "undefined" ? process.env["TSRAFT_CRC32C"] : undefined;
  if (force === "js" || force === "wasm") return undefined;
  try {
    const mod = createRequire(import.meta.url)("@node-rs/crc32") as { crc32c?: unknown };
    const f = mod.crc32c;
    if (typeof f !== "function") return undefined;
    const native = f as NativeCrc;
    // Trust it only if it agrees with the definition (check value, and chaining as Go's Update).
    const check = new Uint8Array([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]);
    if (native(check, 0) !== 0xe3069283 || native(check.subarray(4), native(check.subarray(0, 4), 0)) !== 0xe3069283) return undefined;
    return native;
  } catch {
    return undefined;
  }
}

const native: NativeCrc | undefined = loadNative();

/** Which implementation {@link crc32c} uses for long ranges: `"native"` (@node-rs/crc32) or `"js"`. */
export const crc32cBackend: "native" | "js" = native === undefined ? "js" : "native";

/**
 * Continues a CRC-32C over `buf[start, end)`. `crc` is the value returned for the bytes before
 * (0 to start), exactly like Go's `crc32.Update(crc, castagnoliTable, p)`, so
 * `crc32c(crc32c(0, a), b) === crc32c(0, a ++ b)`.
 * @returns the new CRC as an unsigned 32-bit number.
 */
export const crc32c: (crc: number, buf: Uint8Array, start?: number, end?: number) => number =
  native === undefined
    ? crc32cJs
    : (crc, buf, start = 0, end = buf.length) => {
        if (end - start < NATIVE_MIN_BYTES) return crc32cJs(crc, buf, start, end);
        const view = start === 0 && end === buf.length ? buf : new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
        return native(view, crc) >>> 0;
      };

/**
 * Continues a CRC-32C over all of `view`: {@link crc32c} for a caller that already holds a view
 * of exactly the bytes (no view is made for the native call).
 * @returns the new CRC as an unsigned 32-bit number.
 */
export const crc32cView: (crc: number, view: Uint8Array) => number =
  native === undefined
    ? (crc, view) => crc32cJs(crc, view, 0, view.length)
    : (crc, view) => (view.length < NATIVE_MIN_BYTES ? crc32cJs(crc, view, 0, view.length) : native(view, crc) >>> 0);
