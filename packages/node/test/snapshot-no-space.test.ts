/**
 * A snapshot save that fails on a full disk (code TSRAFT_WAL_NO_SPACE, DiskStorage's
 * WalNoSpaceError) stops the node at once, as a rejected persist does: DiskStorage's WAL refuses
 * every write after it, and a leader (its heartbeats need no write) would otherwise lead on
 * without being able to commit. Any other snapshot failure is logged and counted, and the node
 * goes on.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode } from "@tsraft/node";
import { leaderOf, persistTo } from "./mem-node.js";

const made: RaftNode[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await n.stop();
});

async function oneMember(saveError: () => Error): Promise<{ node: RaftNode; fatal: unknown[] }> {
  const storage = new MemoryStorage();
  const fatal: unknown[] = [];
  const node = new RaftNode({
    raft: { id: 1n, electionTick: 10, heartbeatTick: 1, storage },
    tickMs: 5,
    requestTimeoutMs: 3000,
    persist: persistTo(storage),
    send: () => {},
    apply: () => 0,
    restore: () => {},
    snapshot: {
      entries: 3,
      take: () => new Uint8Array([1]),
      save: async () => {
        throw saveError();
      },
    },
    onFatal: (err) => fatal.push(err),
  });
  made.push(node);
  await node.start({ bootstrap: [{ id: 1n }] });
  await leaderOf([node]);
  return { node, fatal };
}

async function proposeUntilStoppedOr(node: RaftNode, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    try {
      await node.propose(new Uint8Array([i]));
    } catch {
      return; // stopped
    }
  }
}

test("a full disk in a snapshot save stops the node (onFatal gets the error)", async () => {
  const noSpace = Object.assign(new Error("wal: no space left on the device (ENOSPC)"), { code: "TSRAFT_WAL_NO_SPACE" });
  const { node, fatal } = await oneMember(() => noSpace);
  await proposeUntilStoppedOr(node, 10);
  const end = Date.now() + 3000;
  while (fatal.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(fatal, [noSpace]);
  assert.equal(node.status().running, false);
});

test("any other snapshot save failure is counted and the node goes on", async () => {
  const { node, fatal } = await oneMember(() => new Error("some other failure"));
  await proposeUntilStoppedOr(node, 10);
  assert.deepEqual(fatal, []);
  assert.equal(node.status().running, true);
  assert.ok(node.stats().snapshotFailures >= 1, `snapshotFailures ${node.stats().snapshotFailures}`);
});
