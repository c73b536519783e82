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
    const o = parseArgs(["codec-msgapp", "--runs", "3", "--tmpdir", "/x", "--baseline", "b.jsonl", "--out", "o.jsonl"]);
    assert.deepEqual(o, { names: ["codec-msgapp"], quick: false, runs: 3, tmpdir: "/x", baseline: "b.jsonl", out: "o.jsonl" });
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
        ].join("\n"),
      );
      const b = readBaseline(file);
      const enc = compare({ name: "codec-msgapp", params: { entries: 64, op: "encode", payload: 128 }, unit: "MB/s", runs: [3000] }, 3000, b);
      assert.equal(enc.etcd, 2000);
      assert.equal(enc.ratio, 1.5);
      const mem = compare({ name: "memory-entries", params: { N: 1000000, payload: 128 }, unit: "bytes/entry", runs: [434], lowerIsBetter: true }, 434, b);
      assert.equal(mem.ratio, 0.5);
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
  for (const w of workloads) {
    test(w.name, async () => {
      const ctx: BenchContext = { quick: true, runs: 1, tmpdir: os.tmpdir(), progress: () => {} };
      const figs = await w.run(ctx);
      assert.ok(figs.length > 0);
      for (const f of figs) {
        assert.equal(f.runs.length, 1);
        assert.ok(f.runs.every((v) => Number.isFinite(v) && v > 0), `${f.name}: ${f.runs.join(",")}`);
      }
    });
  }
});
