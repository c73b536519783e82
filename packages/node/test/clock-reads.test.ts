/**
 * What the proposal path costs in clock reads (`Scheduler.now()`), the dearest part of the
 * observability costs (see the prometheus README "Overhead"): with a subscriber on
 * PEER_RTT_CHANNEL (as bindMetrics has) the heartbeats sent are timed, but a Ready whose messages
 * hold no heartbeat must not read the clock (reading it there was 821 instructions per proposal).
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { MemoryStorage } from "@tsraft/storage-memory";
import { PEER_RTT_CHANNEL, RaftNode, realScheduler } from "@tsraft/node";
import type { PersistRequest, Scheduler } from "@tsraft/node";
import type { Message, NodeId } from "@tsraft/raftpb";

const made: RaftNode[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await n.stop();
});

/** Three members in this process, no ticks during the test (a minute apart); returns the leader's clock-read count. */
async function cluster(): Promise<{ leader: RaftNode; reads: () => number }> {
  let reads = 0;
  const counting: Scheduler = {
    ...realScheduler,
    now: () => {
      reads++;
      return realScheduler.now();
    },
  };
  const nodes = new Map<NodeId, RaftNode>();
  const send = (msgs: readonly Message[]): void => {
    for (const m of msgs) queueMicrotask(() => nodes.get(m.to)?.step(m));
  };
  const ids = [1n, 2n, 3n];
  for (const id of ids) {
    const storage = new MemoryStorage();
    const node = new RaftNode({
      raft: { id, electionTick: 10, heartbeatTick: 1, storage },
      tickMs: 60_000,
      requestTimeoutMs: 600_000,
      strictReconfig: false,
      persist: async (p: PersistRequest) => {
        if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
        if (p.entries.length > 0) storage.append(p.entries);
        if (p.hardState !== undefined) storage.setHardState(p.hardState);
      },
      send,
      apply: () => 0,
      restore: () => {},
      ...(id === 1n ? { scheduler: counting } : {}),
    });
    nodes.set(id, node);
    made.push(node);
  }
  for (const node of nodes.values()) await node.start({ bootstrap: ids.map((id) => ({ id })) });
  const leader = nodes.get(1n)!;
  const end = Date.now() + 5000;
  for (let i = 0; [...nodes.values()].some((x) => x.leader() !== 1n); i++) {
    if (Date.now() > end) throw new Error("no leader");
    if (leader.leader() !== 1n && i % 16 === 0) leader.campaign();
    await new Promise((r) => setImmediate(r));
  }
  return { leader, reads: () => reads };
}

test("with a peer-rtt subscriber, proposals (no heartbeats among the messages) read no clock", async () => {
  const onMessage = (): void => {};
  subscribe(PEER_RTT_CHANNEL, onMessage);
  try {
    const { leader, reads } = await cluster();
    await leader.propose(new Uint8Array(0));
    const before = reads();
    for (let i = 0; i < 20; i++) await leader.propose(new Uint8Array(0));
    assert.equal(reads() - before, 0);
  } finally {
    unsubscribe(PEER_RTT_CHANNEL, onMessage);
  }
});
