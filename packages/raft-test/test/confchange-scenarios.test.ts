// Membership changes on a network of RawNodes: adding a node that catches up by snapshot,
// removing the leader, at most one pending change, joint consensus needing both majorities,
// learners, and bootstrapping from a ConfState-only snapshot.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeTransition, ConfChangeType, EntryType, MessageType, emptyConfState } from "@tsraft/raftpb";
import type { ConfChangeV2, NodeId } from "@tsraft/raftpb";
import { ConfChangeError, ProposalDroppedError } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { Network, cc, drain, enc, msg, newLeader, newStorage, progressOf, statusKey, mkNode } from "./harness/network.js";

const { ConfChangeAddNode: Add, ConfChangeRemoveNode: Remove, ConfChangeAddLearnerNode: AddLearner } = ConfChangeType;

function threeNodes(cfg = {}): Network {
  const net = new Network([1n, 2n, 3n], cfg);
  net.stabilize();
  net.elect(1n);
  return net;
}

function v2(transition: ConfChangeTransition, ...changes: Array<[ConfChangeType, NodeId]>): ConfChangeV2 {
  return { transition, changes: changes.map(([type, nodeId]) => ({ type, nodeId })) };
}

describe("adding a node", () => {
  test("a 4th node catches up by snapshot from a compacted leader", () => {
    const net = threeNodes();
    for (const d of ["a", "b", "c"]) net.get(1n).node.propose(enc(d));
    net.stabilize();
    net.changeConf(1n, cc(Add, 4n));
    assert.deepEqual(net.get(1n).node.status().config.voters, [1n, 2n, 3n, 4n]);
    net.get(1n).node.propose(enc("d"));
    net.stabilize();
    // The leader snapshots (its ConfState includes node 4) and compacts its log.
    const snap = net.compact(1n);
    assert.ok(net.get(1n).storage.firstIndex() > 1);
    net.addNode(4n, [], false);
    net.delivered = [];
    net.tickStabilize(2);
    const snaps = net.delivered.filter((m) => m.type === MessageType.MsgSnap);
    assert.equal(snaps.length, 1);
    assert.equal(snaps[0]!.to, 4n);
    assert.equal(snaps[0]!.snapshot!.metadata.index, snap.metadata.index);
    // Proposals continue after the snapshot; node 4 gets them from the log.
    net.get(1n).node.propose(enc("e"));
    net.stabilize();
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["a", "b", "c", "d", "e"], `node ${id}`);
    const pr = progressOf(net.get(1n).node, 4n);
    assert.equal(pr.state, "replicate");
    assert.equal(pr.match, net.get(1n).storage.lastIndex());
    assert.deepEqual(net.get(4n).node.status().config.voters, [1n, 2n, 3n, 4n]);
    // It is a full voter: with two others down, it makes the quorum.
    net.isolate(2n);
    net.get(1n).node.propose(enc("f"));
    net.stabilize();
    assert.deepEqual(net.appliedData(4n).at(-1), "f");
  });

  test("a node not in a snapshot's ConfState ignores that snapshot", () => {
    const s = new MemoryStorage();
    const n = mkNode(4n, s);
    n.step(
      msg({
        type: MessageType.MsgSnap,
        from: 1n,
        to: 4n,
        term: 2,
        snapshot: { metadata: { index: 10, term: 2, confState: { ...emptyConfState(), voters: [1n, 2n, 3n] } } },
      }),
    );
    const rd = drain(n, s)!;
    assert.equal(rd.snapshot, undefined);
    const resp = rd.messages.find((m) => m.type === MessageType.MsgAppResp)!;
    assert.equal(resp.index, 0, "it answers with its commit index");
  });
});

describe("removing nodes", () => {
  test("removing the leader: it steps down once the change is applied, the others elect a new leader", () => {
    const net = threeNodes();
    net.get(1n).node.propose(enc("a"));
    net.stabilize();
    net.changeConf(1n, cc(Remove, 1n));
    assert.equal(net.state(1n), "follower");
    for (const id of [2n, 3n]) assert.deepEqual(net.get(id).node.status().config.voters, [2n, 3n]);
    for (let i = 0; i < 50 && net.leader() === undefined; i++) net.tickStabilize();
    const l = net.leader()!;
    assert.ok(l.id === 2n || l.id === 3n);
    net.get(l.id).node.propose(enc("b"));
    net.stabilize();
    for (const id of [2n, 3n]) assert.deepEqual(net.appliedData(id), ["a", "b"]);
    assert.deepEqual(net.appliedData(1n), ["a"], "the removed node gets nothing more");
    // The removed node never campaigns.
    const term1 = net.term(1n);
    for (let i = 0; i < 30; i++) net.tick(1n);
    assert.equal(net.state(1n), "follower");
    assert.equal(net.term(1n), term1);
  });

  test("with stepDownOnRemoval off, a removed leader stays leader but drops proposals", () => {
    const net = threeNodes({ stepDownOnRemoval: false });
    net.changeConf(1n, cc(Remove, 1n));
    assert.equal(net.state(1n), "leader");
    assert.throws(() => net.get(1n).node.propose(enc("x")), ProposalDroppedError);
  });

  test("removing a follower: the leader stops sending to it and commits with the rest", () => {
    const net = threeNodes();
    net.changeConf(1n, cc(Remove, 3n));
    net.delivered = [];
    net.get(1n).node.propose(enc("a"));
    net.tickStabilize(3);
    assert.equal(net.delivered.filter((m) => m.to === 3n).length, 0);
    assert.deepEqual(net.appliedData(1n), ["a"]);
    assert.deepEqual(net.appliedData(2n), ["a"]);
    assert.equal(net.get(1n).node.status().progress!.has(3n), false);
  });

  test("removing a node in a two-node cluster lets the remaining one commit alone", () => {
    const net = new Network([1n, 2n]);
    net.stabilize();
    net.elect(1n);
    net.get(1n).node.proposeConfChange(cc(Remove, 2n));
    net.stabilize();
    net.isolate(2n);
    net.get(1n).node.propose(enc("alone"));
    net.stabilize();
    assert.deepEqual(net.appliedData(1n), ["alone"]);
  });
});

describe("at most one pending configuration change", () => {
  test("a second change proposed before the first is applied is replaced by an empty entry", () => {
    const net = threeNodes();
    const n1 = net.get(1n).node;
    const before = net.get(1n).storage.lastIndex();
    n1.proposeConfChange(cc(Add, 4n));
    n1.proposeConfChange(cc(Add, 5n));
    net.stabilize();
    const s = net.get(1n).storage;
    const [first, second] = s.entries(before + 1, before + 3, Infinity);
    assert.equal(first!.type, EntryType.EntryConfChange);
    assert.equal(second!.type, EntryType.EntryNormal);
    assert.equal(second!.data, undefined, "an empty normal entry");
    assert.deepEqual(n1.status().config.voters, [1n, 2n, 3n, 4n]);
    // Once the first is applied, another change is accepted.
    net.changeConf(1n, cc(Add, 5n));
    assert.deepEqual(n1.status().config.voters, [1n, 2n, 3n, 4n, 5n]);
  });

  test("a new leader treats its whole uncommitted tail as possibly holding a change", () => {
    // Leader 1 of term 2 over two uncommitted entries of term 1: until its log up to there is
    // applied, a conf change proposal is replaced by an empty entry.
    const { n, s } = newLeader({ terms: [1, 1], term: 2 });
    n.proposeConfChange(cc(Add, 4n));
    const rd = drain(n, s)!;
    assert.deepEqual(
      rd.entries.map((e) => [e.index, e.type, e.data]),
      [[4, EntryType.EntryNormal, undefined]],
    );
    // Once everything up to the leader's first index is committed and applied, it is accepted.
    for (const from of [2n, 3n]) n.step(msg({ type: MessageType.MsgAppResp, from, to: 1n, term: 2, index: 4 }));
    drain(n, s);
    drain(n, s);
    assert.equal(n.basicStatus().applied, 4);
    n.proposeConfChange(cc(Add, 4n));
    const rd2 = drain(n, s)!;
    assert.deepEqual(
      rd2.entries.map((e) => [e.index, e.type]),
      [[5, EntryType.EntryConfChange]],
    );
  });
});

describe("joint consensus", () => {
  function joint(transition: ConfChangeTransition): Network {
    const net = threeNodes();
    net.addNode(4n, [], false);
    net.addNode(5n, [], false);
    net.changeConf(1n, v2(transition, [Add, 4n], [Add, 5n], [Remove, 2n], [Remove, 3n]));
    net.tickStabilize(2);
    return net;
  }

  test("explicit: a commit needs a majority of both the old and the new voters, then leave", () => {
    const net = joint(ConfChangeTransition.ConfChangeTransitionJointExplicit);
    const cfg = net.get(1n).node.status().config;
    assert.deepEqual(cfg.voters, [1n, 4n, 5n]);
    assert.deepEqual(cfg.votersOutgoing, [1n, 2n, 3n]);
    assert.equal(cfg.autoLeave, false);
    for (const id of net.ids()) assert.deepEqual(net.get(id).node.status().config.votersOutgoing, [1n, 2n, 3n], `node ${id}`);
    const n1 = net.get(1n).node;
    // An entry on the old majority only: not committed.
    net.partition([1n, 2n, 3n], [4n, 5n]);
    n1.propose(enc("x"));
    net.tickStabilize(2);
    assert.equal(net.get(2n).storage.lastIndex(), net.get(1n).storage.lastIndex(), "node 2 has the entry");
    assert.deepEqual(net.appliedData(1n), []);
    net.heal();
    net.tickStabilize(2);
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["x"], `node ${id}`);
    // An entry on the new majority only: not committed either.
    net.partition([1n, 4n, 5n], [2n, 3n]);
    n1.propose(enc("y"));
    net.tickStabilize(2);
    assert.equal(net.get(4n).storage.lastIndex(), net.get(1n).storage.lastIndex(), "node 4 has the entry");
    assert.deepEqual(net.appliedData(1n), ["x"]);
    // Both: committed.
    net.heal();
    net.tickStabilize(2);
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["x", "y"], `node ${id}`);
    // Leave the joint configuration with an empty ConfChangeV2.
    net.changeConf(1n, v2(ConfChangeTransition.ConfChangeTransitionAuto));
    const after = n1.status().config;
    assert.deepEqual(after.voters, [1n, 4n, 5n]);
    assert.deepEqual(after.votersOutgoing, []);
    // The new majority alone now commits.
    net.partition([1n, 4n, 5n], [2n, 3n]);
    n1.propose(enc("z"));
    net.stabilize();
    assert.deepEqual(net.appliedData(5n), ["x", "y", "z"]);
  });

  test("auto: the leader leaves the joint configuration by itself", () => {
    const net = joint(ConfChangeTransition.ConfChangeTransitionAuto);
    for (const id of [1n, 4n, 5n]) {
      const cfg = net.get(id).node.status().config;
      assert.deepEqual(cfg.voters, [1n, 4n, 5n], `node ${id}`);
      assert.deepEqual(cfg.votersOutgoing, [], `node ${id}`);
    }
  });

  test("a simple change is refused while joint, and leaving a non-joint config is refused (replaced by empty entries)", () => {
    const net = joint(ConfChangeTransition.ConfChangeTransitionJointExplicit);
    const n1 = net.get(1n).node;
    net.changeConf(1n, cc(Add, 6n));
    assert.deepEqual(n1.status().config.voters, [1n, 4n, 5n]);
    assert.deepEqual(n1.status().config.votersOutgoing, [1n, 2n, 3n]);
    net.changeConf(1n, v2(ConfChangeTransition.ConfChangeTransitionAuto));
    net.changeConf(1n, v2(ConfChangeTransition.ConfChangeTransitionAuto));
    assert.deepEqual(n1.status().config.votersOutgoing, []);
  });

  describe("invalid changes applied directly throw ConfChangeError and change nothing", () => {
    const E = ConfChangeTransition.ConfChangeTransitionJointExplicit;
    const A = ConfChangeTransition.ConfChangeTransitionAuto;
    const cases: Array<{ name: string; joint: boolean; cc: Parameters<ReturnType<typeof newLeader>["n"]["applyConfChange"]>[0] }> = [
      { name: "removing the last voter", joint: false, cc: cc(Remove, 1n) },
      { name: "leaving a config that is not joint", joint: false, cc: v2(A) },
      { name: "an unknown transition", joint: false, cc: { ...v2(A, [Add, 2n], [Add, 3n]), transition: 99 as ConfChangeTransition } },
      { name: "entering joint while joint", joint: true, cc: v2(E, [Add, 4n]) },
      { name: "a simple change while joint", joint: true, cc: cc(Add, 4n) },
    ];
    for (const c of cases) {
      test(c.name, () => {
        const { n } = newLeader({ voters: [1n] });
        if (c.joint) n.applyConfChange(v2(E, [Add, 2n], [Add, 3n]));
        const before = statusKey(n);
        assert.throws(() => n.applyConfChange(c.cc), ConfChangeError);
        assert.equal(statusKey(n), before);
      });
    }
  });
});

describe("learners", () => {
  function withLearner(): Network {
    const net = threeNodes();
    net.addNode(4n, [], false);
    net.changeConf(1n, cc(AddLearner, 4n));
    net.tickStabilize(2);
    return net;
  }

  test("a learner receives the log but does not count toward the quorum", () => {
    const net = withLearner();
    const n1 = net.get(1n).node;
    assert.deepEqual(n1.status().config.learners, [4n]);
    assert.equal(progressOf(n1, 4n).isLearner, true);
    net.isolate(2n);
    net.isolate(3n);
    n1.propose(enc("x"));
    net.tickStabilize(2);
    assert.equal(net.get(4n).storage.lastIndex(), net.get(1n).storage.lastIndex(), "the learner has the entry");
    assert.deepEqual(net.appliedData(1n), [], "leader + learner are not a quorum of {1,2,3}");
    net.heal();
    net.tickStabilize(2);
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["x"]);
  });

  test("a learner never campaigns and is never asked for a vote", () => {
    const net = withLearner();
    net.isolate(1n);
    const term = net.term(4n);
    for (let i = 0; i < 40; i++) net.tick(4n);
    net.stabilize();
    assert.equal(net.state(4n), "follower");
    assert.equal(net.term(4n), term);
    net.delivered = [];
    net.elect(2n);
    assert.equal(net.delivered.filter((m) => m.type === MessageType.MsgVote && m.to === 4n).length, 0);
  });

  test("a learner's vote does not count", () => {
    const s = newStorage({ voters: [1n, 2n, 3n], learners: [4n] });
    const n = mkNode(1n, s);
    n.campaign();
    const rd = drain(n, s)!;
    assert.deepEqual(
      rd.messages.filter((m) => m.type === MessageType.MsgVote).map((m) => m.to),
      [2n, 3n],
    );
    n.step(msg({ type: MessageType.MsgVoteResp, from: 4n, to: 1n, term: 1 }));
    drain(n, s);
    assert.equal(n.basicStatus().softState.raftState, "candidate");
    n.step(msg({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
    drain(n, s);
    assert.equal(n.basicStatus().softState.raftState, "leader");
  });

  test("a learner is promoted to voter and then counts", () => {
    const net = withLearner();
    net.changeConf(1n, cc(Add, 4n));
    const n1 = net.get(1n).node;
    assert.deepEqual(n1.status().config.voters, [1n, 2n, 3n, 4n]);
    assert.deepEqual(n1.status().config.learners, []);
    assert.equal(progressOf(n1, 4n).isLearner, false);
    assert.deepEqual(net.get(4n).node.status().config.voters, [1n, 2n, 3n, 4n]);
    net.isolate(2n);
    n1.propose(enc("y"));
    net.stabilize();
    assert.deepEqual(net.appliedData(1n), ["y"], "1, 3 and 4 are three of four");
    // And it can now be elected.
    net.heal();
    net.tickStabilize();
    net.elect(4n);
    assert.equal(net.state(4n), "leader");
  });

  test("transferring leadership to a learner is ignored", () => {
    const net = withLearner();
    net.get(1n).node.transferLeader(4n);
    net.stabilize();
    assert.equal(net.state(1n), "leader");
    assert.equal(net.get(1n).node.basicStatus().leadTransferee, 0n);
  });
});

describe("bootstrapping from a snapshot that holds only a ConfState", () => {
  test("three nodes start from such a snapshot, elect a leader and replicate", () => {
    const net = new Network([], {}, false);
    for (const id of [1n, 2n, 3n]) {
      const s = new MemoryStorage();
      s.applySnapshot({ metadata: { index: 1, term: 1, confState: { ...emptyConfState(), voters: [1n, 2n, 3n] } } });
      net.addNode(id, [], false, s);
    }
    for (const id of net.ids()) {
      const st = net.get(id).node.status();
      assert.deepEqual(st.config.voters, [1n, 2n, 3n]);
      assert.equal(st.applied, 1);
      assert.equal(net.get(id).node.hasReady(), false);
    }
    net.elect(2n);
    assert.equal(net.state(2n), "leader");
    net.get(2n).node.propose(enc("hello"));
    net.stabilize();
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["hello"]);
  });

  test("a new node joins from a ConfState-only snapshot and is caught up from the log", () => {
    const net = threeNodes();
    net.get(1n).node.propose(enc("a"));
    net.stabilize();
    net.changeConf(1n, cc(Add, 4n));
    const s = new MemoryStorage();
    s.applySnapshot({ metadata: { index: 1, term: 1, confState: { ...emptyConfState(), voters: [1n, 2n, 3n, 4n] } } });
    net.addNode(4n, [], false, s);
    net.tickStabilize(2);
    assert.equal(net.get(4n).storage.lastIndex(), net.get(1n).storage.lastIndex());
    assert.deepEqual(net.appliedData(4n), ["a"]);
  });
});
