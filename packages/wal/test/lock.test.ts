/** Locking: a second opener fails at once, in this process or another; a crashed holder never blocks. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WAL, WalLockedError } from "@tsraft/wal";
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
    assert.ok(err.message.includes(dir), err.message);
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
