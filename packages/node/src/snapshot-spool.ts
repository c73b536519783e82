/**
 * SnapshotSpool: the data of one inbound snapshot stream, written to a temporary file as it
 * arrives and read back into one buffer only once it is complete (raftpb's `Snapshot.data` is
 * one `Uint8Array`). Nothing of the announced size is allocated up front; what waits in memory
 * is bounded by a high-water mark, past which the caller pauses the socket. The file is
 * removed after it is read back, and on any failure or abort.
 * @module
 */
import { randomBytes } from "node:crypto";
import { open, readFile, readdir, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { NodeId } from "@tsraft/raftpb";
import { ConnectionRefusedError } from "./transport-errors.js";

/** Bytes queued for the disk past which the socket should be paused. */
export const SPOOL_HIGH_WATER_BYTES = 1024 * 1024;
/** Bytes queued below which a paused socket may resume. */
export const SPOOL_LOW_WATER_BYTES = 256 * 1024;

const PREFIX = "tsraft-snap-";
const SUFFIX = ".part";

/** What a spool tells its owner. */
export interface SpoolEvents {
  /** `true`: stop reading the socket; `false`: read again. */
  pressure(paused: boolean): void;
  /** Writing failed (e.g. the disk is full); the spool is aborted. */
  failed(err: Error): void;
}

/**
 * One snapshot being received. Invariant: `received <= size`; `queued` is the bytes handed to
 * {@link write} and not yet on disk.
 */
export class SnapshotSpool {
  /** The temporary file. */
  readonly path: string;
  /** The announced size. */
  readonly size: number;
  private received = 0;
  private queued = 0;
  private paused = false;
  private aborted = false;
  private readonly file: Promise<FileHandle>;
  private chain: Promise<unknown>;
  private readonly events: SpoolEvents;

  /** Starts a spool of `size` bytes from `from` in `dir` (the file is created with mode 0600, exclusively). */
  constructor(dir: string, from: NodeId, size: number, events: SpoolEvents) {
    this.path = join(dir, `${PREFIX}${from}-${randomBytes(8).toString("hex")}${SUFFIX}`);
    this.size = size;
    this.events = events;
    this.file = open(this.path, "wx", 0o600);
    this.chain = this.file;
    this.chain.catch((err: unknown) => this.fail(err));
  }

  /** Whether all announced bytes were handed to {@link write}. */
  get complete(): boolean {
    return this.received === this.size;
  }

  /**
   * Queues a chunk for the file (the buffer must not be changed afterwards).
   * @throws {@link ConnectionRefusedError} (`snapshot`) if it goes past the announced size.
   */
  write(chunk: Buffer): void {
    if (this.aborted) return;
    if (this.received + chunk.length > this.size) {
      throw new ConnectionRefusedError("snapshot", `transport: snapshot chunk past the announced ${this.size} bytes`);
    }
    const pos = this.received;
    this.received += chunk.length;
    this.queued += chunk.length;
    this.chain = this.chain.then(async () => {
      if (this.aborted) return;
      const fh = await this.file;
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off, pos + off)).bytesWritten;
      this.queued -= chunk.length;
      if (this.paused && this.queued <= SPOOL_LOW_WATER_BYTES) {
        this.paused = false;
        this.events.pressure(false);
      }
    });
    this.chain.catch((err: unknown) => this.fail(err));
    if (!this.paused && this.queued > SPOOL_HIGH_WATER_BYTES) {
      this.paused = true;
      this.events.pressure(true);
    }
  }

  /**
   * Waits for the writes, reads the file back into one buffer and removes it.
   * @throws (rejects) if writing or reading failed, or the spool was aborted; the file is removed then too.
   */
  async finish(): Promise<Buffer> {
    try {
      await this.chain;
      if (this.aborted) throw new ConnectionRefusedError("snapshot", "transport: snapshot stream aborted");
      await (await this.file).close();
      const data = await readFile(this.path);
      if (data.length !== this.size) throw new ConnectionRefusedError("snapshot", `transport: snapshot file holds ${data.length} bytes, want ${this.size}`);
      return data;
    } finally {
      this.aborted = true;
      await this.removeFile();
    }
  }

  /** Drops the stream: no more writes; the file is closed and removed. Idempotent. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    void this.chain.catch(() => {}).then(() => this.removeFile());
  }

  private fail(err: unknown): void {
    if (this.aborted) return;
    this.abort();
    this.events.failed(err instanceof Error ? err : new Error(String(err)));
  }

  private async removeFile(): Promise<void> {
    try {
      await (await this.file).close();
    } catch {
      // not opened, or already closed
    }
    await unlink(this.path).catch(() => {});
  }
}

/** Removes the spool files a crashed process left in `dir` (only files named like a spool). */
export async function removeStaleSpools(dir: string): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX)) continue;
    await unlink(join(dir, name)).then(
      () => n++,
      () => {},
    );
  }
  return n;
}
