/** `pnpm bench --against-etcd [workloads]`: alternating rounds with etcd's Go side, per-round ratios. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import { alternatingRounds, goFigures, parseGoLines, roundsRow, runShRunner, type GoRunner } from "../src/against-etcd.js";
import { parseArgs, selectWorkloads, table, UsageError, type BaselineLine } from "../src/cli.js";
import type { BenchContext, Workload } from "../src/harness.js";

const ctx: BenchContext = { quick: true, runs: 1, tmpdir: "/t", progress: () => {} };

describe("--against-etcd rounds", () => {
  test("rounds alternate which side goes first; each side's value per round is that session's median", async () => {
    const log: string[] = [];
    let round = 0; // Go sessions so far
    let tsCalls = 0; // our sessions so far
    const ours: Workload = {
      name: "rawnode-1node",
      describe: "fake",
      run: async () => {
        log.push("tsraft");
        const r = tsCalls++;
        return [
          { name: "rawnode-1node", params: { B: 1 }, unit: "entries/s", runs: [100 * (r + 1), 90 * (r + 1), 110 * (r + 1)] },
          { name: "memory-entries", params: { N: 1 }, unit: "bytes/entry", runs: [400], lowerIsBetter: true },
          { name: "codec-msgapp-into", params: { op: "encode" }, unit: "MB/s", runs: [5] },
        ];
      },
    };
    const etcdValues = [200, 100, 400];
    const runGo: GoRunner = async (names) => {
      log.push(`go ${names.join(",")}`);
      const v = etcdValues[round]!;
      round++;
      const line = (name: string, params: Record<string, unknown>, unit: string, value: number): BaselineLine => ({
        name,
        params,
        unit,
        value,
        values: [value],
        impl: "etcd-go-3.4.23",
      });
      return [line("rawnode-1node", { B: 1 }, "entries/s", v), line("memory-entries", { N: 1 }, "bytes/entry", 200)];
    };
    const res = await alternatingRounds({ rounds: 3, workloads: [ours], ctx, runGo });
    assert.deepEqual(res.order, ["go", "tsraft", "go"]);
    assert.deepEqual(log, ["go rawnode-1node", "tsraft", "tsraft", "go rawnode-1node", "go rawnode-1node", "tsraft"]);
    const raw = res.lines.find((l) => l.fig.name === "rawnode-1node")!;
    assert.deepEqual(raw.fig.runs, [100, 200, 300], "each round: the median of its runs");
    assert.deepEqual(raw.etcd, [200, 100, 400]);
    const row = roundsRow(raw);
    assert.equal(row.value, 200);
    assert.equal(row.etcd, 200);
    assert.equal(row.ratio, 0.75, "the median of the per-round ratios 0.5, 2, 0.75 (not 200/200)");
    assert.equal(row.ratioMin, 0.5);
    assert.equal(row.ratioMax, 2);
    const mem = roundsRow(res.lines.find((l) => l.fig.name === "memory-entries")!);
    assert.equal(mem.ratio, 0.5, "lower is better: etcd / tsraft");
    const into = roundsRow(res.lines.find((l) => l.fig.name === "codec-msgapp-into")!);
    assert.equal(into.ratio, undefined, "no etcd counterpart: no ratio");
    assert.match(table([row, mem, into], true), /rawnode-1node\s+B=1\s+200\s+entries\/s\s+100\.\.300\s+3\s+200 \(100\.\.400\)\s+0\.75 \(0\.50\.\.2\.00\)/);
    const go = goFigures(res.lines);
    assert.deepEqual(
      go.map((f) => `${f.impl} ${f.name} ${f.runs.join(",")}`),
      ["etcd-go-3.4.23 rawnode-1node 200,100,400", "etcd-go-3.4.23 memory-entries 200,200,200"],
    );
  });

  test("a round whose Go session lacks a line is left out of the ratio, and said so", () => {
    const row = roundsRow({ fig: { name: "x", params: {}, unit: "MB/s", runs: [10, 20, 30] }, etcd: [10, undefined, 10], etcdImpl: "etcd-go" });
    assert.equal(row.ratio, 2);
    assert.equal(row.note, "etcd had this line in 2 of 3 rounds");
  });

  test("the etcd-pattern line is compared with etcd's cluster-3node, and run.sh is asked for it once", async () => {
    const asked: string[][] = [];
    const mk = (name: string, baselineName?: string): Workload => ({
      name,
      describe: "",
      run: async () => [{ name, params: { B: 64 }, unit: "entries/s", runs: [50], ...(baselineName !== undefined ? { baselineName } : {}) }],
    });
    const res = await alternatingRounds({
      rounds: 1,
      workloads: [mk("cluster-3node"), mk("cluster-3node-etcd-pattern", "cluster-3node")],
      ctx,
      runGo: async (names) => {
        asked.push([...names]);
        return [{ name: "cluster-3node", params: { B: 64 }, unit: "entries/s", value: 100, values: [100] }];
      },
    });
    assert.deepEqual(asked, [["cluster-3node"]]);
    assert.deepEqual(
      res.lines.map((l) => roundsRow(l).ratio),
      [0.5, 0.5],
    );
    assert.equal(roundsRow(res.lines[1]!).etcdName, "cluster-3node");
  });

  test("parseGoLines reads run.sh's JSON lines and skips the rest", () => {
    const lines = parseGoLines(
      'run.sh: go version\n{"name":"codec-msgapp","params":{"op":"encode"},"value":2000,"unit":"MB/s","runs":[1,2],"impl":"etcd-go-3.4.23"}\n\n',
    );
    assert.deepEqual(lines, [{ name: "codec-msgapp", params: { op: "encode" }, unit: "MB/s", value: 2000, values: [2000], impl: "etcd-go-3.4.23" }]);
  });

  test("command line: workloads without a Go counterpart are refused; by default, those with one", () => {
    assert.throws(
      () => parseArgs(["--against-etcd", "log-growth"]),
      (e: unknown) => e instanceof UsageError && /no etcd counterpart for log-growth/.test(e.message),
    );
    assert.doesNotThrow(() => parseArgs(["--against-etcd", "e2e", "wal-write", "cluster-3node-etcd-pattern"]));
    assert.equal(parseArgs(["--against-etcd", "--rounds", "4"]).rounds, 4);
    assert.throws(() => parseArgs(["--rounds", "4"]), UsageError, "--rounds alone");
    assert.throws(() => parseArgs(["--against-etcd", "--rounds", "0"]), UsageError);
    assert.deepEqual(
      selectWorkloads({ names: [], quick: false, againstEtcd: true }).map((w) => w.name),
      [
        "rawnode-1node",
        "cluster-3node",
        "codec-msgapp",
        "wal-write",
        "wal-replay",
        "memory-entries",
        "cluster-3node-etcd-pattern",
        "rawnode-1node-one-cycle",
        "wal-write-inline",
      ],
    );
  });

  test("the real run.sh (-quick): etcd's Go side answers with lines that join ours", { timeout: 300_000 }, async () => {
    const lines = await runShRunner({ ...ctx, tmpdir: os.tmpdir() })(["codec-msgapp"]);
    const ops = lines
      .filter((l) => l.name === "codec-msgapp")
      .map((l) => `${String(l.params.op)} ${l.unit}`)
      .sort();
    assert.deepEqual(ops, ["decode MB/s", "encode MB/s"]);
    assert.ok(
      lines.every((l) => l.value > 0 && /^etcd-go-/.test(l.impl ?? "")),
      JSON.stringify(lines),
    );
  });
});
