/**
 * The e2e workload's clusters: a short interleaved run against a real etcd cluster, and the
 * guarantee that no member process or data directory outlives the bench, even on Ctrl-C.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchError } from "../src/errors.js";
import { startKvCluster } from "../src/e2e/kv-cluster.js";
import { pidAlive } from "../src/e2e/proc.js";
import { e2eFigures } from "../src/e2e/figures.js";
import { runE2e } from "../src/workloads/e2e.js";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Processes whose command line mentions `path` (our members carry their data directory in it). */
function processesUsing(path: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes(path)) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** If a test fails half-way, no process of its own may stay behind. */
function killUsing(path: string): void {
  for (const p of processesUsing(path)) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/**
 * The etcd tests need Debian's etcd-server. Without it they are skipped, saying so (the bench
 * itself installs it with apt-get when asked for --against-etcd; a test run should not).
 * .ci/run installs it, so CI always runs them.
 */
const noEtcd: string | false =
  spawnSync("etcd", ["--version"]).status === 0 ? false : "etcd is not installed (apt-get install etcd-server; .ci/run installs it)";

describe("e2e clusters", () => {
  test("a KV cluster that cannot start is a typed error naming the member and its log; nothing is left", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(os.tmpdir(), "bench-e2e-badstart-"));
    try {
      await assert.rejects(startKvCluster({ dir: join(dir, "kv"), extraArgs: ["--no-such-flag", "1"] }), (err: unknown) => {
        assert.ok(err instanceof BenchError);
        assert.equal(err.code, "TSRAFT_BENCH_CLUSTER_START");
        assert.match(err.message, /KV member \d exited \(2\) before it was ready/);
        assert.match(err.message, /unknown flag --no-such-flag/);
        return true;
      });
      assert.deepEqual(processesUsing(dir), []);
      assert.ok(!existsSync(join(dir, "kv")));
    } finally {
      killUsing(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Ctrl-C (SIGINT) of the bench stops every KV and etcd member and removes their data", { timeout: 90_000, skip: noEtcd }, async () => {
    const dir = mkdtempSync(join(os.tmpdir(), "bench-e2e-sigint-"));
    try {
      const child = spawn(process.execPath, ["--conditions=@tsraft/source", "--import", "tsx", join(here, "fixtures/cluster-then-wait.ts"), dir, "--etcd"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let err = "";
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      const pids = await new Promise<number[]>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (c: Buffer) => {
          out += c.toString();
          const m = /^READY (.*)$/m.exec(out);
          if (m !== null) resolve(JSON.parse(m[1]!) as number[]);
        });
        child.once("exit", (code) => reject(new Error(`fixture exited ${code}: ${err}`)));
      });
      assert.equal(pids.length, 6);
      assert.ok(pids.every(pidAlive));
      assert.equal(processesUsing(dir).length, 6 + 1, "3 KV + 3 etcd members, and the fixture");
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGINT");
      const code = await exited;
      const deadline = Date.now() + 5000;
      while (pids.some(pidAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(pids.filter(pidAlive), [], "no member outlives the bench");
      assert.deepEqual(processesUsing(dir), []);
      assert.ok(!existsSync(join(dir, "tsraft")) && !existsSync(join(dir, "etcd")), "data directories removed");
      assert.equal(code, 130);
    } finally {
      killUsing(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a tiny interleaved run against etcd: both systems, every point, no errors, nothing left", { timeout: 120_000, skip: noEtcd }, async () => {
    const tmpdir = mkdtempSync(join(os.tmpdir(), "bench-e2e-etcd-"));
    try {
      const progress: string[] = [];
      const points = await runE2e(
        { quick: true, runs: 1, tmpdir, progress: (m) => progress.push(m) },
        { clients: [2], seconds: 0.3, warmupSeconds: 0.1, systemWarmupSeconds: 0.2, rounds: 1, againstEtcd: true },
      );
      const impls = [...new Set(points.map((p) => p.impl))];
      assert.deepEqual(impls.sort(), ["etcd-3.4.23", "tsraft"]);
      // One round (etcd's clean stop takes ~9 s, so one is enough here; roundOrder's own test
      // covers the alternation): etcd first in round 1, puts before gets at each client count.
      assert.deepEqual(
        points.map((p) => `${p.round} ${p.op} ${p.impl}`),
        ["0 put etcd-3.4.23", "0 put tsraft", "0 get etcd-3.4.23", "0 get tsraft"],
      );
      for (const p of points) {
        assert.equal(p.errorCount, 0, `${p.impl} ${p.op}: ${JSON.stringify(p.errors)}`);
        assert.ok(p.throughput > 0 && p.p50 > 0 && p.p99 >= p.p50, JSON.stringify(p));
      }
      const figs = e2eFigures(points, { keys: 1000, valueBytes: 256 });
      assert.equal(figs.length, 2 /* impls */ * 2 /* ops */ * 4 /* throughput + 3 latencies */);
      assert.ok(figs.every((f) => f.runs.length === 1));
      assert.deepEqual(processesUsing(tmpdir), []);
      assert.deepEqual(readdirSync(tmpdir), [], "every round's directory is removed");
    } finally {
      killUsing(tmpdir);
      rmSync(tmpdir, { recursive: true, force: true });
    }
  });
});
