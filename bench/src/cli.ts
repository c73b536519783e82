/**
 * The command line of `pnpm bench`: argument parsing, the etcd baseline join, and the table.
 * Kept apart from main.ts so that tests can use it without running a benchmark.
 * @module
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { COUNTERPARTS } from "./etcd-counterparts.js";
import { median, roundFigure, type Figure, type Workload } from "./harness.js";
import { workloads } from "./workloads/index.js";

export interface Options {
  names: string[];
  quick: boolean;
  runs: number;
  tmpdir: string;
  baseline?: string;
  out?: string;
  report?: string;
  /** --runs was given (e2e then runs that many rounds instead of its default 3). */
  runsGiven: boolean;
  /**
   * --against-etcd: e2e also measures a real etcd cluster; the other workloads named (or, with
   * none named, every one with a Go counterpart) run in alternating rounds with run.sh.
   */
  againstEtcd: boolean;
  /** --rounds N: rounds of e2e and of --against-etcd (default 3). */
  rounds?: number;
  /** --seconds N: measured seconds per e2e point. */
  seconds?: number;
  /** --clients 1,4,16: the e2e client counts. */
  clients?: number[];
  /** --warmup-seconds N: e2e's unmeasured load on each system before its first point (0: none). */
  warmupSeconds?: number;
}

export class UsageError extends Error {}

export function usage(): string {
  return (
    "usage: pnpm bench [workload ...] [--quick] [--runs N] [--tmpdir DIR] [--baseline FILE] [--out FILE] [--report DIR]\n" +
    "                  [--against-etcd] [--rounds N] [--seconds N] [--clients N,N,...] [--warmup-seconds N]\n" +
    "  --against-etcd: e2e measures a real etcd cluster too; the other workloads (default: those with\n" +
    "  a Go counterpart) alternate rounds with ../shared/etcd-baseline/run.sh. --seconds, --clients,\n" +
    "  --warmup-seconds (default 10: unmeasured load on each cluster before its first point): e2e only\n" +
    "workloads (those marked * run only when named, or with --quick):\n" +
    workloads.map((w) => `${w.optIn === true ? "* " : "  "}${w.name.padEnd(18)} ${w.describe}`).join("\n")
  );
}

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { names: [], quick: false, runs: 5, tmpdir: os.tmpdir(), runsGiven: false, againstEtcd: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
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
        o.runsGiven = true;
        break;
      }
      case "--against-etcd":
        o.againstEtcd = true;
        break;
      case "--rounds": {
        const n = Number(value(i++, a));
        if (!Number.isInteger(n) || n < 1) throw new UsageError("--rounds needs a positive integer");
        o.rounds = n;
        break;
      }
      case "--seconds": {
        const n = Number(value(i++, a));
        if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError("--seconds needs a number of seconds in (0, 3600]");
        o.seconds = n;
        break;
      }
      case "--warmup-seconds": {
        const n = Number(value(i++, a));
        if (!Number.isFinite(n) || n < 0 || n > 3600) throw new UsageError("--warmup-seconds needs a number of seconds in [0, 3600]");
        o.warmupSeconds = n;
        break;
      }
      case "--clients": {
        const list = value(i++, a).split(",").map(Number);
        if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 10000))
          throw new UsageError("--clients needs a comma-separated list of integers in [1, 10000]");
        o.clients = list;
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
  if (o.quick && !o.runsGiven) o.runs = 1;
  const known = new Set(workloads.map((w) => w.name));
  const unknown = o.names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new UsageError(`unknown workload${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  }
  const e2eFlags = [
    o.seconds !== undefined ? "--seconds" : "",
    o.clients !== undefined ? "--clients" : "",
    o.warmupSeconds !== undefined ? "--warmup-seconds" : "",
  ].filter((f) => f !== "");
  if (e2eFlags.length > 0 && !o.names.includes("e2e")) {
    throw new UsageError(`${e2eFlags.join(", ")}: only for the e2e workload; name it (pnpm bench e2e ${e2eFlags.join(" ")} ...)`);
  }
  if (o.rounds !== undefined && !o.againstEtcd && !o.names.includes("e2e")) throw new UsageError("--rounds: only for e2e and --against-etcd");
  const noCounterpart = o.againstEtcd ? o.names.filter((n) => n !== "e2e" && !COUNTERPARTS.has(n)) : [];
  if (noCounterpart.length > 0) {
    throw new UsageError(
      `--against-etcd: no etcd counterpart for ${noCounterpart.join(", ")}; those that have one: e2e, ${[...COUNTERPARTS.keys()].join(", ")}`,
    );
  }
  return o;
}

/**
 * The workloads to run, in list order: the named ones; with no name, every workload except the
 * opt-in ones (e2e), which a `--quick` run of everything includes (its CI smoke run), or, with
 * --against-etcd, every workload with a Go counterpart.
 */
export function selectWorkloads(o: Pick<Options, "names" | "quick"> & { againstEtcd?: boolean }, all: readonly Workload[] = workloads): Workload[] {
  if (o.names.length > 0) return all.filter((w) => o.names.includes(w.name));
  if (o.againstEtcd === true) return all.filter((w) => COUNTERPARTS.has(w.name));
  return all.filter((w) => o.quick || w.optIn !== true);
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
  /**
   * The per-round runs of a figure measured in the same run (e2e --against-etcd), paired
   * round by round with tsraft's: the table then shows their spread and that of the ratios.
   */
  runs?: number[];
  /** A note of the compared figure (e2e: its errors), shown in the table beside tsraft's. */
  note?: string;
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
    // Lines of tsraft itself (a file of `pnpm bench --out` or of an e2e run) are not a baseline.
    if (typeof j.name === "string" && typeof j.unit === "string" && typeof j.value === "number" && j.impl !== "tsraft") {
      const k = key(j.name, j.params ?? {}, j.unit);
      const prev = map.get(k);
      const values = [...(prev?.values ?? []), j.value];
      map.set(k, {
        name: j.name,
        params: j.params ?? {},
        unit: j.unit,
        ...(j.impl !== undefined ? { impl: j.impl } : {}),
        values,
        value: values.length === 1 ? j.value : roundFigure(median(values)),
      });
    }
  }
  return map;
}

/**
 * The figures of other systems measured in the same run (those with an `impl`, e2e's etcd
 * figures) as baseline lines, keyed like {@link readBaseline}'s, with their per-round runs.
 */
export function peerBaseline(figs: readonly Figure[]): Map<string, BaselineLine> {
  const map = new Map<string, BaselineLine>();
  for (const f of figs) {
    if (f.impl === undefined || f.impl === "tsraft") continue;
    const value = roundFigure(median(f.runs));
    map.set(key(f.name, f.params, f.unit), {
      name: f.name,
      params: f.params,
      unit: f.unit,
      value,
      impl: f.impl,
      values: [value],
      runs: f.runs,
      ...(f.note !== undefined ? { note: f.note } : {}),
    });
  }
  return map;
}

export function machineHeader(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? "unknown CPU";
  return (
    `tsraft bench: node ${process.version}, ${cpus.length} cores (${model}), ${os.platform()} ${os.arch()}, ` +
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}\n` +
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
  /** Spread of the etcd runs, and of the per-round ratios (paired runs of the same run, e2e). */
  etcdMin?: number;
  etcdMax?: number;
  ratioMin?: number;
  ratioMax?: number;
  /** What the note column says: the figure's note, the compared figure's note, a verdict. */
  note?: string;
}

/** `k=v` pairs of `p`, keys sorted, space-separated. */
export function formatParams(p: Record<string, unknown>): string {
  return Object.keys(p)
    .sort()
    .map((k) => `${k}=${String(p[k])}`)
    .join(" ");
}

export function table(rows: Row[], withBaseline: boolean): string {
  const withNote = rows.some((r) => noteOf(r) !== "");
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
    if (withBaseline) cells.push(etcdCell(r), ratioCell(r));
    if (withNote) cells.push(noteOf(r));
    return cells;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** The etcd cell: the value, and the spread of its runs when they were measured in this run. */
export function etcdCell(r: Row): string {
  if (r.etcd === undefined) return "-";
  return r.etcdMin === undefined || r.etcdMax === undefined ? String(r.etcd) : `${r.etcd} (${roundFigure(r.etcdMin)}..${roundFigure(r.etcdMax)})`;
}

/** The ratio cell: the ratio of the medians, and the spread of the per-round ratios when paired. */
export function ratioCell(r: Row): string {
  if (r.ratio === undefined) return "-";
  return r.ratioMin === undefined || r.ratioMax === undefined
    ? r.ratio.toFixed(2)
    : `${r.ratio.toFixed(2)} (${r.ratioMin.toFixed(2)}..${r.ratioMax.toFixed(2)})`;
}

/** The note column: the figure's verdict or note, the compared figure's note, or the etcd name. */
export function noteOf(r: Row): string {
  if (r.note !== undefined) return r.note;
  return r.fig.verdict ?? (r.etcdName !== undefined ? `vs etcd's ${r.etcdName}` : "");
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
    if (b.runs !== undefined && b.runs.length > 0) {
      row.etcdMin = Math.min(...b.runs);
      row.etcdMax = Math.max(...b.runs);
      if (b.runs.length === fig.runs.length) {
        const ratios = fig.runs.map((v, i) => (fig.lowerIsBetter === true ? b.runs![i]! / v : v / b.runs![i]!));
        row.ratioMin = Math.min(...ratios);
        row.ratioMax = Math.max(...ratios);
      }
    }
  }
  const notes = [fig.note, b?.note !== undefined ? `${b.impl ?? "etcd"}: ${b.note}` : undefined].filter((n): n is string => n !== undefined);
  if (notes.length > 0) row.note = notes.join("; ");
  return row;
}
