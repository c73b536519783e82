// ReadIndex: on the leader and on followers, 'safe' (a heartbeat round confirms leadership) and
// 'lease-based' (trusts the CheckQuorum lease); a new leader answers no read before it has
// committed an entry of its term.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType } from "@tsraft/raftpb";
import type { NodeId } from "@tsraft/raftpb";
import type { Config } from "@tsraft/raft";
import { Network, drain, enc, newLeader } from "./harness/network.js";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function cluster(cfg: Partial<Config> = {}): Network {
  const net = new Network([1n, 2n, 3n], cfg);
  net.stabilize();
  net.elect(1n);
  net.get(1n).node.propose(enc("a"));
  net.stabilize();
  return net;
}

const reads = (net: Network, id: NodeId) => net.get(id).readStates.map((rs) => [rs.index, dec(rs.requestCtx)]);

const modes: Array<{ name: string; cfg: Partial<Config> }> = [
  { name: "safe", cfg: {} },
  { name: "lease-based", cfg: { checkQuorum: true, readOnlyOption: "lease-based" } },
];

for (const mode of modes) {
  describe(`ReadIndex (${mode.name})`, () => {
    for (const id of [1n, 2n]) {
      test(`on the ${id === 1n ? "leader" : "follower"}: a ReadState at the leader's commit index`, () => {
        const net = cluster(mode.cfg);
        const commit = net.commit(1n);
        net.get(id).node.readIndex(enc("r1"));
        net.stabilize();
        assert.deepEqual(reads(net, id), [[commit, "r1"]]);
        // Reads see later writes.
        net.get(1n).node.propose(enc("b"));
        net.stabilize();
        net.get(id).node.readIndex(enc("r2"));
        net.stabilize();
        assert.deepEqual(reads(net, id), [
          [commit, "r1"],
          [commit + 1, "r2"],
        ]);
        // The ReadState comes after the state machine applied up to its index, or with it.
        assert.ok(net.get(id).appliedIndex >= commit + 1);
      });
    }

    test("several requests are answered in order", () => {
      const net = cluster(mode.cfg);
      const commit = net.commit(1n);
      for (const c of ["x", "y", "z"]) net.get(1n).node.readIndex(enc(c));
      net.stabilize();
      assert.deepEqual(reads(net, 1n), [
        [commit, "x"],
        [commit, "y"],
        [commit, "z"],
      ]);
    });
  });
}

describe("safe ReadIndex needs a quorum to confirm leadership", () => {
  test("an isolated leader answers no read; after healing, the next heartbeats confirm it", () => {
    const net = cluster();
    net.isolate(1n);
    net.get(1n).node.readIndex(enc("r"));
    net.tickStabilize(3);
    assert.deepEqual(reads(net, 1n), []);
    net.heal();
    net.tickStabilize();
    assert.deepEqual(reads(net, 1n), [[net.commit(1n), "r"]]);
  });

  test("one follower's ack plus the leader's is a quorum of three", () => {
    const net = cluster();
    net.isolate(3n);
    net.get(1n).node.readIndex(enc("r"));
    net.stabilize();
    assert.deepEqual(reads(net, 1n), [[net.commit(1n), "r"]]);
  });

  test("a heartbeat round carries the request's context", () => {
    const net = cluster();
    net.delivered = [];
    net.get(1n).node.readIndex(enc("ctx-1"));
    net.stabilize();
    const hbs = net.delivered.filter((m) => m.type === MessageType.MsgHeartbeat);
    assert.equal(hbs.length, 2);
    assert.ok(hbs.every((m) => m.context !== undefined && dec(m.context) === "ctx-1"));
  });
});

describe("lease-based ReadIndex trusts the lease", () => {
  test("the leader answers at once, without a heartbeat round", () => {
    const net = cluster({ checkQuorum: true, readOnlyOption: "lease-based" });
    net.isolate(2n);
    net.isolate(3n);
    net.get(1n).node.readIndex(enc("r"));
    const rd = net.processReady(1n)!;
    assert.deepEqual(
      rd.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]),
      [[net.commit(1n), "r"]],
    );
    assert.equal(rd.messages.filter((m) => m.type === MessageType.MsgHeartbeat).length, 0);
  });
});

describe("a new leader answers reads only after committing an entry of its term", () => {
  test("reads wait for the first commit of the term (leader and follower)", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.get(1n).node.propose(enc("a"));
    net.stabilize();
    // Node 2 is elected, but its empty entry cannot commit while appends are dropped.
    net.dropType(MessageType.MsgApp);
    net.elect(2n);
    assert.equal(net.state(2n), "leader");
    net.tickStabilize(); // node 3 learns the leader from a heartbeat
    assert.equal(net.lead(3n), 2n);
    const commitBefore = net.commit(2n);
    net.get(2n).node.readIndex(enc("on-leader"));
    net.get(3n).node.readIndex(enc("on-follower"));
    net.tickStabilize(3);
    assert.deepEqual(reads(net, 2n), []);
    assert.deepEqual(reads(net, 3n), []);
    net.heal();
    net.tickStabilize(2);
    const commit = net.commit(2n);
    assert.ok(commit > commitBefore, "the empty entry of the new term committed");
    assert.deepEqual(reads(net, 2n), [[commit, "on-leader"]]);
    assert.deepEqual(reads(net, 3n), [[commit, "on-follower"]]);
  });

  test("in a single-node cluster a read is answered at once", () => {
    const { n, s } = newLeader({ voters: [1n] });
    drain(n, s);
    n.readIndex(enc("solo"));
    const rd = drain(n, s)!;
    assert.deepEqual(
      rd.readStates.map((rs) => [rs.index, dec(rs.requestCtx)]),
      [[1, "solo"]],
    );
  });

  test("a follower without a leader drops the request", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.get(2n).node.readIndex(enc("nobody"));
    net.stabilize();
    assert.deepEqual(reads(net, 2n), []);
    assert.equal(net.get(2n).node.hasReady(), false);
  });
});
