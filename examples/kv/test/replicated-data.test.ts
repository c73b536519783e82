/**
 * Replicated data never kills a member (STYLE rule 19): entries the API would never write
 * (bytes that are not a command, conf changes whose context is garbage or names an address the
 * transport refuses) are committed through RaftNode's own API; every member decides them alike
 * (refusal results, members recorded without an address), stays up, and stays up across
 * restarts that replay those entries from the WAL and from snapshots.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "@tsraft/raftpb";
import { InProcCluster } from "./helpers/inproc.js";

const enc = new TextEncoder();

const GARBAGE_ENTRIES: Uint8Array[] = [
  Uint8Array.of(0xff, 0x00, 0xfe),
  enc.encode("{"),
  enc.encode("null"),
  enc.encode('{"op":"drop","key":"a"}'),
  enc.encode('{"op":"put","key":"a","value":"v"}'), // no quota
  enc.encode('{"op":"put","key":"","value":"v","quota":100}'),
  new Uint8Array(0),
];

/** Conf changes the API would never propose: [type, node id, context]. */
const GARBAGE_CONF_CHANGES: [ConfChangeType, bigint, Uint8Array | undefined][] = [
  [ConfChangeType.ConfChangeAddNode, 9n, enc.encode(JSON.stringify({ raft: "garbage", http: "x" }))],
  [ConfChangeType.ConfChangeAddLearnerNode, 10n, enc.encode("not json at all")],
  [ConfChangeType.ConfChangeAddLearnerNode, 11n, enc.encode(JSON.stringify({ raft: "127.0.0.1:99999", http: "127.0.0.1:1" }))],
  [ConfChangeType.ConfChangeAddLearnerNode, 12n, enc.encode(JSON.stringify({ raft: "", http: "" }))],
  [ConfChangeType.ConfChangeAddLearnerNode, 13n, enc.encode(JSON.stringify({ raft: "h:0", http: "h:1" }))],
  [ConfChangeType.ConfChangeAddLearnerNode, 14n, Uint8Array.of(0xc3, 0x28)],
  [ConfChangeType.ConfChangeUpdateNode, 2n, enc.encode("[]")],
];

describe("replicated data that is not what the API writes", { timeout: 120_000 }, () => {
  let c: InProcCluster;
  before(async () => {
    c = await InProcCluster.create(3, ["--snapshot-entries", "10", "--catch-up-entries", "2"]);
    await c.startAll();
    await c.waitForLeader();
  });
  after(async () => {
    await c.cleanup();
  });

  test("committed garbage entries are refused as results on every member; nobody fails", async () => {
    const lead = await c.waitForLeader();
    const follower = [1n, 2n, 3n].find((id) => id !== lead)!;
    for (const [i, data] of GARBAGE_ENTRIES.entries()) {
      const via = i % 2 === 0 ? lead : follower;
      const r = await c.server(via).node.propose(data);
      assert.equal(r.code, "bad_command", JSON.stringify(r));
    }
    assert.equal((await c.req(lead, "PUT", "/kv/after-garbage", { value: "ok" })).status, 200);
    const applied = c.server(lead).node.appliedIndex();
    for (const id of [1n, 2n, 3n]) {
      await c.until(`member ${id} to apply ${applied}`, 10_000, () => c.server(id).node.appliedIndex() >= applied);
      assert.equal(c.server(id).counters.applyRefused, GARBAGE_ENTRIES.length, `member ${id} counted the refusals`);
      assert.ok(c.member(id).logs.some((l) => l.includes("refused a committed entry that is not a command")));
    }
    assert.deepEqual(c.fatalErrors(), []);
  });

  test("committed conf changes with garbage contexts: members recorded without an address; nobody fails", async () => {
    const lead = await c.waitForLeader();
    const node = c.server(lead).node;
    // RaftNode settles a conf change before raft's own applied index moves, and raft drops a
    // conf change proposed while the previous one is not applied: wait for raft to catch up.
    const settled = (): Promise<void> => c.until("raft to record the change as applied", 5000, () => node.basicStatus().applied >= node.appliedIndex());
    for (const [type, nodeId, context] of GARBAGE_CONF_CHANGES) {
      await node.proposeConfChange({ type, nodeId, id: 0n, ...(context === undefined ? {} : { context }) });
      await settled();
    }
    // Member 9 is a voter that will never start (4 voters, 3 alive: still a quorum); remove it.
    await node.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 9n, id: 0n });
    assert.equal((await c.req(lead, "PUT", "/kv/after-conf", { value: "ok" })).status, 200);
    const applied = c.server(lead).node.appliedIndex();
    for (const id of [1n, 2n, 3n]) {
      const s = c.server(id);
      await c.until(`member ${id} to apply ${applied}`, 10_000, () => s.node.appliedIndex() >= applied);
      const recs = s.memberRecords();
      for (const learner of [10n, 11n, 12n, 13n, 14n])
        assert.deepEqual(recs.get(learner.toString()), { addr: null, promote: false }, `member ${id} records ${learner} without an address`);
      assert.equal(recs.get("2")?.addr?.raft, c.member(2n).addr.raft, "an update without a valid address keeps the address");
      assert.ok(s.counters.confChangeProblems >= 6, `member ${id}: ${s.counters.confChangeProblems} problems counted`);
    }
    assert.deepEqual(c.fatalErrors(), []);
  });

  test("the cluster stays up across restarts that replay those entries (WAL and snapshots)", async () => {
    for (let round = 0; round < 2; round++) {
      for (const id of [1n, 2n, 3n]) await c.stop(id);
      await Promise.all([1n, 2n, 3n].map((id) => c.start(id)));
      const lead = await c.waitForLeader();
      const w = await c.req(lead, "PUT", `/kv/round-${round}`, { value: "ok" });
      assert.equal(w.status, 200, JSON.stringify(w.body));
      for (const id of [1n, 2n, 3n]) assert.equal((await c.req(id, "GET", "/kv/after-garbage")).body["value"], "ok");
    }
    const st = await c.req(1n, "GET", "/status");
    assert.ok((st.body["snapshotIndex"] as number) > 0, "snapshots were taken (and restored at restart)");
    assert.deepEqual(c.fatalErrors(), []);
  });
});
