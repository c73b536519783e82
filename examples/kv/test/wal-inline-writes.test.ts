/**
 * --wal-inline-writes: the members' WALs write and sync on the event loop's thread (the wal
 * README, "Inline writes"); the service works the same, the writes are applied everywhere.
 */
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { encodeCommand } from "@tsraft/example-kv";
import { InProcCluster } from "./helpers/inproc.js";

/** The option the member's WAL was opened with (private: read here only to see the flag arrived). */
function inlineWritesOf(c: InProcCluster, id: bigint): boolean {
  return (c.server(id).storage as unknown as { wal: { opts: { inlineWrites: boolean } } }).wal.opts.inlineWrites;
}

describe("--wal-inline-writes", { timeout: 60_000 }, () => {
  let c: InProcCluster | undefined;
  afterEach(async () => {
    await c?.cleanup();
    c = undefined;
  });

  for (const on of [false, true]) {
    test(`${on ? "on" : "off (the default)"}: each member's WAL is opened so, and 50 writes are applied on every member`, async () => {
      c = await InProcCluster.create(3, on ? ["--wal-inline-writes", "true"] : []);
      await c.startAll();
      const leader = await c.waitForLeader();
      for (const id of [1n, 2n, 3n]) assert.equal(inlineWritesOf(c, id), on, `member ${id}`);
      const s = c.server(leader);
      await Promise.all(Array.from({ length: 50 }, (_, i) => s.node.propose(encodeCommand({ op: "put", key: `k${i}`, value: `v${i}`, quota: 1 << 30 }))));
      const last = s.node.status().applied;
      for (const id of [1n, 2n, 3n]) {
        const deadline = Date.now() + 10_000;
        while (c.server(id).node.status().applied < last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(c.server(id).node.status().applied >= last, `member ${id} applied ${c.server(id).node.status().applied} of ${last}`);
      }
    });
  }
});
