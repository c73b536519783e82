// A Storage read failure (an I/O error) while the leader sends appends must not escape from
// the call that triggered the send, nor leave the node inconsistent: the proposal stands, and
// replication resumes once the storage reads again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, type Entry } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { Network, enc } from "./harness/network.js";

class FlakyStorage extends MemoryStorage {
  /** Reads that start at or below this index fail (0: none). */
  failAtOrBelow = 0;
  override entries(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo <= this.failAtOrBelow) throw Object.assign(new Error("EIO: simulated read failure"), { code: "EIO" });
    return super.entries(lo, hi, maxSize);
  }
}

test("a storage read failure on the send path is logged and retried, not thrown from propose", () => {
  const errors: string[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => void errors.push(m) };
  const flaky = new FlakyStorage();
  const net = new Network([2n, 3n], { logger }, false);
  net.addNode(1n, [], false, flaky);
  for (const id of [1n, 2n, 3n]) net.get(id).node.bootstrap([{ id: 1n }, { id: 2n }, { id: 3n }]);
  net.stabilize();
  net.elect(1n);
  // Node 3 falls behind while the leader's storage works...
  net.isolate(3n);
  net.get(1n).node.propose(enc("a"));
  net.stabilize();
  net.heal();
  // ...then reading what node 3 misses from the leader's stable storage fails.
  flaky.failAtOrBelow = flaky.lastIndex();
  assert.doesNotThrow(() => net.get(1n).node.propose(enc("b")));
  net.tickAll(3);
  net.stabilize();
  assert.ok(errors.some((e) => e.includes("failed to read entries")), `logged: ${errors.join("; ")}`);
  assert.deepEqual(net.appliedData(1n), ["a", "b"]);
  assert.deepEqual(net.appliedData(3n), []);
  // The storage recovers: node 3 catches up at the next heartbeat round.
  flaky.failAtOrBelow = 0;
  net.tickAll(3);
  net.stabilize();
  assert.deepEqual(net.appliedData(3n), ["a", "b"]);
  assert.ok(net.delivered.some((m) => m.type === MessageType.MsgApp && m.to === 3n));
});

test("ready() throws the storage's error when committed entries cannot be read, and a retry works", () => {
  const flaky = new FlakyStorage();
  const net = new Network([], {}, false);
  net.addNode(1n, [1n], true, flaky);
  net.stabilize();
  net.elect(1n);
  const n1 = net.get(1n);
  n1.node.propose(enc("x"));
  // Persist the entry but do not apply it yet: take the Ready apart by hand.
  const rd = n1.node.ready();
  flaky.append(rd.entries);
  if (rd.hardState !== undefined) flaky.setHardState(rd.hardState);
  n1.node.advance(rd);
  // The entry is now committed and stable; reading it for the next Ready fails.
  flaky.failAtOrBelow = flaky.lastIndex();
  assert.equal(n1.node.hasReady(), true);
  assert.throws(() => n1.node.ready(), /EIO/);
  const st = n1.node.basicStatus();
  flaky.failAtOrBelow = 0;
  assert.deepEqual(n1.node.basicStatus(), st);
  net.stabilize();
  assert.deepEqual(net.appliedData(1n), ["x"]);
});
