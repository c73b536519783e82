// Proposals made between two ready() calls go out as few MsgApps (issue 3): with
// batchProposals (the default) the leader sends them together when the next Ready is built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageType } from "@tsraft/raftpb";
import { Network, enc } from "./harness/network.js";

function countAppsPerFollower(batchProposals: boolean, proposals: number, maxSizePerMsg?: number): { apps: number; entries: number } {
  const net = new Network([1n, 2n, 3n], maxSizePerMsg === undefined ? { batchProposals } : { batchProposals, maxSizePerMsg });
  net.stabilize();
  net.elect(1n);
  const leader = net.get(1n).node;
  for (let i = 0; i < proposals; i++) leader.propose(enc(`p${i}`.padEnd(100, ".")));
  const rd = leader.ready();
  const apps = rd.messages.filter((m) => m.type === MessageType.MsgApp && m.to === 2n);
  return { apps: apps.length, entries: apps.reduce((n, m) => n + m.entries.length, 0) };
}

const cases = [
  { name: "batched: 10 proposals, one MsgApp per follower", batch: true, proposals: 10, max: undefined, apps: 1 },
  { name: "batched: 64 proposals, one MsgApp per follower", batch: true, proposals: 64, max: undefined, apps: 1 },
  { name: "batched, 1 KiB messages: 10 proposals of ~110 bytes, two MsgApps", batch: true, proposals: 10, max: 1024, apps: 2 },
  { name: "etcd's pattern: 10 proposals, ten MsgApps per follower", batch: false, proposals: 10, max: undefined, apps: 10 },
];

for (const c of cases) {
  test(c.name, () => {
    const got = countAppsPerFollower(c.batch, c.proposals, c.max);
    assert.equal(got.apps, c.apps);
    assert.equal(got.entries, c.proposals, "every proposal goes out");
  });
}

test("batched proposals commit and apply everywhere", () => {
  const net = new Network([1n, 2n, 3n]);
  net.stabilize();
  net.elect(1n);
  for (let i = 0; i < 20; i++) net.get(1n).node.propose(enc(`x${i}`));
  net.stabilize();
  for (const id of [1n, 2n, 3n]) assert.equal(net.appliedData(id).length, 20);
});

test("a leader that steps down before its next Ready sends nothing it deferred", () => {
  const net = new Network([1n, 2n, 3n]);
  net.stabilize();
  net.elect(1n);
  const leader = net.get(1n).node;
  leader.propose(enc("lost"));
  // A higher term arrives before the Ready: the leader follows, and does not replicate.
  const term = leader.basicStatus().hardState.term;
  leader.step({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: term + 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 });
  const rd = leader.ready();
  assert.equal(rd.messages.filter((m) => m.type === MessageType.MsgApp).length, 0);
});
