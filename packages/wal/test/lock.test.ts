/**
 * Locking: a second opener fails at once, in this process or another; a crashed holder never
 * blocks; the lock follows the directory, not its path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, rename } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WAL, WalLockedError } from "@tsraft/wal";
import { isLockedHere, lockDir, lockDirCreation, lockHooks } from "../src/lock.js";
import { removeTemp, tempDir } from "./helpers/vectors.js";

const child = join(dirname(fileURLToPath(import.meta.url)), "helpers/lock-child.ts");
const nodeArgs = ["--conditions=@tsraft/source", "--import", "tsx", child];

function runChild(cmd: string, dir: string): string {
  return execFileSync(process.execPath, [...nodeArgs, cmd, dir], { encoding: "utf8" }).trim();
}

test("a second open in the same process fails with WalLockedError naming the path", async () => {
  const dir = join(await tempDir(), "wal");
  try {
    const w = await WAL.create(dir, undefined);
    const err = await WAL.open(dir, { index: 0, term: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof WalLockedError);
    assert.equal(
      err.message,
      `wal: ${dir} is locked by another WAL (pid ${process.pid}): this process: a WAL or DiskStorage of this directory is still open (by this path, by another, or through a deleted directory whose inode this one got)`,
    );
    await assert.rejects(WAL.repair(dir), WalLockedError);
    await w.close();
    const w2 = await WAL.open(dir, { index: 0, term: 0 });
    await w2.readAll();
    await w2.close();
  } finally {
    await removeTemp(dir);
  }
});

test("another process cannot open a locked WAL, and a killed holder does not block a restart", async () => {
  const dir = join(await tempDir(), "wal");
  try {
    const w = await WAL.create(dir, undefined);
    assert.match(runChild("open", dir), /^TSRAFT_WAL_LOCKED /);
    await w.close();
    assert.equal(runChild("open", dir), "opened");

    const holder = spawn(process.execPath, [...nodeArgs, "hold", dir], { stdio: ["ignore", "pipe", "inherit"] });
    const [chunk] = (await once(holder.stdout, "data")) as [Buffer];
    assert.equal(chunk.toString().trim(), "held");
    await assert.rejects(WAL.open(dir, { index: 0, term: 0 }), WalLockedError);
    holder.kill("SIGKILL");
    await once(holder, "exit");
    const w2 = await WAL.open(dir, { index: 0, term: 0 });
    await w2.readAll();
    await w2.close();
  } finally {
    await removeTemp(dir);
  }
});

test("renaming a locked WAL directory keeps it locked: another process opening the new path is refused", async () => {
  const dir = join(await tempDir(), "wal");
  const moved = join(dirname(dir), "wal-renamed");
  try {
    const w = await WAL.create(dir, undefined);
    await rename(dir, moved);
    assert.match(runChild("open", moved), /^TSRAFT_WAL_LOCKED /);
    await assert.rejects(WAL.open(moved, { index: 0, term: 0 }), WalLockedError);
    await w.close();
    assert.equal(runChild("open", moved), "opened");
  } finally {
    await removeTemp(dir);
  }
});

test("the lock-file fallback follows the directory too, and a lock file left behind by this process is taken over", async () => {
  const dir = join(await tempDir(), "wal");
  const moved = join(dirname(dir), "wal-renamed");
  try {
    await mkdir(dir);
    const lock = await lockDir(dir, "file");
    await rename(dir, moved);
    assert.match(runChild("lockfile", moved), /^TSRAFT_WAL_LOCKED /);
    // Released after the move: the file (in the moved directory) could not be unlinked by its
    // old path; it names this process, which no longer holds the lock.
    await lock.release();
    const again = await lockDir(moved, "file");
    await again.release();
    assert.equal(runChild("lockfile", moved), "locked");
  } finally {
    await removeTemp(dir);
  }
});

test("a directory moved while it is being locked: the lock ends on the directory the path leads to", async () => {
  const dir = join(await tempDir(), "wal");
  const away = join(dirname(dir), "wal-away");
  try {
    await mkdir(dir);
    let moves = 0;
    lockHooks.beforeBind = async () => {
      if (moves++ > 0) return;
      await rename(dir, away); // the directory looked up is moved away...
      await mkdir(dir); // ...and another one takes its path
    };
    const lock = await lockDir(dir);
    lockHooks.beforeBind = undefined;
    assert.equal(moves, 2, "the lock was taken a second time, on the new directory");
    await assert.rejects(lockDir(dir), WalLockedError);
    const other = await lockDir(away); // the directory moved away is not locked
    await other.release();
    await lock.release();
  } finally {
    lockHooks.beforeBind = undefined;
    await removeTemp(dir);
  }
});

test("creators of one directory exclude each other however its path is spelled; the lock is gone after create", async () => {
  const dir = join(await tempDir(), "wal");
  try {
    const creating = await lockDirCreation(dir);
    assert.ok(isLockedHere(creating.name));
    await assert.rejects(lockDirCreation(join(dirname(dir), ".", "wal")), WalLockedError);
    await assert.rejects(WAL.create(dir, undefined), WalLockedError);
    await creating.release();
    const w = await WAL.create(dir, undefined);
    assert.ok(!isLockedHere(creating.name), "create releases its creation lock");
    await assert.rejects(lockDir(dir), WalLockedError);
    await w.close();
  } finally {
    await removeTemp(dir);
  }
});
