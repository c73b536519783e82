/** The bench command line, the baseline join, and a --quick smoke run of every workload. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { compare, parseArgs, readBaseline, UsageError } from "../src/cli.js";
import { median, type BenchContext } from "../src/harness.js";
import { workloads } from "../src/workloads/index.js";

describe("parseArgs", () => {
  test("defaults, flags and names", () => {
    const o = parseArgs(["codec-msgapp", "--runs", "3", "--tmpdir", "/x", "--baseline", "b.jsonl", "--out", "o.jsonl", "--report", "rep"]);
    assert.deepEqual(o, { names: ["codec-msgapp"], quick: false, runs: 3, tmpdir: "/x", baseline: "b.jsonl", out: "o.jsonl", report: "rep" });
    assert.equal(parseArgs([]).runs, 5);
    assert.equal(parseArgs(["--quick"]).runs, 1);
    assert.equal(parseArgs(["--quick", "--runs", "2"]).runs, 2);
  });

  test("an unknown workload is an error listing the known ones", () => {
    assert.throws(() => parseArgs(["nope"]), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /unknown workload nope; known: .*codec-msgapp/);
      return true;
    });
  });

  test("bad flags", () => {
    assert.throws(() => parseArgs(["--runs", "0"]), UsageError);
    assert.throws(() => parseArgs(["--runs"]), UsageError);
    assert.throws(() => parseArgs(["--frobnicate"]), UsageError);
    assert.throws(() => parseArgs(["--report"]), UsageError);
  });
});

describe("baseline join", () => {
  test("joins on (name, params in any key order, unit); ratio > 1 means tsraft ahead", () => {
    const dir = mkdtempSync(join(os.tmpdir(), "bench-test-"));
    try {
      const file = join(dir, "b.jsonl");
      writeFileSync(
        file,
        [
          "run.sh: a log line that is not JSON",
          JSON.stringify({ name: "codec-msgapp", params: { op: "encode", payload: 128, entries: 64 }, value: 2000, unit: "MB/s" }),
          JSON.stringify({ name: "memory-entries", params: { N: 1000000, payload: 128 }, value: 217, unit: "bytes/entry" }),
          JSON.stringify({ name: "rawnode-1node", params: { B: 1, N: 500000, payload: 128 }, value: 300, unit: "entries/s" }),
          JSON.stringify({ name: "rawnode-1node", params: { B: 1, N: 500000, payload: 128 }, value: 500, unit: "entries/s" }),
          JSON.stringify({ name: "rawnode-1node", params: { B: 1, N: 500000, payload: 128 }, value: 900, unit: "entries/s" }),
        ].join("\n"),
      );
      const b = readBaseline(file);
      const joined = compare({ name: "rawnode-1node", params: { payload: 128, N: 500000, B: 1 }, unit: "entries/s", runs: [1000] }, 1000, b);
      assert.equal(joined.etcd, 500, "several sessions of one line: the median of their values");
      assert.equal(joined.ratio, 2);
      const enc = compare({ name: "codec-msgapp", params: { entries: 64, op: "encode", payload: 128 }, unit: "MB/s", runs: [3000] }, 3000, b);
      assert.equal(enc.etcd, 2000);
      assert.equal(enc.ratio, 1.5);
      const mem = compare({ name: "memory-entries", params: { N: 1000000, payload: 128 }, unit: "bytes/entry", runs: [434], lowerIsBetter: true }, 434, b);
      assert.equal(mem.ratio, 0.5);
      const copy = compare(
        { name: "codec-msgapp-copy", params: { entries: 64, op: "encode", payload: 128 }, unit: "MB/s", runs: [1000], baselineName: "codec-msgapp" },
        1000,
        b,
      );
      assert.equal(copy.etcd, 2000);
      assert.equal(copy.etcdName, "codec-msgapp");
      assert.equal(copy.ratio, 0.5);
      const none = compare({ name: "codec-msgapp", params: { entries: 64, op: "decode", payload: 128 }, unit: "MB/s", runs: [1] }, 1, b);
      assert.equal(none.etcd, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("median", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
  });
});

describe("--quick smoke run", () => {
  test("the six workloads of the benchmark spec come first, then the scaling and memory ones", () => {
    assert.deepEqual(
      workloads.slice(0, 6).map((w) => w.name),
      ["rawnode-1node", "cluster-3node", "codec-msgapp", "wal-write", "wal-replay", "memory-entries"],
    );
    assert.equal(new Set(workloads.map((w) => w.name)).size, workloads.length);
  });
  for (const w of workloads) {
    test(w.name, async () => {
      const ctx: BenchContext = { quick: true, runs: 1, tmpdir: os.tmpdir(), progress: () => {} };
      const figs = await w.run(ctx);
      assert.ok(figs.length > 0);
      for (const f of figs) {
        assert.equal(f.runs.length, 1);
        assert.ok(f.runs.every((v) => Number.isFinite(v) && v > 0), `${f.name}: ${f.runs.join(",")}`);
        if (f.unit === "cost ratio") assert.match(f.verdict ?? "", /^(falling|flat|sublinear|linear|worse than linear): /);
        if (f.curve !== undefined) assert.ok(f.curve.x in f.params, `${f.name}: curve x ${f.curve.x}`);
      }
    });
  }
});
