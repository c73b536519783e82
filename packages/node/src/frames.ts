/**
 * Length-prefixed frames for {@link TcpTransport}: a 4-byte big-endian length (of kind +
 * payload), a 1-byte kind, the payload. The handshake frames are described in handshake.ts.
 * @module
 */
import { ConnectionRefusedError } from "./transport-errors.js";

/** The kinds of frame. */
export enum FrameKind {
  /** First frame of every connection, dialer to acceptor: JSON `Hello`. */
  Hello = 1,
  /** An encoded raftpb Message (never a MsgSnap), on a `msg` stream. */
  Msg = 2,
  /** Starts a snapshot stream: 8-byte data length, 1 byte "has data", then the MsgSnap encoded without its data. */
  SnapHeader = 3,
  /** A piece of the snapshot data. */
  SnapChunk = 4,
  /** The receiver stepped the snapshot. */
  SnapAck = 5,
  /** Acceptor to dialer: the hello is accepted (JSON `Welcome`, with nonce and MAC in hmac mode). */
  Welcome = 6,
  /** Dialer to acceptor, hmac mode only: JSON `{mac}` proving the dialer knows the secret. */
  Proof = 7,
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

/**
 * Splits a byte stream into frames. Holds at most one partial frame, whose announced size is
 * checked against the limit as soon as its header is in (so a peer cannot make it buffer more
 * than `maxFrameBytes` plus one received chunk); a frame's payload is a view into the received
 * chunks, or one copy when it spans chunks. The limit may change between frames
 * ({@link setMaxFrameBytes}), e.g. raised once a handshake completes.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private maxFrameBytes: number;
  private stopped = false;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Changes the largest payload accepted, from the next frame on. */
  setMaxFrameBytes(n: number): void {
    this.maxFrameBytes = n;
  }

  /** Bytes held (a partial frame). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Drops what is buffered and ignores every later push (the connection is being closed). */
  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }

  /**
   * Adds received bytes and calls `onFrame` for each complete frame (until {@link stop}).
   * @throws {@link ConnectionRefusedError} for a frame over the limit (`limit`) or of length 0
   *   (`protocol`); the stream must be closed then.
   */
  push(chunk: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    if (this.stopped) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (!this.stopped) {
      if (this.buffered < FRAME_HEADER_BYTES) return;
      const head = this.peek(FRAME_HEADER_BYTES);
      const len = head.readUInt32BE(0);
      if (len === 0) throw new ConnectionRefusedError("protocol", "transport: frame of length 0");
      if (len - 1 > this.maxFrameBytes)
        throw new ConnectionRefusedError("limit", `transport: frame of ${len - 1} bytes exceeds the limit of ${this.maxFrameBytes}`);
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
