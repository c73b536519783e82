// Runs the README's quick start and checks that it prints what its comments say.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runQuickStart } from "../../../scripts/test-helpers/readme.js";

test("README quick start runs and prints what its comments say", async () => {
  const { printed, expected } = await runQuickStart(new URL("../../raft/README.md", import.meta.url), (s) => import.meta.resolve(s));
  assert.equal(expected.length, 2);
  assert.deepEqual(printed, expected);
});
