/**
 * A conf change that raft refuses is reported to the proposer (etcd-io/raft#453): the leader
 * replaces a second change proposed while the first is not applied by an empty entry; the
 * promise of that second change rejects at once with ConfChangeRefusedError (before the raft
 * hook existed it timed out with RequestTimeoutError), the refusal is counted and observed,
 * and the first change goes through.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { ConfChangeRefusedError, RaftNode } from "@tsraft/node";
import type { RaftEvent } from "@tsraft/node";
import type { ConfChangeRefusal } from "@tsraft/raft";

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("a conf change raft refuses rejects with ConfChangeRefusedError; the pending one is applied", async () => {
  const storage = new MemoryStorage();
  const userSeen: ConfChangeRefusal[] = [];
  const n = new RaftNode({
    raft: { id: 1n, electionTick: 10, heartbeatTick: 1, storage, hooks: { confChangeRefused: (r) => void userSeen.push(r) } },
    tickMs: 5,
    requestTimeoutMs: 1000,
    persist: async (p) => {
      if (p.entries.length > 0) storage.append(p.entries);
      if (p.hardState !== undefined) storage.setHardState(p.hardState);
    },
    send: () => {},
    apply: () => 0,
    restore: () => {},
  });
  const events: RaftEvent[] = [];
  n.observe((e) => void events.push(e));
  await n.start({ bootstrap: [{ id: 1n }] });
  await until("leader", () => n.basicStatus().softState.raftState === "leader");
  const first = n.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2n, id: 0n });
  const t0 = Date.now();
  const second = n.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 3n, id: 0n });
  await assert.rejects(second, (err: unknown) => {
    assert.ok(err instanceof ConfChangeRefusedError, String(err));
    assert.equal(err.code, "TSRAFT_CONF_CHANGE_REFUSED");
    assert.match(err.reason, /possible unapplied conf change at index \d+/);
    return true;
  });
  assert.ok(Date.now() - t0 < 500, "rejected at once, not after the request timeout");
  assert.deepEqual((await first).learners, [2n]);
  assert.equal(n.stats().confChangesRefused, 1);
  assert.equal(userSeen.length, 1, "the application's own hook still runs");
  await until("event", () => events.some((e) => e.type === "conf-change-refused"));
  // Once the first is applied, a new one goes through.
  assert.deepEqual((await n.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 3n, id: 0n })).learners, [2n, 3n]);
  await n.stop();
});
