/** Growth fits, trend figures, the table's note column, and the HTML report. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { compare, key, peerBaseline, table, type BaselineLine, type Row } from "../src/cli.js";
import { growthClass, growthExponent, type Figure } from "../src/harness.js";
import { curveCharts, labelWidth, lineChartSvg, ratioChartSvg, ratioRows, reportHtml, writeReport, type ReportInput } from "../src/report.js";
import { trendFigure } from "../src/workloads/trend.js";

describe("growth", () => {
  test("growthExponent recovers the exponent of a power law", () => {
    const xs = [1e5, 2e5, 4e5, 8e5];
    for (const k of [0, 0.5, 1, 2]) {
      const k2 = growthExponent(
        xs,
        xs.map((x) => 3 * x ** k),
      );
      assert.ok(Math.abs(k2 - k) < 1e-9, `${k} -> ${k2}`);
    }
    assert.ok(Number.isNaN(growthExponent([1], [1])));
  });

  test("growthClass", () => {
    assert.equal(growthClass(-0.5), "falling");
    assert.equal(growthClass(0.1), "flat");
    assert.equal(growthClass(0.5), "sublinear");
    assert.equal(growthClass(1.05), "linear");
    assert.equal(growthClass(2), "worse than linear");
  });

  test("trendFigure: fitted ratio per run, verdict from the medians", () => {
    const xs = [3, 5, 7];
    const f = trendFigure({
      name: "t",
      params: { nodes: "3..7" },
      xs,
      costs: [xs.map((x) => x * 1e-6), xs.map((x) => x * 2e-6), xs.map((x) => x * 1.5e-6)],
      cost: "time per entry",
      x: "voters",
    });
    assert.equal(f.unit, "cost ratio");
    assert.equal(f.lowerIsBetter, true);
    assert.deepEqual(
      f.runs.map((r) => Math.round(r * 1000) / 1000),
      [2.333, 2.333, 2.333],
    );
    assert.match(f.verdict!, /^linear: time per entry ∝ voters\^1\.00, x2\.33 from voters 3 to 7$/);
    assert.equal(f.info!.growth, "linear");
    const flat = trendFigure({ name: "t", params: {}, xs, costs: [[1, 1, 1]], cost: "c", x: "x", flatMeans: "total linear" });
    assert.match(flat.verdict!, /^flat: .*\(total linear\)$/);
  });
});

const fig = (name: string, params: Record<string, number | string>, unit: string, runs: number[], extra: Partial<Figure> = {}): Figure => ({
  name,
  params,
  unit,
  runs,
  ...extra,
});

function sampleRows(): Row[] {
  const line = (name: string, params: Record<string, unknown>, unit: string, value: number): [string, BaselineLine] => [
    key(name, params, unit),
    { name, params, unit, value, values: [value] },
  ];
  const baseline = new Map<string, BaselineLine>([
    line("codec-msgapp", { op: "encode" }, "MB/s", 1000),
    line("wal-write", { syncEvery: 1 }, "MB/s", 2),
    line("wal-write", { syncEvery: 1 }, "entries/s", 20000),
    line("memory-entries", { N: 1000 }, "bytes/entry", 200),
  ]);
  const figs: Figure[] = [
    fig("codec-msgapp", { op: "encode" }, "MB/s", [1500, 1400, 1600]),
    fig("wal-write", { syncEvery: 1 }, "MB/s", [1]),
    fig("wal-write", { syncEvery: 1 }, "entries/s", [10000]),
    fig("memory-entries", { N: 1000 }, "bytes/entry", [400], { lowerIsBetter: true }),
    fig("codec-msgapp-copy", { op: "encode" }, "MB/s", [800], { baselineName: "codec-msgapp" }),
    fig("log-growth", { compactEvery: 0, logSize: 100 }, "entries/s", [10, 12], {
      curve: { chart: "log <growth>", x: "logSize", series: "none", xLabel: "log size", yLabel: "entries/s" },
    }),
    fig("log-growth", { compactEvery: 0, logSize: 200 }, "entries/s", [9, 11], {
      curve: { chart: "log <growth>", x: "logSize", series: "none", xLabel: "log size", yLabel: "entries/s" },
    }),
    fig("log-growth", { compactEvery: 0 }, "cost ratio", [1.1], { lowerIsBetter: true, verdict: "flat: time per cycle ∝ log size^0.05" }),
  ];
  return figs.map((f) => compare(f, f.runs.slice().sort((a, b) => a - b)[f.runs.length >> 1]!, baseline));
}

describe("report", () => {
  test("the table shows ratios and the verdicts", () => {
    const t = table(sampleRows(), true);
    assert.match(t, /codec-msgapp\s+op=encode\s+1500\s+MB\/s\s+1400\.\.1600\s+3\s+1000\s+1\.50/);
    assert.match(t, /memory-entries\s+N=1000\s+400\s+bytes\/entry \(lower is better\).*\s0\.50/);
    assert.match(t, /note/);
    assert.match(t, /flat: time per cycle/);
  });

  test("ratio bars: one per (name, params), on a log scale", () => {
    const rows = sampleRows();
    const bars = ratioRows(rows);
    assert.deepEqual(
      bars.map((r) => `${r.fig.name} ${r.fig.unit} ${r.ratio}`),
      ["codec-msgapp MB/s 1.5", "codec-msgapp-copy MB/s 0.8", "wal-write MB/s 0.5", "memory-entries bytes/entry 0.5"],
    );
    const svg = ratioChartSvg(rows, "sub <title>");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/<rect /g) ?? []).length, 1 + bars.length);
    assert.match(svg, /sub &lt;title&gt;/);
    assert.match(svg, />1\.50</);
    assert.match(svg, /codec-msgapp-copy op=encode vs etcd&#39;s codec-msgapp|codec-msgapp-copy op=encode vs etcd's codec-msgapp/);
    // Every label fits left of its anchor (text-anchor="end"): none is clipped at the left edge.
    for (const m of svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="end">([^<]*)<\/text>/g)) {
      const label = m[2]!.replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
      assert.ok(Number(m[1]) >= labelWidth(label), `label "${label}" starts left of the edge`);
    }
  });

  test("ratio bars: a long workload label widens the label column instead of being clipped", () => {
    const long = sampleRows().map((r) =>
      r.fig.name === "codec-msgapp"
        ? { ...r, fig: { ...r.fig, name: "cluster-3node-etcd-pattern-with-a-very-long-name", params: { ...r.fig.params, B: 64, N: 200000, payload: 128 } } }
        : r,
    );
    const svg = ratioChartSvg(long, "sub");
    const m = /<text x="([\d.]+)" y="[\d.]+" text-anchor="end">(cluster-3node-etcd-pattern-with-a-very-long-name[^<]*)<\/text>/.exec(svg);
    assert.ok(m !== null, "the long label is drawn");
    assert.ok(Number(m[1]) >= labelWidth(m[2]!), `x ${m[1]} < width ${labelWidth(m[2]!)} of "${m[2]}"`);
  });

  test("line charts group the curve points and carry the verdicts", () => {
    const charts = curveCharts(sampleRows());
    assert.equal(charts.length, 1);
    assert.equal(charts[0]!.figures.length, 2);
    assert.deepEqual(charts[0]!.verdicts, ["compactEvery=0: flat: time per cycle ∝ log size^0.05"]);
    const svg = lineChartSvg(charts[0]!);
    assert.match(svg, /<polyline [^>]*points="[\d.]+,[\d.]+ [\d.]+,[\d.]+"/);
    assert.match(svg, /log &lt;growth&gt;/);
  });

  test("e2e: both systems in one chart (peers), p99 on a log y axis, FLAGGED notes in red", () => {
    const curve = (series: string) => ({
      chart: "e2e-put: p99 latency by concurrent clients",
      x: "clients",
      series,
      xLabel: "concurrent clients",
      yLabel: "p99 ms",
      logX: true,
      logY: true,
    });
    const ts = [1, 16, 256].map((c) =>
      fig("e2e-put-latency", { clients: c, q: "p99" }, "ms", [c * 0.5, c, c * 2], { lowerIsBetter: true, curve: curve("tsraft") }),
    );
    const etcd = [1, 16, 256].map((c) =>
      fig("e2e-put-latency", { clients: c, q: "p99" }, "ms", [c * 3], { lowerIsBetter: true, curve: curve("etcd-3.4.23"), impl: "etcd-3.4.23" }),
    );
    const rows = ts.map((f) => compare(f, f.runs[1]!, peerBaseline(etcd)));
    rows[0]!.note = "FLAGGED: 2 errors";
    const charts = curveCharts(rows, etcd);
    assert.equal(charts.length, 1);
    assert.equal(charts[0]!.figures.length, 6);
    const svg = lineChartSvg(charts[0]!);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 2, "one line per system");
    assert.match(svg, />etcd-3\.4\.23</);
    assert.match(svg, /log scale\)<\/text>/);
    // Decade ticks from 0.1 (below 0.5) to 1000 (above 768).
    for (const t of ["0.1", "1", "10", "100", "1000"]) assert.match(svg, new RegExp(`text-anchor="end" fill="#555">${t.replace(".", "\\.")}<`));
    const html = reportHtml({
      title: "t",
      date: "2026-12-02T10:00:00.000Z",
      machine: "m",
      rows,
      jsonLines: [],
      seconds: 1,
      quick: false,
      baseline: { file: "same run", impl: "etcd-3.4.23" },
      command: "c",
      peers: etcd,
    });
    assert.match(html, /<span class="behind">FLAGGED: 2 errors<\/span>/);
    assert.match(html, /3 \(3\.\.3\)/, "etcd cell with its spread");
  });

  test("the page is self-contained and writeReport writes its files", () => {
    const input: ReportInput = {
      title: "tsraft bench vs etcd",
      date: "2026-11-22T10:00:00.000Z",
      machine: "machine line",
      rows: sampleRows(),
      jsonLines: ['{"name":"x"}'],
      seconds: 12,
      quick: false,
      baseline: { file: "etcd.jsonl", impl: "etcd-go-3.4.23" },
      command: "pnpm bench",
    };
    const html = reportHtml(input);
    assert.doesNotMatch(html, /<script|<link|src=|href=/i);
    assert.equal((html.match(/<svg /g) ?? []).length, 2);
    const dir = mkdtempSync(join(os.tmpdir(), "bench-report-"));
    try {
      const files = writeReport(join(dir, "r"), input);
      assert.deepEqual(
        files.map((f) => f.slice(dir.length + 3)),
        ["index.html", "ratios.svg", "log-growth.svg", "results.jsonl"],
      );
      for (const f of files) assert.ok(existsSync(f));
      assert.equal(readFileSync(join(dir, "r", "results.jsonl"), "utf8"), '{"name":"x"}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
