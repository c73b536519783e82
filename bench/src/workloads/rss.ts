/**
 * cluster-3node-rss (no etcd counterpart; a new name): the peak resident set size of the
 * process that runs cluster-3node (3 voters, B in {1, 64}, N = 200,000, 128-byte payloads, the
 * same loop as cluster-3node). Each measurement is a fresh child node process (rss-child.ts)
 * that reports its peak RSS at the end (Linux: `VmHWM` of /proc/self/status, the high-water
 * mark of the process since exec; elsewhere `process.resourceUsage().maxRSS`, which on Linux
 * would include the parent's RSS at fork). The figure is the peak of the whole process, Node
 * itself (~40-60 MB with the modules loaded) included. `info.peakBeforeMB` is the same peak
 * read before the cluster was built, and `info.deltaMB` the difference: what running the
 * cluster added to the peak. All in MB (1e6 bytes). The child runs with --expose-gc, no warm-up (a
 * fresh process each time); min(runs, 3) children per B; lower is better.
 *
 * The peak depends on when V8 collects (the MemoryStorages hold every entry, the payload is one
 * shared buffer), so it says how much memory to provision, not the bytes per entry held (see
 * memory-entries for that).
 * @module
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median, type Figure, type Workload } from "../harness.js";

interface ChildResult {
  peakBeforeKiB: number;
  peakKiB: number;
  source: string;
  entriesPerSecond: number;
}

/**
 * Runs rss-child in a fresh node: the compiled .js under dist, or the .ts source under tsx (the
 * tests), with this process's loader flags (--import tsx, --conditions) but not its test flags.
 */
export function runChild(nodes: number, N: number, B: number, payload: number): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const ext = self.endsWith(".ts") ? ".ts" : ".js";
  const child = fileURLToPath(new URL(`../rss-child${ext}`, import.meta.url));
  const flags = process.execArgv.filter((a) => !a.startsWith("--test") && a !== "--expose-gc");
  const r = spawnSync(process.execPath, [...flags, "--expose-gc", child, String(nodes), String(N), String(B), String(payload)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) throw new Error(`cluster-3node-rss: child exited with ${r.status ?? r.signal}: ${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as ChildResult;
}

const mb = (kib: number) => Math.round((kib * 1024) / 1e5) / 10;

export const cluster3nodeRss: Workload = {
  name: "cluster-3node-rss",
  describe: "peak RSS (MB) of a fresh node process running cluster-3node (N = 200,000), one child process per run",
  async run(ctx) {
    const N = ctx.quick ? 2_000 : 200_000;
    const runs = Math.min(ctx.runs, 3);
    const out: Figure[] = [];
    for (const B of [1, 64]) {
      const rs: ChildResult[] = [];
      for (let r = 0; r < runs; r++) {
        rs.push(runChild(3, N, B, 128));
        ctx.progress(`cluster-3node-rss B=${B}: run ${r + 1}/${runs}: peak ${mb(rs[r]!.peakKiB)} MB (${mb(rs[r]!.peakBeforeKiB)} MB before the cluster)`);
      }
      out.push({
        name: "cluster-3node-rss",
        params: { B, N, payload: 128 },
        unit: "MB",
        runs: rs.map((x) => mb(x.peakKiB)),
        lowerIsBetter: true,
        info: {
          measure: `peak RSS of a fresh child process at its end, node included: ${rs[0]!.source}`,
          peakBeforeMB: rs.map((x) => mb(x.peakBeforeKiB)),
          deltaMB: rs.map((x) => mb(x.peakKiB - x.peakBeforeKiB)),
          entriesPerSecond: Math.round(median(rs.map((x) => x.entriesPerSecond))),
        },
      });
    }
    return out;
  },
};
