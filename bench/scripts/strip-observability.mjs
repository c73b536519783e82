/**
 * Makes the "observability compiled out" baseline of overhead-callgrind.sh: rewrites the
 * sources of a COPY of the repository (never a checkout you work in) so that raft's trace
 * checks and RaftNode's observer, diagnostics-channel and apply-timing checks on the proposal
 * path are gone, as if they had never been written. Each rewrite must match exactly the number
 * of times given, so that a change of the sources fails here instead of silently measuring
 * something else. Usage: node strip-observability.mjs COPY (then `tsc -b` in COPY).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const copy = process.argv[2];
if (copy === undefined) throw new Error("usage: strip-observability.mjs COPY");

/** [file, pattern, replacement, expected matches] */
const edits = [
  // raft: every `if (….trace !== undefined) trace…(…);` statement
  ["packages/raft/src/raft.ts", /^\s*if \(this\.trace !== undefined\) trace\w+\([^;]*\);\n/gm, "", 8],
  ["packages/raft/src/raft.ts", /if \(moved && this\.trace !== undefined\) traceState\(this, "Commit"\);/g, "", 1],
  ["packages/raft/src/raw-node.ts", /^\s*if \(this\.raft\.trace !== undefined\) trace\w+\([^;]*\);\n/gm, "", 2],
  ["packages/raft/src/step-leader.ts", /^\s*if \(r\.trace !== undefined\) traceConfChange\([^;]*\);\n/gm, "", 1],
  // node: the checks on the proposal path
  ["packages/node/src/raft-node.ts", /^\s*if \(this\.observers\.size !== 0 && this\.raftState === "leader"\) this\.checkHeartbeats\(\);\n/gm, "", 1],
  ["packages/node/src/raft-node.ts", /^\s*this\.heartbeatAnswered\(m\.from\);\n/gm, "", 1],
  ["packages/node/src/raft-node.ts", /^\s*if \(peerRttChannel\.hasSubscribers \|\| this\.observers\.size !== 0\) this\.noteHeartbeats\(out\);\n/gm, "", 1],
  ["packages/node/src/raft-node.ts", /^\s*if \(this\.observers\.size !== 0\) this\.observeVotes\(out\);\n/gm, "", 1],
  ["packages/node/src/raft-node.ts", /^\s*if \(this\.observers\.size !== 0 && which !== "self"\) this\.observeVotes\(responses\);\n/gm, "", 1],
  ["packages/node/src/raft-node.ts", /const t0 = slowApplyChannel\.hasSubscribers \? this\.sched\.now\(\) : -1;/g, "const t0 = -1;", 1],
  ["packages/node/src/raft-node.ts", /^\s*if \(t0 >= 0\) this\.noteApplyTime\(t0, ents\.length\);\n/gm, "", 1],
];
for (const [file, re, rep, want] of edits) {
  const path = join(copy, file);
  const src = readFileSync(path, "utf8");
  const got = src.match(re)?.length ?? 0;
  if (got !== want) throw new Error(`${file}: ${re} matched ${got} times, expected ${want}`);
  writeFileSync(path, src.replace(re, rep));
}
// The imports and helpers left without callers would fail noUnusedLocals; the copy is only for measuring.
for (const file of new Set(edits.map((e) => e[0]))) {
  const path = join(copy, file);
  writeFileSync(path, `// @ts-nocheck (stripped copy, see bench/scripts/strip-observability.mjs)\n${readFileSync(path, "utf8")}`);
}
console.error(`stripped ${edits.length} kinds of observability sites in ${copy}`);
