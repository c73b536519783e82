/**
 * Writes a large batch to the tail while it is still being encoded: each chunk of encoded
 * records goes to the thread pool as soon as it is complete, so the disk (or the page cache)
 * takes the first bytes while the event loop encodes the rest (`WalOptions.largeWriteBytes`,
 * README "Large saves").
 *
 * The chunks are positional writes of disjoint ranges and may be in flight together; none is
 * synced on its own (the WAL fdatasyncs the whole file after {@link ChunkWriter.done}). The
 * encoder must not move its buffer while chunks are in flight: the writer holds the buffer
 * the first chunk came from and refuses another ({@link ChunkWriter.write} throws).
 * @module
 */
import type { WalIO } from "./io.js";
import { writeAllFd } from "./segment.js";

/** The chunks of one batch, written at `base` + their offset in the encoder's buffer. */
export class ChunkWriter {
  /** Bytes of the buffer handed to writes so far: `[0, queued)`. */
  queued = 0;
  private buf: Uint8Array | undefined;
  private readonly inflight: Promise<void>[] = [];
  private failure: unknown;
  private failed = false;

  /**
   * @param fd the tail's descriptor (without O_DSYNC: the chunks are synced together later).
   * @param base the tail offset of the buffer's byte 0.
   */
  constructor(
    private readonly fd: number,
    private readonly base: number,
    private readonly io: WalIO,
  ) {}

  /**
   * Starts writing `buf[queued, end)`. `buf` must be the buffer of every earlier call (the
   * bytes of a chunk in flight must stay where they are).
   * @throws Error if `buf` is another buffer than the earlier chunks' (the encoder grew).
   */
  write(buf: Uint8Array, end: number): void {
    if (end <= this.queued) return;
    if (this.buf === undefined) this.buf = buf;
    else if (this.buf !== buf) throw new Error("wal: the encoder's buffer moved while chunks of it were being written");
    const from = this.queued;
    this.queued = end;
    const w = writeAllFd(this.fd, buf.subarray(from, end), end - from, this.base + from, this.io);
    // Kept, not thrown here: the first failure is reported by done(), after every write settled.
    this.inflight.push(
      w.catch((e: unknown) => {
        if (!this.failed) {
          this.failed = true;
          this.failure = e;
        }
      }),
    );
  }

  /**
   * Waits for every chunk written so far, failed or not (a write still in flight must not
   * outlive the batch: its descriptor may be closed and reused next).
   * @throws the first write's error, once all have settled.
   */
  async done(): Promise<void> {
    await Promise.all(this.inflight);
    if (this.failed) throw this.failure;
  }
}
