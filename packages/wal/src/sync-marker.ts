/**
 * Sync markers: where the last segment's durable bytes end, written into the log itself so that
 * the reader can tell a torn write from damage.
 *
 * Every batch that syncs starts with a marker: a crc record (walpb type 4, its crc field the
 * running CRC, so the chain goes on unchanged and etcd's reader takes it as it takes the crc
 * record that starts each segment; etcd ignores a crc record's data) whose data says "every byte
 * of this segment before offset X was durable when this batch was written". The data is 12
 * bytes: X as a little-endian uint64, then a CRC-32C of those 8 bytes under a fixed seed, so
 * that random bytes pass for a marker with a probability of 2^-32.
 *
 * After damage at offset D in the last segment, followed by bytes that look like records:
 * - a marker after D claims X > D: D was durable before a later batch was written; the
 *   damage is real (refused, as before);
 * - else, if the segment has markers: nothing durable lies at or after D except, at most, the
 *   last synced batch itself (a crash during its write); the tail from D is torn and repair
 *   cuts it;
 * - a segment without markers (written by etcd, or by tsraft before markers) keeps the rules
 *   without them.
 * The verdict is `damage.ts`'s `markerVerdict`; the rules and the one case they cannot tell
 * apart are in the README ("Sync markers").
 * @module
 */
import { crc32cJs } from "./crc32c.js";

/** Bytes of a marker's data. */
export const MARKER_DATA_BYTES = 12;
/** The seed of the marker's own check (ASCII "tsSM"). */
const MARKER_SEED = 0x7473534d;

/** Writes a marker's data (claim `x`) at `buf[p, p + 12)`. */
export function putMarker(buf: Uint8Array, p: number, x: number): void {
  const lo = x >>> 0;
  const hi = Math.floor(x / 0x100000000) >>> 0;
  buf[p] = lo & 0xff;
  buf[p + 1] = (lo >>> 8) & 0xff;
  buf[p + 2] = (lo >>> 16) & 0xff;
  buf[p + 3] = lo >>> 24;
  buf[p + 4] = hi & 0xff;
  buf[p + 5] = (hi >>> 8) & 0xff;
  buf[p + 6] = (hi >>> 16) & 0xff;
  buf[p + 7] = hi >>> 24;
  const c = crc32cJs(MARKER_SEED, buf, p, p + 8);
  buf[p + 8] = c & 0xff;
  buf[p + 9] = (c >>> 8) & 0xff;
  buf[p + 10] = (c >>> 16) & 0xff;
  buf[p + 11] = c >>> 24;
}

/**
 * The claim of the sync marker whose data is `buf[start, end)` (the data of a crc record):
 * every byte of its segment before the returned offset was durable when the marker's batch was
 * written. -1 if the bytes are not a marker's data (a crc record written by etcd has none).
 * Exported from the package as `syncMarkerClaim` (`tsraft wal dump` shows it).
 */
export function markerClaim(buf: Uint8Array, start: number, end: number): number {
  if (end - start !== MARKER_DATA_BYTES) return -1;
  const c = crc32cJs(MARKER_SEED, buf, start, start + 8);
  const stored = (buf[start + 8]! | (buf[start + 9]! << 8) | (buf[start + 10]! << 16) | (buf[start + 11]! << 24)) >>> 0;
  if (c !== stored) return -1;
  const lo = (buf[start]! | (buf[start + 1]! << 8) | (buf[start + 2]! << 16) | (buf[start + 3]! << 24)) >>> 0;
  const hi = (buf[start + 4]! | (buf[start + 5]! << 8) | (buf[start + 6]! << 16) | (buf[start + 7]! << 24)) >>> 0;
  const x = hi * 0x100000000 + lo;
  return Number.isSafeInteger(x) ? x : -1;
}
