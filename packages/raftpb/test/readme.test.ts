/** The README's quick start runs, and prints what the README says it prints. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as raftpb from "@tsraft/raftpb";

test("README quick start", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  const expected = /```text\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code !== undefined && expected !== undefined, "README has a Quick start with a ts and a text block");
  // The snippet is plain JavaScript apart from its import, which we replace by the module.
  const body = code.replace(/^import \{([^}]*)\} from "@tsraft\/raftpb";$/m, "const {$1} = raftpb;");
  assert.notEqual(body, code, "the snippet imports from @tsraft/raftpb");
  const out: string[] = [];
  const console = { log: (...args: unknown[]) => out.push(args.map(String).join(" ")) };
  new Function("raftpb", "console", body)(raftpb, console);
  assert.equal(out.join("\n") + "\n", expected);
});
