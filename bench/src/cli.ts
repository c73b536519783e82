/**
 * The command line of `pnpm bench`: argument parsing, the etcd baseline join, and the table.
 * Kept apart from main.ts so that tests can use it without running a benchmark.
 * @module
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { median, roundFigure, type Figure } from "./harness.js";
import { workloads } from "./workloads/index.js";

export interface Options {
  names: string[];
  quick: boolean;
  runs: number;
  tmpdir: string;
  baseline?: string;
  out?: string;
  report?: string;
}

export class UsageError extends Error {}

export function usage(): string {
  return (
    "usage: pnpm bench [workload ...] [--quick] [--runs N] [--tmpdir DIR] [--baseline FILE] [--out FILE] [--report DIR]\n" +
    "workloads:\n" +
    workloads.map((w) => `  ${w.name.padEnd(18)} ${w.describe}`).join("\n")
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
      case "--report":
        o.report = value(i++, a);
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
export function key(name: string, params: Record<string, unknown>, unit: string): string {
  const sorted = Object.keys(params)
    .sort()
    .map((k) => [k, params[k]]);
  return JSON.stringify([name, sorted, unit]);
}

export interface BaselineLine {
  name: string;
  params: Record<string, unknown>;
  unit: string;
  /** The line's value; when the file has several lines for one key, the median of their values. */
  value: number;
  impl?: string;
  /** The values of every line with this key, in file order (several when runs were concatenated). */
  values: number[];
}

/**
 * Reads baseline JSON lines (non-JSON lines, such as log lines, are skipped). A file may hold
 * several sessions concatenated (`run.sh >> etcd.jsonl` between interleaved tsraft runs): the
 * lines with the same (name, params, unit) are then joined into one whose value is the median
 * of theirs.
 * @throws {@link UsageError} if a line that starts with `{` is not JSON.
 */
export function readBaseline(file: string): Map<string, BaselineLine> {
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
      const k = key(j.name, j.params ?? {}, j.unit);
      const prev = map.get(k);
      const values = [...(prev?.values ?? []), j.value];
      map.set(k, { ...j, params: j.params ?? {}, values, value: values.length === 1 ? j.value : roundFigure(median(values)) });
    }
  }
  return map;
}

export function machineHeader(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? "unknown CPU";
  return (
    `tsraft bench: node ${process.version}, ${cpus.length} cores (${model}), ${os.platform()} ${os.arch()}, ` +
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}\n` +
    "note: shared machines are noisy; compare with etcd only from runs on the same machine, back to back " +
    "(better interleaved), and read the min..max spread"
  );
}

export interface Row {
  fig: Figure;
  value: number;
  etcd?: number;
  ratio?: number;
  /** The baseline figure's name, when it differs from fig.name (Figure.baselineName). */
  etcdName?: string;
}

/** `k=v` pairs of `p`, keys sorted, space-separated. */
export function formatParams(p: Record<string, unknown>): string {
  return Object.keys(p)
    .sort()
    .map((k) => `${k}=${String(p[k])}`)
    .join(" ");
}

export function table(rows: Row[], withBaseline: boolean): string {
  const withNote = rows.some((r) => r.fig.verdict !== undefined || r.etcdName !== undefined);
  const head = ["workload", "params", "value", "unit", "min..max", "runs"];
  if (withBaseline) head.push("etcd", "ratio");
  if (withNote) head.push("note");
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
    if (withNote) cells.push(r.fig.verdict ?? (r.etcdName !== undefined ? `vs etcd's ${r.etcdName}` : ""));
    return cells;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}


/**
 * A table row for `fig` (median `value`), with the etcd value and the ratio when the baseline
 * has the same (name, params, unit) (name: `fig.baselineName` when set): tsraft/etcd, or etcd/tsraft when lower is better, so that
 * a ratio above 1.0 always means tsraft is ahead.
 */
export function compare(fig: Figure, value: number, baseline: Map<string, BaselineLine> | undefined): Row {
  const row: Row = { fig, value };
  const b = baseline?.get(key(fig.baselineName ?? fig.name, fig.params, fig.unit));
  if (b !== undefined) {
    row.etcd = b.value;
    if (fig.baselineName !== undefined) row.etcdName = fig.baselineName;
    row.ratio = fig.lowerIsBetter === true ? b.value / value : value / b.value;
  }
  return row;
}
