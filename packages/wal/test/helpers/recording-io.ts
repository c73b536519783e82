/**
 * A {@link WalIO} over the real file system that logs the calls that matter for durability
 * (writes, syncs, renames, truncates), in call order, so tests can check what was synced when.
 */
import { dirname } from "node:path";
import { nodeIO } from "@tsraft/wal";
import type { WalFileHandle, WalIO } from "@tsraft/wal";

/** One logged call. `path` is the file (or directory) it acted on; `to` a rename's target. */
export interface IoOp {
  op: "write" | "fdatasync" | "fsync" | "rename" | "truncate" | "mark";
  path: string;
  /** A write through a descriptor opened with O_DSYNC (durable when it returns). */
  dsync?: boolean;
  /** Made on the calling thread (`writeSync`, `fdatasyncSync`: `WalOptions.inlineWrites`). */
  inline?: true;
  to?: string;
}

/** A recording WalIO and its log; `mark(label)` adds a marker (e.g. "a save resolved"). */
export function recordingIO(): { io: WalIO; log: IoOp[]; mark(label: string): void } {
  const log: IoOp[] = [];
  const fds = new Map<number, { path: string; dsync: boolean }>();
  const dsyncBit = nodeIO.constants.O_DSYNC;
  const wrap = (h: WalFileHandle, path: string, dsync: boolean): WalFileHandle => ({
    fd: h.fd,
    read: (b, o, l, p) => h.read(b, o, l, p),
    write: (b, o, l, p) => {
      log.push({ op: "write", path, dsync });
      return h.write(b, o, l, p);
    },
    truncate: (n) => {
      log.push({ op: "truncate", path });
      return h.truncate(n);
    },
    sync: () => {
      log.push({ op: "fsync", path });
      return h.sync();
    },
    datasync: () => {
      log.push({ op: "fdatasync", path });
      return h.datasync();
    },
    stat: () => h.stat(),
    close: () => {
      fds.delete(h.fd);
      return h.close();
    },
  });
  const io: WalIO = {
    ...nodeIO,
    open: async (path, flags, mode) => {
      const h = await nodeIO.open(path, flags, mode);
      const dsync = typeof flags === "number" && dsyncBit !== undefined && (flags & dsyncBit) !== 0;
      fds.set(h.fd, { path, dsync });
      return wrap(h, path, dsync);
    },
    rename: (from, to) => {
      log.push({ op: "rename", path: from, to });
      return nodeIO.rename(from, to);
    },
    write: (fd, buf, off, len, pos, cb) => {
      const f = fds.get(fd);
      log.push({ op: "write", path: f?.path ?? `fd ${fd}`, dsync: f?.dsync ?? false });
      nodeIO.write(fd, buf, off, len, pos, cb);
    },
    fdatasync: (fd, cb) => {
      log.push({ op: "fdatasync", path: fds.get(fd)?.path ?? `fd ${fd}` });
      nodeIO.fdatasync(fd, cb);
    },
    writeSync: (fd, buf, off, len, pos) => {
      const f = fds.get(fd);
      log.push({ op: "write", path: f?.path ?? `fd ${fd}`, dsync: f?.dsync ?? false, inline: true });
      return nodeIO.writeSync!(fd, buf, off, len, pos);
    },
    fdatasyncSync: (fd) => {
      log.push({ op: "fdatasync", path: fds.get(fd)?.path ?? `fd ${fd}`, inline: true });
      nodeIO.fdatasyncSync!(fd);
    },
  };
  return { io, log, mark: (label) => log.push({ op: "mark", path: label }) };
}

/**
 * Were the writes to `path` among `ops` made durable by them: every write either went through
 * O_DSYNC or is followed by an fdatasync/fsync of the same file? False when nothing was written.
 */
export function writesDurable(ops: readonly IoOp[], path: string): boolean {
  let pending = false;
  let wrote = false;
  for (const o of ops) {
    if (o.path !== path) continue;
    if (o.op === "write") {
      wrote = true;
      if (!o.dsync) pending = true;
    } else if (o.op === "fdatasync" || o.op === "fsync") pending = false;
  }
  return wrote && !pending;
}

/** The renames among `ops` whose target directory was not fsynced after them before `until` (an op index). */
export function renamesNotDirSynced(ops: readonly IoOp[], until = ops.length): IoOp[] {
  const out: IoOp[] = [];
  for (let i = 0; i < until; i++) {
    const o = ops[i]!;
    if (o.op !== "rename") continue;
    const dir = dirname(o.to!);
    let synced = false;
    for (let k = i + 1; k < until && !synced; k++) synced = ops[k]!.op === "fsync" && ops[k]!.path === dir;
    if (!synced) out.push(o);
  }
  return out;
}
