// Interaction scripts: multi-node scenarios in etcd-io/raft's command language, run by the
// harness in test/harness/interaction/. Two suites:
//
// - etcd's own scripts (../shared/vectors/etcd-testdata/interaction/*.txt, read from there and
//   never copied): every stanza must produce exactly etcd's output, unless the stanza is listed
//   in CONFORMANCE.md's "Deliberate deviations" of the interaction section (by `file:line`).
//   A listed stanza that matches is an error too, so the list never goes stale.
// - our own scripts (testdata/*.txt): every stanza must match; `REWRITE=1` rewrites them.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assertDatadriven, formatMismatches, runDatadriven, sharedVectorsPath } from "./harness/datadriven.js";
import { InteractionEnv, handle } from "./harness/interaction/handlers.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const etcdDir = sharedVectorsPath("etcd-testdata", "interaction");
const ourDir = resolve(here, "..", "testdata");

/** The `interaction/<file>.txt:<line>` stanzas CONFORMANCE.md lists as deliberate deviations. */
function listedDeviations(): Set<string> {
  const text = readFileSync(resolve(here, "..", "..", "raft", "CONFORMANCE.md"), "utf8");
  const section = text.split(/^## /m).find((s) => s.startsWith("interaction")) ?? "";
  const out = new Set<string>();
  for (const m of section.matchAll(/`(interaction\/[\w.-]+\.txt:\d+)`/g)) out.add(m[1]!);
  return out;
}

function scripts(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort();
}

describe("etcd interaction scripts", () => {
  const files = scripts(etcdDir);
  const listed = listedDeviations();
  test("the scripts are there", () => assert.ok(files.length >= 28, `expected etcd's interaction scripts in ${etcdDir}`));
  for (const f of files) {
    test(f, (t) => {
      const env = new InteractionEnv();
      const r = runDatadriven(join(etcdDir, f), (tc) => handle(env, tc));
      t.diagnostic(`${f}: ${r.matched}/${r.total} stanzas match`);
      const key = (pos: string): string => `interaction/${basename(pos)}`;
      const unlisted = r.mismatches.filter((m) => !listed.has(key(m.pos)));
      assert.equal(unlisted.length, 0, formatMismatches({ ...r, mismatches: unlisted }));
      const mismatched = new Set(r.mismatches.map((m) => key(m.pos)));
      const stale = [...listed].filter((k) => k.startsWith(`interaction/${f}:`) && !mismatched.has(k));
      assert.deepEqual(stale, [], "CONFORMANCE.md lists deviations that now match");
    });
  }
});

describe("our interaction scripts", () => {
  for (const f of scripts(ourDir)) {
    test(f, () => {
      const env = new InteractionEnv();
      assertDatadriven(join(ourDir, f), (tc) => handle(env, tc));
    });
  }
});
