/**
 * Membership, learner first: POST /members adds a learner, so members that never start cannot
 * take the quorum away; the leader promotes a learner once it has caught up (automatically, or
 * on POST /members/:id/promote, which answers 409 not_ready before that); membership requests
 * are answered by the leader, and other members point to it (421 not_leader).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_MEMBERS } from "../src/membership.js";
import { InProcCluster } from "./helpers/inproc.js";

type Members = { id: string; role: string; promote: boolean; raft: string | null }[];

describe("membership: learner first", { timeout: 120_000 }, () => {
  let c: InProcCluster;
  let lead: bigint;
  before(async () => {
    c = await InProcCluster.create(3);
    await c.startAll();
    lead = await c.waitForLeader();
  });
  after(async () => {
    await c.cleanup();
  });

  test("three POST /members naming members that never start: they are learners, the cluster keeps its quorum", async () => {
    for (const id of [4n, 5n, 6n]) {
      const slot = await c.addSlot(id);
      const r = await c.req(lead, "POST", "/members", { id: id.toString(), raftAddr: slot.addr.raft, httpAddr: slot.addr.http });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body["role"], "learner");
      assert.deepEqual(r.body["voters"], ["1", "2", "3"]);
    }
    const w = await c.req(lead, "PUT", "/kv/still", { value: "writable" });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    const m = (await c.req(lead, "GET", "/members")).body["members"] as Members;
    assert.deepEqual(
      m.map((x) => [x.id, x.role, x.promote]),
      [
        ["1", "voter", false],
        ["2", "voter", false],
        ["3", "voter", false],
        ["4", "learner", true],
        ["5", "learner", true],
        ["6", "learner", true],
      ],
    );
    const p = await c.req(lead, "POST", "/members/4/promote", {});
    assert.equal(p.status, 409, JSON.stringify(p.body));
    assert.equal(p.body["code"], "not_ready");
    assert.equal((p.body["readiness"] as { ready: boolean }).ready, false);
    // The automatic promoter does not promote them either.
    await c.server(lead).promoter.check();
    assert.deepEqual(c.server(lead).node.status().config.voters, [1n, 2n, 3n]);
    for (const id of ["4", "5", "6"]) assert.equal((await c.req(lead, "DELETE", `/members/${id}`)).status, 200);
    assert.deepEqual(c.fatalErrors(), []);
  });

  test(`POST /members stops at ${MAX_MEMBERS} members (409 too_many_members)`, async () => {
    const ids = Array.from({ length: MAX_MEMBERS - 3 }, (_, i) => 100 + i);
    for (const id of ids) {
      const r = await c.req(lead, "POST", "/members", { id: String(id), raftAddr: `127.0.0.1:${id}`, httpAddr: `127.0.0.1:${id}` });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const over = await c.req(lead, "POST", "/members", { id: "999", raftAddr: "127.0.0.1:999", httpAddr: "127.0.0.1:999" });
    assert.equal(over.status, 409);
    assert.equal(over.body["code"], "too_many_members");
    for (const id of ids) assert.equal((await c.req(lead, "DELETE", `/members/${id}`)).status, 200);
  });

  test("a member that is not the leader answers membership requests with 421 not_leader and the leader's address", async () => {
    lead = await c.waitForLeader();
    const follower = [1n, 2n, 3n].find((id) => id !== lead)!;
    const commit = c.server(lead).node.status().hardState.commit;
    for (const [method, path, body] of [
      ["POST", "/members", { id: "8", raftAddr: "127.0.0.1:1", httpAddr: "127.0.0.1:2" }],
      ["POST", "/members/2/promote", {}],
      ["DELETE", "/members/2", undefined],
    ] as const) {
      const r = await c.req(follower, method, path, body);
      assert.equal(r.status, 421, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body["code"], "not_leader");
      assert.equal(r.body["outcome"], "not_applied");
      assert.deepEqual(r.body["leader"], { id: lead.toString(), http: c.member(lead).addr.http });
    }
    assert.equal(c.server(lead).node.status().hardState.commit, commit, "nothing was proposed");
  });

  test("a learner that starts and catches up is promoted to voter by the leader, on its own", async () => {
    for (let i = 0; i < 30; i++) await c.req(lead, "PUT", `/kv/bulk${i}`, { value: String(i) });
    const slot = await c.addSlot(7n);
    const r = await c.req(lead, "POST", "/members", { id: "7", raftAddr: slot.addr.raft, httpAddr: slot.addr.http });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await c.start(7n, { join: true });
    await c.until("member 7 to be a voter", 30_000, () => c.server(lead).node.status().config.voters.includes(7n));
    assert.equal((await c.req(7n, "GET", "/kv/bulk29")).body["value"], "29");
    const m = (await c.req(7n, "GET", "/members")).body["members"] as Members;
    assert.deepEqual(
      m.find((x) => x.id === "7"),
      { id: "7", raft: slot.addr.raft, http: slot.addr.http, role: "voter", promote: false },
    );
    assert.ok(c.server(lead).promoter.promoted >= 1);
  });

  test("a learner added with learner: true stays one until POST /members/:id/promote, which needs it caught up", async () => {
    lead = await c.waitForLeader();
    const slot = await c.addSlot(8n);
    const r = await c.req(lead, "POST", "/members", { id: "8", raftAddr: slot.addr.raft, httpAddr: slot.addr.http, learner: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body["promote"], false);
    const early = await c.req(lead, "POST", "/members/8/promote", {});
    assert.equal(early.status, 409, "not started: not ready");
    await c.start(8n, { join: true });
    await c.until("learner 8 to catch up", 30_000, async () => ((await c.req(lead, "GET", "/members/8")).body["readiness"] as { ready: boolean }).ready);
    await c.server(lead).promoter.check();
    assert.ok(c.server(lead).node.status().config.learners.includes(8n), "not promoted automatically");
    const p = await c.req(lead, "POST", "/members/8/promote", {});
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.ok((p.body["voters"] as string[]).includes("8"));
    assert.equal((await c.req(lead, "POST", "/members/8/promote", {})).body["code"], "not_learner");
    assert.equal((await c.req(lead, "POST", "/members/99/promote", {})).status, 404);
    assert.deepEqual(c.fatalErrors(), []);
  });
});
