// What raft's published .d.ts leaves out: `RawNode.raft` (the internal state machine) is marked
// `@internal` and raft compiles with `stripInternal`, so applications cannot reach it through
// the types. Checked by emitting raw-node.ts's declarations the way `tsc -b` does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const raft = resolve(fileURLToPath(import.meta.url), "../../../raft");

/** The .d.ts text of raft's raw-node.ts with `stripInternal` as raft's tsconfig sets it. */
function rawNodeDeclarations(stripInternal: boolean): string {
  const text = readFileSync(resolve(raft, "src/raw-node.ts"), "utf8");
  const out = ts.transpileDeclaration(text, {
    fileName: "raw-node.ts",
    compilerOptions: { stripInternal, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext },
  });
  return out.outputText;
}

test("raft's tsconfig strips @internal members from the .d.ts", () => {
  const cfg = ts.readConfigFile(resolve(raft, "tsconfig.json"), ts.sys.readFile);
  assert.equal(cfg.config?.compilerOptions?.stripInternal, true);
});

test("RawNode.raft is not in the published declarations", () => {
  const dts = rawNodeDeclarations(true);
  assert.match(dts, /class RawNode/);
  assert.doesNotMatch(dts, /\braft: Raft\b/);
  // The check can fail: without stripInternal the member is there.
  assert.match(rawNodeDeclarations(false), /\braft: Raft\b/);
});
