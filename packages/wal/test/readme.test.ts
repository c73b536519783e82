// Runs the README's quick start and checks every line it prints against the comment of the
// console.log that printed it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runQuickStart } from "../../../scripts/test-helpers/readme.js";

test("README quick start runs and prints what its comments say", async () => {
  const { printed, expected } = await runQuickStart(new URL("../README.md", import.meta.url), (s) => import.meta.resolve(s));
  assert.ok(expected.length >= 4, "the quick start prints its results");
  assert.deepEqual(printed, expected);
});
