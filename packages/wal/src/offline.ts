/**
 * The WAL's offline operations, on a directory no `WAL` of this process writes (as etcd splits
 * repair.go from wal.go): verifying every record, listing the snapshot records, and repairing a
 * torn tail. `WAL.verify`, `WAL.validSnapshotEntries`, `WAL.snapshotEntries` and `WAL.repair`
 * are the public face of these functions.
 * @module
 */
import { join } from "node:path";
import { WalSnapshotNotFoundError, isWalError } from "./errors.js";
import type { WalIO } from "./io.js";
import type { WalSnapshot } from "./proto.js";
import { readFiles } from "./read-ahead.js";
import type { ReadResult } from "./reader.js";
import { listSegments, selectSegments, syncDir } from "./segment.js";
import { walRepairChannel, type WalTailRepair } from "./diagnostics.js";

/** The resolved options the offline operations read with. */
export interface ReadLimits {
  maxRecordBytes: number;
  readChunkBytes: number;
  /** The file system (node:fs unless a test simulates one). */
  io: WalIO;
  /** Test-only fault switches (see internal/faults.ts). */
  faults?: { readonly skipSealedCrc: boolean };
}

/** Checks every record from `snap` on, without locking (see `WAL.verify`). */
export async function verifyWal(dir: string, snap: WalSnapshot, opts: ReadLimits): Promise<void> {
  const sel = selectSegments(dir, await listSegments(dir, opts.io), snap.index);
  const { res } = await readFiles(
    dir,
    sel,
    opts.readChunkBytes,
    { start: snap, strictTail: false, maxRecordBytes: opts.maxRecordBytes, copyData: false, skipEntries: true, skipSealedCrc: opts.faults?.skipSealedCrc },
    opts.io,
  );
  if (!res.matched) throw new WalSnapshotNotFoundError();
}

/** Every snapshot record of the WAL and the last HardState's commit. */
export async function snapshotRecords(dir: string, opts: ReadLimits): Promise<{ snapshots: WalSnapshot[]; commit: number }> {
  const all = await listSegments(dir, opts.io);
  const sel = selectSegments(dir, all, all[0]?.index ?? 0);
  const { res } = await readFiles(
    dir,
    sel,
    opts.readChunkBytes,
    {
      start: { index: -1, term: 0 },
      strictTail: false,
      maxRecordBytes: opts.maxRecordBytes,
      copyData: false,
      skipEntries: true,
      skipSealedCrc: opts.faults?.skipSealedCrc,
    },
    opts.io,
  );
  return { snapshots: res.snapshots, commit: res.hardState.commit };
}

/**
 * Repairs a torn tail of the last segment (see `WAL.repair`).
 * @returns `clean` as `WAL.repair` returns it, and what was cut (undefined when nothing was).
 */
export async function repairWal(dir: string, opts: ReadLimits): Promise<{ clean: boolean; cut: WalTailRepair | undefined }> {
  const names = await listSegments(dir, opts.io);
  const last = selectSegments(dir, names, Number.MAX_SAFE_INTEGER)[0]!;
  const lock = await opts.io.lockDir(dir);
  try {
    const path = join(dir, last.name);
    let res: ReadResult;
    try {
      res = (
        await readFiles(
          dir,
          [last],
          opts.readChunkBytes,
          {
            // no start snapshot to match: a snapshot record at the segment's first index (any
            // term) is just a record here (with that index as start, its term was checked
            // against 0 and the repair gave up)
            start: { index: -1, term: 0 },
            strictTail: false,
            maxRecordBytes: opts.maxRecordBytes,
            copyData: false,
            skipEntries: true,
            skipSealedCrc: opts.faults?.skipSealedCrc,
          },
          opts.io,
        )
      ).res;
    } catch (e) {
      if (isWalError(e)) return { clean: false, cut: undefined };
      throw e;
    }
    if (res.torn === undefined) return { clean: true, cut: undefined };
    const cut: WalTailRepair = { file: path, offset: res.torn.offset, brokenCopy: `${path}.broken` };
    await opts.io.copyFile(path, cut.brokenCopy);
    const h = await opts.io.open(path, "r+");
    try {
      await h.truncate(cut.offset);
      await h.sync();
    } finally {
      await h.close();
    }
    await syncDir(dir, opts.io);
    if (walRepairChannel.hasSubscribers) walRepairChannel.publish({ dir, ...cut });
    return { clean: true, cut };
  } finally {
    await lock.release();
  }
}
