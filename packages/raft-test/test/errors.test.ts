import { test } from "node:test";
import assert from "node:assert/strict";
import { CompactedError, RaftError, ConfigError } from "@tsraft/raft";

test("errors carry a stable code and name and extend RaftError", () => {
  const e = new CompactedError();
  assert.ok(e instanceof RaftError);
  assert.ok(e instanceof Error);
  assert.equal(e.code, "TSRAFT_COMPACTED");
  assert.equal(e.name, "CompactedError");
  const c = new ConfigError("electionTick", "must be greater than heartbeatTick");
  assert.equal(c.field, "electionTick");
  assert.match(c.message, /electionTick/);
});
