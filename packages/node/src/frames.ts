/**
 * Length-prefixed frames for {@link TcpTransport}: a 4-byte big-endian length (of kind +
 * payload), a 1-byte kind, the payload.
 * @module
 */

/** The kinds of frame. */
export enum FrameKind {
  /** First frame of every connection: JSON {@link Hello}. */
  Hello = 1,
  /** An encoded raftpb Message (never a MsgSnap). */
  Msg = 2,
  /** Starts a snapshot stream: 8-byte data length, then the MsgSnap encoded without its data. */
  SnapHeader = 3,
  /** A piece of the snapshot data. */
  SnapChunk = 4,
  /** The receiver stepped the snapshot. */
  SnapAck = 5,
}

/** The first frame of a connection. */
export interface Hello {
  /** Protocol version, 1. */
  v: number;
  /** The sender's node id, decimal. */
  from: string;
  /** The node id the sender means to reach, decimal: a process on a reused port that is not it closes the connection. */
  to: string;
  /** The sender's listen address (`host:port`), so the receiver can answer before it knows the sender from its configuration. */
  addr: string;
  /** `'msg'`: a stream of messages; `'snap'`: one snapshot. */
  stream: "msg" | "snap";
}

/** Bytes of a frame header (length + kind). */
export const FRAME_HEADER_BYTES = 5;

/** Encodes one frame. */
export function frame(kind: FrameKind, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  b.writeUInt32BE(payload.length + 1, 0);
  b[4] = kind;
  b.set(payload, FRAME_HEADER_BYTES);
  return b;
}

/** The header of a frame whose payload is written separately (no copy of a large payload). */
export function frameHeader(kind: FrameKind, payloadLength: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  b.writeUInt32BE(payloadLength + 1, 0);
  b[4] = kind;
  return b;
}

/** Thrown by {@link FrameReader} for a frame over the limit or of length 0. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

/**
 * Splits a byte stream into frames. Holds at most one partial frame (bounded by
 * `maxFrameBytes`); a frame's payload is a view into the received chunks, or one copy when it
 * spans chunks.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Adds received bytes and calls `onFrame` for each complete frame.
   * @throws {@link FrameError} for an invalid length; the stream must be closed then.
   */
  push(chunk: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) return;
      const head = this.peek(FRAME_HEADER_BYTES);
      const len = head.readUInt32BE(0);
      if (len === 0) throw new FrameError("transport: frame of length 0");
      if (len - 1 > this.maxFrameBytes) throw new FrameError(`transport: frame of ${len - 1} bytes exceeds the limit of ${this.maxFrameBytes}`);
      if (this.buffered < 4 + len) return;
      const all = this.take(4 + len);
      onFrame(all[4]!, all.subarray(FRAME_HEADER_BYTES));
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    // Merge once, so that a frame arriving in many small pieces is not copied again per piece.
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }
}
