/**
 * The benchmark harness: what a workload receives ({@link BenchContext}) and returns
 * ({@link Figure}s), and the timing helpers every workload shares.
 *
 * A workload measures `ctx.runs` runs of each figure and returns every run's value; main.ts
 * prints the median (`value`), min and max, as one JSON line per figure, joinable with etcd's
 * baseline lines on (name, params, unit).
 * @module
 */

/** What a workload gets from the command line. */
export interface BenchContext {
  quick: boolean;                 // --quick: tiny sizes, one run, for CI smoke
  runs: number;                   // runs per figure (default 5; --runs N)
  tmpdir: string;                 // where disk workloads write (--tmpdir, default os.tmpdir())
  progress(msg: string): void;    // progress line on stderr
}

/** One measured figure: the runs of one (name, params, unit). */
export interface Figure {
  name: string;
  params: Record<string, number | string>;
  unit: string;                   // 'entries/s' | 'MB/s' | 'bytes/entry' | ...
  runs: number[];                 // one measured value per run; value = median
  info?: Record<string, unknown>;
  lowerIsBetter?: boolean;
}

/** A benchmark workload, registered in workloads/index.ts. */
export interface Workload {
  name: string;
  describe: string;               // one line for the table/README
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

/** Runs a full garbage collection when node runs with --expose-gc (pnpm bench does). */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) g();
}
