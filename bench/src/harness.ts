/**
 * The benchmark harness: what a workload receives ({@link BenchContext}) and returns
 * ({@link Figure}s), and the timing helpers every workload shares.
 *
 * A workload measures `ctx.runs` runs of each figure and returns every run's value; main.ts
 * prints the median (`value`), min and max, as one JSON line per figure, joinable with etcd's
 * baseline lines on (name, params, unit).
 * @module
 */
import v8 from "node:v8";
import vm from "node:vm";

/** What a workload gets from the command line. */
export interface BenchContext {
  quick: boolean; // --quick: tiny sizes, one run, for CI smoke
  runs: number; // runs per figure (default 5; --runs N)
  tmpdir: string; // where disk workloads write (--tmpdir, default os.tmpdir())
  progress(msg: string): void; // progress line on stderr
  runsGiven?: boolean; // --runs was given (e2e without --rounds: rounds = runs)
  rounds?: number; // --rounds N: e2e's rounds (default 3)
  againstEtcd?: boolean; // --against-etcd: e2e also measures a real etcd cluster
  pointSeconds?: number; // --seconds N: measured seconds per e2e point (default 8)
  systemWarmupSeconds?: number; // --warmup-seconds N: e2e's warm-up of each system before its first point (default 10)
  clients?: readonly number[]; // --clients 1,16: e2e client counts (default 1,4,16,64,256,1024)
}

/**
 * Where a figure goes in the report's line charts: figures with the same `chart` are drawn in
 * one chart, one line per `series`, at x = `params[x]`.
 */
export interface Curve {
  chart: string; // chart id, also its title
  x: string; // the params key that is the x axis
  series: string; // the line this point belongs to
  xLabel: string;
  yLabel: string;
  logX?: boolean; // x axis on a log scale (sizes spanning decades)
  logY?: boolean; // y axis on a log scale (latencies spanning decades)
}

/** One measured figure: the runs of one (name, params, unit). */
export interface Figure {
  name: string;
  params: Record<string, number | string>;
  unit: string; // 'entries/s' | 'MB/s' | 'bytes/entry' | ...
  runs: number[]; // one measured value per run; value = median
  info?: Record<string, unknown>;
  lowerIsBetter?: boolean;
  curve?: Curve; // a point of a scaling curve (report only, not printed)
  verdict?: string; // how a cost grows (scaling summaries); also in info.verdict
  baselineName?: string; // join with the baseline line of this name (same params, unit)
  impl?: string; // the system measured, when not tsraft (e2e's etcd figures)
  note?: string; // shown in the table's note column (e2e: errors, flagged)
}

/** A benchmark workload, registered in workloads/index.ts. */
export interface Workload {
  name: string;
  describe: string; // one line for the table/README
  optIn?: boolean; // runs only when named (and in --quick runs), not in a plain `pnpm bench`
  run(ctx: BenchContext): Promise<Figure[]>;
}

/** The median of `xs` (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Rounds like the Go baseline prints: integers from 100 up, 3 decimals below. */
export function roundFigure(v: number): number {
  if (!Number.isFinite(v)) return v;
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000;
}

/** Seconds since an arbitrary origin, from the monotonic high-resolution clock. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Where timed loops store results so that the JIT cannot drop the work. Read by nobody. */
export const sink = { n: 0 };

/**
 * Calls `op` in batches of `batch` until at least `minSeconds` have passed; returns the number
 * of calls and the elapsed seconds. The clock is read once per batch, as the Go baseline does
 * (batches of 200).
 */
export function timeLoop(op: () => void, minSeconds: number, batch = 200): { iterations: number; seconds: number } {
  let iterations = 0;
  const start = now();
  let elapsed = 0;
  for (;;) {
    for (let i = 0; i < batch; i++) op();
    iterations += batch;
    elapsed = now() - start;
    if (elapsed >= minSeconds) break;
  }
  return { iterations, seconds: elapsed };
}

let gcFn: (() => void) | undefined;

/**
 * Runs a full garbage collection. `pnpm bench` runs node with --expose-gc; without it (the
 * tests) the flag is turned on at run time and `gc` fetched from a fresh context, so the memory
 * workloads measure the same thing either way.
 */
export function gc(): void {
  if (gcFn === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g !== undefined) {
      gcFn = g;
    } else {
      v8.setFlagsFromString("--expose-gc");
      gcFn = vm.runInNewContext("gc") as () => void;
    }
  }
  gcFn();
}

/**
 * The fitted exponent k of `y = c * x^k` (least squares on ln y against ln x): 0 when y does
 * not grow with x, 1 when it grows linearly, 2 when quadratically.
 */
export function growthExponent(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2 || ys.length !== n) return NaN;
  const lx = xs.map(Math.log);
  const ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / n;
  const my = ly.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (lx[i]! - mx) * (ly[i]! - my);
    den += (lx[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/**
 * Names the growth of a per-unit cost from its exponent k (see {@link growthExponent}):
 * 'falling' (k < -0.2), 'flat' (|k| <= 0.2), 'sublinear' (k < 0.8), 'linear' (k < 1.2),
 * 'worse than linear'. The thresholds leave room for the noise of a shared machine.
 */
export function growthClass(k: number): "falling" | "flat" | "sublinear" | "linear" | "worse than linear" {
  if (k < -0.2) return "falling";
  if (k <= 0.2) return "flat";
  if (k < 0.8) return "sublinear";
  if (k < 1.2) return "linear";
  return "worse than linear";
}

/** The heap bytes in use: V8's heap plus the ArrayBuffer backing stores outside it. */
export function heapBytes(): { heapUsed: number; arrayBuffers: number; rss: number } {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss };
}
