// Arrays raft shares are read-only to the type checker: a message's entries (often raft's one
// frozen empty list, or a slice of its log) and a Ready's entries and committed entries. Each
// `@ts-expect-error` below fails `pnpm run typecheck` if the push compiles again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EntryType, MessageType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { RawNode } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { newMessage } from "../../raft/src/messages.js";

const e: Entry = { term: 1, index: 1, type: EntryType.EntryNormal, data: undefined };

test("a new message's entries cannot be pushed to (the shared empty list is frozen)", () => {
  const m = newMessage(MessageType.MsgApp, 2n, 1n, 0);
  // @ts-expect-error: Message.entries is readonly Entry[]
  assert.throws(() => m.entries.push(e), TypeError);
  m.entries = [e];
  assert.equal(m.entries.length, 1);
});

test("a Ready's entries and committedEntries are read-only", () => {
  const n = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage() });
  n.bootstrap([{ id: 1n }]);
  const rd = n.ready();
  // @ts-expect-error: Ready.entries is readonly Entry[]
  rd.entries.push;
  // @ts-expect-error: Ready.committedEntries is readonly Entry[]
  rd.committedEntries.push;
  assert.ok(Array.isArray(rd.entries));
});
