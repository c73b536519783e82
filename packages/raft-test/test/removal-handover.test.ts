// A leader that removes itself while it holds an uncommitted entry the other voter lacks.
// Stepping down at once (etcd's behaviour, handOverOnRemoval: false) leaves the cluster with
// no possible leader: the remaining voter never learned that the removal committed, still
// counts the old leader as a voter, and cannot win its vote because the old leader's log is
// longer. Handing leadership over first (the default) lets the remaining voter take over.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "@tsraft/raftpb";
import { Network, enc } from "./harness/network.js";

function removeLeaderScenario(handOverOnRemoval: boolean): Network {
  const net = new Network([1n, 2n], { handOverOnRemoval });
  net.stabilize();
  net.elect(1n);
  const n1 = net.get(1n).node;
  n1.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 1n, id: 0n, context: undefined });
  net.processReady(1n); // the conf change goes out to node 2
  net.deliverAll();
  net.processReady(2n); // node 2 appends it and acknowledges
  n1.propose(enc("bar")); // an entry after the conf change, which node 2 does not have yet
  // Node 1 receives the acknowledgement, commits and applies its removal; everything it sends
  // in this round (the new commit index, "bar") is lost.
  net.deliverAll();
  net.processReady(1n);
  net.processReady(1n);
  net.queue = net.queue.filter((m) => !(m.from === 1n && m.to === 2n));
  net.tickStabilize(60);
  return net;
}

test("without hand-over, a leader that removes itself can leave the cluster leaderless (etcd's behaviour)", () => {
  const net = removeLeaderScenario(false);
  assert.equal(net.leader(), undefined, "nobody can be elected");
  assert.equal(net.state(1n), "follower");
});

test("with hand-over (the default), the remaining voter becomes leader and has every entry", () => {
  const net = removeLeaderScenario(true);
  assert.equal(net.leader()?.id, 2n);
  assert.equal(net.state(1n), "follower");
  // The remaining voter can commit on its own, and the entry the old leader held is kept.
  net.get(2n).node.propose(enc("after"));
  net.tickStabilize(3);
  assert.deepEqual(net.appliedData(2n), ["bar", "after"]);
});
