/**
 * The KV service's API over real processes: forwarding, reads, compare-and-set, status,
 * leader transfer, 503 without a leader, the data directory lock, joining and removing a
 * member, clean shutdown. One cluster for the whole file (process start-up is the slow part).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { LocalCluster, kvRequest } from "@tsraft/example-kv";
import type { KvResponse } from "@tsraft/example-kv";
import { here, serverCommand } from "../src/cluster.js";

let cluster: LocalCluster;
const req = (id: bigint, method: string, path: string, body?: unknown, ms = 8000): Promise<KvResponse> =>
  kvRequest(cluster.member(id).addr.http, method, path, body, ms);

/** Runs a server process that is expected to exit (within 30 s): its exit code and standard error. */
function runToExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...serverCommand(), ...args], { cwd: here, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr!.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const t = setTimeout(() => p.kill("SIGKILL"), 30_000);
    p.on("exit", (code) => {
      clearTimeout(t);
      resolve({ code, stderr });
    });
  });
}

async function until(what: string, ms: number, cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("KV service over 3 processes", { timeout: 120_000 }, () => {
  let leader: bigint;
  let followers: bigint[];

  before(async () => {
    cluster = await LocalCluster.create({
      size: 3,
      faultInjection: true,
      peerAuth: "tls",
      serverArgs: ["--request-timeout-ms", "3000", "--snapshot-entries", "50", "--catch-up-entries", "10"],
    });
    await cluster.startAll();
    leader = await cluster.waitForLeader(30_000);
    followers = cluster.ids().filter((id) => id !== leader);
  });
  after(async () => {
    await cluster.cleanup(process.env["KV_KEEP"] === "1");
    if (process.env["KV_KEEP"] === "1") console.log(`kept ${cluster.baseDir}`);
  });

  test("a write to a follower is forwarded, applied there, and readable linearizably from another", async () => {
    const w = await req(followers[0]!, "PUT", "/kv/a", { value: "1" });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.equal(w.body["ok"], true);
    assert.deepEqual(w.body["leader"], { id: leader.toString(), http: cluster.member(leader).addr.http });
    const r = await req(followers[1]!, "GET", "/kv/a");
    assert.equal(r.status, 200);
    assert.equal(r.body["value"], "1");
    assert.ok((r.body["index"] as number) >= (w.body["index"] as number));
    const s = await req(followers[1]!, "GET", "/kv/a?serializable");
    assert.equal(s.body["value"], "1");
  });

  test("compare-and-set, create-only, compare-and-delete, delete, 404", async () => {
    assert.equal((await req(leader, "PUT", "/kv/c", { value: "x", prev: null })).status, 200);
    const exists = await req(leader, "PUT", "/kv/c", { value: "y", prev: null });
    assert.equal(exists.status, 412);
    assert.equal(exists.body["current"], "x");
    assert.equal((await req(followers[0]!, "PUT", "/kv/c", { value: "y", prev: "x" })).status, 200);
    const stale = await req(followers[1]!, "PUT", "/kv/c", { value: "z", prev: "x" });
    assert.equal(stale.status, 412);
    assert.equal(stale.body["current"], "y");
    assert.equal((await req(leader, "DELETE", "/kv/c?prev=nope")).status, 412);
    const d = await req(leader, "DELETE", "/kv/c");
    assert.equal(d.status, 200);
    assert.equal(d.body["prev"], "y");
    const g = await req(followers[0]!, "GET", "/kv/c");
    assert.equal(g.status, 404);
    assert.equal(g.body["code"], "not_found");
    const list = await req(leader, "GET", "/kv?prefix=a");
    assert.deepEqual(list.body["kvs"], [{ key: "a", value: "1" }]);
    assert.equal(list.body["more"], false);
  });

  test("bad requests get 4xx with a code", async () => {
    assert.equal((await req(leader, "PUT", "/kv/x", { nope: 1 })).status, 400);
    assert.equal((await req(leader, "PATCH", "/kv/x")).status, 405);
    assert.equal((await req(leader, "GET", "/nowhere")).status, 404);
    assert.equal((await req(leader, "POST", "/transfer-leader", { to: "abc" })).body["code"], "bad_id");
    assert.equal((await req(leader, "POST", "/members", { id: "1", raftAddr: "x:1", httpAddr: "x:2" })).status, 409);
  });

  test("GET /status and /members describe the cluster", async () => {
    const s = await req(leader, "GET", "/status");
    assert.equal(s.status, 200);
    assert.equal(s.body["raftState"], "leader");
    assert.equal((s.body["members"] as unknown[]).length, 3);
    assert.equal(Object.keys(s.body["progress"] as object).length, 3);
    const m = await req(followers[0]!, "GET", "/members");
    assert.deepEqual(
      (m.body["members"] as { id: string }[]).map((x) => x.id),
      ["1", "2", "3"],
    );
  });

  test("leader transfer through a follower; an unknown target is refused", async () => {
    const target = followers[0]!;
    const r = await req(followers[1]!, "POST", "/transfer-leader", { to: target.toString() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    leader = await cluster.waitForLeader(20_000);
    assert.equal(leader, target);
    followers = cluster.ids().filter((id) => id !== leader);
    assert.equal((await req(leader, "POST", "/transfer-leader", { to: "9" })).status, 400);
  });

  test("a second process cannot open a data directory in use", async () => {
    const m = cluster.member(followers[0]!);
    const r = await runToExit([
      "--id",
      m.id.toString(),
      "--data-dir",
      m.dataDir,
      "--join",
      "--raft-addr",
      "127.0.0.1:1",
      "--http-addr",
      "127.0.0.1:1",
      ...cluster.peerArgs(m.id),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is in use by another process/);
    assert.equal((await req(followers[0]!, "GET", "/kv/a?serializable")).body["value"], "1", "the owner goes on");
  });

  test("the raft port's configuration is checked at start: exit code 2 and what is wrong; --insecure-peers warns", async () => {
    const m = cluster.member(followers[0]!);
    const base = ["--id", m.id.toString(), "--data-dir", m.dataDir, "--join", "--raft-addr", "127.0.0.1:1", "--http-addr", "127.0.0.1:1"];
    const other = cluster.ids().find((id) => id !== m.id)!;
    const wrongCert = cluster.peerArgs(other); // another member's certificate and key
    const [none, foreign, insecure] = await Promise.all([
      runToExit(base),
      runToExit([...base, ...wrongCert]),
      // --insecure-peers on a locked data directory: the warning is printed, then the lock refuses
      runToExit([...base, "--insecure-peers"]),
    ]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /the raft port needs authentication: give --peer-cert, --peer-key and --peer-ca .* or --peer-secret-file .* or --insecure-peers/);
    assert.equal(foreign.code, 2);
    assert.match(
      foreign.stderr,
      new RegExp(
        `--peer-cert: .* does not name this member \\(--id ${m.id}\\): want the URI subjectAltName urn:tsraft:member:${m.id}; it names member ${other}`,
      ),
    );
    assert.equal(insecure.code, 2);
    assert.match(insecure.stderr, /WARNING: --insecure-peers: the raft port 127\.0\.0\.1:1 is plain TCP without authentication/);
    assert.match(insecure.stderr, /is in use by another process/);
  });

  test("a member joins with --join and catches up; a removed member exits by itself", async () => {
    for (let i = 0; i < 60; i++) assert.equal((await req(leader, "PUT", `/kv/bulk${i}`, { value: String(i) })).status, 200);
    const slot = await cluster.addSlot(4n);
    // Sent to a follower: it answers 421 not_leader with the leader's address, which the launcher follows.
    const misdirected = await req(followers[0]!, "POST", "/members", { id: "4", raftAddr: slot.addr.raft, httpAddr: slot.addr.http });
    assert.equal(misdirected.status, 421, JSON.stringify(misdirected.body));
    const add = await cluster.membership("POST", "/members", { id: "4", raftAddr: slot.addr.raft, httpAddr: slot.addr.http });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    assert.deepEqual(add.body["voters"], ["1", "2", "3"]);
    assert.deepEqual(add.body["learners"], ["4"], "added as a learner first");
    await cluster.start(4n, { join: true });
    await cluster.waitForVoter(4n, 30_000);
    const commit = (await cluster.status(leader))!.commit;
    const st = await cluster.waitApplied(4n, commit, 30_000);
    assert.ok(st.counters["snapshotsInstalled"]! >= 1, "caught up through a snapshot (the log was compacted)");
    assert.equal((await req(4n, "GET", "/kv/bulk59")).body["value"], "59");
    const rm = await cluster.membership("DELETE", "/members/4", undefined);
    assert.equal(rm.status, 200);
    assert.deepEqual(rm.body["voters"], ["1", "2", "3"]);
    await until("member 4 to exit", 20_000, async () => !cluster.isRunning(4n));
    assert.equal(await cluster.member(4n).exited, 0);
    assert.equal((await req(leader, "PUT", "/kv/after", { value: "x" })).status, 200);
  });

  test("without a leader, writes and reads get 503 at once, never hang; service resumes after", async () => {
    const survivor = followers[0]!;
    const others = cluster.ids().filter((id) => id !== survivor && id !== 4n);
    for (const id of others) await cluster.kill(id, "SIGKILL");
    await until("the survivor to lose its leader", 20_000, async () => (await req(survivor, "GET", "/health", undefined, 1000)).status === 503);
    const t0 = Date.now();
    const w = await req(survivor, "PUT", "/kv/b", { value: "no" });
    const r = await req(survivor, "GET", "/kv/a");
    assert.equal(w.status, 503);
    assert.equal(w.body["code"], "no_leader");
    assert.equal(w.body["outcome"], "not_applied");
    assert.equal(r.status, 503);
    assert.ok(Date.now() - t0 < 2000, `answered in ${Date.now() - t0} ms`);
    for (const id of others) await cluster.start(id);
    leader = await cluster.waitForLeader(30_000, [survivor, ...others]);
    assert.equal((await req(survivor, "GET", "/kv/a")).body["value"], "1", "acknowledged data survived SIGKILL of two members");
    assert.equal((await req(survivor, "GET", "/kv/b")).status, 404, "the refused write was not applied");
  });

  test("SIGTERM shuts a member down cleanly (exit code 0)", async () => {
    const id = cluster.ids().find((x) => x !== 4n && x !== leader)!;
    assert.equal(await cluster.stop(id), 0);
  });

  test("no member logged an unhandled rejection or uncaught exception", () => {
    assert.deepEqual(cluster.unhandledInLogs(), []);
  });
});
