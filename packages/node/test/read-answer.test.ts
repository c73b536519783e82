/**
 * ReadIndex on a leader: the follower's answer that completes the quorum answers the readers in
 * the same turn (its `step` takes the read state at once), not on a later turn after the other
 * followers' redundant answers to the same heartbeat. In 1-client reads that turn is on the
 * critical path of every read.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import type { RaftNode } from "@tsraft/node";
import { MessageType } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { leaderOf, memCluster } from "./mem-node.js";

const made: RaftNode[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await n.stop();
});

test("the heartbeat answer that completes a ReadIndex quorum resolves the read without another turn", async () => {
  let hold: NodeId | undefined; // answers to this node's heartbeats are held, not delivered
  const held: Message[] = [];
  const nodes = memCluster({
    ids: [1n, 2n, 3n],
    tickMs: 10,
    made,
    intercept: (m) => {
      if (m.to !== hold || m.type !== MessageType.MsgHeartbeatResp) return false;
      held.push(m);
      return true;
    },
  });
  for (const n of nodes.values()) await n.start({ bootstrap: [{ id: 1n }, { id: 2n }, { id: 3n }] });
  const leader = await leaderOf([...nodes.values()]);
  await leader.propose(new Uint8Array([1])); // an entry of its term is committed: reads are answered
  hold = leader.basicStatus().id;
  let resolved = false;
  const read = leader.readIndex().then(
    () => {
      resolved = true;
    },
    () => {}, // a failure shows as resolved === false below
  );
  const until = Date.now() + 5000;
  while (!held.some((m) => m.context !== undefined && m.context.length > 0)) {
    if (Date.now() > until) throw new Error("no answer to the read's heartbeat");
    await new Promise((r) => setTimeout(r, 1));
  }
  // Step the held answers one at a time; after each, only microtasks may run (no timer, no immediate).
  let steppedBeforeResolved = 0;
  for (const m of held.splice(0)) {
    leader.step(m);
    steppedBeforeResolved++;
    for (let i = 0; i < 10; i++) await Promise.resolve();
    if (resolved) break;
  }
  assert.ok(resolved, `the read was not answered in the turn of the answer (${steppedBeforeResolved} answers stepped)`);
  hold = undefined;
  await read;
});
