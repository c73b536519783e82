// PreVote, CheckQuorum, the leader lease, and forgetLeader.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, NONE } from "@tsraft/raftpb";
import type { Config } from "@tsraft/raft";
import { Network, drain, drainMessages, enc, entsOfTerms, mkNode, msg, newStorage } from "./harness/network.js";

function cluster(cfg: Partial<Config>, n = 3): Network {
  const ids = Array.from({ length: n }, (_, i) => BigInt(i + 1));
  const net = new Network(ids, cfg);
  net.stabilize();
  net.elect(1n);
  return net;
}

describe("PreVote", () => {
  const cases = [
    { name: "with PreVote, a partitioned node's term does not grow and it rejoins without disruption", preVote: true },
    { name: "without PreVote (contrast), its term grows and its return deposes the leader", preVote: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const net = cluster({ preVote: c.preVote });
      const term = net.term(1n);
      net.isolate(3n);
      for (let i = 0; i < 50; i++) net.tickStabilize();
      assert.equal(net.state(1n), "leader");
      if (c.preVote) {
        assert.equal(net.term(3n), term, "pre-elections do not raise the term");
        assert.equal(net.state(3n), "pre-candidate");
      } else {
        assert.ok(net.term(3n) > term + 1);
        assert.equal(net.state(3n), "candidate");
      }
      net.heal();
      net.get(1n).node.propose(enc("after"));
      net.tickStabilize(2);
      if (c.preVote) {
        assert.equal(net.state(1n), "leader");
        assert.equal(net.term(1n), term);
        assert.equal(net.lead(3n), 1n);
        assert.equal(net.state(3n), "follower");
      } else {
        // Node 3 ignores the leader's lower-term heartbeats and campaigns again at its higher
        // term: the leader steps down.
        for (let i = 0; i < 30 && net.term(1n) === term; i++) net.tickStabilize();
        assert.ok(net.term(1n) > term, "the leader saw the higher term");
        for (let i = 0; i < 50 && net.leader() === undefined; i++) net.tickStabilize();
        net.tickStabilize();
      }
      for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["after"], `node ${id}`);
    });
  }

  test("a pre-candidate that loses the pre-election goes back to follower at the same term", () => {
    const net = cluster({ preVote: true });
    // Node 3 is behind: it cannot win.
    net.isolate(3n);
    net.get(1n).node.propose(enc("x"));
    net.stabilize();
    net.heal();
    const term = net.term(3n);
    net.get(3n).node.campaign();
    net.stabilize();
    assert.equal(net.state(3n), "follower");
    assert.equal(net.term(3n), term);
    // Node 2 (up to date) wins a pre-election and then the election.
    net.get(2n).node.campaign();
    net.stabilize();
    assert.equal(net.state(2n), "leader");
    assert.equal(net.term(2n), term + 1);
  });

  test("a pre-vote is granted for a future term without changing the voter's term or vote", () => {
    const s = newStorage({ voters: [1n, 2n, 3n], entries: entsOfTerms(1, [1]), hardState: { term: 1, vote: 3n, commit: 1 } });
    const n = mkNode(2n, s, { preVote: true, applied: 1 });
    n.step(msg({ type: MessageType.MsgPreVote, from: 1n, to: 2n, term: 2, index: 1, logTerm: 1 }));
    const rd = drain(n, s)!;
    assert.equal(rd.hardState, undefined);
    assert.deepEqual(
      rd.messages.map((m) => [MessageType[m.type], m.term, m.reject]),
      [["MsgPreVoteResp", 2, false]],
    );
  });
});

describe("CheckQuorum", () => {
  test("a leader that has not heard from a quorum within an election timeout steps down", () => {
    const net = cluster({ checkQuorum: true });
    net.isolate(1n);
    const term = net.term(1n);
    let ticks = 0;
    while (net.state(1n) === "leader") {
      net.tick(1n);
      net.stabilize();
      ticks++;
      assert.ok(ticks <= 20);
    }
    assert.ok(ticks >= 10, `stepped down after ${ticks} ticks`);
    assert.equal(net.state(1n), "follower");
    assert.equal(net.term(1n), term, "stepping down does not change the term");
    assert.throws(() => net.get(1n).node.propose(enc("x")), { code: "TSRAFT_PROPOSAL_DROPPED" });
  });

  test("a leader that hears from a quorum stays", () => {
    const net = cluster({ checkQuorum: true }, 5);
    net.isolate(4n);
    net.isolate(5n);
    net.tickStabilize(50);
    assert.equal(net.state(1n), "leader");
  });

  test("followers ignore vote requests within the leader lease; granted after it", () => {
    const net = cluster({ checkQuorum: true });
    const term = net.term(1n);
    // Node 3 campaigns at once (as if its timer fired early); 1 and 2 heard from the leader.
    net.get(3n).node.campaign();
    net.stabilize();
    assert.equal(net.state(1n), "leader");
    assert.equal(net.term(1n), term);
    assert.equal(net.term(2n), term);
    assert.notEqual(net.state(3n), "leader");
    // The leader dies; once node 2's lease expires, node 3's requests are granted.
    net.isolate(1n);
    for (let i = 0; i < 40 && net.leader()?.id !== 2n && net.leader()?.id !== 3n; i++) net.tickStabilize();
    const l = net.leader()!;
    assert.ok(l.id === 2n || l.id === 3n);
  });

  test("a stale leader learns the new term from the answer to its heartbeats", () => {
    const net = cluster({ checkQuorum: true });
    net.isolate(1n);
    for (let i = 0; i < 40 && (net.leader() === undefined || net.leader()!.id === 1n || net.state(1n) === "leader"); i++) {
      net.tickAll();
      net.stabilize();
    }
    const l = net.leader()!;
    assert.notEqual(l.id, 1n);
    net.heal();
    net.tickStabilize(3);
    assert.equal(net.state(1n), "follower");
    assert.equal(net.term(1n), net.term(l.id));
    assert.equal(net.lead(1n), l.id);
  });
});

describe("forgetLeader", () => {
  test("a follower that forgets its leader may vote within the lease", () => {
    const net = cluster({ checkQuorum: true });
    net.isolate(1n); // the leader is gone, but node 2 does not know yet
    net.get(3n).node.campaign();
    net.stabilize();
    assert.notEqual(net.state(3n), "leader", "node 2 ignores the vote within its lease");
    net.get(2n).node.forgetLeader();
    assert.equal(net.lead(2n), NONE);
    net.get(3n).node.campaign();
    net.stabilize();
    assert.equal(net.state(3n), "leader");
  });

  test("forgetLeader is ignored with lease-based reads, and on a leader", () => {
    const net = cluster({ checkQuorum: true, readOnlyOption: "lease-based" });
    net.get(2n).node.forgetLeader();
    assert.equal(net.lead(2n), 1n);
    net.get(1n).node.forgetLeader();
    assert.equal(net.state(1n), "leader");
    assert.equal(net.lead(1n), 1n);
  });

  test("the forgotten leader is learned again from its next heartbeat", () => {
    const net = cluster({});
    net.get(2n).node.forgetLeader();
    const s = net.get(2n);
    drainMessages(s.node, s.storage);
    assert.equal(net.lead(2n), NONE);
    net.tickStabilize();
    assert.equal(net.lead(2n), 1n);
  });
});

describe("PreVote with CheckQuorum", () => {
  test("pre-votes are ignored within the lease too, and a rejoining node follows the leader", () => {
    const net = cluster({ checkQuorum: true, preVote: true });
    const term = net.term(1n);
    net.isolate(3n);
    net.tickStabilize(40);
    net.heal();
    net.get(3n).node.campaign();
    net.stabilize();
    assert.equal(net.state(1n), "leader");
    assert.equal(net.term(1n), term);
    net.tickStabilize(2);
    assert.equal(net.lead(3n), 1n);
  });
});
