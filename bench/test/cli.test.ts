/** The bench command line, the baseline join, and a --quick smoke run of every workload. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { compare, parseArgs, peerBaseline, readBaseline, selectWorkloads, table, UsageError } from "../src/cli.js";
import { e2eFigures, errorNote, type PointResult } from "../src/e2e/figures.js";
import { median, type BenchContext, type Figure } from "../src/harness.js";
import { DEFAULT_CLIENTS, e2ePlan, roundOrder } from "../src/workloads/e2e.js";
import { workloads } from "../src/workloads/index.js";

describe("parseArgs", () => {
  test("defaults, flags and names", () => {
    const o = parseArgs(["codec-msgapp", "--runs", "3", "--tmpdir", "/x", "--baseline", "b.jsonl", "--out", "o.jsonl", "--report", "rep"]);
    assert.deepEqual(o, {
      names: ["codec-msgapp"],
      quick: false,
      runs: 3,
      runsGiven: true,
      againstEtcd: false,
      tmpdir: "/x",
      baseline: "b.jsonl",
      out: "o.jsonl",
      report: "rep",
    });
    assert.equal(parseArgs([]).runs, 5);
    assert.equal(parseArgs(["--quick"]).runs, 1);
    assert.equal(parseArgs(["--quick", "--runs", "2"]).runs, 2);
  });

  test("an unknown workload is an error listing the known ones", () => {
    assert.throws(
      () => parseArgs(["nope"]),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, /unknown workload nope; known: .*codec-msgapp/);
        return true;
      },
    );
  });

  test("bad flags", () => {
    assert.throws(() => parseArgs(["--runs", "0"]), UsageError);
    assert.throws(() => parseArgs(["--runs"]), UsageError);
    assert.throws(() => parseArgs(["--frobnicate"]), UsageError);
    assert.throws(() => parseArgs(["--report"]), UsageError);
  });

  test("e2e flags", () => {
    const o = parseArgs(["e2e", "--against-etcd", "--seconds", "2.5", "--clients", "1,16,256", "--warmup-seconds", "0"]);
    assert.equal(o.againstEtcd, true);
    assert.equal(o.seconds, 2.5);
    assert.equal(o.warmupSeconds, 0);
    assert.deepEqual(o.clients, [1, 16, 256]);
    assert.equal(o.runsGiven, false);
    for (const bad of [
      ["e2e", "--seconds", "0"],
      ["e2e", "--seconds", "x"],
      ["e2e", "--clients", "1,,2"],
      ["e2e", "--clients", "0"],
      ["e2e", "--clients", "1.5"],
      ["e2e", "--warmup-seconds", "-1"],
      ["e2e", "--warmup-seconds", "x"],
    ]) {
      assert.throws(() => parseArgs(bad), UsageError, bad.join(" "));
    }
  });

  test("e2e flags without the e2e workload are an error, not silently ignored", () => {
    for (const argv of [
      ["codec-msgapp", "--seconds", "2"],
      ["--clients", "4"],
      ["--against-etcd", "--seconds", "2"],
      ["codec-msgapp", "--warmup-seconds", "5"],
    ]) {
      assert.throws(
        () => parseArgs(argv),
        (err: unknown) => err instanceof UsageError && /only for the e2e workload/.test(err.message),
        argv.join(" "),
      );
    }
  });

  test("a plain run leaves e2e out; --quick and naming it bring it in", () => {
    const names = (ws: { name: string }[]) => ws.map((w) => w.name);
    assert.ok(!names(selectWorkloads({ names: [], quick: false })).includes("e2e"));
    assert.ok(names(selectWorkloads({ names: [], quick: false })).includes("codec-msgapp"));
    assert.deepEqual(names(selectWorkloads({ names: [], quick: true })), names(workloads));
    assert.deepEqual(names(selectWorkloads({ names: ["e2e"], quick: false })), ["e2e"]);
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

  test("a file's tsraft lines are not a baseline, and its runs are not paired with ours", () => {
    const dir = mkdtempSync(join(os.tmpdir(), "bench-test-"));
    try {
      const file = join(dir, "mixed.jsonl");
      const params = { clients: 16, keys: 1000, valueBytes: 256 };
      writeFileSync(
        file,
        [
          JSON.stringify({ name: "e2e-put", params, value: 700, unit: "ops/s", runs: [600, 700, 800], impl: "tsraft" }),
          JSON.stringify({ name: "e2e-put", params, value: 1000, unit: "ops/s", runs: [900, 1000, 1100], impl: "etcd-3.4.23" }),
        ].join("\n"),
      );
      const row = compare({ name: "e2e-put", params, unit: "ops/s", runs: [500, 500, 500] }, 500, readBaseline(file));
      assert.equal(row.etcd, 1000, "the tsraft line is skipped, not joined into the median");
      assert.equal(row.ratio, 0.5);
      assert.equal(row.ratioMin, undefined, "a file's runs come from another session: no per-round ratios");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("figures of another system measured in the same run: paired per round, notes carried", () => {
    const params = { clients: 4, keys: 1000, valueBytes: 256 };
    const etcd: Figure[] = [
      { name: "e2e-put", params, unit: "ops/s", runs: [100, 200, 400], impl: "etcd-3.4.23", note: "FLAGGED: 3 errors" },
      { name: "e2e-put-latency", params: { ...params, q: "p99" }, unit: "ms", runs: [10, 20, 40], lowerIsBetter: true, impl: "etcd-3.4.23" },
      { name: "e2e-put", params: { ...params, clients: 1 }, unit: "ops/s", runs: [1], impl: "tsraft" },
    ];
    const peers = peerBaseline(etcd);
    assert.equal(peers.size, 2, "tsraft's own figures are not peers");
    const put = compare({ name: "e2e-put", params, unit: "ops/s", runs: [100, 300, 200] }, 200, peers);
    assert.equal(put.etcd, 200);
    assert.equal(put.ratio, 1);
    assert.equal(put.etcdMin, 100);
    assert.equal(put.etcdMax, 400);
    assert.equal(put.ratioMin, 0.5); // round 3: 200 / 400
    assert.equal(put.ratioMax, 1.5); // round 2: 300 / 200
    assert.equal(put.note, "etcd-3.4.23: FLAGGED: 3 errors");
    const p99 = compare({ name: "e2e-put-latency", params: { ...params, q: "p99" }, unit: "ms", runs: [5, 10, 80], lowerIsBetter: true }, 10, peers);
    assert.equal(p99.ratio, 2, "latency: etcd / tsraft, so above 1 means tsraft ahead");
    assert.equal(p99.ratioMin, 0.5);
    assert.equal(p99.ratioMax, 2);
    const t = table([put, p99], true);
    assert.match(
      t,
      /e2e-put\s+clients=4 keys=1000 valueBytes=256\s+200\s+ops\/s\s+100\.\.300\s+3\s+200 \(100\.\.400\)\s+1\.00 \(0\.50\.\.1\.50\)\s+etcd-3\.4\.23: FLAGGED/,
    );
  });

  test("median", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
  });
});

describe("e2e plan and figures", () => {
  const ctx = (extra: Partial<BenchContext>): BenchContext => ({ quick: false, runs: 5, tmpdir: "/t", progress: () => {}, ...extra });

  test("plans: a full run, --runs, --quick", () => {
    assert.deepEqual(e2ePlan(ctx({})), {
      clients: DEFAULT_CLIENTS,
      seconds: 8,
      warmupSeconds: 2,
      systemWarmupSeconds: 10,
      rounds: 3,
      againstEtcd: false,
    });
    assert.equal(e2ePlan(ctx({ systemWarmupSeconds: 0 })).systemWarmupSeconds, 0);
    assert.deepEqual(DEFAULT_CLIENTS, [1, 4, 16, 64, 256, 1024]);
    assert.equal(e2ePlan(ctx({ runsGiven: true, runs: 5 })).rounds, 5);
    assert.equal(e2ePlan(ctx({ runsGiven: true, runs: 5, rounds: 4 })).rounds, 4, "--rounds before --runs");
    assert.deepEqual(e2ePlan(ctx({ againstEtcd: true, pointSeconds: 3, clients: [2] })), {
      clients: [2],
      seconds: 3,
      warmupSeconds: 2,
      systemWarmupSeconds: 10,
      rounds: 3,
      againstEtcd: true,
    });
    const q = e2ePlan(ctx({ quick: true, runs: 1 }));
    assert.deepEqual(q, { clients: [1, 4], seconds: 1, warmupSeconds: 0.25, systemWarmupSeconds: 0.5, rounds: 1, againstEtcd: false });
  });

  test("rounds alternate which system goes first", () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((r) => roundOrder(["etcd", "tsraft"], r).join(",")),
      ["etcd,tsraft", "tsraft,etcd", "etcd,tsraft", "tsraft,etcd"],
    );
  });

  const point = (impl: string, round: number, extra: Partial<PointResult> = {}): PointResult => ({
    impl,
    op: "put",
    clients: 16,
    round,
    throughput: 1000 + round,
    p50: 2,
    p90: 3,
    p99: 4 + round,
    errors: {},
    errorCount: 0,
    warmupErrors: 0,
    clientCores: 0.1,
    clientUsPerRequest: 20,
    serverCores: 1,
    serverUsPerRequest: 900,
    leaderChanged: false,
    ...extra,
  });

  test("figures: one run per round, median over rounds, etcd's with their impl, curves on throughput and p99", () => {
    const figs = e2eFigures([point("tsraft", 1), point("tsraft", 0), point("tsraft", 2), point("etcd-3.4.23", 0)], { keys: 1000, valueBytes: 256 });
    assert.deepEqual(
      figs.map((f) => `${f.impl ?? "tsraft"} ${f.name} ${String(f.params.q ?? "")}`.trim()),
      [
        "tsraft e2e-put",
        "tsraft e2e-put-latency p50",
        "tsraft e2e-put-latency p90",
        "tsraft e2e-put-latency p99",
        "etcd-3.4.23 e2e-put",
        "etcd-3.4.23 e2e-put-latency p50",
        "etcd-3.4.23 e2e-put-latency p90",
        "etcd-3.4.23 e2e-put-latency p99",
      ],
    );
    assert.deepEqual(figs[0]!.runs, [1000, 1001, 1002], "in round order");
    assert.deepEqual(figs[3]!.runs, [4, 5, 6]);
    assert.equal(figs[0]!.impl, undefined);
    assert.equal(figs[1]!.lowerIsBetter, true);
    assert.deepEqual(
      figs.filter((f) => f.curve !== undefined).map((f) => `${f.curve!.series}: ${f.curve!.chart}`),
      [
        "tsraft: e2e-put: throughput by concurrent clients",
        "tsraft: e2e-put: p99 latency by concurrent clients",
        "etcd-3.4.23: e2e-put: throughput by concurrent clients",
        "etcd-3.4.23: e2e-put: p99 latency by concurrent clients",
      ],
    );
    assert.ok(figs.every((f) => f.note === undefined));
  });

  test("a point with errors or a leader change is FLAGGED on every figure of its group", () => {
    const bad = [
      point("tsraft", 0),
      point("tsraft", 1, { errors: { "status 504": 2, timeout: 1 }, errorCount: 3 }),
      point("tsraft", 2, { leaderChanged: true }),
    ];
    assert.equal(errorNote(bad), "FLAGGED: 3 errors (status 504 x2, timeout x1) in rounds 2; leader changed in 1 round(s)");
    assert.equal(errorNote([point("tsraft", 0)]), undefined);
    const figs = e2eFigures(bad, { keys: 1000, valueBytes: 256 });
    assert.ok(figs.every((f) => f.note?.startsWith("FLAGGED") === true));
    assert.deepEqual(figs[0]!.info!.errorsPerRound, [0, 3, 0]);
    assert.equal(figs[0]!.info!.flagged, true);
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
        assert.ok(
          f.runs.every((v) => Number.isFinite(v) && v > 0),
          `${f.name}: ${f.runs.join(",")}`,
        );
        if (f.unit === "cost ratio") assert.match(f.verdict ?? "", /^(falling|flat|sublinear|linear|worse than linear): /);
        if (f.curve !== undefined) assert.ok(f.curve.x in f.params, `${f.name}: curve x ${f.curve.x}`);
      }
    });
  }
});
