// rawnode-1node's loop (bench/src/workloads/rawnode.ts, rawnode1) for rawnode-callgrind.sh:
// a warm-up of 50,000 entries, then N measured entries at batch B. The script runs it twice
// under callgrind (N and 1) and divides the difference by N - 1, so start-up, warm-up and
// set-up cancel out. MODE "one-cycle" runs the same loop with `soleVoterCommitOnAppend` on.
// Usage: node --single-threaded --expose-gc bench/tools/rawnode-callgrind.mjs N [B] [MODE]
import { rawnode1 } from "../dist/workloads/rawnode.js";

const N = Number(process.argv[2] ?? 200_000);
const B = Number(process.argv[3] ?? 1);
const mode = process.argv[4] ?? "default";
const opts = mode === "one-cycle" ? { soleVoterCommitOnAppend: true } : {};
rawnode1(50_000, B, 128, opts);
rawnode1(N, B, 128, opts);
