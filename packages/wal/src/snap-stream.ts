/**
 * The snapshot file's bytes, produced and checked in pieces so that a snapshot of hundreds of
 * megabytes never holds the event loop: no copy of the state machine's data into one file
 * buffer, and the CRC-32C computed {@link SNAP_CRC_CHUNK_BYTES} at a time with a turn of the
 * event loop between pieces.
 *
 * The file is etcd's `snappb.snapshot{crc = 1, data = 2}` where `data` is the encoded
 * raftpb.Snapshot. That encoding (etcd's field order) is `0x0a varint(len) DATA` (when the
 * snapshot has data) followed by `0x12 varint(len) METADATA`, which is exactly what
 * `encodeSnapshot` writes for the metadata alone. So the encoded snapshot is three pieces:
 * a small head, the application's data (written from its own buffer, never copied), and the
 * small encoded metadata; and the file is a small header (crc, length) before them.
 * @module
 */
import { EncodeError, encodeSnapshot } from "@tsraft/raftpb";
import type { Snapshot } from "@tsraft/raftpb";
import { crc32c } from "./crc32c.js";
import { putVarint, varintSize } from "./proto.js";

/**
 * Bytes of CRC-32C computed between two turns of the event loop. At the native speed (about
 * 8.7 GB/s) a piece costs about 0.5 ms, with the JavaScript fallback (about 1.2 GB/s) 3.5 ms.
 */
export const SNAP_CRC_CHUNK_BYTES = 4 * 1024 * 1024;

/** Bytes handed to one `write` call: the thread pool is never held by one huge write. */
export const SNAP_WRITE_CHUNK_BYTES = 8 * 1024 * 1024;

/** Resolves on the next turn of the event loop, after timers and I/O callbacks had their turn. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Continues a CRC-32C over `buf[start, end)` in pieces of {@link SNAP_CRC_CHUNK_BYTES}, yielding
 * to the event loop between pieces. Same result as `crc32c(crc, buf, start, end)`.
 */
export async function crc32cYielding(crc: number, buf: Uint8Array, start = 0, end = buf.length): Promise<number> {
  let c = crc;
  for (let off = start; off < end; off += SNAP_CRC_CHUNK_BYTES) {
    if (off > start) await yieldToEventLoop();
    c = crc32c(c, buf, off, Math.min(end, off + SNAP_CRC_CHUNK_BYTES));
  }
  return c;
}

/** A snapshot file as pieces to write in order; their concatenation is the file. */
export interface SnapFilePieces {
  /** The pieces: small header buffers and views of the snapshot's own data (not copies). */
  readonly pieces: readonly Uint8Array[];
  /** Their total length. */
  readonly length: number;
}

/**
 * The bytes of the snapshot file for `snapshot` (etcd's format; identical to encoding the whole
 * snapshot and wrapping it), as pieces, with the CRC computed in yielding pieces.
 * @throws {@link EncodeError} for a snapshot that has no encoding (as `encodeSnapshot`).
 */
export async function snapFilePieces(snapshot: Snapshot): Promise<SnapFilePieces> {
  const data = snapshot.data;
  if (data !== undefined && !(data instanceof Uint8Array)) throw new EncodeError("Snapshot", "data", "is not a Uint8Array");
  // encodeSnapshot of the metadata alone is the tail of the full encoding (field 2 after field 1).
  const tail = encodeSnapshot({ metadata: snapshot.metadata });
  let head = new Uint8Array(0);
  if (data !== undefined) {
    head = new Uint8Array(1 + varintSize(data.length));
    head[0] = 0x0a;
    putVarint(head, 1, data.length);
  }
  const innerLength = head.length + (data?.length ?? 0) + tail.length;
  let crc = crc32c(0, head);
  if (data !== undefined) crc = await crc32cYielding(crc, data);
  crc = crc32c(crc, tail);
  const header = new Uint8Array(1 + varintSize(crc) + 1 + varintSize(innerLength));
  let p = 0;
  header[p++] = 0x08;
  p = putVarint(header, p, crc);
  header[p++] = 0x12;
  putVarint(header, p, innerLength);
  const pieces: Uint8Array[] = [header, head];
  if (data !== undefined) {
    for (let off = 0; off < data.length; off += SNAP_WRITE_CHUNK_BYTES) pieces.push(data.subarray(off, Math.min(data.length, off + SNAP_WRITE_CHUNK_BYTES)));
  }
  pieces.push(tail);
  return { pieces: pieces.filter((x) => x.length > 0), length: header.length + innerLength };
}
