#!/usr/bin/env node
// Runs every package's tests with node's own test runner, TypeScript loaded by tsx, and
// workspace imports resolved to sources (the "@tsraft/source" export condition), so no build
// is needed and src and dist are never mixed in one process.
//
//   pnpm test                      every *.test.ts under packages/*/test (raft's are in
//                                  packages/raft-test/test), bench/test and examples/*/test
//   pnpm test packages/raftpb      only the test files under the given paths
//   pnpm test -- --test-name-pattern=vectors
//
// Each test file has a time limit (TEST_TIMEOUT_MS, default below; `--test-timeout=N` overrides
// it), so a hang fails that file fast instead of holding the run until an outer timeout.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(import.meta.url), "../..");

function findTests(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    if (name === "node_modules" || name === "dist") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

/**
 * The time limit. Node 20's runner applies `--test-timeout` to each test *file* (its
 * subprocess; measured: a file whose test spins is cancelled with "test timed out" at the
 * limit, the other files run on). Measured 2026-12-02, full `pnpm test` in 6 min 47 s at load
 * average 7-8 on the shared 2-core machine: the slowest test is examples/kv's fault injection,
 * 53 s (it runs 50 s by design), the next ones 26-30 s; 300 s is over 5 times the slowest file.
 */
const DEFAULT_TEST_TIMEOUT_MS = 300_000;

const args = process.argv.slice(2);
const paths = args.filter((a) => !a.startsWith("--"));
const flags = args.filter((a) => a.startsWith("--"));
if (!flags.some((f) => f.startsWith("--test-timeout"))) flags.push(`--test-timeout=${Number(process.env.TEST_TIMEOUT_MS ?? DEFAULT_TEST_TIMEOUT_MS)}`);
const roots =
  paths.length > 0
    ? paths.map((p) => resolve(p))
    : [
        ...readdirSync(join(root, "packages"))
          .sort()
          .map((p) => join(root, "packages", p, "test")),
        join(root, "bench", "test"),
        ...readdirSync(join(root, "examples"))
          .sort()
          .map((p) => join(root, "examples", p, "test")),
      ];
const files = roots.flatMap((r) => (r.endsWith(".test.ts") ? [r] : findTests(r, [])));
if (files.length === 0) {
  console.error("test: no test files found under", roots.join(", "));
  process.exit(1);
}
const res = spawnSync(process.execPath, ["--conditions=@tsraft/source", "--import", "tsx", "--test", "--test-reporter=spec", ...flags, ...files], {
  stdio: "inherit",
  cwd: root,
});
process.exit(res.status ?? 1);
