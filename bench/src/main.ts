/**
 * `pnpm bench [workload ...] [--quick] [--runs N] [--tmpdir DIR] [--baseline FILE] [--out FILE] [--report DIR]`
 *
 * Runs the named workloads (all when none is named) against the built packages (dist, the
 * code users get). Prints one JSON line per figure on stdout:
 * `{name, params, value, unit, runs, min, max, impl: "tsraft", info?}` (value = median of runs),
 * and on stderr a header (machine), progress, and a table. `--baseline FILE` reads etcd
 * baseline JSON lines (../shared/etcd-baseline/run.sh) and adds the etcd value and the ratio,
 * joined on (name, params, unit); a ratio above 1.0 always means tsraft is ahead. `--out FILE`
 * also appends the JSON lines to FILE. `--report DIR` writes an HTML page with charts
 * (report.ts). Scaling summaries print their verdict in the table and in `info.verdict`.
 * @module
 */
import { appendFileSync } from "node:fs";
import { compare, machineHeader, parseArgs, readBaseline, table, usage, UsageError, type Options, type Row } from "./cli.js";
import { median, now, roundFigure, type BenchContext } from "./harness.js";
import { writeReport } from "./report.js";
import { workloads } from "./workloads/index.js";

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
  const date = new Date().toISOString();
  const t0 = now();
  const header = machineHeader();
  process.stderr.write(`${header}\nstarted ${date}\n`);
  if (o.quick) process.stderr.write("--quick: tiny sizes, one run; the numbers mean nothing\n");
  const ctx: BenchContext = {
    quick: o.quick,
    runs: o.runs,
    tmpdir: o.tmpdir,
    progress: (msg) => process.stderr.write(`  ${msg}\n`),
  };
  const selected = o.names.length === 0 ? workloads : workloads.filter((w) => o.names.includes(w.name));
  const rows: Row[] = [];
  const jsonLines: string[] = [];
  for (const w of selected) {
    process.stderr.write(`${w.name}: ${w.describe}\n`);
    const tw = now();
    const figs = await w.run(ctx);
    process.stderr.write(`  ${w.name}: ${(now() - tw).toFixed(1)} s\n`);
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
      if (fig.baselineName !== undefined) line.baselineName = fig.baselineName;
      const json = JSON.stringify(line);
      jsonLines.push(json);
      process.stdout.write(json + "\n");
      if (o.out !== undefined) appendFileSync(o.out, json + "\n");
      rows.push(compare(fig, value, baseline));
    }
  }
  process.stderr.write("\n" + table(rows, baseline !== undefined) + "\n");
  if (baseline !== undefined) process.stderr.write("ratio > 1.0: tsraft ahead (tsraft/etcd, or etcd/tsraft where lower is better)\n");
  const seconds = now() - t0;
  process.stderr.write(`total: ${seconds.toFixed(1)} s\n`);
  if (o.report !== undefined) {
    const files = writeReport(o.report, {
      title: `tsraft bench${baseline !== undefined ? " vs etcd" : ""}`,
      date,
      machine: header,
      rows,
      jsonLines,
      seconds,
      quick: o.quick,
      ...(o.baseline !== undefined ? { baseline: { file: o.baseline, impl: baseline?.values().next().value?.impl } } : {}),
      command: `pnpm bench ${process.argv.slice(2).join(" ")}`.trim(),
    });
    process.stderr.write(`report: ${files.join(", ")}\n`);
  }
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
