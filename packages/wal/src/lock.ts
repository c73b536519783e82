/**
 * An exclusive lock on a WAL directory, across processes and within one, that follows the
 * directory itself (its device and inode), not the path it was opened by: renaming a running
 * member's directory does not let a second process open it under the new name. This is what
 * etcd gets from `flock` on the segment files, which also follows the files, not their path.
 *
 * Node has no `flock`. On Linux the lock is a listening socket in the abstract namespace named
 * after the directory's device and inode: `bind` fails with EADDRINUSE while another socket
 * (this process or any other in the same network namespace) holds the name, and the kernel
 * releases it when the holder exits or crashes, so a crashed process never blocks a restart and
 * there is no stale file to clean up. After binding, the path is looked up again and must still
 * lead to the locked directory (else it was renamed or replaced in between: the lock is dropped
 * and taken again on what the path leads to now). Inside one process a registry answers first
 * (synchronously). Elsewhere (macOS, Windows) the fallback is a lock file created with `O_EXCL`
 * inside the directory (so it moves with it), holding the PID, taken over when that PID no
 * longer runs. A directory that does not exist yet is locked for its creation by the identity
 * of its parent and its name ({@link lockDirCreation}). See README "Locking" for the limits.
 * @module
 */
import { createHash } from "node:crypto";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { basename, dirname, join } from "node:path";
import { WalLockedError } from "./errors.js";

/** Names of the locks this process holds (the in-process registry). */
const held = new Set<string>();

/** How locks are taken: a socket in Linux's abstract namespace, or a lock file. */
export type LockMethod = "socket" | "file";

const defaultMethod: LockMethod = process.platform === "linux" ? "socket" : "file";

/** A held directory lock; {@link DirLock.release} frees it. */
export interface DirLock {
  /** The path the lock was taken by (the directory may have been renamed since). */
  readonly path: string;
  /** What the lock is named after: `dev:ino` of the directory (`create:` ... for a creation lock). */
  readonly name: string;
  release(): Promise<void>;
}

/** The identity of a directory: its device and inode, as a lock name. */
async function identity(dir: string): Promise<string> {
  const st = await stat(dir, { bigint: true });
  return `${st.dev.toString(16)}:${st.ino.toString(16)}`;
}

/** How many times {@link lockDir} retries when the path is moved to another directory under it. */
const MAX_ATTEMPTS = 3;

/**
 * Test hook: runs between looking the path up and binding the lock's name, so that a test can
 * rename the directory in that window. Undefined in normal operation.
 * @internal
 */
export const lockHooks: { beforeBind: (() => Promise<void>) | undefined } = { beforeBind: undefined };

/**
 * Takes the lock of the existing directory `dir`, or fails at once. The lock follows the
 * directory: it is named after its device and inode, and once taken the path is checked to
 * still lead to that directory.
 * @throws {@link WalLockedError} when another holder has it; the `stat` error if `dir` does not exist.
 */
export async function lockDir(dir: string, method: LockMethod = defaultMethod): Promise<DirLock> {
  for (let attempt = 1; ; attempt++) {
    const name = await identity(dir);
    if (lockHooks.beforeBind !== undefined) await lockHooks.beforeBind();
    const lock = await take(dir, name, method, method === "file" ? join(dir, ".tsraft-wal.lock") : undefined);
    let now: string | undefined;
    try {
      now = await identity(dir);
    } catch (e) {
      await lock.release();
      throw e;
    }
    if (now === name) return lock;
    // The path was renamed or replaced between the lookup and the lock: what we hold is not
    // what `dir` names now. Let go and lock what it leads to, a bounded number of times.
    await lock.release();
    if (attempt >= MAX_ATTEMPTS) throw new WalLockedError(dir);
  }
}

/**
 * Takes the lock that serializes creating the directory `dir` (which need not exist): named
 * after the identity of its parent directory and its base name, so that two creators of the
 * same directory exclude each other however they spell its path.
 * @throws {@link WalLockedError} when another creator has it.
 */
export async function lockDirCreation(dir: string, method: LockMethod = defaultMethod): Promise<DirLock> {
  const parent = dirname(dir);
  const base = basename(dir);
  const name = `create:${await identity(parent)}:${createHash("sha256").update(base).digest("hex").slice(0, 32)}`;
  return take(dir, name, method, method === "file" ? join(parent, `.${base}.tsraft-wal-create.lock`) : undefined);
}

/** True if this process holds a lock named `name` (see {@link DirLock.name}). */
export function isLockedHere(name: string): boolean {
  return held.has(name);
}

async function take(dir: string, name: string, method: LockMethod, lockFile: string | undefined): Promise<DirLock> {
  if (held.has(name)) throw new WalLockedError(dir, process.pid);
  held.add(name);
  try {
    const release = method === "socket" ? await socketLock(dir, name) : await fileLock(dir, lockFile!);
    let released = false;
    return {
      path: dir,
      name,
      async release() {
        if (released) return;
        released = true;
        held.delete(name);
        await release();
      },
    };
  } catch (e) {
    held.delete(name);
    throw e;
  }
}

async function socketLock(dir: string, name: string): Promise<() => Promise<void>> {
  // At most 107 bytes: "\0tsraft-wal:" and a 48-digit hash of the name.
  const address = "\0tsraft-wal:" + createHash("sha256").update(name).digest("hex").slice(0, 48);
  const server: Server = createServer((sock) => sock.end(`${process.pid}\n`));
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      reject(e.code === "EADDRINUSE" ? new WalLockedError(dir) : e);
    });
    server.listen(address, () => resolve());
  });
  server.unref();
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
}

async function fileLock(dir: string, file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const h = await open(file, "wx");
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      // Unlinked through the path it was created by: if the directory was renamed meanwhile,
      // the file moved with it and stays behind, to be taken over as stale (its PID is gone).
      return () => unlink(file).catch(() => undefined);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
      // Our own PID is stale too: the registry answered first, so no lock of ours has this name
      // (a lock released after its directory moved could not unlink its file).
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new WalLockedError(dir, pid);
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
