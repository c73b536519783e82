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
import { appendFileSync } from "node:fs";
import { compare, machineHeader, parseArgs, readBaseline, table, usage, UsageError, type Options, type Row } from "./cli.js";
import { median, roundFigure, type BenchContext } from "./harness.js";
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
      rows.push(compare(fig, value, baseline));
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
