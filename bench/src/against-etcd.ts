/**
 * `pnpm bench --against-etcd [workload ...]`: the workloads that have a Go counterpart in
 * `../shared/etcd-baseline/` run in alternating rounds with etcd's own code: each round runs
 * `run.sh <the same workloads>` (a fresh Go session) and our workloads once, the order
 * alternating (Go first in rounds 1 and 3, tsraft first in round 2), at least 3 rounds by
 * default (`--rounds N`). Per figure and round, each side's value is that session's median;
 * the table shows per line the median over rounds of each side and the **median of the
 * per-round ratios** with their min..max, so one busy minute cannot make a ratio on its own.
 *
 * The Go runner is a parameter, so the tests can drive the rounds without Go.
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { key, type BaselineLine, type Row } from "./cli.js";
import { repoRoot } from "./e2e/kv-cluster.js";
import { BenchError } from "./errors.js";
import { COUNTERPARTS } from "./etcd-counterparts.js";
import { median, roundFigure, type BenchContext, type Figure, type Workload } from "./harness.js";

/** Runs the Go side for the named Go workloads once; resolves with its JSON lines. */
export type GoRunner = (goNames: readonly string[]) => Promise<BaselineLine[]>;

/** Where run.sh is: $TSRAFT_ETCD_RUN_SH, else ../shared/etcd-baseline/ beside the repository. */
export function runShPath(): string {
  return process.env.TSRAFT_ETCD_RUN_SH ?? resolve(repoRoot, "../shared/etcd-baseline/run.sh");
}

/** Parses JSON lines (other lines skipped) into baseline lines. */
export function parseGoLines(text: string): BaselineLine[] {
  const out: BaselineLine[] = [];
  for (const l of text.split("\n")) {
    const t = l.trim();
    if (!t.startsWith("{")) continue;
    const j = JSON.parse(t) as Partial<BaselineLine>;
    if (typeof j.name === "string" && typeof j.unit === "string" && typeof j.value === "number") {
      out.push({
        name: j.name,
        params: j.params ?? {},
        unit: j.unit,
        value: j.value,
        values: [j.value],
        ...(typeof j.impl === "string" ? { impl: j.impl } : {}),
      });
    }
  }
  return out;
}

/**
 * The real Go side: `bash run.sh [-quick] [-runs N] [-tmpdir DIR] names...`; its stderr goes
 * to ours, prefixed.
 * @throws {@link BenchError} `TSRAFT_BENCH_ETCD_SCRIPT` if run.sh is missing or fails.
 */
export function runShRunner(ctx: BenchContext): GoRunner {
  return (goNames) =>
    new Promise((resolvePromise, reject) => {
      const sh = runShPath();
      if (!existsSync(sh)) return reject(new BenchError("TSRAFT_BENCH_ETCD_SCRIPT", `${sh} is missing (set TSRAFT_ETCD_RUN_SH to its path)`));
      const flags = [...(ctx.quick ? ["-quick"] : []), ...(ctx.runsGiven === true ? ["-runs", String(ctx.runs)] : []), "-tmpdir", ctx.tmpdir];
      const p = spawn("bash", [sh, ...flags, ...goNames], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let errTail = "";
      p.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      p.stderr.on("data", (c: Buffer) => {
        const s = c.toString("utf8");
        errTail = (errTail + s).slice(-2000);
        for (const line of s.split("\n")) if (line.trim() !== "") ctx.progress(`go: ${line}`);
      });
      p.once("error", (e) => reject(new BenchError("TSRAFT_BENCH_ETCD_SCRIPT", `cannot run ${sh}: ${e.message}`, { cause: e })));
      p.once("exit", (code) => {
        if (code !== 0) return reject(new BenchError("TSRAFT_BENCH_ETCD_SCRIPT", `${sh} ${[...flags, ...goNames].join(" ")} exited ${code}:\n${errTail}`));
        try {
          resolvePromise(parseGoLines(out));
        } catch (e) {
          reject(new BenchError("TSRAFT_BENCH_ETCD_SCRIPT", `${sh} printed a line that is not JSON`, { cause: e }));
        }
      });
    });
}

/** One line of the comparison: our figure and the Go line it is set against, per round. */
export interface RoundsLine {
  /** Our figure; `runs` = our value in each round (each the median of that session's runs). */
  fig: Figure;
  /** The Go line's value in each round (undefined where the Go session had no such line). */
  etcd: (number | undefined)[];
  etcdImpl: string | undefined;
}

/** The outcome of {@link alternatingRounds}: our lines in first-seen order. */
export interface RoundsResult {
  lines: RoundsLine[];
  /** Which side ran first in each round. */
  order: ("go" | "tsraft")[];
}

/**
 * Runs `rounds` rounds of our `workloads` and the Go side, alternating which goes first.
 * @throws {@link BenchError} from the Go runner.
 */
export async function alternatingRounds(o: { rounds: number; workloads: readonly Workload[]; ctx: BenchContext; runGo: GoRunner }): Promise<RoundsResult> {
  const goNames = [...new Set(o.workloads.map((w) => COUNTERPARTS.get(w.name)).filter((n): n is string => n !== undefined))];
  const lines = new Map<string, RoundsLine>();
  const order: ("go" | "tsraft")[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const goFirst = round % 2 === 0;
    order.push(goFirst ? "go" : "tsraft");
    let go: BaselineLine[] = [];
    const ours: Figure[] = [];
    const runGo = async () => {
      o.ctx.progress(`round ${round + 1}/${o.rounds}: etcd (run.sh ${goNames.join(" ")})`);
      go = await o.runGo(goNames);
    };
    const runOurs = async () => {
      o.ctx.progress(`round ${round + 1}/${o.rounds}: tsraft (${o.workloads.map((w) => w.name).join(" ")})`);
      for (const w of o.workloads) ours.push(...(await w.run(o.ctx)));
    };
    if (goFirst) {
      await runGo();
      await runOurs();
    } else {
      await runOurs();
      await runGo();
    }
    const goByKey = new Map(go.map((l) => [key(l.name, l.params, l.unit), l]));
    for (const f of ours) {
      const k = key(f.name, f.params, f.unit);
      let line = lines.get(k);
      if (line === undefined) {
        const { runs: _runs, ...rest } = f;
        line = { fig: { ...rest, runs: [] }, etcd: [], etcdImpl: undefined };
        lines.set(k, line);
      }
      line.fig.runs.push(median(f.runs));
      const g = goByKey.get(key(f.baselineName ?? f.name, f.params, f.unit));
      line.etcd.push(g?.value);
      line.etcdImpl ??= g?.impl;
    }
  }
  return { lines: [...lines.values()], order };
}

/**
 * The table row of a line: our median over rounds; etcd's median and spread; the median of
 * the per-round ratios (tsraft/etcd, or etcd/tsraft where lower is better: above 1.0 tsraft
 * is ahead) and their min..max. Rounds where the Go side had no such line are left out of
 * the ratios.
 */
export function roundsRow(line: RoundsLine): Row {
  const fig = line.fig;
  const row: Row = { fig, value: roundFigure(median(fig.runs)) };
  const pairs = fig.runs.flatMap((v, i) => (line.etcd[i] === undefined ? [] : [[v, line.etcd[i]!] as const]));
  if (pairs.length === 0) return row;
  const etcd = pairs.map(([, g]) => g);
  const ratios = pairs.map(([t, g]) => (fig.lowerIsBetter === true ? g / t : t / g));
  row.etcd = roundFigure(median(etcd));
  row.etcdMin = Math.min(...etcd);
  row.etcdMax = Math.max(...etcd);
  row.ratio = median(ratios);
  row.ratioMin = Math.min(...ratios);
  row.ratioMax = Math.max(...ratios);
  if (fig.baselineName !== undefined) row.etcdName = fig.baselineName;
  if (pairs.length < fig.runs.length) row.note = `etcd had this line in ${pairs.length} of ${fig.runs.length} rounds`;
  return row;
}

/** The Go side's lines of the comparison, as figures to print (runs = the value of each round). */
export function goFigures(lines: readonly RoundsLine[]): Figure[] {
  const seen = new Set<string>();
  const out: Figure[] = [];
  for (const l of lines) {
    const name = l.fig.baselineName ?? l.fig.name;
    const k = key(name, l.fig.params, l.fig.unit);
    const runs = l.etcd.filter((v): v is number => v !== undefined);
    if (seen.has(k) || runs.length === 0) continue;
    seen.add(k);
    out.push({
      name,
      params: l.fig.params,
      unit: l.fig.unit,
      runs,
      impl: l.etcdImpl ?? "etcd-go",
      ...(l.fig.lowerIsBetter === true ? { lowerIsBetter: true } : {}),
    });
  }
  return out;
}
