/**
 * `pnpm demo`: a narrated tour of the replicated KV service. Three processes on 127.0.0.1
 * with temporary data directories; writes and reads; the leader SIGKILLed, a new one elected
 * and writes going on; the old leader restarted and catching up (through a snapshot, since the
 * log was compacted meanwhile); a fourth member added, leadership handed to it, a member
 * removed; every member checked to hold the same data; a clean shutdown. Each step is timed.
 * @module
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { kvRequest, listAll } from "./client.js";
import type { KvResponse } from "./client.js";
import { LocalCluster, here, serverCommand } from "./cluster.js";
import type { MemberStatus } from "./cluster.js";

const T0 = performance.now();
/** Makes the values 200 bytes, so that the WAL cuts segments (of 64 KiB here) and purges them. */
const PAD = "x".repeat(190);
const timings: { step: string; ms: number }[] = [];
const out = (s: string): void => void process.stdout.write(s + "\n");
const say = (s: string): void => out(`    ${s}`);

async function step<T>(title: string, fn: () => Promise<T>): Promise<T> {
  out(`\n▶ ${title}`);
  const t = performance.now();
  const r = await fn();
  const ms = performance.now() - t;
  timings.push({ step: title, ms });
  out(`  ✓ ${ms.toFixed(0)} ms`);
  return r;
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`demo: expected ${what}`);
}

function show(r: KvResponse): string {
  const b = { ...r.body };
  delete b["leader"];
  return `${r.status} ${JSON.stringify(b)}`;
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`demo: timed out waiting for ${what}`);
}

async function main(): Promise<void> {
  out("tsraft demo: a replicated key-value service, 3 processes on 127.0.0.1, killed and restarted\n");
  const cluster = await LocalCluster.create({
    size: 3,
    // Small numbers so that snapshots, compaction and WAL segment purges happen within the demo.
    serverArgs: ["--snapshot-entries", "100", "--catch-up-entries", "20", "--wal-segment-bytes", String(64 * 1024)],
  });
  let ok = false;
  try {
    const http = (id: bigint): string => cluster.member(id).addr.http;
    const req = (id: bigint, method: string, path: string, body?: unknown): Promise<KvResponse> => kvRequest(http(id), method, path, body, 8000);

    const leader1 = await step("Start a 3-member cluster and elect a leader", async () => {
      await cluster.startAll();
      for (const id of cluster.ids()) {
        const m = cluster.member(id);
        say(`member ${id}: pid ${m.proc!.pid}, raft ${m.addr.raft}, http ${m.addr.http}, data ${m.dataDir}`);
      }
      say(`raft port: ${cluster.describePeerAuth()}`);
      const l = await cluster.waitForLeader(30_000);
      say(`member ${l} is the leader; cluster id ${await cluster.clusterId()}`);
      return l;
    });
    const [f1, f2] = cluster.ids().filter((id) => id !== leader1) as [bigint, bigint];

    await step("Write and read through different members", async () => {
      let r = await req(f1, "PUT", "/kv/greeting", { value: "hello" });
      say(`PUT /kv/greeting {"value":"hello"} on follower ${f1} (forwarded to the leader by raft) -> ${show(r)}`);
      check(r.status === 200, "the write to succeed");
      r = await req(f2, "GET", "/kv/greeting");
      say(`GET /kv/greeting on follower ${f2} (linearizable: ReadIndex) -> ${show(r)}`);
      check(r.body["value"] === "hello", "to read hello");
      r = await req(leader1, "PUT", "/kv/greeting", { value: "bonjour", prev: "hello" });
      say(`compare-and-set hello -> bonjour -> ${show(r)}`);
      check(r.status === 200, "the CAS to succeed");
      r = await req(f1, "PUT", "/kv/greeting", { value: "hola", prev: "hello" });
      say(`compare-and-set hello -> hola (stale) -> ${show(r)}`);
      check(r.status === 412 && r.body["current"] === "bonjour", "the stale CAS to fail with the current value");
      r = await req(f2, "PUT", "/kv/tmp", { value: "x" });
      r = await req(f2, "DELETE", "/kv/tmp");
      say(`DELETE /kv/tmp -> ${show(r)}`);
      r = await req(f1, "GET", "/kv/greeting?serializable");
      say(`GET /kv/greeting?serializable on ${f1} (local, may be stale) -> ${show(r)}`);
    });

    await step("A data directory is locked: a second process cannot open it", async () => {
      const m = cluster.member(leader1);
      const res = await new Promise<{ code: number | null; err: string }>((resolve) => {
        const p = spawn(
          process.execPath,
          [
            ...serverCommand(),
            "--id",
            String(leader1),
            "--data-dir",
            m.dataDir,
            "--raft-addr",
            "127.0.0.1:1",
            "--http-addr",
            "127.0.0.1:1",
            "--join",
            ...cluster.peerArgs(leader1),
          ],
          {
            cwd: here,
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        let err = "";
        p.stderr!.on("data", (c: Buffer) => (err += c.toString()));
        const t = setTimeout(() => p.kill("SIGKILL"), 30_000);
        p.on("exit", (code) => {
          clearTimeout(t);
          resolve({ code, err });
        });
      });
      say(`second process on ${m.dataDir}: exit code ${res.code}: ${res.err.trim().split("\n")[0]}`);
      check(res.code === 2, "exit code 2 (data directory in use)");
    });

    const leader2 = await step(`SIGKILL the leader (member ${leader1}); the others elect a new one`, async () => {
      const t = performance.now();
      await cluster.kill(leader1, "SIGKILL");
      const l = await cluster.waitForLeader(30_000, [f1, f2]);
      say(`member ${l} leads after ${(performance.now() - t).toFixed(0)} ms (election timeout 1-2 s, PreVote and CheckQuorum on)`);
      return l;
    });

    await step(`Writes go on with 2 of 3 members: 300 keys`, async () => {
      const t = performance.now();
      for (let b = 0; b < 30; b++) {
        const rs = await Promise.all(
          Array.from({ length: 10 }, (_, i) => req(leader2, "PUT", `/kv/key-${b * 10 + i}`, { value: `value-${b * 10 + i}-${PAD}` })),
        );
        check(
          rs.every((r) => r.status === 200),
          "every write to succeed",
        );
      }
      const ms = performance.now() - t;
      say(`300 writes (10 at a time) in ${ms.toFixed(0)} ms: ${((300 / ms) * 1000).toFixed(0)} writes/s, each fsynced by a majority before the answer`);
      const st = (await cluster.status(leader2))!;
      say(`leader: commit ${st.commit}, snapshot at ${st.snapshotIndex}, log kept from ${st.firstIndex} (compacted behind the snapshots)`);
    });

    await step(`Restart member ${leader1}: it replays its WAL and catches up`, async () => {
      const t = performance.now();
      await cluster.start(leader1);
      say(`process up in ${(performance.now() - t).toFixed(0)} ms (pid ${cluster.member(leader1).proc!.pid})`);
      const target = (await cluster.status(leader2))!.commit;
      const st = await cluster.waitApplied(leader1, target, 30_000);
      say(
        `applied ${st.applied} >= the leader's commit ${target} after ${(performance.now() - t).toFixed(0)} ms; snapshots installed from the leader: ${st.counters["snapshotsInstalled"]}`,
      );
      const r = await req(leader1, "GET", "/kv/key-299?serializable");
      say(`its local copy: GET /kv/key-299?serializable -> ${r.status} ${String(r.body["value"]).slice(0, 20)}...`);
      check(r.body["value"] === `value-299-${PAD}`, "the restarted member to have the new keys");
    });

    const m4 = await step("Add a fourth member: a learner first (POST /members, start it with --join), promoted once caught up", async () => {
      const slot = await cluster.addSlot(4n);
      const lead = await cluster.waitForLeader(20_000, [f1, f2, leader1]);
      const follower = [f1, f2, leader1].find((id) => id !== lead)!;
      const misdirected = await req(follower, "POST", "/members", { id: "4", raftAddr: slot.addr.raft, httpAddr: slot.addr.http });
      say(
        `POST /members on a follower -> ${misdirected.status} ${String(misdirected.body["code"])} (membership goes to the leader, at ${JSON.stringify((misdirected.body["leader"] as { http?: string } | null)?.http)})`,
      );
      const r = await cluster.membership("POST", "/members", { id: "4", raftAddr: slot.addr.raft, httpAddr: slot.addr.http });
      say(
        `POST /members {"id":"4",...} on the leader -> ${r.status} role ${String(r.body["role"])}, voters ${JSON.stringify(r.body["voters"])}, learners ${JSON.stringify(r.body["learners"])}`,
      );
      check(r.status === 200 && r.body["role"] === "learner", "the member to be added as a learner");
      const t = performance.now();
      await cluster.start(4n, { join: true });
      const target = (await cluster.status(leader2))!.commit;
      const st = await cluster.waitApplied(4n, target, 30_000);
      say(`member 4 applied ${st.applied} (snapshots installed: ${st.counters["snapshotsInstalled"]}, keys: ${st.keys})`);
      await cluster.waitForVoter(4n, 30_000);
      say(`the leader promoted it to voter ${(performance.now() - t).toFixed(0)} ms after it started (caught up and heard from)`);
      return 4n;
    });

    await step("Transfer leadership to member 4", async () => {
      const r = await req(f1, "POST", "/transfer-leader", { to: "4" });
      say(`POST /transfer-leader {"to":"4"} on member ${f1} -> ${show(r)}`);
      check(r.status === 200, "the transfer to succeed");
      const l = await cluster.waitForLeader(20_000);
      check(l === m4, "member 4 to lead");
      say(`every member agrees: member ${l} leads`);
    });

    await step(`Remove member ${leader1} (it shuts itself down)`, async () => {
      const r = await cluster.membership("DELETE", `/members/${leader1}`, undefined);
      say(`DELETE /members/${leader1} -> ${r.status} voters ${JSON.stringify(r.body["voters"])}`);
      check(r.status === 200, "the removal to succeed");
      const code = await until("the removed member to exit", 20_000, async () =>
        cluster.isRunning(leader1) ? undefined : await cluster.member(leader1).exited,
      );
      say(`member ${leader1} exited with code ${code}`);
      const w = await req(f2, "PUT", "/kv/after-removal", { value: "still works" });
      say(`PUT /kv/after-removal on member ${f2} -> ${w.status}`);
      check(w.status === 200, "writes to work with members " + [f1, f2, m4].join(", "));
    });

    await step("Every member holds the same data", async () => {
      const ids = [f1, f2, m4];
      const target = (await cluster.status(m4))!.commit;
      for (const id of ids) await cluster.waitApplied(id, target, 20_000);
      const dumps = await Promise.all(ids.map((id) => listAll(http(id), "", { serializable: true })));
      check(
        dumps.every((d) => d !== undefined),
        "every member to list its keys",
      );
      const texts = dumps.map((d) => JSON.stringify([...d!.kvs]));
      for (let i = 0; i < ids.length; i++) say(`member ${ids[i]}: ${dumps[i]!.kvs.size} keys at index ${dumps[i]!.index} (read page by page)`);
      check(new Set(texts).size === 1, "identical data on every member");
      const st = (await cluster.status(m4)) as MemberStatus;
      say(`members: ${st.members.map((m) => `${m.id} (${m.role})`).join(", ")}`);
    });

    await step("On disk: snapshots taken, log compacted, old files purged", async () => {
      for (const id of [f1, f2, m4]) {
        const st = (await cluster.status(id))!;
        const dir = cluster.member(id).dataDir;
        const snaps = readdirSync(join(dir, "snap")).filter((n) => n.endsWith(".snap"));
        const wals = readdirSync(join(dir, "wal")).filter((n) => n.endsWith(".wal"));
        say(
          `member ${id}: ${snaps.length} snapshot files, ${wals.length} WAL segments; snapshots taken ${st.counters["snapshotsTaken"]}, ` +
            `snapshot files purged ${st.counters["snapFilesPurged"]}, WAL segments purged ${st.counters["walSegmentsPurged"]}, log [${st.firstIndex}, ${st.lastIndex}]`,
        );
      }
    });

    await step("Clean shutdown (SIGTERM)", async () => {
      const codes = await Promise.all([f1, f2, m4].map((id) => cluster.stop(id)));
      say(`exit codes: ${codes.join(", ")}`);
      check(
        codes.every((c) => c === 0),
        "every member to exit with code 0",
      );
      const unhandled = cluster.unhandledInLogs();
      check(unhandled.length === 0, `no unhandled rejection in the logs (${unhandled.map((u) => u.line).join("; ")})`);
    });
    ok = true;
  } catch (err) {
    out(`\n✗ ${err instanceof Error ? err.message : String(err)}`);
    for (const id of cluster.ids()) out(`--- member ${id} log (last lines):\n${cluster.logTail(id, 12)}`);
    out(`logs and data kept in ${cluster.baseDir}`);
  } finally {
    await cluster.cleanup(!ok);
  }
  out("\nTimings");
  for (const t of timings) out(`  ${t.ms.toFixed(0).padStart(7)} ms  ${t.step}`);
  out(`  ${(performance.now() - T0).toFixed(0).padStart(7)} ms  total`);
  out(ok ? "\ndemo finished: all steps passed" : "\ndemo FAILED");
  process.exitCode = ok ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
