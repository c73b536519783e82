// asyncStorageWrites: the Ready carries MsgStorageAppend / MsgStorageApply for the local storage
// threads; acknowledgements (appends, votes) leave only once the write is durable (they ride in
// the append message's responses); the leader's own write runs in parallel with replication.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, MessageType, NONE } from "@tsraft/raftpb";
import type { Message } from "@tsraft/raftpb";
import { Network, enc, entsOfTerms, mkNode, msg, newStorage } from "./harness/network.js";

const types = (ms: readonly Message[]) => ms.map((m) => MessageType[m.type]);

function cluster(): Network {
  const net = new Network([1n, 2n, 3n], { asyncStorageWrites: true });
  net.stabilize();
  net.elect(1n);
  return net;
}

describe("asyncStorageWrites", () => {
  test("a follower's append acknowledgement leaves only with the write (in MsgStorageAppend's responses)", () => {
    const s = newStorage({ voters: [1n, 2n, 3n], entries: entsOfTerms(1, [1]), hardState: { term: 1, vote: NONE, commit: 1 } });
    const n = mkNode(2n, s, { asyncStorageWrites: true, applied: 1 });
    n.step(msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 1, index: 1, logTerm: 1, commit: 2, entries: entsOfTerms(2, [1]) }));
    const rd = n.ready();
    assert.deepEqual(types(rd.messages), ["MsgStorageAppend"], "no MsgAppResp before the write");
    const app = rd.messages[0]!;
    assert.equal(app.to, LOCAL_APPEND_THREAD);
    assert.deepEqual(
      app.entries.map((e) => e.index),
      [2],
    );
    assert.equal(app.commit, 2);
    assert.deepEqual(types(app.responses ?? []), ["MsgAppResp", "MsgStorageAppendResp"]);
    assert.equal(app.responses![0]!.to, 1n);
    // The committed entry is not applied before it is durable locally.
    assert.deepEqual(rd.committedEntries, []);
    // The write completes: the storage thread steps its answer back.
    s.append(app.entries);
    s.setHardState({ term: app.term, vote: app.vote!, commit: app.commit });
    n.step(app.responses![1]!);
    const rd2 = n.ready();
    assert.deepEqual(
      rd2.committedEntries.map((e) => e.index),
      [2],
    );
    const apply = rd2.messages.find((m) => m.type === MessageType.MsgStorageApply)!;
    assert.equal(apply.to, LOCAL_APPLY_THREAD);
    assert.deepEqual(types(apply.responses ?? []), ["MsgStorageApplyResp"]);
    n.step(apply.responses![0]!);
    assert.equal(n.basicStatus().applied, 2);
  });

  test("a vote is sent only with the write of the HardState holding it", () => {
    const s = newStorage({ voters: [1n, 2n, 3n] });
    const n = mkNode(2n, s, { asyncStorageWrites: true });
    n.step(msg({ type: MessageType.MsgVote, from: 3n, to: 2n, term: 5 }));
    const rd = n.ready();
    assert.deepEqual(types(rd.messages), ["MsgStorageAppend"]);
    const app = rd.messages[0]!;
    assert.deepEqual([app.term, app.vote], [5, 3n]);
    assert.deepEqual(types(app.responses ?? []), ["MsgVoteResp"]);
    assert.equal(app.responses![0]!.reject, false);
    assert.equal(rd.mustSync, true);
  });

  test("advance() is not used in this mode", () => {
    const s = newStorage({ voters: [1n] });
    const n = mkNode(1n, s, { asyncStorageWrites: true });
    n.campaign();
    const rd = n.ready();
    assert.throws(() => n.advance(rd));
  });

  test("the leader's own write runs in parallel with replication", () => {
    const net = cluster();
    const l = net.get(1n);
    l.node.propose(enc("x"));
    const rd = l.node.ready();
    // Appends to the followers and the local write go out in the same Ready.
    const appsOut = rd.messages.filter((m) => m.type === MessageType.MsgApp);
    assert.deepEqual(
      appsOut.map((m) => m.to),
      [2n, 3n],
    );
    const write = rd.messages.find((m) => m.type === MessageType.MsgStorageAppend)!;
    const index = write.entries[0]!.index;
    assert.ok(
      write.responses!.some((m) => m.type === MessageType.MsgAppResp && m.to === 1n && m.index === index),
      "the leader's self-ack waits for its write",
    );
    // The followers persist and acknowledge before the leader's own write completes.
    for (const m of appsOut) net.deliver(m);
    for (const id of [2n, 3n]) {
      net.processReady(id);
      while (net.processAppendThread(id));
    }
    net.deliverAll();
    assert.equal(l.storage.lastIndex(), index - 1, "the leader has not written the entry yet");
    assert.equal(net.commit(1n), index, "committed by the followers' acknowledgements");
    // But the leader applies it only once it is durable locally.
    const rd2 = l.node.ready();
    assert.deepEqual(rd2.committedEntries, []);
    assert.ok(!rd2.messages.some((m) => m.type === MessageType.MsgStorageApply));
    for (const m of [write, ...rd2.messages.filter((m) => m.to === LOCAL_APPEND_THREAD)]) l.appendQueue.push(m);
    for (const m of rd2.messages.filter((m) => m.to !== LOCAL_APPEND_THREAD)) net.queue.push(m);
    while (net.processAppendThread(1n));
    const rd3 = l.node.ready();
    assert.deepEqual(
      rd3.committedEntries.map((e) => e.index),
      [index],
    );
    for (const m of rd3.messages) {
      if (m.to === LOCAL_APPLY_THREAD) l.applyQueue.push(m);
      else if (m.to === LOCAL_APPEND_THREAD) l.appendQueue.push(m);
      else net.queue.push(m);
    }
    net.stabilize();
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["x"]);
  });

  test("Readies may be taken back to back while writes are in flight; nothing is handed out twice", () => {
    const net = cluster();
    const l = net.get(1n);
    const seen = new Set<number>();
    for (let i = 0; i < 5; i++) {
      l.node.propose(enc(`p${i}`));
      const rd = l.node.ready();
      for (const e of rd.entries) {
        assert.ok(!seen.has(e.index));
        seen.add(e.index);
      }
      for (const m of rd.messages) {
        if (m.to === LOCAL_APPEND_THREAD) l.appendQueue.push(m);
        else if (m.to === LOCAL_APPLY_THREAD) l.applyQueue.push(m);
        else net.queue.push(m);
      }
    }
    assert.equal(seen.size, 5);
    assert.equal(l.appendQueue.length, 5, "five writes in flight");
    net.stabilize();
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["p0", "p1", "p2", "p3", "p4"]);
  });

  test("a whole cluster in async mode: elections, replication, a restart losing unfinished writes", () => {
    const net = cluster();
    for (let i = 0; i < 5; i++) net.get(1n).node.propose(enc(`a${i}`));
    net.stabilize();
    // Node 3 takes entries but crashes before its writes complete.
    net.get(1n).node.propose(enc("b"));
    net.processReady(1n);
    net.deliverAll();
    net.processReady(3n);
    assert.ok(net.get(3n).appendQueue.length > 0);
    net.restart(3n);
    net.stabilize();
    net.tickStabilize(3);
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["a0", "a1", "a2", "a3", "a4", "b"]);
    // A new leader in async mode.
    net.isolate(1n);
    for (let i = 0; i < 40 && (net.leader() === undefined || net.leader()!.id === 1n); i++) {
      net.tickAll();
      net.stabilize();
    }
    const l = net.leader()!;
    net.get(l.id).node.propose(enc("c"));
    net.stabilize();
    net.heal();
    net.tickStabilize(3);
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id).at(-1), "c", `node ${id}`);
  });
});
