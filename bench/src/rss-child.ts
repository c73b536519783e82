/**
 * The child process of cluster-3node-rss: runs one cluster-Nnode measurement in a fresh node
 * process and prints `{peakBeforeKiB, peakKiB, source, entriesPerSecond}` as one JSON line: the
 * peak resident set size of this process before the cluster is built (node + the modules
 * loaded) and at the end, in KiB.
 *
 * The peak is `VmHWM` of /proc/self/status (Linux): the high-water mark of this process image,
 * reset by exec. `process.resourceUsage().maxRSS` is not used where /proc is available: Linux
 * carries the parent's RSS at fork into the child's maxRSS across exec, so a child of a bench
 * process that holds 300 MB would report at least 300 MB.
 *
 * Usage: node rss-child.js NODES N B PAYLOAD
 * @module
 */
import { readFileSync } from "node:fs";
import { clusterRun } from "./workloads/rawnode.js";

function peakKiB(): { kib: number; source: string } {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m !== null) return { kib: Number(m[1]), source: "VmHWM (/proc/self/status)" };
  } catch {
    // not Linux
  }
  return { kib: process.resourceUsage().maxRSS, source: "process.resourceUsage().maxRSS" };
}

const [nodes, N, B, payload] = process.argv.slice(2).map(Number);
if (nodes === undefined || N === undefined || B === undefined || payload === undefined || [nodes, N, B, payload].some((x) => !Number.isInteger(x) || x <= 0)) {
  process.stderr.write("usage: rss-child NODES N B PAYLOAD\n");
  process.exit(2);
}
const before = peakKiB();
const entriesPerSecond = clusterRun(nodes, N, B, payload);
const after = peakKiB();
process.stdout.write(JSON.stringify({ peakBeforeKiB: before.kib, peakKiB: after.kib, source: after.source, entriesPerSecond }) + "\n");
