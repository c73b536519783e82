import { test } from "node:test";
import assert from "node:assert/strict";
import { Network, enc } from "./harness/network.js";

test("smoke", () => {
  const n1 = new Network([1n]);
  n1.stabilize();
  n1.elect(1n);
  assert.equal(n1.leader()?.id, 1n);
  n1.get(1n).node.propose(enc("a"));
  n1.stabilize();
  assert.deepEqual(n1.appliedData(1n), ["a"]);

  const n = new Network([1n, 2n, 3n]);
  n.stabilize();
  n.elect(1n);
  assert.equal(n.leader()?.id, 1n);
  for (let i = 0; i < 10; i++) n.get(1n).node.propose(enc("x" + i));
  n.stabilize();
  for (const id of [1n, 2n, 3n]) assert.equal(n.appliedData(id).length, 10, `node ${id}`);
  n.get(2n).node.propose(enc("fwd"));
  n.stabilize();
  for (const id of [1n, 2n, 3n]) assert.equal(n.appliedData(id).length, 11);
  console.log(n.get(1n).node.status());
});
