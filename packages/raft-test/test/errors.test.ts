import { test } from "node:test";
import assert from "node:assert/strict";
import * as raft from "@tsraft/raft";
import { CompactedError, RaftError, ConfigError, RawNode } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";

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

test("a broken invariant is a RaftPanic: exported, with code TSRAFT_PANIC, and not a RaftError", () => {
  assert.equal(typeof raft.RaftPanic, "function", "RaftPanic is exported");
  const node = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), asyncStorageWrites: true });
  let err: unknown;
  try {
    node.advance(); // a misuse raft treats as a broken invariant
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof raft.RaftPanic, String(err));
  assert.ok(!(err instanceof RaftError), "a panic is not a RaftError (those leave the node healthy)");
  assert.equal((err as raft.RaftPanic).code, "TSRAFT_PANIC");
  assert.equal((err as Error).name, "RaftPanic");
  assert.match((err as Error).message, /^raft: advance\(\) must not be called/);
});
