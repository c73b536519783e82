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
 *
 * Workloads marked `optIn` (e2e) run only when named, or in a `--quick` run of everything.
 * A workload may return figures of another system measured in the same run (e2e
 * `--against-etcd`: `impl` "etcd-3.4.23"): they are printed as JSON lines with their `impl`,
 * and joined with tsraft's figures as the comparison (before any --baseline file's line).
 * `--against-etcd` without e2e (or beside it): the other workloads named (default: those with
 * a Go counterpart) run in alternating rounds with ../shared/etcd-baseline/run.sh
 * (against-etcd.ts).
 * @module
 */
import { appendFileSync } from "node:fs";
import os from "node:os";
import { compare, machineHeader, parseArgs, peerBaseline, readBaseline, selectWorkloads, table, usage, UsageError, type Options, type Row } from "./cli.js";
import { median, now, roundFigure, type BenchContext, type Figure } from "./harness.js";
import { alternatingRounds, goFigures, roundsRow, runShRunner } from "./against-etcd.js";
import { writeReport } from "./report.js";

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
    runsGiven: o.runsGiven,
    againstEtcd: o.againstEtcd,
    ...(o.seconds !== undefined ? { pointSeconds: o.seconds } : {}),
    ...(o.warmupSeconds !== undefined ? { systemWarmupSeconds: o.warmupSeconds } : {}),
    ...(o.clients !== undefined ? { clients: o.clients } : {}),
  };
  if (o.rounds !== undefined) ctx.rounds = o.rounds;
  const selected = selectWorkloads(o);
  const rows: Row[] = [];
  const peers: Figure[] = [];
  const jsonLines: string[] = [];
  /** Prints fig's JSON line; tsraft's figures become table rows, other systems' are kept as peers. */
  const emit = (fig: Figure, row: (value: number) => Row): void => {
    const value = roundFigure(median(fig.runs));
    const line: Record<string, unknown> = {
      name: fig.name,
      params: fig.params,
      value,
      unit: fig.unit,
      runs: fig.runs.map(roundFigure),
      min: roundFigure(Math.min(...fig.runs)),
      max: roundFigure(Math.max(...fig.runs)),
      impl: fig.impl ?? "tsraft",
    };
    if (fig.info !== undefined) line.info = fig.info;
    if (fig.lowerIsBetter === true) line.lowerIsBetter = true;
    if (fig.baselineName !== undefined) line.baselineName = fig.baselineName;
    if (fig.note !== undefined) line.note = fig.note;
    const json = JSON.stringify(line);
    jsonLines.push(json);
    process.stdout.write(json + "\n");
    if (o.out !== undefined) appendFileSync(o.out, json + "\n");
    if (fig.impl !== undefined && fig.impl !== "tsraft") peers.push(fig);
    else rows.push(row(value));
  };
  // --against-etcd: the workloads with a Go counterpart alternate rounds with run.sh.
  const inRounds = o.againstEtcd ? selected.filter((w) => w.name !== "e2e") : [];
  let roundsMode = false;
  if (inRounds.length > 0) {
    roundsMode = true;
    const rounds = o.rounds ?? 3;
    process.stderr.write(`against etcd, ${rounds} alternating rounds: ${inRounds.map((w) => w.name).join(" ")}\n`);
    const tw = now();
    const res = await alternatingRounds({ rounds, workloads: inRounds, ctx, runGo: runShRunner(ctx) });
    process.stderr.write(`  rounds: ${(now() - tw).toFixed(1)} s (first: ${res.order.join(", ")})\n`);
    for (const l of res.lines)
      emit({ ...l.fig, info: { ...(l.fig.info ?? {}), rounds: l.fig.runs.length, valueOfEachRound: "median of that session's runs" } }, () => roundsRow(l));
    for (const g of goFigures(res.lines)) emit(g, () => compare(g, 0, undefined));
  }
  for (const w of selected.filter((x) => !inRounds.includes(x))) {
    process.stderr.write(`${w.name}: ${w.describe}\n`);
    const tw = now();
    const figs = await w.run(ctx);
    process.stderr.write(`  ${w.name}: ${(now() - tw).toFixed(1)} s\n`);
    const inRun = peerBaseline(figs);
    const joined = inRun.size === 0 ? baseline : new Map([...(baseline ?? []), ...inRun]);
    for (const fig of figs) emit(fig, (value) => compare(fig, value, joined));
  }
  const compared = baseline !== undefined || peers.length > 0;
  process.stderr.write("\n" + table(rows, compared) + "\n");
  if (compared) {
    process.stderr.write("ratio > 1.0: tsraft ahead (tsraft/etcd, or etcd/tsraft where lower is better)");
    process.stderr.write(peers.length > 0 ? "; in brackets: min..max over the rounds (ratios: of each round's pair)\n" : "\n");
    if (roundsMode) process.stderr.write("against etcd in rounds: value and etcd are medians over the rounds; ratio is the median of the per-round ratios\n");
  }
  const flagged = rows.filter((r) => r.note?.includes("FLAGGED") === true).length;
  if (flagged > 0) process.stderr.write(`WARNING: ${flagged} figures are FLAGGED (errors or leader changes during their points): see the note column\n`);
  const seconds = now() - t0;
  process.stderr.write(
    `total: ${seconds.toFixed(1)} s (load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")})\n`,
  );
  if (o.report !== undefined) {
    const files = writeReport(o.report, {
      title: `tsraft bench${compared ? " vs etcd" : ""}`,
      date,
      machine: header,
      rows,
      jsonLines,
      seconds,
      quick: o.quick,
      ...(o.baseline !== undefined ? { baseline: { file: o.baseline, impl: baseline?.values().next().value?.impl } } : {}),
      ...(o.baseline === undefined && peers.length > 0 ? { baseline: { file: "measured in this run (--against-etcd)", impl: peers[0]!.impl } } : {}),
      peers,
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
