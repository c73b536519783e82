/**
 * Reading segment files chunk by chunk for {@link LogReader}: the next chunk is read while the
 * current one is parsed, and the zero-filled tail of a preallocated segment is only checked to
 * be zero. The one part of the WAL reader that does I/O (through the `SegmentSource`s given).
 * @module
 */
import { join } from "node:path";
import { firstNonZero } from "./damage.js";
import type { WalFileHandle, WalIO } from "./io.js";
import { LogReader, ScanStop } from "./reader.js";
import type { ReadOptions, ReadResult } from "./reader.js";
import type { SegmentName } from "./segment.js";

/** A segment file to read in chunks (a file, or bytes in memory for tests). */
export interface SegmentSource {
  name: string;
  /** First raft index of the segment, from its name. */
  firstIndex: number;
  /** The file's size. */
  size: number;
  /** Reads up to `len` bytes at file offset `pos` into `buf[off, off + len)`; returns how many. */
  read(buf: Uint8Array, off: number, len: number, pos: number): Promise<number>;
}

/** Default chunk size of {@link readSegmentsChunked}. */
export const DEFAULT_READ_CHUNK_BYTES = 8 << 20;

/**
 * A frame cut by a chunk boundary that is at most this long is carried into the next chunk,
 * which is read with this much room in front of it (so the next read can be issued before the
 * current chunk is parsed); a longer one makes the reader read again from its start.
 */
const DEFAULT_CARRY_BYTES = 64 << 10;

/** A fresh buffer without zero-filling it (it is overwritten by the read). */
function uninitialized(size: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(size);
  return new Uint8Array(b.buffer, b.byteOffset, size);
}

interface Chunk {
  buf: Uint8Array;
  /** File offset of `buf[carry]`. */
  pos: number;
  /** Bytes read into `buf[carry, carry + len)`. */
  len: number;
}

/**
 * Reads `segments` as {@link readSegments} does, but from sources, chunk by chunk: the next chunk
 * is read while the current one is parsed, the zero-filled tail of a preallocated segment is
 * only checked to be zero (in a reused buffer), and a segment is read whole only when damage
 * needs the slow path. Entries' data (unless copied) are views into the chunk buffers, which
 * live as long as any entry of theirs. Same results and errors as {@link readSegments}.
 * @throws the errors of {@link readSegments}, and I/O errors of the sources.
 */
export async function readSegmentsChunked(
  segments: readonly SegmentSource[],
  opts: ReadOptions,
  chunkBytes = DEFAULT_READ_CHUNK_BYTES,
  carryBytes = DEFAULT_CARRY_BYTES,
): Promise<ReadResult> {
  const CARRY = carryBytes;
  const r = new LogReader(opts);
  let scratch: Uint8Array[] | undefined;
  // Nothing keeps a view into the chunks when data are copied or entries skipped: then chunk
  // buffers take turns (one parsed, one or two being read) instead of one allocation per chunk.
  const recycle = opts.copyData || opts.skipEntries === true;
  const spare: Uint8Array[] = [];
  const release = (c: Chunk): void => {
    if (recycle && c.buf.length === CARRY + chunkBytes) spare.push(c.buf);
  };
  const read = async (src: SegmentSource, pos: number, want: number): Promise<Chunk> => {
    const len = Math.max(0, Math.min(want, src.size - pos));
    const buf = recycle && want === chunkBytes ? (spare.pop() ?? uninitialized(CARRY + chunkBytes)) : uninitialized(CARRY + len);
    let done = 0;
    while (done < len) {
      const k = await src.read(buf, CARRY + done, len - done, pos + done);
      if (k === 0) break;
      done += k;
    }
    return { buf, pos, len: done };
  };
  /** The first chunk of the next segment, read while the current one's last chunk is parsed. */
  let nextSegment: Promise<Chunk> | undefined;
  try {
    for (let si = 0; si < segments.length; si++) {
      const src = segments[si]!;
      const size = src.size;
      r.beginSegment(src.name, src.firstIndex, si === segments.length - 1);
      let next: Promise<Chunk> | undefined = nextSegment ?? read(src, 0, chunkBytes);
      nextSegment = undefined;
      let start = CARRY;
      try {
        for (;;) {
          const c: Chunk = await next!;
          const end = CARRY + c.len;
          const atEnd = c.pos + c.len >= size || c.len === 0;
          next = atEnd ? undefined : read(src, c.pos + c.len, chunkBytes);
          next?.catch(() => undefined); // awaited below; never an unhandled rejection
          if (atEnd && si + 1 < segments.length) {
            nextSegment = read(segments[si + 1]!, 0, chunkBytes);
            nextSegment.catch(() => undefined);
          }
          const delta = c.pos - CARRY;
          const p = r.scan(c.buf, start, end, delta, atEnd);
          if (r.stop === ScanStop.NeedMore) {
            const carry = end - p;
            if (carry <= CARRY) {
              const n: Chunk = await next!;
              n.buf.set(c.buf.subarray(p, end), CARRY - carry);
              release(c);
              start = CARRY - carry;
              next = Promise.resolve(n);
              continue;
            }
            // a long frame cut by the boundary: read again from its start, big enough for it
            const n = await next!;
            release(n);
            release(c);
            next = read(src, p + delta, Math.max(chunkBytes, opts.maxRecordBytes + 16));
            start = CARRY;
            continue;
          }
          if (r.stop === ScanStop.FileEnd) {
            r.endSegment(p + delta);
            release(c);
            break;
          }
          if (r.stop === ScanStop.Zero) {
            scratch ??= [uninitialized(Math.min(chunkBytes, 4 << 20)), uninitialized(Math.min(chunkBytes, 4 << 20))];
            if (await zeroToEnd(src, c.buf, p, end, c.pos + c.len, scratch)) {
              r.endSegment(p + delta);
              release(c);
              break;
            }
          }
          // the slow path, with the whole file
          await next;
          next = undefined;
          const whole = await read(src, 0, size);
          r.finishSegment(whole.buf.subarray(CARRY, CARRY + whole.len), p + delta);
          break;
        }
      } finally {
        await next?.catch(() => undefined);
      }
    }
  } finally {
    await nextSegment?.catch(() => undefined);
  }
  return r.res;
}

/**
 * Are `buf[from, to)` and the file from `pos` to its end all zero? The file is read through the
 * scratch buffers in turn, the next read issued before the current one is checked.
 */
async function zeroToEnd(src: SegmentSource, buf: Uint8Array, from: number, to: number, pos: number, scratch: readonly Uint8Array[]): Promise<boolean> {
  if (firstNonZero(buf, from, to) >= 0) return false;
  const step = scratch[0]!.length;
  const readAt = (k: number, at: number): Promise<number> => (at < src.size ? src.read(scratch[k]!, 0, Math.min(step, src.size - at), at) : Promise.resolve(0));
  let k = 0;
  let pending = readAt(0, pos);
  try {
    while (pos < src.size) {
      const n = await pending;
      if (n === 0) break;
      pending = readAt(1 - k, pos + n);
      if (firstNonZero(scratch[k]!, 0, n) >= 0) return false;
      pos += n;
      k = 1 - k;
    }
    return true;
  } finally {
    await pending.catch(() => undefined);
  }
}

/**
 * Reads the segments `sel` of `dir` through `io` in chunks of `chunkBytes` ({@link readSegmentsChunked}),
 * through `tail` for the last one when given (write mode: the handle the WAL keeps).
 * @returns the read result and the size of the last segment file.
 */
export async function readFiles(
  dir: string,
  sel: readonly SegmentName[],
  chunkBytes: number,
  ro: ReadOptions,
  io: WalIO,
  tail?: WalFileHandle,
): Promise<{ res: ReadResult; lastSize: number }> {
  const handles: WalFileHandle[] = [];
  try {
    const sources: SegmentSource[] = [];
    for (let i = 0; i < sel.length; i++) {
      const s = sel[i]!;
      let h: WalFileHandle;
      if (tail !== undefined && i === sel.length - 1) h = tail;
      else {
        h = await io.open(join(dir, s.name), "r");
        handles.push(h);
      }
      const size = (await h.stat()).size;
      sources.push({ name: s.name, firstIndex: s.index, size, read: async (buf, off, len, pos) => (await h.read(buf, off, len, pos)).bytesRead });
    }
    const res = await readSegmentsChunked(sources, ro, chunkBytes);
    return { res, lastSize: sources[sources.length - 1]!.size };
  } finally {
    for (const h of handles) await h.close().catch(() => undefined);
  }
}
