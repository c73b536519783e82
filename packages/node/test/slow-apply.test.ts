/**
 * The slow-apply measure (etcd's `slow_apply_total`): with a subscriber on SLOW_APPLY_CHANNEL, a
 * batch whose apply takes longer than SLOW_APPLY_MS is published and counted in stats(); without
 * one the apply is not timed at all (no clock reads per batch: they were 2% of a proposal's
 * instructions, see the prometheus README "Overhead"), so nothing is counted.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode, SLOW_APPLY_CHANNEL, SLOW_APPLY_MS } from "@tsraft/node";
import type { PersistRequest, SlowApplyMessage } from "@tsraft/node";

const enc = new TextEncoder();
const made: RaftNode[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await n.stop();
});

/** A one-member node whose apply busy-waits past SLOW_APPLY_MS for the payload "slow". */
async function oneMember(): Promise<RaftNode> {
  const storage = new MemoryStorage();
  const node = new RaftNode({
    raft: { id: 1n, electionTick: 10, heartbeatTick: 1, storage },
    tickMs: 5,
    requestTimeoutMs: 3000,
    persist: async (p: PersistRequest) => {
      if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
      if (p.entries.length > 0) storage.append(p.entries);
      if (p.hardState !== undefined) storage.setHardState(p.hardState);
    },
    send: () => {},
    apply: (e) => {
      if (new TextDecoder().decode(e.data) !== "slow") return 0;
      const end = performance.now() + SLOW_APPLY_MS + 20;
      while (performance.now() < end) {
        // a state machine that holds the thread
      }
      return 1;
    },
    restore: () => {},
  });
  made.push(node);
  await node.start({ bootstrap: [{ id: 1n }] });
  const end = Date.now() + 5000;
  while (node.leader() !== 1n) {
    if (Date.now() > end) throw new Error("no leader");
    await new Promise((r) => setTimeout(r, 5));
  }
  return node;
}

test("with a subscriber: a slow batch is published and counted, a fast one is not", async () => {
  const seen: SlowApplyMessage[] = [];
  const onMessage = (m: unknown): void => {
    seen.push(m as SlowApplyMessage);
  };
  subscribe(SLOW_APPLY_CHANNEL, onMessage);
  try {
    const node = await oneMember();
    await node.propose(enc.encode("fast"));
    assert.equal(seen.length, 0);
    await node.propose(enc.encode("slow"));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.node, 1n);
    assert.ok(seen[0]!.seconds > SLOW_APPLY_MS / 1000, `took ${seen[0]!.seconds} s`);
    assert.ok(seen[0]!.entries >= 1);
    assert.equal(node.stats().slowApplies, 1);
  } finally {
    unsubscribe(SLOW_APPLY_CHANNEL, onMessage);
  }
});

test("without a subscriber: applies are not timed, nothing is counted", async () => {
  const node = await oneMember();
  await node.propose(enc.encode("slow"));
  assert.equal(node.stats().slowApplies, 0);
});
