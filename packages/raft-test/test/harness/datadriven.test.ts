// The datadriven reader: directives, arguments, input, single and double separators,
// comments, line continuation, and the runner's comparison and rewriting.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argValue, findArg, normalizeOutput, parseDatadriven, parseDirective, runDatadriven } from "./datadriven.js";

describe("datadriven parser", () => {
  test("directive arguments", () => {
    const d = parseDirective('cmd 1 2 key=val list=(1, 2,3) empty=() nested=(a + (b, c), d) "quoted arg" q="a b" flag');
    assert.equal(d.cmd, "cmd");
    assert.deepEqual(d.args, [
      { key: "1", vals: [] },
      { key: "2", vals: [] },
      { key: "key", vals: ["val"] },
      { key: "list", vals: ["1", "2", "3"] },
      { key: "empty", vals: [] },
      { key: "nested", vals: ["a + (b, c)", "d"] },
      { key: "quoted arg", vals: [] },
      { key: "q", vals: ["a b"] },
      { key: "flag", vals: [] },
    ]);
    assert.deepEqual(parseDirective('propose 1 "foo"').args, [
      { key: "1", vals: [] },
      { key: "foo", vals: [] },
    ]);
    assert.deepEqual(parseDirective("committed cfg=(1, 2) idx=(_,_)").args, [
      { key: "cfg", vals: ["1", "2"] },
      { key: "idx", vals: ["_", "_"] },
    ]);
    assert.throws(() => parseDirective("cmd a=(1,2"), /unterminated/);
    assert.throws(() => parseDirective("cmd a=1)"), /unbalanced/);
  });

  const file = [
    "# leading comment",
    "",
    "simple",
    "v1 v2",
    "  v3  ",
    "----",
    "line one",
    "line two",
    "",
    "# comment between stanzas",
    "enter-joint autoleave=true",
    "----",
    "config is already joint",
    "",
    "long \\",
    "  a=1 \\",
    "  b=(x,y)",
    "----",
    "----",
    "with",
    "",
    "blank lines",
    "----",
    "----",
    "",
    "empty-output",
    "----",
    "",
    "last",
    "----",
    "no trailing blank line",
  ].join("\n");

  test("stanzas", () => {
    const cases = parseDatadriven(file, "f.txt");
    assert.equal(cases.length, 5);
    const [a, b, c, d, e] = cases as [(typeof cases)[0], (typeof cases)[0], (typeof cases)[0], (typeof cases)[0], (typeof cases)[0]];
    assert.equal(a.pos, "f.txt:3");
    assert.equal(a.cmd, "simple");
    assert.equal(a.input, "v1 v2\n  v3");
    assert.equal(a.expected, "line one\nline two\n");
    assert.equal(b.pos, "f.txt:11");
    assert.equal(argValue(b, "autoleave"), "true");
    assert.equal(argValue(b, "missing"), undefined);
    assert.equal(b.input, "");
    assert.equal(b.expected, "config is already joint\n");
    assert.equal(c.cmd, "long");
    assert.deepEqual(findArg(c, "b")?.vals, ["x", "y"]);
    assert.equal(argValue(c, "a"), "1");
    assert.equal(c.expected, "with\n\nblank lines\n");
    assert.equal(d.expected, "");
    assert.equal(e.expected, "no trailing blank line\n");
  });

  test("a directive without separator is an error", () => {
    assert.throws(() => parseDatadriven("cmd\ninput\n", "g.txt"), /g\.txt:1: .*no "----" separator/);
    assert.throws(() => parseDatadriven("cmd\n----\n----\nx\n", "g.txt"), /unterminated/);
  });

  test("normalizeOutput adds a final newline to non-empty output", () => {
    assert.equal(normalizeOutput(""), "");
    assert.equal(normalizeOutput("x"), "x\n");
    assert.equal(normalizeOutput("x\n"), "x\n");
  });

  test("runner compares and rewrites", () => {
    const dir = mkdtempSync(join(tmpdir(), "dd-"));
    try {
      const path = join(dir, "t.txt");
      writeFileSync(path, file + "\n");
      const outputs: Record<string, string> = {
        simple: "line one\nline two",
        "enter-joint": "changed",
        long: "with\n\nblank lines\n",
        "empty-output": "now\n\nwith a blank",
        last: "no trailing blank line",
      };
      const r = runDatadriven(path, (tc) => outputs[tc.cmd]!);
      assert.equal(r.total, 5);
      assert.equal(r.matched, 3);
      assert.deepEqual(
        r.mismatches.map((m) => m.pos),
        [`${path}:11`, `${path}:26`],
      );
      assert.equal(r.mismatches[0]!.actual, "changed\n");
      // The rewritten file parses back to the actual outputs, comments and layout kept.
      writeFileSync(path, r.rewritten);
      const again = runDatadriven(path, (tc) => outputs[tc.cmd]!);
      assert.equal(again.matched, 5);
      const text = readFileSync(path, "utf8");
      assert.ok(text.startsWith("# leading comment\n\nsimple\n"));
      assert.ok(text.includes("# comment between stanzas\nenter-joint autoleave=true\n----\nchanged\n\n"));
      assert.ok(text.includes("empty-output\n----\n----\nnow\n\nwith a blank\n----\n----\n"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
