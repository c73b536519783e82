/**
 * An exclusive lock on a WAL directory, across processes and within one.
 *
 * Node has no `flock`. On Linux the lock is a listening socket in the abstract namespace whose
 * name is derived from the directory's real path: `bind` fails with EADDRINUSE while another
 * socket (this process or any other in the same network namespace) holds the name, and the
 * kernel releases it when the holder exits or crashes, so a crashed process never blocks a
 * restart and there is no stale file to clean up. Inside one process a registry answers first
 * (synchronously). Elsewhere (macOS, Windows) the fallback is a lock file created with `O_EXCL`
 * holding the PID, taken over when that PID no longer runs. See README "Locking" for the limits.
 * @module
 */
import { createHash } from "node:crypto";
import { open, readFile, realpath, unlink } from "node:fs/promises";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { basename, dirname, join } from "node:path";
import { WalLockedError } from "./errors.js";

const held = new Set<string>();

/** A held directory lock; {@link DirLock.release} frees it. */
export interface DirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** The canonical path a lock is keyed on: the real path of the parent plus the base name. */
export async function lockKey(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch {
    return join(await realpath(dirname(dir)), basename(dir));
  }
}

/**
 * Takes the lock of `dir`, or fails at once.
 * @throws {@link WalLockedError} when another holder has it.
 */
export async function lockDir(dir: string): Promise<DirLock> {
  const key = await lockKey(dir);
  if (held.has(key)) throw new WalLockedError(dir, process.pid);
  held.add(key);
  try {
    const release = process.platform === "linux" ? await socketLock(dir, key) : await fileLock(dir, key);
    let released = false;
    return {
      path: key,
      async release() {
        if (released) return;
        released = true;
        held.delete(key);
        await release();
      },
    };
  } catch (e) {
    held.delete(key);
    throw e;
  }
}

/** True if this process holds the lock of the directory `key` (see {@link lockKey}). */
export function isLockedHere(key: string): boolean {
  return held.has(key);
}

async function socketLock(dir: string, key: string): Promise<() => Promise<void>> {
  const name = "\0tsraft-wal-lock:" + createHash("sha256").update(key).digest("hex").slice(0, 48);
  const server: Server = createServer((sock) => sock.end(`${process.pid}\n`));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(e.code === "EADDRINUSE" ? new WalLockedError(dir) : e);
    });
    server.listen(name, () => resolve());
  });
  server.unref();
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

async function fileLock(dir: string, key: string): Promise<() => Promise<void>> {
  const file = join(key, ".tsraft-wal.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(file, "wx");
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      return () => unlink(file).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) throw new WalLockedError(dir, pid);
      await unlink(file).catch(() => undefined); // stale: its process is gone
    }
  }
  throw new WalLockedError(dir);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
