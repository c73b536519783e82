/**
 * RaftNode.observe: the typed event stream (elections with votes, leader and role changes,
 * heartbeats failing and resuming, conf changes, fatal), the bounded queue of a slow
 * observer (drops counted, the node unaffected), and close().
 */
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode } from "@tsraft/node";
import type { PersistRequest, RaftEvent } from "@tsraft/node";

class Net {
  nodes = new Map<NodeId, RaftNode>();
  down = new Set<NodeId>();
  deliver(msgs: Message[]): void {
    for (const m of msgs) {
      if (this.down.has(m.to) || this.down.has(m.from)) continue;
      const to = this.nodes.get(m.to);
      if (to !== undefined) setImmediate(() => to.step(m));
    }
  }
}

/** Every node made, stopped after each test (also when it fails: a running node keeps the process alive). */
const made: RaftNode[] = [];
afterEach(async () => {
  for (const n of made.splice(0)) await n.stop();
});

function makeNode(net: Net, id: NodeId, failWhen: () => boolean = () => false): RaftNode {
  const storage = new MemoryStorage();
  const node = new RaftNode({
    raft: { id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
    tickMs: 5,
    requestTimeoutMs: 2000,
    persist: async (p: PersistRequest) => {
      if (failWhen()) throw new Error("disk gone");
      if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
      if (p.entries.length > 0) storage.append(p.entries);
      if (p.hardState !== undefined) storage.setHardState(p.hardState);
    },
    send: (msgs) => net.deliver(msgs),
    apply: () => 0,
    restore: () => {},
    onFatal: () => {},
  });
  net.nodes.set(id, node);
  made.push(node);
  return node;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const isLeader = (n: RaftNode): boolean => n.basicStatus().softState.raftState === "leader";

describe("RaftNode.observe", () => {
  test("an election, heartbeats failing and resuming, a conf change: typed events in order", async () => {
    const net = new Net();
    const ids = [1n, 2n, 3n];
    const nodes = ids.map((id) => makeNode(net, id));
    const events = new Map<NodeId, RaftEvent[]>(ids.map((id) => [id, []]));
    for (const [i, n] of nodes.entries()) n.observe((e) => void events.get(ids[i]!)!.push(e));
    for (const n of nodes) await n.start({ bootstrap: ids.map((id) => ({ id })) });
    await until("a leader", () => nodes.some(isLeader));
    const leader = nodes.find(isLeader)!;
    const lid = ids[nodes.indexOf(leader)]!;
    await until("events delivered", () => events.get(lid)!.some((e) => e.type === "role-change" && e.role === "leader"));
    const le = events.get(lid)!;
    const kinds = le.map((e) => e.type);
    // The winner asked for pre-votes, then votes, then led.
    const pre = le.findIndex((e) => e.type === "vote-requested" && e.preVote);
    const vote = le.findIndex((e) => e.type === "vote-requested" && !e.preVote);
    const led = le.findIndex((e) => e.type === "role-change" && e.role === "leader");
    assert.ok(pre >= 0 && vote > pre && led > vote, kinds.join(","));
    const req = le[vote] as Extract<RaftEvent, { type: "vote-requested" }>;
    assert.deepEqual([...req.peers].sort(), ids.filter((id) => id !== lid).sort());
    assert.ok(le.some((e) => e.type === "leader-change" && e.lead === lid));
    assert.ok(le.every((e) => typeof e.at === "number" && typeof e.term === "number"));
    // A follower granted its vote to the winner and saw it lead.
    await until("followers see the leader", () => ids.every((id) => events.get(id)!.some((e) => e.type === "leader-change" && e.lead === lid)));
    assert.ok(ids.some((id) => id !== lid && events.get(id)!.some((e) => e.type === "vote-granted" && e.candidate === lid && !e.preVote)));

    // A follower cut off: its heartbeats fail after an election timeout (10 ticks of 5 ms), and resume.
    const f = ids.find((id) => id !== lid)!;
    net.down.add(f);
    await until("heartbeats failing", () => le.some((e) => e.type === "peer-heartbeat-failing" && e.peer === f), 3000);
    const failing = le.find((e) => e.type === "peer-heartbeat-failing") as Extract<RaftEvent, { type: "peer-heartbeat-failing" }>;
    // Reported once silent for more than the election timeout (50 ms); silentMs is rounded to
    // whole milliseconds, so 50.3 ms reads 50.
    assert.ok(failing.silentMs >= 50, `silent ${failing.silentMs} ms`);
    net.down.delete(f);
    await until("heartbeats resumed", () => le.some((e) => e.type === "peer-heartbeat-resumed" && e.peer === f), 3000);
    assert.equal(le.filter((e) => e.type === "peer-heartbeat-failing").length, 1, "reported once while failing");

    await leader.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 9n, id: 0n });
    const isOurs = (e: RaftEvent): boolean => e.type === "conf-change-applied" && "nodeId" in e.change && e.change.nodeId === 9n;
    await until("conf change observed", () => le.some(isOurs));
    const cc = le.find(isOurs) as Extract<RaftEvent, { type: "conf-change-applied" }>;
    assert.deepEqual(cc.confState.learners, [9n]);
    for (const n of nodes) await n.stop();
  });

  test("a slow observer: its queue is bounded, drops are counted, the node and other observers go on", async () => {
    const net = new Net();
    const n = makeNode(net, 1n);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slowSeen: RaftEvent[] = [];
    const slow = n.observe(
      async (e) => {
        slowSeen.push(e);
        await gate; // stuck on its first event
      },
      { maxQueue: 2 },
    );
    const fastSeen: RaftEvent[] = [];
    const fast = n.observe((e) => void fastSeen.push(e));
    await n.start({ bootstrap: [{ id: 1n }] });
    await until("leader", () => isLeader(n));
    // Each conf change makes one event; the slow observer holds one and queues two.
    for (let i = 0; i < 6; i++) await n.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: BigInt(10 + i), id: 0n });
    // (bootstrap applied one conf change too: member 1)
    await until("fast observer saw them", () => fastSeen.filter((e) => e.type === "conf-change-applied").length === 7);
    const total = fastSeen.length;
    assert.equal(fast.dropped, 0);
    assert.equal(slowSeen.length, 1);
    assert.equal(slow.queued, 2);
    assert.equal(slow.dropped, total - 3);
    release();
    await until("slow observer drained", () => slow.queued === 0);
    assert.equal(slowSeen.length, 3);
    slow.close();
    fast.close();
    await n.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 99n, id: 0n });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fastSeen.length, total, "nothing after close()");
    await n.stop();
  });

  test("an observer that throws is counted and keeps receiving; maxQueue is checked", async () => {
    const net = new Net();
    const n = makeNode(net, 1n);
    let calls = 0;
    const o = n.observe(() => {
      calls++;
      throw new Error("observer bug");
    });
    await n.start({ bootstrap: [{ id: 1n }] });
    await until("leader", () => isLeader(n));
    await until("events", () => calls >= 2);
    assert.equal(o.errors, calls);
    assert.throws(() => n.observe(() => {}, { maxQueue: 0 }), { code: "TSRAFT_NODE_CONFIG" });
    await n.stop();
  });

  test("fatal: the last event", async () => {
    const net = new Net();
    let fail = false;
    const n = makeNode(net, 1n, () => fail);
    const seen: RaftEvent[] = [];
    n.observe((e) => void seen.push(e));
    await n.start({ bootstrap: [{ id: 1n }] });
    await until("leader", () => isLeader(n));
    fail = true;
    await n.propose(new Uint8Array([1])).catch(() => undefined);
    await until("fatal event", () => seen.some((e) => e.type === "fatal"));
    const f = seen.find((e) => e.type === "fatal") as Extract<RaftEvent, { type: "fatal" }>;
    assert.match(String(f.error), /disk gone/);
    await n.stop();
  });
});
