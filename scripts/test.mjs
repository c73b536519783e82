#!/usr/bin/env node
// Runs every package's tests with node's own test runner, TypeScript loaded by tsx, and
// workspace imports resolved to sources (the "@tsraft/source" export condition), so no build
// is needed and src and dist are never mixed in one process.
//
//   pnpm test                      every *.test.ts under packages/*/test (raft's are in
//                                  packages/raft-test/test), bench/test and examples/*/test
//   pnpm test packages/raftpb      only the test files under the given paths
//   pnpm test -- --test-name-pattern=vectors
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

const args = process.argv.slice(2);
const paths = args.filter((a) => !a.startsWith("--"));
const flags = args.filter((a) => a.startsWith("--"));
const roots = paths.length > 0
  ? paths.map((p) => resolve(p))
  : [
      ...readdirSync(join(root, "packages")).sort().map((p) => join(root, "packages", p, "test")),
      join(root, "bench", "test"),
      ...readdirSync(join(root, "examples")).sort().map((p) => join(root, "examples", p, "test")),
    ];
const files = roots.flatMap((r) => (r.endsWith(".test.ts") ? [r] : findTests(r, [])));
if (files.length === 0) {
  console.error("test: no test files found under", roots.join(", "));
  process.exit(1);
}
const res = spawnSync(
  process.execPath,
  ["--conditions=@tsraft/source", "--import", "tsx", "--test", "--test-reporter=spec", ...flags, ...files],
  { stdio: "inherit", cwd: root },
);
process.exit(res.status ?? 1);
