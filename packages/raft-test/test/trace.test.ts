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
  for (const n of ["InitState", "BecomeCandidate", "BecomeLeader", "Commit", "Replicate", "ChangeConf", "ApplyConfChange", "Ready",
    "SendRequestVoteRequest", "ReceiveRequestVoteRequest", "SendRequestVoteResponse", "ReceiveRequestVoteResponse",
    "SendAppendEntriesRequest", "ReceiveAppendEntriesRequest", "SendAppendEntriesResponse", "ReceiveAppendEntriesResponse"] as const) {
    assert.ok(names.has(n), `no ${n}`);
  }
  // Each node starts with InitState; node 1 campaigns, then leads.
  assert.deepEqual(trace.filter((e) => e.name === "InitState").map((e) => e.nid).sort(), ["1", "2", "3"]);
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
  assert.deepEqual(Object.keys(trace[sent]!.msg!).sort(), ["commit", "entries", "from", "index", "logTerm", "reject", "rejectHint", "to", "type", "vote"]);
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
