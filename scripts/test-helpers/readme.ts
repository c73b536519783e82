/**
 * Runs the quick start of a package README (the first ```ts block under "## Quick start"),
 * unchanged but for its imports, and returns what it printed next to what its comments say it
 * prints: every `console.log(...); // text` line expects `text`. Shared by the packages'
 * readme tests so that no README can drift from the API.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export interface QuickStartRun {
  /** The lines the code printed with console.log. */
  printed: string[];
  /** The lines its `// ...` comments promise, in order. */
  expected: string[];
}

/**
 * @param readmeUrl the README file.
 * @param resolve `import.meta.resolve` of the calling test, so that the quick start's
 *   `@tsraft/...` imports resolve to the sources the test itself resolves.
 */
export async function runQuickStart(readmeUrl: URL, resolve: (spec: string) => string): Promise<QuickStartRun> {
  const readme = readFileSync(readmeUrl, "utf8");
  const start = readme.indexOf("## Quick start");
  if (start < 0) throw new Error(`${readmeUrl.pathname} has no "## Quick start" section`);
  const m = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (m === null) throw new Error(`${readmeUrl.pathname} has no \`\`\`ts block under "## Quick start"`);
  const code = m[1]!;
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((x) => x[1]!);
  // The temporary module lives outside the workspace: point the package imports at sources.
  const runnable = code.replace(/from "(@tsraft\/[a-z-]+(?:\/[a-z-]+)?)"/g, (_, spec: string) => `from "${resolve(spec)}"`);
  const dir = mkdtempSync(join(tmpdir(), "tsraft-readme-"));
  const file = join(dir, "quick-start.mts"); // ESM: a quick start may await at top level
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
  return { printed, expected };
}
