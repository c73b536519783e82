/**
 * The peer round-trip measure (`tsraft:node:peer-rtt`, etcd's peer_round_trip_time_seconds):
 * a leader publishes at most one round trip per follower and tick, however many heartbeats
 * ReadIndex sends (each read batch is a heartbeat round: publishing every answer cost a leader
 * about 3% of its CPU in 1-client reads).
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { PEER_RTT_CHANNEL, type RaftNode } from "@tsraft/node";
import type { PeerRttMessage } from "@tsraft/node";
import { leaderOf, memCluster } from "./mem-node.js";

const TICK_MS = 20;
const made: RaftNode[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await n.stop();
});

function cluster(): RaftNode[] {
  return [...memCluster({ ids: [1n, 2n, 3n], tickMs: TICK_MS, made }).values()];
}

test("a leader publishes at most one round trip per follower and tick, not one per ReadIndex heartbeat", async () => {
  const seen: PeerRttMessage[] = [];
  const onMessage = (m: unknown): void => {
    seen.push(m as PeerRttMessage);
  };
  subscribe(PEER_RTT_CHANNEL, onMessage);
  try {
    const nodes = cluster();
    const peers = [{ id: 1n }, { id: 2n }, { id: 3n }];
    for (const n of nodes) await n.start({ bootstrap: peers });
    const leader = await leaderOf(nodes);
    await leader.propose(new Uint8Array([1])); // a committed entry of its term: ReadIndex answers now
    seen.length = 0;
    const t0 = performance.now();
    const READS = 300;
    for (let i = 0; i < READS; i++) await leader.readIndex(); // one heartbeat round each
    const ticks = Math.ceil((performance.now() - t0) / TICK_MS);
    const leaderId = leader.basicStatus().id;
    const mine = seen.filter((m) => m.node === leaderId);
    assert.ok(mine.length > 0, "round trips are published");
    for (const peer of [1n, 2n, 3n].filter((p) => p !== leaderId)) {
      const n = mine.filter((m) => m.peer === peer).length;
      assert.ok(n <= ticks + 1, `${n} round trips published for peer ${peer} in ${ticks} ticks (${READS} reads)`);
    }
    assert.ok(ticks < READS / 3, `the reads took ${ticks} ticks: too slow for the test to tell`);
    for (const m of mine) assert.ok(m.seconds >= 0 && m.seconds < 1, `a round trip of ${m.seconds} s`);
  } finally {
    unsubscribe(PEER_RTT_CHANNEL, onMessage);
  }
});
