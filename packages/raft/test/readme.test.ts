// Runs the README's quick start, unchanged but for its imports, and checks every line it
// prints against the `// expected output` comment of the console.log that printed it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

test("README quick start runs and prints what its comments say", async () => {
  const section = readme.slice(readme.indexOf("## Quick start"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README has a ```ts block under ## Quick start");
  const code = m[1]!;
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((x) => x[1]!);
  assert.equal(expected.length, 2);
  const runnable = code.replace(/from "(@tsraft\/[a-z-]+(?:\/[a-z-]+)?)"/g, (_, spec: string) => `from "${import.meta.resolve(spec)}"`);
  const dir = mkdtempSync(join(tmpdir(), "tsraft-raft-readme-"));
  const file = join(dir, "quick-start.ts");
  writeFileSync(file, runnable);
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void printed.push(args.map(String).join(" "));
  try {
    await import(pathToFileURL(file).href);
  } finally {
    console.log = log;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(printed, expected);
});
