/**
 * Snapshot files in etcd v3.4's format: `%016x-%016x.snap` (term, index) holding
 * `snappb.snapshot{crc = 1, data = 2}`, `data` an encoded raftpb.Snapshot and `crc` its
 * CRC-32C (not chained).
 *
 * Large snapshots do not hold the event loop: a save writes the file in pieces straight from
 * the snapshot's own data (no whole-file buffer), a load reads it in pieces into one buffer
 * (no second copy), and both compute the CRC in pieces with a turn of the event loop between
 * them (see snap-stream.ts).
 * @module
 */
import { errorCode } from "@tsraft/raft";
import { decodeSnapshot } from "@tsraft/raftpb";
import type { Snapshot } from "@tsraft/raftpb";
import { join } from "node:path";
import { snapSaveChannel } from "./diagnostics.js";
import { NoSnapshotError, type WalNoSpaceError, SnapCorruptError, SnapCrcMismatchError, noSpaceOr } from "./errors.js";
import { nodeIO } from "./io.js";
import type { WalIO } from "./io.js";
import { ProtoError, decodeSnapFile } from "./proto.js";
import type { WalSnapshot } from "./proto.js";
import { hex16, syncDir, writeAll } from "./segment.js";
import { SNAP_WRITE_CHUNK_BYTES, crc32cYielding, snapFilePieces } from "./snap-stream.js";

/** `%016x-%016x.snap` for a snapshot's term and index. */
export function snapName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

/**
 * Reads and checks one snapshot file (etcd's `snap.Read`).
 * @throws {@link SnapCorruptError} (empty, crc 0, undecodable), {@link SnapCrcMismatchError}.
 */
export async function readSnapFile(path: string, io: WalIO = nodeIO): Promise<Snapshot> {
  const b = await readWhole(path, io);
  if (b.length === 0) throw new SnapCorruptError(path, "empty snapshot");
  let outer;
  try {
    outer = decodeSnapFile(b);
  } catch (e) {
    if (e instanceof ProtoError) throw new SnapCorruptError(path, `undecodable file: ${e.message}`, { cause: e });
    throw e;
  }
  if (outer.data === undefined || outer.data.length === 0 || outer.crc === 0) throw new SnapCorruptError(path, "empty snapshot");
  if ((await crc32cYielding(0, outer.data)) !== outer.crc) throw new SnapCrcMismatchError(path);
  try {
    return decodeSnapshot(outer.data);
  } catch (e) {
    if (errorCode(e) === "TSRAFT_DECODE") throw new SnapCorruptError(path, `undecodable snapshot: ${(e as Error).message}`, { cause: e });
    throw e;
  }
}

/** The whole file in one buffer, read in pieces of {@link SNAP_WRITE_CHUNK_BYTES} (each its own thread-pool job). */
async function readWhole(path: string, io: WalIO): Promise<Uint8Array> {
  const h = await io.open(path, "r");
  try {
    const size = (await h.stat()).size;
    const buf = new Uint8Array(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await h.read(buf, done, Math.min(SNAP_WRITE_CHUNK_BYTES, size - done), done);
      if (bytesRead === 0) return buf.subarray(0, done); // shrank meanwhile: the decoder reports it
      done += bytesRead;
    }
    return buf;
  } finally {
    await h.close();
  }
}

/** Saves and loads the snapshot files of one directory (etcd's `snap.Snapshotter`). */
export class Snapshotter {
  readonly dir: string;
  /** The file system (default {@link nodeIO}: node:fs). */
  readonly io: WalIO;
  constructor(dir: string, io: WalIO = nodeIO) {
    this.dir = dir;
    this.io = io;
  }

  /**
   * Writes `snapshot` durably: to `NAME.tmp`, fsync, rename to `NAME`, fsync the directory. An
   * empty snapshot (index 0) is not written, as in etcd. The file is written in pieces from the
   * snapshot's own data (never copied into one file buffer) and its CRC computed in pieces,
   * yielding to the event loop between them.
   * @throws `EncodeError` for a snapshot that has no encoding; {@link WalNoSpaceError} when a
   *   write of the file fails with ENOSPC; the file system's other errors.
   */
  async save(snapshot: Snapshot): Promise<void> {
    const md = snapshot.metadata;
    if (md.index === 0) return;
    const t0 = snapSaveChannel.hasSubscribers ? performance.now() : 0;
    const file = await snapFilePieces(snapshot);
    const name = snapName(md.term, md.index);
    const tmp = join(this.dir, `${name}.tmp`);
    const h = await this.io.open(tmp, "w", 0o600);
    try {
      let pos = 0;
      for (const piece of file.pieces) {
        await writeAll(h, piece, piece.length, pos);
        pos += piece.length;
      }
      await h.sync();
    } catch (e) {
      throw noSpaceOr(e, tmp); // the .tmp file stays until purge: no snapshot was made
    } finally {
      await h.close();
    }
    await this.io.rename(tmp, join(this.dir, name));
    await syncDir(this.dir, this.io);
    if (t0 !== 0) snapSaveChannel.publish({ dir: this.dir, seconds: (performance.now() - t0) / 1000, index: md.index });
  }

  /** The `.snap` names, newest first. */
  async names(): Promise<string[]> {
    return (await this.io.readdir(this.dir))
      .filter((n) => n.endsWith(".snap"))
      .sort()
      .reverse();
  }

  /**
   * The newest readable snapshot. Unreadable files met on the way are renamed `NAME.broken`.
   * @throws {@link NoSnapshotError} if there is none.
   */
  load(): Promise<Snapshot> {
    return this.loadMatching(() => true);
  }

  /**
   * The newest readable snapshot whose (index, term) is among `walSnapshots` (the WAL's
   * snapshot records, see {@link WAL.validSnapshotEntries}): one the WAL can be opened at.
   * @throws {@link NoSnapshotError} if there is none.
   */
  loadNewestAvailable(walSnapshots: readonly WalSnapshot[]): Promise<Snapshot> {
    return this.loadMatching((s) => walSnapshots.some((w) => w.index === s.metadata.index && w.term === s.metadata.term));
  }

  /**
   * The newest snapshot file among `walSnapshots` (the WAL's snapshot records), read strictly:
   * a damaged one is an error, not a reason to go back to an older one. Every file the WAL has
   * a record of was durable before its record was written, so damage there is not a crash's
   * doing but the disk's (bit rot, or bits flipped on the way from it); going back to an older
   * snapshot would pair it with a HardState and log that may need the newer one. Nothing is
   * renamed: a flip on the way from the disk leaves the file good for the next try. Files the
   * WAL has no record of are not read.
   * @throws {@link NoSnapshotError} if no file matches a record; {@link SnapCrcMismatchError} or
   *   {@link SnapCorruptError} for the newest matching file.
   */
  async loadNewestRecorded(walSnapshots: readonly WalSnapshot[]): Promise<Snapshot> {
    const recorded = new Set(walSnapshots.map((w) => snapName(w.term, w.index)));
    for (const name of await this.names()) {
      if (!recorded.has(name)) continue;
      return readSnapFile(join(this.dir, name), this.io);
    }
    throw new NoSnapshotError();
  }

  private async loadMatching(match: (s: Snapshot) => boolean): Promise<Snapshot> {
    for (const name of await this.names()) {
      const path = join(this.dir, name);
      let snap: Snapshot;
      try {
        snap = await readSnapFile(path, this.io);
      } catch (e) {
        const code = errorCode(e);
        if (code !== "TSRAFT_SNAP_CORRUPT" && code !== "TSRAFT_SNAP_CRC_MISMATCH") throw e;
        await this.io.rename(path, `${path}.broken`);
        continue;
      }
      if (match(snap)) return snap;
    }
    throw new NoSnapshotError();
  }

  /**
   * Deletes all but the newest `keep` snapshot files (and leftover `.tmp` files).
   * @returns the names deleted.
   */
  async purge(keep: number): Promise<string[]> {
    const names = await this.names();
    const doomed = names.slice(Math.max(0, keep));
    for (const n of (await this.io.readdir(this.dir)).filter((x) => x.endsWith(".snap.tmp"))) doomed.push(n);
    for (const n of doomed) await this.io.unlink(join(this.dir, n));
    if (doomed.length > 0) await syncDir(this.dir, this.io);
    return doomed;
  }
}
