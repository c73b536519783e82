// Runs the README's quick start, unchanged but for its imports, and checks every line it
// prints against the `// expected output` comment of the console.log that printed it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

function quickStart(): string {
  const section = readme.slice(readme.indexOf("## Quick start"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README has a ```ts block under ## Quick start");
  return m[1]!;
}

test("README quick start runs and prints what its comments say", async () => {
  const code = quickStart();
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]!);
  assert.ok(expected.length >= 5, "the quick start prints its results");
  // The temporary module lives outside the workspace: point the package imports at the
  // sources this test resolves (the @tsraft/source condition).
  const runnable = code.replace(/from "(@tsraft\/[a-z-]+(?:\/[a-z-]+)?)"/g, (_, spec: string) => `from "${import.meta.resolve(spec)}"`);
  const dir = mkdtempSync(join(tmpdir(), "tsraft-readme-"));
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
