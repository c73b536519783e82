// One log-growth run (bench/src/workloads/scaling.ts) with a getrusage() call at each window
// boundary and nowhere else, for log-growth-callgrind.sh: callgrind dumps its counters there.
// The warm-up gets the same callback (marking nothing), so the measured run's code is the
// warm-up's: a callback seen for the first time deoptimizes the loop.
// Usage: node --single-threaded --expose-gc bench/tools/log-growth-callgrind.mjs COMPACT_EVERY [TOTAL]
import { logGrowthRun } from "../dist/workloads/scaling.js";

const compactEvery = Number(process.argv[2] ?? 0);
const total = Number(process.argv[3] ?? 1_000_000);
let marking = false;
const mark = () => {
  if (marking) process.cpuUsage();
};
logGrowthRun(100_000, 10_000, 10_000, mark); // warm-up, as the workload does
marking = true;
logGrowthRun(total, total / 10, compactEvery, mark);
