// The send path's one policy: a Storage read failure (an I/O error) while the leader reads what
// to send a follower (entries, a term, the snapshot) must not escape from the call that
// triggered the send, nor leave the node inconsistent: that follower is skipped, the failure
// logged at error level, the proposal stands, and replication resumes once the storage reads
// again. What raft itself throws on that path (a bug, a broken contract) is not caught.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, type Entry, type Snapshot } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { Network, enc } from "./harness/network.js";

class FlakyStorage extends MemoryStorage {
  /** Reads that start at or below this index fail (0: none). */
  failAtOrBelow = 0;
  /** Reads that start at or below `failAtOrBelow` break the contract instead: they return holes. */
  returnHoles = false;
  /** snapshot() fails. */
  failSnapshot = false;
  override entries(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo <= this.failAtOrBelow && this.returnHoles) return new Array<Entry>(hi - lo);
    if (lo <= this.failAtOrBelow) throw Object.assign(new Error("EIO: simulated read failure"), { code: "EIO" });
    return super.entries(lo, hi, maxSize);
  }
  override snapshot(): Snapshot {
    if (this.failSnapshot) throw Object.assign(new Error("EIO: simulated snapshot read failure"), { code: "EIO" });
    return super.snapshot();
  }
}

/** Leader 1 over a FlakyStorage, followers 2 and 3; errors logged at error level are collected. */
function cluster(): { net: Network; flaky: FlakyStorage; errors: string[] } {
  const errors: string[] = [];
  const logger = { debug() {}, info() {}, warn() {}, error: (m: string) => void errors.push(m) };
  const flaky = new FlakyStorage();
  const net = new Network([2n, 3n], { logger }, false);
  net.addNode(1n, [], false, flaky);
  for (const id of [1n, 2n, 3n]) net.get(id).node.bootstrap([{ id: 1n }, { id: 2n }, { id: 3n }]);
  net.stabilize();
  net.elect(1n);
  return { net, flaky, errors };
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
  assert.ok(
    errors.some((e) => e.includes("failed to read entries")),
    `logged: ${errors.join("; ")}`,
  );
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
  // Persist the entry but do not apply it yet: take the Ready apart by hand. "y" is proposed
  // before advance(), so that x alone becomes stable and committed: raft then reads x back
  // from the storage for the next Ready (when the committed entries are exactly the entries
  // the last Ready persisted, it hands those out without a read).
  const rd = n1.node.ready();
  n1.node.propose(enc("y"));
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
  assert.deepEqual(net.appliedData(1n), ["x", "y"]);
});

test("a Storage.snapshot() failure on the send path is handled the same way: logged, that follower skipped, retried", () => {
  const { net, flaky, errors } = cluster();
  // Node 3 falls behind, and the leader compacts what it misses.
  net.isolate(3n);
  for (const d of ["a", "b"]) net.get(1n).node.propose(enc(d));
  net.stabilize();
  net.compact(1n);
  net.heal();
  flaky.failSnapshot = true;
  assert.doesNotThrow(() => {
    net.get(1n).node.propose(enc("c"));
    net.tickStabilize(3);
  });
  assert.ok(
    errors.some((e) => e.includes("failed to read the snapshot for 3")),
    `logged: ${errors.join("; ")}`,
  );
  assert.deepEqual(net.appliedData(2n), ["a", "b", "c"]);
  assert.deepEqual(net.appliedData(3n), []);
  assert.equal(net.get(1n).node.status().progress?.get(3n)?.state, "probe", "no snapshot in flight");
  // The storage recovers: node 3 gets the snapshot at the next heartbeat round, then the rest.
  flaky.failSnapshot = false;
  net.tickStabilize(3);
  assert.ok(net.delivered.some((m) => m.type === MessageType.MsgSnap && m.to === 3n));
  assert.equal(net.get(3n).appliedIndex, net.get(1n).appliedIndex);
});

test("raft's own error on the send path is not caught: entries with holes make ready() throw a TypeError", () => {
  const { net, flaky, errors } = cluster();
  net.isolate(3n);
  net.get(1n).node.propose(enc("a"));
  net.stabilize();
  net.heal();
  const leader = net.get(1n).node;
  // Node 3 goes back to probing from its match: the next append to it starts in stable storage
  // and ends in the unstable log; the stable part comes back with holes (a broken contract).
  leader.reportUnreachable(3n);
  flaky.failAtOrBelow = flaky.lastIndex();
  flaky.returnHoles = true;
  leader.propose(enc("b")); // batched: sent to the followers when the next Ready is built
  assert.throws(() => leader.ready(), TypeError);
  assert.ok(!errors.some((e) => e.includes("failed to read")), `logged as a storage failure: ${errors.join("; ")}`);
});
