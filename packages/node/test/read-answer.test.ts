/**
 * ReadIndex on a leader: the follower's answer that completes the quorum answers the readers in
 * the same turn (its `step` takes the read state at once), not on a later turn after the other
 * followers' redundant answers to the same heartbeat. In 1-client reads that turn is on the
 * critical path of every read.
 */
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode } from "@tsraft/node";
import type { PersistRequest } from "@tsraft/node";
import { MessageType } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";

const made: RaftNode[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await n.stop();
});

test("the heartbeat answer that completes a ReadIndex quorum resolves the read without another turn", async () => {
  const nodes = new Map<NodeId, RaftNode>();
  let hold: NodeId | undefined; // answers to this node's heartbeats are held, not delivered
  const held: Message[] = [];
  for (const id of [1n, 2n, 3n]) {
    const storage = new MemoryStorage();
    const node = new RaftNode({
      raft: { id, electionTick: 10, heartbeatTick: 1, storage },
      tickMs: 10,
      requestTimeoutMs: 3000,
      persist: async (p: PersistRequest) => {
        if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
        if (p.entries.length > 0) storage.append(p.entries);
        if (p.hardState !== undefined) storage.setHardState(p.hardState);
      },
      send: (msgs: readonly Message[]) => {
        for (const m of msgs) {
          if (m.to === hold && m.type === MessageType.MsgHeartbeatResp) {
            held.push(m);
            continue;
          }
          const to = nodes.get(m.to);
          if (to !== undefined) setImmediate(() => to.step(m));
        }
      },
      apply: () => 0,
      restore: () => {},
    });
    nodes.set(id, node);
    made.push(node);
  }
  for (const n of nodes.values()) await n.start({ bootstrap: [{ id: 1n }, { id: 2n }, { id: 3n }] });
  const end = Date.now() + 10_000;
  let leader: RaftNode | undefined;
  while ((leader = [...nodes.values()].find((n) => n.basicStatus().softState.raftState === "leader")) === undefined) {
    if (Date.now() > end) throw new Error("no leader");
    await new Promise((r) => setTimeout(r, 5));
  }
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
