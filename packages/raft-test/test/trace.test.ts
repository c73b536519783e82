/**
 * Config.traceLogger: the events of etcd-io/raft's TracingEvent schema, for a 3-node cluster
 * that elects a leader, replicates a proposal and applies a conf change. One logger for the
 * whole cluster, as etcd's validation traces are (all nodes, in the order things happened).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "@tsraft/raftpb";
import type { TraceEvent } from "@tsraft/raft";
import { Network, cc, enc } from "./harness/network.js";

test("an election, a replicated proposal and a conf change, traced with etcd's event names and fields", () => {
  const trace: TraceEvent[] = [];
  const net = new Network([1n, 2n, 3n], { traceLogger: (e) => void trace.push(e) });
  net.stabilize();
  net.elect(1n);
  net.get(1n).node.propose(enc("x"));
  net.stabilize();
  net.changeConf(1n, cc(ConfChangeType.ConfChangeAddLearnerNode, 4n));

  const names = new Set(trace.map((e) => e.name));
  for (const n of [
    "InitState",
    "BecomeCandidate",
    "BecomeLeader",
    "Commit",
    "Replicate",
    "ChangeConf",
    "ApplyConfChange",
    "Ready",
    "SendRequestVoteRequest",
    "ReceiveRequestVoteRequest",
    "SendRequestVoteResponse",
    "ReceiveRequestVoteResponse",
    "SendAppendEntriesRequest",
    "ReceiveAppendEntriesRequest",
    "SendAppendEntriesResponse",
    "ReceiveAppendEntriesResponse",
  ] as const) {
    assert.ok(names.has(n), `no ${n}`);
  }
  // Each node starts with InitState; node 1 campaigns, then leads.
  assert.deepEqual(
    trace
      .filter((e) => e.name === "InitState")
      .map((e) => e.nid)
      .sort(),
    ["1", "2", "3"],
  );
  const cand = trace.findIndex((e) => e.name === "BecomeCandidate" && e.nid === "1");
  const lead = trace.findIndex((e) => e.name === "BecomeLeader" && e.nid === "1");
  assert.ok(cand >= 0 && lead > cand);
  const led = trace[lead]!;
  assert.equal(led.role, "StateLeader");
  assert.equal(led.state.vote, "1");
  assert.deepEqual(led.conf, [["1", "2", "3"], []]);
  // A vote request carries etcd's message fields; its receiver traced it after it was sent.
  const sent = trace.findIndex((e) => e.name === "SendRequestVoteRequest" && e.msg?.to === "2");
  const got = trace.findIndex((e) => e.name === "ReceiveRequestVoteRequest" && e.nid === "2" && e.msg?.from === "1");
  assert.ok(sent >= 0 && got > sent);
  assert.deepEqual(Object.keys(trace[sent]!.msg!).sort(), [
    "commit",
    "entries",
    "from",
    "index",
    "logTerm",
    "reject",
    "rejectHint",
    "term",
    "to",
    "type",
    "vote",
  ]);
  assert.equal(trace[sent]!.msg!.type, "MsgVote");
  // The conf change: proposed (ChangeConf on the leader), applied on every node with the new voters.
  const change = trace.find((e) => e.name === "ChangeConf")!;
  assert.deepEqual(change.cc, { changes: [{ nid: "4", action: "AddLearner" }] });
  const applied = trace.filter((e) => e.name === "ApplyConfChange" && e.cc?.changes[0]?.nid === "4");
  assert.deepEqual(applied.map((e) => e.nid).sort(), ["1", "2", "3"]);
  assert.deepEqual(applied[0]!.cc!.newconf, ["1", "2", "3"]);
  // JSON lines, as etcd's validate.sh reads them.
  for (const e of trace) assert.doesNotThrow(() => JSON.parse(JSON.stringify(e)));
});

test("no traceLogger: nothing traced, the same run", () => {
  const a = new Network([1n, 2n, 3n]);
  const trace: TraceEvent[] = [];
  const b = new Network([1n, 2n, 3n], { traceLogger: (e) => void trace.push(e) });
  for (const net of [a, b]) {
    net.stabilize();
    net.elect(1n);
    net.get(1n).node.propose(enc("x"));
    net.stabilize();
  }
  assert.ok(trace.length > 0);
  assert.deepEqual(a.appliedData(3n), b.appliedData(3n));
  assert.equal(a.term(1n), b.term(1n));
});

test("a simulator run writes one NDJSON trace of all nodes in causal order (every receive after its send)", async () => {
  const { runSchedule, decodeSchedule } = await import("@tsraft/raft/testing");
  const { MemoryStorage } = await import("@tsraft/storage-memory");
  const { mkdtemp, readFile, rm, writeFile } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const lines: string[] = [];
  // Crashes, drops, partitions, conf changes (the simulator test's "busy" schedule).
  const schedule = decodeSchedule(
    "1_7_5_2_300_3_64_4_10_1_40" +
      "-50.N.10.5.3.1-100.J-150.H-200.K.20-250.M.0.0.0-300.S.1.2-350.C.2.15-400.P.6-450.H-500.M.5.1.0-550.L.3" +
      "-600.D.0.2-650.T.1.2-700.O.3.1-750.E.4-800.X.2.5-850.M.2.0.0-900.H",
  );
  runSchedule(schedule, { makeStorage: () => new MemoryStorage(), checkLiveness: false, raft: { traceLogger: (e) => void lines.push(JSON.stringify(e)) } });
  const dir = await mkdtemp(join(tmpdir(), "tsraft-trace-"));
  try {
    const file = join(dir, "trace.ndjson");
    await writeFile(file, lines.join("\n") + "\n");
    const events = (await readFile(file, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as TraceEvent);
    assert.ok(events.length > 1000, `${events.length} events`);
    const sent = new Set<string>();
    const key = (e: TraceEvent): string => {
      const m = e.msg!;
      // What raft fixes when it queues a message (a queued MsgApp's entries and commit may still
      // grow before the Ready hands it out: batchProposals, see the README).
      return `${m.type}|${m.term}|${m.from}|${m.to}|${m.index}|${m.logTerm}|${m.reject}|${m.rejectHint}`;
    };
    let received = 0;
    for (const e of events) {
      if (e.msg === undefined) continue;
      const k = key(e);
      if (e.name.startsWith("Send")) sent.add(k);
      else {
        received++;
        assert.ok(sent.has(k), `${e.name} on ${e.nid} without an earlier send: ${JSON.stringify(e.msg)}`);
      }
    }
    assert.ok(received > 100);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
