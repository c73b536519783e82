// Scenarios from the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", extended version), run on an in-process network of RawNodes. Each test quotes the
// sentence it checks.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, NONE } from "@tsraft/raftpb";
import type { Entry, NodeId } from "@tsraft/raftpb";
import type { Config } from "@tsraft/raft";
import { Network, enc, entsOfTerms, newStorage, type TestNode } from "./harness/network.js";
import { setFaults } from "../../raft/src/internal/faults.js";

const termsOf = (tn: TestNode): number[] => {
  const s = tn.storage;
  return s.lastIndex() === 0 ? [] : s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity).map((e: Entry) => e.term);
};

describe("§5.1 terms", () => {
  test("a server with a smaller term updates it; a stale request is rejected", () => {
    // "Current terms are exchanged whenever servers communicate; if one server's current term
    // is smaller than the other's, then it updates its current term to the larger value. If a
    // candidate or leader discovers that its term is out of date, it immediately reverts to
    // follower state. If a server receives a request with a stale term number, it rejects the
    // request."
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.isolate(1n);
    net.elect(2n);
    assert.equal(net.term(2n), 3);
    assert.equal(net.state(1n), "leader");
    assert.equal(net.term(1n), 2);
    // The old leader's append at term 2 is stale for nodes 2 and 3.
    net.heal();
    net.get(1n).node.propose(enc("stale"));
    net.stabilize();
    assert.deepEqual(net.appliedData(3n), []);
    // Node 2's heartbeat reaches node 1, which reverts to follower at term 3.
    net.tickStabilize();
    assert.equal(net.state(1n), "follower");
    assert.equal(net.term(1n), 3);
    assert.equal(net.lead(1n), 2n);
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), []);
    // Reference: §5.1
  });
});

describe("§5.2 leader election", () => {
  test("servers start as followers", () => {
    // "When servers start up, they begin as followers."
    const net = new Network([1n, 2n, 3n]);
    for (const id of net.ids()) assert.equal(net.state(id), "follower");
    // Reference: §5.2
  });

  test("a candidate with votes from a majority wins and tells the others by heartbeats", () => {
    // "A candidate wins an election if it receives votes from a majority of the servers in the
    // full cluster for the same term. [...] Once a candidate wins an election, it becomes
    // leader. It then sends heartbeat messages to all of the other servers to establish its
    // authority and prevent new elections."
    const net = new Network([1n, 2n, 3n, 4n, 5n]);
    net.stabilize();
    net.isolate(4n);
    net.isolate(5n);
    net.elect(1n); // 1, 2 and 3: three of five
    assert.equal(net.state(1n), "leader");
    net.heal();
    net.tickStabilize();
    for (const id of net.ids()) {
      assert.equal(net.lead(id), 1n);
      assert.equal(net.term(id), net.term(1n));
    }
    // No further election while the leader's heartbeats flow.
    const term = net.term(1n);
    net.tickStabilize(50);
    assert.equal(net.term(1n), term);
    // Reference: §5.2
  });

  test("a candidate without a majority does not win", () => {
    // "A candidate wins an election if it receives votes from a majority of the servers".
    const net = new Network([1n, 2n, 3n, 4n, 5n]);
    net.stabilize();
    net.partition([1n, 2n], [3n, 4n, 5n]);
    net.elect(1n);
    assert.equal(net.state(1n), "candidate");
    // Reference: §5.2
  });

  test("split votes are resolved by randomized election timeouts", () => {
    // "Raft uses randomized election timeouts to ensure that split votes are rare and that they
    // are resolved quickly. [...] each candidate restarts its randomized election timeout at
    // the start of an election, and it waits for that timeout to elapse before starting the
    // next election; this reduces the likelihood of another split vote in the new election."
    const net = new Network([1n, 2n, 3n, 4n]);
    net.stabilize();
    // Nodes 1 and 3 campaign at once; 2 hears only from 1, 4 only from 3: two votes each.
    net.partition([1n, 2n], [3n, 4n]);
    net.get(1n).node.campaign();
    net.get(3n).node.campaign();
    net.stabilize();
    assert.equal(net.state(1n), "candidate");
    assert.equal(net.state(3n), "candidate");
    assert.equal(net.term(1n), net.term(3n));
    net.heal();
    let ticks = 0;
    while (net.leader() === undefined) {
      net.tickStabilize();
      ticks++;
      assert.ok(ticks < 100, "the split vote was not resolved");
    }
    const l = net.leader()!;
    assert.ok(net.term(l.id) > 2);
    assert.ok(ticks < 40, `resolved within a few election timeouts (took ${ticks} ticks)`);
    for (const id of net.ids()) assert.equal(net.lead(id), l.id);
    // Reference: §5.2
  });

  test("a follower that hears nothing for an election timeout starts an election", () => {
    // "If a follower receives no communication over a period of time called the election
    // timeout, then it assumes there is no viable leader and begins an election to choose a
    // new leader. To begin an election, a follower increments its current term and
    // transitions to candidate state. It then votes for itself and issues RequestVote RPCs".
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    const n = net.get(1n).node;
    for (let i = 0; i < 20 && net.state(1n) === "follower"; i++) n.tick();
    assert.notEqual(net.state(1n), "follower");
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 2, vote: 1n, commit: 3 });
    assert.deepEqual(
      rd.messages.map((m) => [MessageType[m.type], m.to, m.term]),
      [
        ["MsgVote", 2n, 2],
        ["MsgVote", 3n, 2],
      ],
    );
    // Reference: §5.2
  });
});

describe("§5.3 log replication", () => {
  test("an entry is committed once replicated on a majority, and then applied", () => {
    // "A log entry is committed once the leader that created the entry has replicated it on a
    // majority of the servers [...]. The leader keeps track of the highest index it knows to be
    // committed, and it includes that index in future AppendEntries RPCs (including
    // heartbeats) so that the other servers eventually find out. Once a follower learns that a
    // log entry is committed, it applies the entry to its local state machine".
    const net = new Network([1n, 2n, 3n, 4n, 5n]);
    net.stabilize();
    net.elect(1n);
    net.isolate(4n);
    net.isolate(5n);
    net.get(1n).node.propose(enc("two-down"));
    net.stabilize();
    for (const id of [1n, 2n, 3n]) assert.deepEqual(net.appliedData(id), ["two-down"]);
    net.heal();
    net.isolate(3n);
    net.isolate(4n);
    net.isolate(5n);
    net.get(1n).node.propose(enc("three-down"));
    net.stabilize();
    assert.deepEqual(net.appliedData(1n), ["two-down"], "not on a majority: not committed");
    net.heal();
    net.tickStabilize(2);
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["two-down", "three-down"]);
    // Reference: §5.3
  });

  // Figure 7: the leader of term 8 and six possible follower logs.
  const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const figure7: Array<{ name: string; terms: number[] }> = [
    { name: "(a) missing one entry", terms: [1, 1, 1, 4, 4, 5, 5, 6, 6] },
    { name: "(b) missing many entries", terms: [1, 1, 1, 4] },
    { name: "(c) one extra uncommitted entry", terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6] },
    { name: "(d) extra entries of a later term", terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7] },
    { name: "(e) missing and conflicting entries", terms: [1, 1, 1, 4, 4, 4, 4] },
    { name: "(f) many conflicting entries", terms: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3] },
  ];
  for (const c of figure7) {
    test(`Figure 7 ${c.name}: the follower's log converges to the leader's`, () => {
      // "In Raft, the leader handles inconsistencies by forcing the followers' logs to
      // duplicate its own. This means that conflicting entries in follower logs will be
      // overwritten with entries from the leader's log. [...] When a leader first comes to
      // power, it initializes all nextIndex values to the index just after the last one in its
      // log. If a follower's log is inconsistent with the leader's, the AppendEntries
      // consistency check will fail in the next AppendEntries RPC. After a rejection, the
      // leader decrements nextIndex and retries the AppendEntries RPC. Eventually nextIndex
      // will reach a point where the leader and follower logs match."
      const net = new Network([], {}, false);
      const voters = [1n, 2n, 3n];
      const hs = (_terms: number[]) => ({ term: 7, vote: NONE, commit: 3 });
      net.addNode(1n, [], false, newStorage({ voters, entries: entsOfTerms(1, leaderLog), hardState: hs(leaderLog) }));
      net.addNode(2n, [], false, newStorage({ voters, entries: entsOfTerms(1, c.terms), hardState: hs(c.terms) }));
      net.addNode(3n, [], false, newStorage({ voters, entries: entsOfTerms(1, leaderLog), hardState: hs(leaderLog) }));
      net.elect(1n);
      assert.equal(net.state(1n), "leader");
      assert.equal(net.term(1n), 8);
      net.get(1n).node.propose(enc("after"));
      net.stabilize();
      const want = [...leaderLog, 8, 8];
      for (const id of voters) assert.deepEqual(termsOf(net.get(id)), want, `node ${id}`);
      const rejections = net.delivered.filter((m) => m.type === MessageType.MsgAppResp && m.reject && m.from === 2n).length;
      const distinctTerms = new Set([...c.terms, ...leaderLog]).size;
      assert.ok(rejections <= distinctTerms, `${rejections} rejections: at most one round trip per term`);
      for (const id of voters) assert.deepEqual(net.appliedData(id), ["after"]);
      // Reference: §5.3
    });
  }

  test("duplicated and reordered appends are harmless (RPCs are idempotent)", () => {
    // "Raft RPCs are idempotent, so this causes no harm. For example, if a follower receives an
    // AppendEntries request that includes log entries already present in its log, it ignores
    // those entries in the new request."
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    const n1 = net.get(1n).node;
    for (const d of ["a", "b", "c"]) n1.propose(enc(d));
    net.processReady(1n);
    const apps = net.take((m) => m.type === MessageType.MsgApp);
    // Deliver every append three times, the last batch in reverse order.
    for (const m of [...apps, ...apps, ...apps.slice().reverse()]) net.deliver(m);
    net.stabilize();
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["a", "b", "c"]);
    // Reference: §5.5
  });
});

describe("§5.4 safety", () => {
  test("election restriction: a candidate missing committed entries cannot win", () => {
    // "Raft uses the voting process to prevent a candidate from winning an election unless its
    // log contains all committed entries. [...] the RequestVote RPC implements this
    // restriction: the RPC includes information about the candidate's log, and the voter
    // denies its vote if its own log is more up-to-date than that of the candidate."
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.isolate(3n);
    net.get(1n).node.propose(enc("committed"));
    net.stabilize();
    net.heal();
    net.isolate(1n);
    for (let i = 0; i < 5; i++) {
      net.get(3n).node.campaign();
      net.stabilize();
      assert.notEqual(net.state(3n), "leader");
    }
    net.elect(2n);
    assert.equal(net.state(2n), "leader");
    net.tickStabilize();
    assert.deepEqual(net.appliedData(3n), ["committed"]);
    // Reference: §5.4.1
  });

  /**
   * Figure 8, (a) to (c): five servers; the leader of term 4 (S1) has replicated its term-2
   * entry at index 7 on a majority (S1, S2, S3), plus its own term-4 entry on S2 only.
   * Indexes 1..5 are the bootstrap entries, 6 the empty entry of S1's first term.
   */
  function figure8UpToC(cfg: Partial<Config> = { maxSizePerMsg: 0 }): Network {
    const net = new Network([1n, 2n, 3n, 4n, 5n], cfg);
    net.stabilize();
    net.elect(1n);
    assert.equal(net.term(1n), 2);
    // (a) S1 is leader of term 2 and replicates "x" (index 7) to S2 only.
    net.partition([1n], [3n, 4n, 5n]);
    net.get(1n).node.propose(enc("x"));
    net.stabilize();
    assert.deepEqual(termsOf(net.get(2n)).slice(5), [2, 2]);
    // (b) S1 crashes; S5 is elected for term 3 with votes from S3, S4 and itself, and appends
    // its own entry at index 7, which reaches nobody.
    net.heal();
    net.isolate(1n);
    net.filters.push((m) => m.from === 5n && m.type === MessageType.MsgApp);
    net.elect(5n);
    assert.equal(net.state(5n), "leader");
    assert.equal(net.term(5n), 3);
    assert.deepEqual(termsOf(net.get(5n)).slice(5), [2, 3]);
    // (c) S5 crashes; S1 restarts and is elected for term 4 (S2, S3), and replicates index 7
    // (term 2) to S3, but its term-4 entry only to S2.
    net.heal();
    net.isolate(5n);
    net.partition([1n], [4n]);
    // S1's appends reach S3 without their term-4 entries.
    net.rewriters.push((m) => (m.from === 1n && m.to === 3n && m.type === MessageType.MsgApp ? { ...m, entries: m.entries.filter((e) => e.term !== 4) } : m));
    net.restart(1n);
    // Term 3: S3 already voted for S5 and S4 is unreachable, so S1 loses; term 4 it wins.
    net.elect(1n);
    assert.notEqual(net.state(1n), "leader");
    net.elect(1n);
    assert.equal(net.state(1n), "leader");
    assert.equal(net.term(1n), 4);
    net.tickStabilize(3);
    assert.deepEqual(termsOf(net.get(3n)).slice(5), [2, 2], "S3 holds index 7 of term 2");
    assert.deepEqual(termsOf(net.get(2n)).slice(5), [2, 2, 4]);
    return net;
  }

  test("Figure 8: an entry of an older term on a majority is not committed, and may be overwritten", () => {
    // "a leader cannot immediately conclude that an entry from a previous term is committed
    // once it is stored on a majority of servers. Figure 8 illustrates a situation where an
    // old log entry is stored on a majority of servers, yet can still be overwritten by a
    // future leader. [...] To eliminate problems like the one in Figure 8, Raft never commits
    // log entries from previous terms by counting replicas. Only log entries from the leader's
    // current term are committed by counting replicas".
    const net = figure8UpToC();
    assert.equal(net.commit(1n), 6, "index 7 is on three of five servers, but not committed");
    // (d) S1 crashes; S5 is elected (S3, S4 and itself) and overwrites index 7 everywhere.
    net.heal();
    net.isolate(1n);
    net.restart(5n);
    for (let i = 0; i < 5 && net.state(5n) !== "leader"; i++) net.elect(5n);
    assert.equal(net.state(5n), "leader");
    net.get(5n).node.propose(enc("y"));
    net.stabilize();
    for (const id of [2n, 3n, 4n, 5n]) {
      assert.equal(termsOf(net.get(id))[6], 3, `node ${id}: index 7 now holds S5's term-3 entry`);
      assert.deepEqual(net.appliedData(id), ["y"]);
    }
    // Reference: §5.4.2
  });

  test("Figure 8 with the rule broken: counting replicas commits an old entry, and a later leader lacks it", () => {
    // The same schedule with the leader allowed to commit a previous term's entry by counting
    // replicas (a fault switch for tests): "x" is committed and applied at (c), yet S5 still
    // wins the election at (d) without it and would overwrite it. This is what the rule prevents.
    const cfg = { maxSizePerMsg: 0 };
    setFaults(cfg, { commitPreviousTermByCount: true });
    const net = figure8UpToC(cfg);
    assert.equal(net.commit(1n), 7);
    assert.deepEqual(net.appliedData(1n), ["x"]);
    // (d): S5 still wins, with S3's and S4's votes: a leader without the committed entry,
    // which it will overwrite everywhere.
    net.heal();
    net.isolate(1n);
    net.isolate(2n);
    net.dropType(MessageType.MsgApp);
    net.restart(5n);
    for (let i = 0; i < 5 && net.state(5n) !== "leader"; i++) net.elect(5n);
    assert.equal(net.state(5n), "leader");
    assert.equal(termsOf(net.get(5n))[6], 3, "the new leader's index 7 is its own term-3 entry, not the committed x");
    // Reference: §5.4.2
  });

  test("Figure 8 (e): once an entry of the leader's term is on a majority, it and all before it commit", () => {
    // "However, if S1 replicates an entry from its current term on a majority of the servers
    // before crashing, as in (e), then this entry is committed (S5 cannot win an election).
    // At this point all preceding entries in the log are committed as well."
    const net = figure8UpToC();
    net.heal();
    net.isolate(5n);
    net.tickStabilize(2);
    assert.equal(net.commit(1n), 8);
    for (const id of [1n, 2n, 3n]) assert.deepEqual(net.appliedData(id), ["x"]);
    // S1 crashes: S5 cannot win, the committed entries survive under the next leader.
    net.heal();
    net.isolate(1n);
    net.restart(5n);
    for (let i = 0; i < 5; i++) {
      net.get(5n).node.campaign();
      net.stabilize();
      assert.notEqual(net.state(5n), "leader");
    }
    for (let i = 0; i < 100 && (net.leader() === undefined || net.leader()!.id === 1n); i++) net.tickStabilize();
    net.tickStabilize(2);
    for (const id of [2n, 3n, 4n, 5n]) assert.deepEqual(net.appliedData(id), ["x"], `node ${id}`);
    // Reference: §5.4.2
  });
});

describe("leader failure and restarts", () => {
  test("the leader fails: the others elect a new one, committed entries survive, the old leader's uncommitted ones do not", () => {
    // "If a follower receives no communication over a period of time called the election
    // timeout, then it assumes there is no viable leader and begins an election to choose a
    // new leader." (§5.2) and "If a candidate or leader discovers that its term is out of date,
    // it immediately reverts to follower state." (§5.1)
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.get(1n).node.propose(enc("a"));
    net.stabilize();
    net.isolate(1n);
    net.get(1n).node.propose(enc("lost")); // never reaches a majority
    for (let i = 0; i < 100 && (net.leader() === undefined || net.leader()!.id === 1n); i++) {
      net.tickAll();
      net.stabilize();
    }
    const l = net.leader()!;
    assert.notEqual(l.id, 1n);
    assert.ok(net.term(l.id) > 2);
    net.get(l.id).node.propose(enc("b"));
    net.stabilize();
    net.heal();
    net.tickStabilize(3);
    assert.equal(net.state(1n), "follower");
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["a", "b"]);
    // Reference: §5.2, §5.3
  });

  test("a restarted follower does not re-apply entries", () => {
    // "If a follower or candidate crashes, then future RequestVote and AppendEntries RPCs sent
    // to it will fail. Raft handles these failures by retrying indefinitely; if the crashed
    // server restarts, then the RPC will complete successfully."
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    for (const d of ["a", "b"]) net.get(1n).node.propose(enc(d));
    net.stabilize();
    const appliedBefore = net.get(2n).applied.length;
    net.isolate(2n);
    net.get(1n).node.propose(enc("c"));
    net.stabilize();
    // The follower restarts over its storage with `applied` set: no entry up to it comes again.
    const tn = net.restart(2n);
    assert.equal(tn.node.hasReady(), false);
    net.heal();
    net.tickStabilize(2);
    assert.deepEqual(net.appliedData(2n), ["a", "b", "c"]);
    const idx = tn.applied.map((e) => e.index);
    assert.deepEqual(idx, [...new Set(idx)], "each index applied once");
    assert.equal(tn.applied.length, appliedBefore + 1);
    // Reference: §5.5
  });

  test("a restarted follower that lost its state machine rebuilds it from its snapshot and log", () => {
    // "Each server takes snapshots independently, covering just the committed entries in its
    // log." A server restarting from its snapshot applies only the entries after it.
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    for (const d of ["a", "b"]) net.get(1n).node.propose(enc(d));
    net.stabilize();
    net.compact(2n);
    net.get(1n).node.propose(enc("c"));
    net.stabilize();
    net.restart(2n, { keepStateMachine: false });
    assert.deepEqual(net.appliedData(2n), ["a", "b"], "from the snapshot");
    net.stabilize();
    assert.deepEqual(net.appliedData(2n), ["a", "b", "c"]);
    // Reference: §7
  });
});

export type { NodeId };
