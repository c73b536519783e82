// Leader transfer (thesis §3.10): to an up-to-date and to a lagging follower, abort after an
// election timeout, proposals dropped meanwhile, and the transfer vote crossing a lease.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, NONE } from "@tsraft/raftpb";
import { ProposalDroppedError, type Config } from "@tsraft/raft";
import { Network, enc } from "./harness/network.js";

function cluster(cfg: Partial<Config> = {}): Network {
  const net = new Network([1n, 2n, 3n], cfg);
  net.stabilize();
  net.elect(1n);
  return net;
}

describe("leader transfer", () => {
  for (const cfg of [{}, { checkQuorum: true }, { preVote: true, checkQuorum: true }]) {
    test(`to an up-to-date follower: MsgTimeoutNow at once, it wins the election ${JSON.stringify(cfg)}`, () => {
      const net = cluster(cfg);
      const term = net.term(1n);
      net.delivered = [];
      net.get(1n).node.transferLeader(2n);
      assert.equal(net.get(1n).node.basicStatus().leadTransferee, 2n);
      net.stabilize();
      assert.equal(net.delivered.filter((m) => m.type === MessageType.MsgTimeoutNow && m.to === 2n).length, 1);
      assert.equal(net.state(2n), "leader");
      assert.equal(net.term(2n), term + 1);
      assert.equal(net.state(1n), "follower");
      assert.equal(net.lead(1n), 2n);
      assert.equal(net.get(1n).node.basicStatus().leadTransferee, NONE);
      net.get(2n).node.propose(enc("after"));
      net.stabilize();
      for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["after"]);
    });
  }

  test("to a lagging follower: it is caught up first, then gets MsgTimeoutNow", () => {
    const net = cluster();
    net.isolate(3n);
    for (let i = 0; i < 5; i++) net.get(1n).node.propose(enc(`p${i}`));
    net.stabilize();
    assert.ok(net.get(3n).storage.lastIndex() < net.get(1n).storage.lastIndex());
    net.heal();
    net.delivered = [];
    net.get(1n).node.transferLeader(3n);
    net.stabilize();
    const kinds = net.delivered.filter((m) => m.to === 3n && m.from === 1n).map((m) => MessageType[m.type]);
    assert.ok(kinds.indexOf("MsgApp") >= 0 && kinds.indexOf("MsgApp") < kinds.indexOf("MsgTimeoutNow"), kinds.join(","));
    assert.equal(net.state(3n), "leader");
    for (const id of net.ids()) assert.equal(net.appliedData(id).length, 5);
  });

  test("proposals are dropped while a transfer is pending", () => {
    const net = cluster();
    net.isolate(3n);
    net.get(1n).node.propose(enc("a"));
    net.stabilize();
    net.get(1n).node.transferLeader(3n); // 3 is unreachable: the transfer stays pending
    net.stabilize();
    assert.equal(net.get(1n).node.basicStatus().leadTransferee, 3n);
    assert.throws(() => net.get(1n).node.propose(enc("b")), ProposalDroppedError);
    // A proposal forwarded by a follower is dropped too.
    net.get(2n).node.propose(enc("c"));
    net.stabilize();
    assert.deepEqual(net.appliedData(1n), ["a"]);
  });

  test("the transfer is abandoned after an election timeout and proposals work again", () => {
    const net = cluster();
    net.isolate(3n);
    net.get(1n).node.transferLeader(3n);
    net.stabilize();
    let ticks = 0;
    while (net.get(1n).node.basicStatus().leadTransferee !== NONE) {
      net.tickStabilize();
      ticks++;
      assert.ok(ticks <= 10, "not abandoned within an election timeout");
    }
    assert.equal(ticks, 10);
    assert.equal(net.state(1n), "leader");
    net.get(1n).node.propose(enc("ok"));
    net.stabilize();
    assert.deepEqual(net.appliedData(2n), ["ok"]);
  });

  test("a transfer to a follower with checkQuorum crosses the other followers' lease", () => {
    const net = cluster({ checkQuorum: true });
    net.get(1n).node.transferLeader(3n);
    net.stabilize();
    assert.equal(net.state(3n), "leader");
  });

  test("a second transfer to another node replaces the first; to the same node it is ignored", () => {
    const net = cluster();
    net.isolate(3n);
    net.isolate(2n);
    net.get(1n).node.transferLeader(3n);
    net.get(1n).node.transferLeader(3n);
    assert.equal(net.get(1n).node.basicStatus().leadTransferee, 3n);
    net.get(1n).node.transferLeader(2n);
    assert.equal(net.get(1n).node.basicStatus().leadTransferee, 2n);
    net.heal();
    net.tickStabilize(2);
    assert.equal(net.state(2n), "leader");
  });

  test("a transfer to itself, or to a node not in the configuration, is ignored", () => {
    const net = cluster();
    net.get(1n).node.transferLeader(1n);
    net.get(1n).node.transferLeader(9n);
    net.stabilize();
    assert.equal(net.state(1n), "leader");
    assert.equal(net.get(1n).node.basicStatus().leadTransferee, NONE);
    net.get(1n).node.propose(enc("still ok"));
    net.stabilize();
    assert.deepEqual(net.appliedData(3n), ["still ok"]);
  });

  test("a follower asked to transfer forwards the request to the leader", () => {
    const net = cluster();
    net.tickStabilize(); // followers know the leader
    net.get(2n).node.transferLeader(3n);
    net.stabilize();
    assert.equal(net.state(3n), "leader");
  });

  test("the transferee's election timeout need not pass: it campaigns on MsgTimeoutNow", () => {
    const net = cluster();
    net.get(1n).node.transferLeader(2n);
    net.processReady(1n);
    const tn = net.take((m) => m.type === MessageType.MsgTimeoutNow);
    assert.equal(tn.length, 1);
    net.get(2n).node.step(tn[0]!);
    assert.equal(net.state(2n), "candidate");
  });
});
