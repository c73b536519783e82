/**
 * A reader and runner for cockroachdb/datadriven test files, the format of etcd-io/raft's
 * scenario scripts:
 *
 * ```
 * # a comment
 * cmd pos-arg key=val key=(a, b, c) "quoted arg"
 * input line 1
 * input line 2
 * ----
 * expected output
 * (up to the first blank line)
 *
 * cmd2
 * ----
 * ----
 * output with
 *
 * blank lines (up to a ---- / ---- pair)
 * ----
 * ----
 * ```
 *
 * A directive line ending in `\` continues on the next line. Input is trimmed. Comparison is
 * exact, after adding a final newline to a non-empty actual output (as datadriven does). With
 * `REWRITE=1` the runner writes the actual outputs back (files inside this repository) or prints
 * the rewritten file (files elsewhere, such as the shared etcd vectors, which are never touched).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** One argument of a directive: `key`, `key=val` or `key=(v1, v2)`. */
export interface CmdArg {
  key: string;
  vals: string[];
}

/** One stanza of a datadriven file. */
export interface TestCase {
  /** `file:line` of the directive, for messages. */
  pos: string;
  /** The file path as given. */
  file: string;
  /** 1-based line of the directive. */
  line: number;
  /** The command (first word of the directive). */
  cmd: string;
  /** The arguments after the command, in order. */
  args: CmdArg[];
  /** The input lines between the directive and `----`, trimmed, joined by `\n`. */
  input: string;
  /** The expected output: each line followed by `\n` ("" when empty). */
  expected: string;
  /** Lines [expectedStart, expectedEnd) (0-based) of the file hold the expected block. */
  expectedStart: number;
  expectedEnd: number;
}

/** The repository root (this file is packages/raft-test/test/harness/datadriven.ts). */
export const repoRoot: string = resolve(fileURLToPath(import.meta.url), "../../../../..");

/** Path of a file under the shared vectors directory beside the repository. */
export function sharedVectorsPath(...parts: string[]): string {
  return resolve(repoRoot, "..", "shared", "vectors", ...parts);
}

/** Splits a directive line into words, keeping `(...)` groups and `"..."` strings whole. */
function splitDirective(line: string, pos: string): string[] {
  const words: string[] = [];
  let cur = "";
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      cur += ch;
      if (ch === "\\" && i + 1 < line.length) cur += line[++i];
      else if (ch === '"') quoted = false;
    } else if (ch === '"') {
      quoted = true;
      cur += ch;
    } else if (ch === "(") {
      depth++;
      cur += ch;
    } else if (ch === ")") {
      if (depth === 0) throw new Error(`${pos}: unbalanced ")" in ${JSON.stringify(line)}`);
      depth--;
      cur += ch;
    } else if ((ch === " " || ch === "\t") && depth === 0) {
      if (cur !== "") words.push(cur);
      cur = "";
    } else {
      cur += ch;
    }
  }
  if (quoted || depth !== 0) throw new Error(`${pos}: unterminated quote or "(" in ${JSON.stringify(line)}`);
  if (cur !== "") words.push(cur);
  return words;
}

/** Removes surrounding double quotes (with JSON-style escapes) if present. */
function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? (JSON.parse(s) as string) : s;
}

/** Splits `a, (b, c), d` at top-level commas, trimming each value. */
function splitValues(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = "";
  for (const ch of s) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === "(") depth++;
    else if (!quoted && ch === ")") depth--;
    if (ch === "," && depth === 0 && !quoted) {
      out.push(unquote(cur.trim()));
      cur = "";
    } else {
      cur += ch;
    }
  }
  out.push(unquote(cur.trim()));
  return out;
}

/** Parses a directive line into its command and arguments. */
export function parseDirective(line: string, pos = "<line>"): { cmd: string; args: CmdArg[] } {
  const words = splitDirective(line, pos);
  if (words.length === 0) return { cmd: "", args: [] };
  const args = words.slice(1).map((w): CmdArg => {
    const eq = w.startsWith('"') ? w.indexOf("=", w.indexOf('"', 1)) : w.indexOf("=");
    if (eq < 0) return { key: unquote(w), vals: [] };
    const key = unquote(w.slice(0, eq));
    const val = w.slice(eq + 1);
    if (val.length >= 2 && val.startsWith("(") && val.endsWith(")")) {
      const inner = val.slice(1, -1);
      return { key, vals: inner.trim() === "" ? [] : splitValues(inner) };
    }
    return { key, vals: [unquote(val)] };
  });
  return { cmd: words[0]!, args };
}

/** Parses the text of a datadriven file. */
export function parseDatadriven(text: string, file: string): TestCase[] {
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const cases: TestCase[] = [];
  let i = 0;
  while (i < lines.length) {
    const start = i;
    let line = lines[i++]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    while (line.endsWith("\\") && i < lines.length) line = line.slice(0, -1) + " " + lines[i++]!.trim();
    const pos = `${file}:${start + 1}`;
    const { cmd, args } = parseDirective(line, pos);
    const input: string[] = [];
    let separator = false;
    while (i < lines.length) {
      const l = lines[i++]!;
      if (l === "----") {
        separator = true;
        break;
      }
      input.push(l);
    }
    if (!separator) throw new Error(`${pos}: directive ${JSON.stringify(cmd)} has no "----" separator`);
    const expectedStart = i;
    let expected = "";
    if (i < lines.length && lines[i] === "----") {
      // Double separator: everything up to a "----" "----" pair, blank lines included.
      i++;
      for (;;) {
        if (i >= lines.length) throw new Error(`${pos}: unterminated "----" "----" block`);
        if (lines[i] === "----" && lines[i + 1] === "----") {
          i += 2;
          if (i < lines.length && lines[i]!.trim() !== "") throw new Error(`${file}:${i + 1}: non-blank line after "----" "----"`);
          break;
        }
        expected += lines[i++] + "\n";
      }
    } else {
      while (i < lines.length && lines[i]!.trim() !== "") expected += lines[i++] + "\n";
    }
    cases.push({
      pos,
      file,
      line: start + 1,
      cmd,
      args,
      input: input.join("\n").trim(),
      expected,
      expectedStart,
      expectedEnd: i,
    });
  }
  return cases;
}

/** Reads and parses a datadriven file. */
export function readDatadriven(path: string): TestCase[] {
  return parseDatadriven(readFileSync(path, "utf8"), path);
}

/** The argument `key` of a test case, or `undefined`. */
export function findArg(tc: TestCase, key: string): CmdArg | undefined {
  return tc.args.find((a) => a.key === key);
}

/** The single value of argument `key`, or `undefined` when the argument is absent. */
export function argValue(tc: TestCase, key: string): string | undefined {
  const a = findArg(tc, key);
  if (a === undefined) return undefined;
  if (a.vals.length !== 1) throw new Error(`${tc.pos}: ${key} needs exactly one value, got ${a.vals.length}`);
  return a.vals[0];
}

/** Normalises an actual output as datadriven does: a final newline if non-empty. */
export function normalizeOutput(actual: string): string {
  return actual !== "" && !actual.endsWith("\n") ? actual + "\n" : actual;
}

/** The outcome of running one file. */
export interface FileResult {
  file: string;
  total: number;
  matched: number;
  mismatches: { pos: string; cmd: string; expected: string; actual: string }[];
  /** The file text with every expected block replaced by the actual output. */
  rewritten: string;
}

/** Renders an output block in the file format (double separator when it has blank lines). */
function outputBlock(actual: string): string[] {
  const body = actual.endsWith("\n") ? actual.slice(0, -1) : actual;
  if (body === "") return [];
  const lines = body.split("\n");
  if (lines.some((l) => l.trim() === "")) return ["----", ...lines, "----", "----"];
  return lines;
}

/**
 * Runs `handler` on every stanza of a file, in order (the handler keeps whatever state the
 * script builds), and compares its outputs with the expected ones.
 */
export function runDatadriven(path: string, handler: (tc: TestCase) => string): FileResult {
  const text = readFileSync(path, "utf8");
  const cases = parseDatadriven(text, path);
  const res: FileResult = { file: path, total: cases.length, matched: 0, mismatches: [], rewritten: "" };
  const actuals: string[] = [];
  for (const tc of cases) {
    const actual = normalizeOutput(handler(tc));
    actuals.push(actual);
    if (actual === tc.expected) res.matched++;
    else res.mismatches.push({ pos: tc.pos, cmd: tc.cmd, expected: tc.expected, actual });
  }
  const lines = text.split("\n");
  const out: string[] = [];
  let at = 0;
  cases.forEach((tc, k) => {
    out.push(...lines.slice(at, tc.expectedStart), ...outputBlock(actuals[k]!));
    at = tc.expectedEnd;
  });
  out.push(...lines.slice(at));
  res.rewritten = out.join("\n");
  return res;
}

/** Formats the mismatches of a result for an assertion message. */
export function formatMismatches(r: FileResult): string {
  return r.mismatches.map((m) => `${m.pos}: ${m.cmd}\n--- expected\n${m.expected}--- actual\n${m.actual}`).join("\n");
}

/**
 * Runs a file and throws (with every mismatch) unless all stanzas match. With `REWRITE=1`, first
 * writes the actual outputs back into the file if it lies inside the repository, or prints the
 * rewritten file to stdout otherwise.
 */
export function assertDatadriven(path: string, handler: (tc: TestCase) => string): FileResult {
  const r = runDatadriven(path, handler);
  if (process.env["REWRITE"] === "1" && r.mismatches.length > 0) {
    if (!relative(repoRoot, resolve(path)).startsWith("..")) writeFileSync(path, r.rewritten);
    else process.stdout.write(`# rewritten ${path}\n${r.rewritten}\n`);
    return r;
  }
  if (r.mismatches.length > 0) {
    throw new Error(`${r.matched}/${r.total} stanzas of ${path} match\n${formatMismatches(r)}`);
  }
  return r;
}
