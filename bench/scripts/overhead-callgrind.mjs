/**
 * The observability overhead of issue 15 in instructions per proposal, counted by callgrind
 * (`pnpm bench:overhead`; the figures are in packages/prometheus/README.md and bench/README.md).
 *
 *   node bench/scripts/overhead-callgrind.mjs [--warm W] [--n N] [--runs R] [--jobs J] [--out DIR] [--keep] [VARIANT...]
 *
 * A VARIANT is LABEL=ROOT or LABEL=ROOT:metrics, ROOT a built checkout (its packages' dist are
 * imported, as `pnpm bench` does) and `:metrics` binding @tsraft/prometheus to every member.
 * Default: the three of the goals, built from this checkout:
 *   stripped = a copy of this checkout with the observability sites taken out of the sources
 *              (strip-observability.mjs) and built: the baseline;
 *   default  = this checkout, no subscribers;
 *   metrics  = this checkout with prom-client bound (bindMetrics on each member).
 *
 * Workload (proposal-driver.mjs): driver-3node's cluster, three RaftNodes over MemoryStorage in
 * one process, one closed-loop proposer (C = 1) on the leader; W proposals of warm-up, a full
 * GC, W more, then N counted between two getrusage calls (callgrind dumps at each, so the
 * second dump is exactly the window). Defaults W = 3,000, N = 2,000: with them V8's optimizing
 * compiler has nothing left to do in the window (`--trace-opt` shows no compile there).
 * Repeatability: V8 runs with --predictable --predictable-gc-schedule (one thread, no concurrent
 * compiler or GC, a GC schedule that does not depend on time) and fixed hash and random seeds,
 * and nothing in the run depends on the clock (no ticks fall in it, the election is polled by
 * setImmediate, not a timer).
 * R rounds, each running every variant once in a rotated order, J runs at a time (counts do not
 * depend on load: on a busy machine more jobs get more of it). Each run takes 1-2 CPU-minutes
 * (valgrind runs node about 50x slower). Printed: one JSON line per run, then per variant the median, min and max of
 * instructions per proposal, and the ratio of each variant's median to the first's.
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const args = process.argv.slice(2);
let warm = 3000;
let n = 2000;
let runs = 3;
let jobs = 3;
let out;
let keep = false;
const variants = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--warm") warm = Number(args[++i]);
  else if (a === "--n") n = Number(args[++i]);
  else if (a === "--runs") runs = Number(args[++i]);
  else if (a === "--jobs") jobs = Number(args[++i]);
  else if (a === "--out") out = resolve(args[++i]);
  else if (a === "--keep") keep = true;
  else {
    const m = /^([\w-]+)=(.+?)(:metrics)?$/.exec(a);
    if (m === null) throw new Error(`bad variant ${a}: LABEL=ROOT or LABEL=ROOT:metrics`);
    variants.push({ label: m[1], root: resolve(m[2]), metrics: m[3] !== undefined });
  }
}
try {
  execFileSync("valgrind", ["--version"]);
} catch {
  console.error("overhead-callgrind: needs valgrind (apt-get install valgrind)");
  process.exit(2);
}
out ??= mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "tsraft-overhead-"));
mkdirSync(out, { recursive: true });
if (variants.length === 0) {
  const copy = join(out, "stripped-root");
  console.error(`overhead-callgrind: building the stripped copy in ${copy}`);
  rmSync(copy, { recursive: true, force: true });
  mkdirSync(copy);
  execFileSync("sh", ["-c", `tar -C "${repo}" --exclude=./.git -cf - . | tar -C "${copy}" -xf -`], { stdio: "inherit" });
  execFileSync("node", [join(here, "strip-observability.mjs"), copy], { stdio: "inherit" });
  execFileSync("node", [join(repo, "node_modules/typescript/bin/tsc"), "-b", join(copy, "tsconfig.json")], { stdio: "inherit" });
  variants.push(
    { label: "stripped", root: copy, metrics: false },
    { label: "default", root: repo, metrics: false },
    { label: "metrics", root: repo, metrics: true },
  );
}

const NODE_FLAGS = ["--expose-gc", "--predictable", "--predictable-gc-schedule", "--hash-seed=1", "--random-seed=1"];

/** Inclusive instructions of the first function whose line matches `re` (0 if none). */
function inclusive(annotated, re) {
  for (const line of annotated.split("\n")) if (re.test(line)) return Number(line.trim().split(/\s+/)[0].replaceAll(",", ""));
  return 0;
}

function runOne(v, round) {
  const file = join(out, `cg.${v.label}.${round}.out`);
  const argv = [
    "--tool=callgrind",
    "--dump-before=getrusage",
    `--callgrind-out-file=${file}`,
    "node",
    ...NODE_FLAGS,
    join(here, "proposal-driver.mjs"),
    v.root,
    String(warm),
    String(n),
  ];
  if (v.metrics) argv.push("metrics");
  return new Promise((ok, fail) => {
    const child = spawn("valgrind", argv, { stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("exit", (code) => {
      if (code !== 0) return fail(new Error(`${v.label} round ${round}: exit ${code}\n${log}`));
      const window = `${file}.2`;
      const annotated = execFileSync("callgrind_annotate", ["--inclusive=yes", window], { maxBuffer: 1 << 28 }).toString();
      const total = inclusive(annotated, /PROGRAM TOTALS/);
      const opt = inclusive(annotated, /Runtime_CompileOptimized|Runtime_CompileTurbofan/);
      const gc = inclusive(annotated, /Heap::CollectGarbage\(/);
      if (!keep) rmSync(window.replace(/\.2$/, ".1"), { force: true });
      ok({ label: v.label, round, total: total / n, mutator: (total - opt - gc) / n, compiler: opt / n, gc: gc / n });
    });
  });
}

const queue = [];
for (let r = 0; r < runs; r++) for (let k = 0; k < variants.length; k++) queue.push([variants[(k + r) % variants.length], r]);
const results = [];
async function worker() {
  for (let job = queue.shift(); job !== undefined; job = queue.shift()) {
    const res = await runOne(job[0], job[1]);
    results.push(res);
    console.log(
      JSON.stringify({ ...res, total: Math.round(res.total), mutator: Math.round(res.mutator), compiler: Math.round(res.compiler), gc: Math.round(res.gc) }),
    );
  }
}
const started = new Date();
console.error(
  `overhead-callgrind: ${variants.map((v) => v.label).join(", ")}; ${runs} rounds, warm ${warm}, n ${n}, ${jobs} at a time; ${started.toISOString()}`,
);
await Promise.all(Array.from({ length: jobs }, worker));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = [];
for (const v of variants) {
  const mine = results.filter((x) => x.label === v.label);
  const row = { variant: v.label, root: v.root, metrics: v.metrics, runs: mine.length };
  for (const k of ["total", "mutator", "compiler", "gc"]) {
    const xs = mine.map((x) => x[k]);
    const med = median(xs);
    row[k] = {
      median: Math.round(med),
      min: Math.round(Math.min(...xs)),
      max: Math.round(Math.max(...xs)),
      spreadPct: Number(((100 * (Math.max(...xs) - Math.min(...xs))) / med).toFixed(3)),
    };
  }
  summary.push(row);
}
const base = summary[0];
for (const row of summary) {
  row.ratioTotal = Number((row.total.median / base.total.median).toFixed(4));
  row.ratioMutator = Number((row.mutator.median / base.mutator.median).toFixed(4));
  console.log(JSON.stringify({ summary: row }));
}
console.error(`overhead-callgrind: done in ${Math.round((Date.now() - started.getTime()) / 1000)} s; callgrind files in ${out}`);
