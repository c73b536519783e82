/**
 * `pnpm soak:stack` on a failure: with a planted bug (RaftNode's `sendVotesBeforePersist`) the
 * soak stops at the first failing seed, prints the shrunk schedule's replay command and writes
 * the HTML timelines of the failing and the shrunk run; that command, run as printed, fails the
 * same check with the same trace hash.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const kvDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Runs `pnpm soak:stack ARGS` (its script, through tsx): exit code and standard output. */
function soak(args: readonly string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--conditions=@tsraft/source", "--import", "tsx", join(kvDir, "scripts/soak-stack.ts"), ...args], {
      cwd: kvDir,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout!.on("data", (c: Buffer) => (out += c.toString("utf8")));
    const t = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

test("a failing soak prints a shrunk replay command that reproduces the failure, and writes both timelines", { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsraft-soak-stack-"));
  try {
    // The soak stops at the first failing seed; --count is the budget (the seed that first fails
    // moves when the code under test changes the schedules: 1 on h-stack, 6 on the merged main).
    const a = await soak(["--seed", "1", "--count", "40", "--node-knob", "sendVotesBeforePersist", "--shrink-runs", "25", "--out", dir]);
    assert.equal(a.code, 1, a.out);
    const failed = /FAILED seed (\d+): ([\w-]+): .*hash (\w+)\)/.exec(a.out);
    const shrunk = /shrunk in \d+ runs: ([\w-]+): .*hash (\w+);.*\nreplay \(shrunk\): pnpm soak:stack (.*)/.exec(a.out);
    assert.ok(failed !== null && shrunk !== null, a.out);
    const [, seed, invariant] = failed;
    const [, shrunkInvariant, shrunkHash, replay] = shrunk;
    assert.equal(shrunkInvariant, invariant);
    assert.match(replay!, /--node-knob sendVotesBeforePersist/);
    assert.match(replay!, /--max-faults \d+|--duration \d+/, "the shrunk schedule has lower budgets");
    for (const f of [`stack-seed-${seed}.html`, `stack-seed-${seed}-shrunk.html`]) {
      assert.ok(existsSync(join(dir, f)), f);
      assert.match(readFileSync(join(dir, f), "utf8"), new RegExp(invariant!));
    }
    console.log(`# seed ${seed}: ${invariant}; shrunk replay: pnpm soak:stack ${replay}`);
    // The printed command, as printed (but for where the timeline goes, and no second shrink).
    const b = await soak([...replay!.split(" "), "--no-shrink", "--out", dir]);
    assert.equal(b.code, 1, b.out);
    assert.match(b.out, new RegExp(`FAILED seed ${seed}: ${invariant}: .*hash ${shrunkHash}\\)`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
