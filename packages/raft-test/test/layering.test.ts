// Imports inside packages/raft go one way: quorum <- tracker <- confchange <- the rest.
//   quorum/      imports only quorum/ (and types of @tsraft/raftpb);
//   tracker/     only tracker/, quorum/ (and types of @tsraft/raftpb);
//   confchange/  only confchange/, tracker/, quorum/, ../errors.js and @tsraft/raftpb.
// raft.ts imports the per-role handlers (election.ts, membership.ts, step-*.ts,
// message-checks.ts); they may import only types from raft.ts, so that values flow one way, and
// no module of src/ is part of a cycle of value imports.
// Checked on the TypeScript syntax tree of every source file.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const src = resolve(fileURLToPath(import.meta.url), "../../../raft/src");

interface Import {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

/** Every module a source file imports or re-exports, and whether only types are imported. */
function importsOf(fileName: string, text: string): Import[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const out: Import[] = [];
  const lineOf = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      let typeOnly = false;
      if (clause !== undefined) {
        if (clause.isTypeOnly) typeOnly = true;
        else if (clause.name === undefined && clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings)) {
          const els = clause.namedBindings.elements;
          typeOnly = els.length > 0 && els.every((e) => e.isTypeOnly);
        }
      }
      out.push({ specifier: node.moduleSpecifier.text, typeOnly, line: lineOf(node) });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, line: lineOf(node) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      out.push({ specifier: ts.isStringLiteral(e) ? e.text : "<dynamic>", typeOnly: node.isTypeOnly, line: lineOf(node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const a = node.arguments[0];
      out.push({ specifier: a !== undefined && ts.isStringLiteral(a) ? a.text : "<dynamic>", typeOnly: false, line: lineOf(node) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ specifier: node.argument.literal.text, typeOnly: true, line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

interface Rule {
  /** Directories under src/ (or files, with their extension) that may be imported. */
  local: string[];
  /** Whether @tsraft/raftpb values (not only types) may be imported. */
  raftpbValues: boolean;
}

const rules: Record<string, Rule> = {
  quorum: { local: ["quorum"], raftpbValues: false },
  tracker: { local: ["tracker", "quorum"], raftpbValues: false },
  confchange: { local: ["confchange", "tracker", "quorum", "errors.ts"], raftpbValues: true },
};

/** The violations of `rule` by a file of package directory `dir`. */
function violations(dir: string, file: string, text: string, rule: Rule): string[] {
  const bad: string[] = [];
  for (const imp of importsOf(file, text)) {
    const where = `${relative(src, file)}:${imp.line}: ${JSON.stringify(imp.specifier)}`;
    if (imp.specifier === "@tsraft/raftpb") {
      if (!imp.typeOnly && !rule.raftpbValues) bad.push(`${where}: ${dir}/ may import only types from @tsraft/raftpb`);
      continue;
    }
    if (!imp.specifier.startsWith(".")) {
      bad.push(`${where}: ${dir}/ may not import packages other than @tsraft/raftpb`);
      continue;
    }
    const target = relative(src, resolve(dirname(file), imp.specifier)).replace(/\.js$/, ".ts");
    const top = target.split(/[\\/]/)[0]!;
    if (target.startsWith("..") || !rule.local.includes(top)) bad.push(`${where}: ${dir}/ may not import ${target}`);
  }
  return bad;
}

/** The modules raft.ts imports for the per-role handling; they may import only types of raft.ts. */
const handlers = ["election.ts", "membership.ts", "step-follower.ts", "step-leader.ts", "message-checks.ts"];

/** The violations of "only types from raft.ts" by handler module `file`. */
function handlerViolations(file: string, text: string): string[] {
  const bad: string[] = [];
  for (const imp of importsOf(file, text)) {
    if (!imp.specifier.startsWith(".") || imp.typeOnly) continue;
    const target = relative(src, resolve(dirname(file), imp.specifier)).replace(/\.js$/, ".ts");
    if (target === "raft.ts") bad.push(`${relative(src, file)}:${imp.line}: imports values from raft.ts (only types may be imported)`);
  }
  return bad;
}

/** Every .ts file under `dir`, recursively. */
function sourcesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) return sourcesUnder(path);
    return f.endsWith(".ts") ? [path] : [];
  });
}

/** The cycles of value imports among `files` (paths relative to src/, each cycle once). */
function valueImportCycles(files: ReadonlyMap<string, string>): string[][] {
  const edges = new Map<string, string[]>();
  for (const [file, text] of files) {
    const out: string[] = [];
    for (const imp of importsOf(file, text)) {
      if (!imp.specifier.startsWith(".") || imp.typeOnly) continue;
      out.push(relative(src, resolve(dirname(join(src, file)), imp.specifier)).replace(/\.js$/, ".ts"));
    }
    edges.set(file, out);
  }
  const cycles: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    if (done.has(f)) return;
    const at = stack.indexOf(f);
    if (at >= 0) {
      cycles.push([...stack.slice(at), f]);
      return;
    }
    stack.push(f);
    for (const t of edges.get(f) ?? []) visit(t);
    stack.pop();
    done.add(f);
  };
  for (const f of [...files.keys()].sort()) visit(f);
  return cycles;
}

describe("values flow one way between raft.ts and its handlers", () => {
  test("the handlers import only types from raft.ts", () => {
    const bad = handlers.flatMap((f) => {
      const path = join(src, f);
      return handlerViolations(path, readFileSync(path, "utf8"));
    });
    assert.deepEqual(bad, []);
  });

  test("no module of src/ is in a cycle of value imports", () => {
    const files = new Map(sourcesUnder(src).map((p) => [relative(src, p), readFileSync(p, "utf8")] as const));
    assert.ok(files.has("raft.ts") && files.has("tracker/progress.ts"), "sources found");
    assert.deepEqual(
      valueImportCycles(files).map((c) => c.join(" -> ")),
      [],
    );
  });

  test("the checkers catch a value import back into raft.ts", () => {
    const file = join(src, "election.ts");
    const text = [
      'import { newMessage, type Raft } from "./raft.js";',
      'import type { CampaignType } from "./raft.js";',
      'import { type StateType } from "./raft.js";',
      'import { hexId } from "./util.js";',
    ].join("\n");
    const bad = handlerViolations(file, text);
    assert.equal(bad.length, 1, bad.join("\n"));
    assert.match(bad[0]!, /election\.ts:1: imports values from raft\.ts/);
    const cycles = valueImportCycles(
      new Map([
        ["raft.ts", 'import { hup } from "./election.js";\nimport { hexId } from "./util.js";'],
        ["election.ts", text],
        ["util.ts", 'import type { Raft } from "./raft.js";'],
      ]),
    );
    assert.deepEqual(
      cycles.map((c) => c.join(" -> ")),
      ["election.ts -> raft.ts -> election.ts"],
    );
  });
});

describe("layering of quorum/, tracker/, confchange/", () => {
  for (const [dir, rule] of Object.entries(rules)) {
    test(`${dir}/ imports only what it may`, () => {
      const files = readdirSync(join(src, dir)).filter((f) => f.endsWith(".ts"));
      assert.ok(files.length > 0, `no sources in src/${dir}`);
      const bad = files.flatMap((f) => {
        const path = join(src, dir, f);
        return violations(dir, path, readFileSync(path, "utf8"), rule);
      });
      assert.deepEqual(bad, []);
    });
  }

  test("the checker catches violations", () => {
    const file = join(src, "quorum", "x.ts");
    const text = [
      'import { Progress } from "../tracker/progress.js";',
      'import { ConfChangeType } from "@tsraft/raftpb";',
      'import type { NodeId } from "@tsraft/raftpb";',
      'import { type ConfState } from "@tsraft/raftpb";',
      'export { x } from "../raft.js";',
      'import { readFileSync } from "node:fs";',
      'import { MajorityConfig } from "./majority.js";',
      'const m = await import("../confchange/index.js");',
      'type T = import("../log.js").RaftLog;',
    ].join("\n");
    const bad = violations("quorum", file, text, rules["quorum"]!);
    assert.equal(bad.length, 6, bad.join("\n"));
    assert.match(bad[0]!, /tracker\/progress\.ts/);
    assert.match(bad[1]!, /only types/);
    assert.match(bad[2]!, /raft\.ts/);
    assert.match(bad[3]!, /node:fs/);
    assert.match(bad[4]!, /confchange/);
    assert.match(bad[5]!, /log\.ts/);
  });
});
