/**
 * `pnpm bench [workload ...] [--quick] [--runs N] [--tmpdir DIR] [--baseline FILE] [--out FILE]`
 *
 * Runs the named workloads (all when none is named) against the built packages (dist, the
 * code users get). Prints one JSON line per figure on stdout:
 * `{name, params, value, unit, runs, min, max, impl: "tsraft", info?}` (value = median of runs),
 * and on stderr a header (machine), progress, and a table. `--baseline FILE` reads etcd
 * baseline JSON lines (../shared/etcd-baseline/run.sh) and adds the etcd value and the ratio,
 * joined on (name, params, unit); a ratio above 1.0 always means tsraft is ahead. `--out FILE`
 * also appends the JSON lines to FILE.
 * @module
 */
import { appendFileSync, readFileSync } from "node:fs";
import os from "node:os";
import { median, roundFigure, type BenchContext, type Figure } from "./harness.js";
import { workloads } from "./workloads/index.js";

interface Options {
  names: string[];
  quick: boolean;
  runs: number;
  tmpdir: string;
  baseline?: string;
  out?: string;
}

class UsageError extends Error {}

function usage(): string {
  return (
    "usage: pnpm bench [workload ...] [--quick] [--runs N] [--tmpdir DIR] [--baseline FILE] [--out FILE]\n" +
    "workloads:\n" +
    workloads.map((w) => `  ${w.name.padEnd(16)} ${w.describe}`).join("\n")
  );
}

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { names: [], quick: false, runs: 5, tmpdir: os.tmpdir() };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  let runsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case "--quick":
        o.quick = true;
        break;
      case "--runs": {
        const n = Number(value(i++, a));
        if (!Number.isInteger(n) || n < 1) throw new UsageError("--runs needs a positive integer");
        o.runs = n;
        runsGiven = true;
        break;
      }
      case "--tmpdir":
        o.tmpdir = value(i++, a);
        break;
      case "--baseline":
        o.baseline = value(i++, a);
        break;
      case "--out":
        o.out = value(i++, a);
        break;
      case "--help":
      case "-h":
        throw new UsageError("");
      default:
        if (a.startsWith("-")) throw new UsageError(`unknown flag ${a}`);
        o.names.push(a);
    }
  }
  if (o.quick && !runsGiven) o.runs = 1;
  const known = new Set(workloads.map((w) => w.name));
  const unknown = o.names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new UsageError(`unknown workload${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  }
  return o;
}

/** The join key of a figure: name, params with sorted keys, unit. */
function key(name: string, params: Record<string, unknown>, unit: string): string {
  const sorted = Object.keys(params)
    .sort()
    .map((k) => [k, params[k]]);
  return JSON.stringify([name, sorted, unit]);
}

interface BaselineLine {
  name: string;
  params: Record<string, unknown>;
  unit: string;
  value: number;
  impl?: string;
}

function readBaseline(file: string): Map<string, BaselineLine> {
  const map = new Map<string, BaselineLine>();
  const text = readFileSync(file, "utf8");
  for (const [n, line] of text.split("\n").entries()) {
    const t = line.trim();
    if (t === "" || !t.startsWith("{")) continue;
    let j: BaselineLine;
    try {
      j = JSON.parse(t) as BaselineLine;
    } catch {
      throw new UsageError(`--baseline ${file}: line ${n + 1} is not JSON`);
    }
    if (typeof j.name === "string" && typeof j.unit === "string" && typeof j.value === "number") {
      map.set(key(j.name, j.params ?? {}, j.unit), j);
    }
  }
  return map;
}

function machineHeader(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? "unknown CPU";
  return (
    `tsraft bench: node ${process.version}, ${cpus.length} cores (${model}), ${os.platform()} ${os.arch()}, ` +
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n` +
    "note: shared machines are noisy; compare with etcd only from runs on the same machine, back to back " +
    "(better interleaved), and read the min..max spread"
  );
}

interface Row {
  fig: Figure;
  value: number;
  etcd?: number;
  ratio?: number;
}

function formatParams(p: Record<string, unknown>): string {
  return Object.keys(p)
    .sort()
    .map((k) => `${k}=${String(p[k])}`)
    .join(" ");
}

function table(rows: Row[], withBaseline: boolean): string {
  const head = ["workload", "params", "value", "unit", "min..max", "runs"];
  if (withBaseline) head.push("etcd", "ratio");
  const body = rows.map((r) => {
    const cells = [
      r.fig.name,
      formatParams(r.fig.params),
      String(r.value),
      r.fig.unit + (r.fig.lowerIsBetter === true ? " (lower is better)" : ""),
      `${roundFigure(Math.min(...r.fig.runs))}..${roundFigure(Math.max(...r.fig.runs))}`,
      String(r.fig.runs.length),
    ];
    if (withBaseline) cells.push(r.etcd === undefined ? "-" : String(r.etcd), r.ratio === undefined ? "-" : r.ratio.toFixed(2));
    return cells;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message !== "") process.stderr.write(`bench: ${err.message}\n`);
      process.stderr.write(usage() + "\n");
      return err.message === "" ? 0 : 2;
    }
    throw err;
  }
  const baseline = o.baseline === undefined ? undefined : readBaseline(o.baseline);
  process.stderr.write(machineHeader() + "\n");
  if (o.quick) process.stderr.write("--quick: tiny sizes, one run; the numbers mean nothing\n");
  const ctx: BenchContext = {
    quick: o.quick,
    runs: o.runs,
    tmpdir: o.tmpdir,
    progress: (msg) => process.stderr.write(`  ${msg}\n`),
  };
  const selected = o.names.length === 0 ? workloads : workloads.filter((w) => o.names.includes(w.name));
  const rows: Row[] = [];
  for (const w of selected) {
    process.stderr.write(`${w.name}: ${w.describe}\n`);
    const figs = await w.run(ctx);
    for (const fig of figs) {
      const value = roundFigure(median(fig.runs));
      const line: Record<string, unknown> = {
        name: fig.name,
        params: fig.params,
        value,
        unit: fig.unit,
        runs: fig.runs.map(roundFigure),
        min: roundFigure(Math.min(...fig.runs)),
        max: roundFigure(Math.max(...fig.runs)),
        impl: "tsraft",
      };
      if (fig.info !== undefined) line.info = fig.info;
      if (fig.lowerIsBetter === true) line.lowerIsBetter = true;
      const json = JSON.stringify(line);
      process.stdout.write(json + "\n");
      if (o.out !== undefined) appendFileSync(o.out, json + "\n");
      const row: Row = { fig, value };
      const b = baseline?.get(key(fig.name, fig.params, fig.unit));
      if (b !== undefined) {
        row.etcd = b.value;
        row.ratio = fig.lowerIsBetter === true ? b.value / value : value / b.value;
      }
      rows.push(row);
    }
  }
  process.stderr.write("\n" + table(rows, baseline !== undefined) + "\n");
  if (baseline !== undefined) process.stderr.write("ratio > 1.0: tsraft ahead (tsraft/etcd, or etcd/tsraft where lower is better)\n");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
