// Elections: vote granting (up-to-date check, one vote per term, repeated votes), the term rules
// every role applies to every message, randomized timeouts, and election scenarios.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, NONE, emptyConfState } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { RawNode, type Config } from "@tsraft/raft";
import type { MemoryStorage } from "@tsraft/storage-memory";
import { Network, drain, drainMessages, entsOfTerms, msg, newStorage, statusKey } from "./harness/network.js";

type Role = "follower" | "candidate" | "pre-candidate" | "leader";

function mk(id: NodeId, s: MemoryStorage, cfg: Partial<Config> = {}): RawNode {
  return new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage: s, ...cfg });
}

/**
 * Node 1 of {1,2,3} with log terms `terms`, in `role` at term `term` (a candidate or leader got
 * there by campaigning from `term - 1`), its Readies drained.
 */
function nodeIn(role: Role, term: number, opts: { terms?: number[]; vote?: NodeId; cfg?: Partial<Config>; lead?: NodeId } = {}) {
  const terms = opts.terms ?? [2, 2];
  const startTerm = role === "candidate" || role === "leader" ? term - 1 : term;
  const s = newStorage({
    voters: [1n, 2n, 3n],
    entries: entsOfTerms(1, terms),
    hardState: { term: startTerm, vote: opts.vote ?? NONE, commit: 0 },
  });
  const cfg = { ...opts.cfg, ...(role === "pre-candidate" ? { preVote: true } : {}) };
  const n = mk(1n, s, cfg);
  if (role !== "follower") n.campaign();
  if (cfg.preVote === true && (role === "candidate" || role === "leader")) {
    // Win the pre-election first.
    drain(n, s);
    n.step(msg({ type: MessageType.MsgPreVoteResp, from: 2n, to: 1n, term }));
  }
  if (role === "leader") {
    drain(n, s);
    n.step(msg({ type: MessageType.MsgVoteResp, from: 3n, to: 1n, term }));
  }
  if (opts.lead !== undefined) n.step(msg({ type: MessageType.MsgHeartbeat, from: opts.lead, to: 1n, term }));
  drainMessages(n, s);
  assert.equal(n.basicStatus().softState.raftState, role);
  assert.equal(n.basicStatus().hardState.term, term);
  return { n, s };
}

/** Steps `m` and returns the messages of the next Ready (persisted), and that Ready's HardState. */
function stepAndCollect(n: RawNode, s: MemoryStorage, m: Message) {
  n.step(m);
  const rd = drain(n, s);
  return { msgs: rd?.messages ?? [], hs: rd?.hardState };
}

describe("vote granting: an up-to-date log (last term, then index), one vote per term", () => {
  // Node 1's log: (1,2) (2,2). The request is for term max(2, logTerm) (the node's own term).
  const cases: Array<{ name: string; index: number; logTerm: number; vote?: NodeId; lead?: NodeId; reject: boolean }> = [
    { name: "empty log", index: 0, logTerm: 0, reject: true },
    { name: "index 0, older last term", index: 0, logTerm: 1, reject: true },
    { name: "index 0, same last term but shorter", index: 0, logTerm: 2, reject: true },
    { name: "index 0, newer last term wins despite length", index: 0, logTerm: 3, reject: false },
    { name: "index 1, older term", index: 1, logTerm: 1, reject: true },
    { name: "index 1, same term, shorter", index: 1, logTerm: 2, reject: true },
    { name: "index 1, newer term", index: 1, logTerm: 3, reject: false },
    { name: "same length, older term", index: 2, logTerm: 1, reject: true },
    { name: "same last entry", index: 2, logTerm: 2, reject: false },
    { name: "same length, newer term", index: 2, logTerm: 3, reject: false },
    { name: "longer, older term: the term decides", index: 3, logTerm: 1, reject: true },
    { name: "longer, same term", index: 3, logTerm: 2, reject: false },
    { name: "longer, newer term", index: 3, logTerm: 3, reject: false },
    { name: "repeat vote for the same candidate", index: 3, logTerm: 2, vote: 2n, reject: false },
    { name: "already voted for another in this term", index: 3, logTerm: 2, vote: 3n, reject: true },
    { name: "already voted for itself in this term", index: 3, logTerm: 2, vote: 1n, reject: true },
    { name: "not voted, but knows a leader in this term", index: 3, logTerm: 2, lead: 3n, reject: true },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const term = Math.max(2, c.logTerm);
      const opts: { vote?: NodeId; lead?: NodeId } = {};
      if (c.vote !== undefined) opts.vote = c.vote;
      if (c.lead !== undefined) opts.lead = c.lead;
      const { n, s } = nodeIn("follower", term, opts);
      const { msgs, hs } = stepAndCollect(n, s, msg({ type: MessageType.MsgVote, from: 2n, to: 1n, term, index: c.index, logTerm: c.logTerm }));
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0]!.type, MessageType.MsgVoteResp);
      assert.equal(msgs[0]!.to, 2n);
      assert.equal(msgs[0]!.term, term);
      assert.equal(msgs[0]!.reject, c.reject);
      const wantVote = c.reject ? (c.vote ?? NONE) : 2n;
      assert.equal(n.basicStatus().hardState.vote, wantVote);
      // The vote is in the HardState of the same Ready as the response (persisted before sent).
      if (!c.reject && c.vote === undefined) assert.equal(hs?.vote, 2n);
    });
  }

  const roles: Array<{ name: string; role: Role }> = [
    { name: "a leader (voted for itself) rejects a vote at its term", role: "leader" },
    { name: "a candidate (voted for itself) rejects a vote at its term", role: "candidate" },
  ];
  for (const c of roles) {
    test(c.name, () => {
      const { n, s } = nodeIn(c.role, 3);
      const { msgs } = stepAndCollect(n, s, msg({ type: MessageType.MsgVote, from: 2n, to: 1n, term: 3, index: 10, logTerm: 3 }));
      const resp = msgs.filter((m) => m.type === MessageType.MsgVoteResp);
      assert.equal(resp.length, 1);
      assert.equal(resp[0]!.reject, true);
      assert.equal(n.basicStatus().softState.raftState, c.role);
    });
  }

  test("one vote per term: a second candidate of the same term is refused, the first one granted again", () => {
    const { n, s } = nodeIn("follower", 2);
    const vote = (from: NodeId) => stepAndCollect(n, s, msg({ type: MessageType.MsgVote, from, to: 1n, term: 3, index: 2, logTerm: 2 })).msgs[0]!.reject;
    assert.equal(vote(2n), false);
    assert.equal(vote(3n), true);
    assert.equal(vote(2n), false);
    assert.equal(n.basicStatus().hardState.vote, 2n);
    // A new term frees the vote.
    const r = stepAndCollect(n, s, msg({ type: MessageType.MsgVote, from: 3n, to: 1n, term: 4, index: 2, logTerm: 2 }));
    assert.equal(r.msgs[0]!.reject, false);
    assert.deepEqual(r.hs, { term: 4, vote: 3n, commit: 0 });
  });

  test("a restarted node remembers its vote", () => {
    const { n, s } = nodeIn("follower", 2);
    stepAndCollect(n, s, msg({ type: MessageType.MsgVote, from: 2n, to: 1n, term: 3, index: 2, logTerm: 2 }));
    const n2 = mk(1n, s);
    const r = stepAndCollect(n2, s, msg({ type: MessageType.MsgVote, from: 3n, to: 1n, term: 3, index: 5, logTerm: 3 }));
    assert.equal(r.msgs[0]!.reject, true);
    assert.equal(n2.basicStatus().hardState.vote, 2n);
  });
});

describe("term handling: a higher term makes every role a follower of that term", () => {
  const types: Array<{ t: MessageType; lead: boolean; extra?: Partial<Message> }> = [
    { t: MessageType.MsgApp, lead: true, extra: { index: 0, logTerm: 0 } },
    { t: MessageType.MsgHeartbeat, lead: true },
    {
      t: MessageType.MsgSnap,
      lead: true,
      extra: { snapshot: { metadata: { index: 1, term: 1, confState: { ...emptyConfState(), voters: [1n, 2n, 3n] } } } },
    },
    { t: MessageType.MsgVote, lead: false, extra: { index: 10, logTerm: 9 } },
    { t: MessageType.MsgAppResp, lead: false },
    { t: MessageType.MsgHeartbeatResp, lead: false },
    { t: MessageType.MsgVoteResp, lead: false, extra: { reject: true } },
    { t: MessageType.MsgPreVoteResp, lead: false, extra: { reject: true } },
  ];
  for (const role of ["follower", "candidate", "leader"] as const) {
    for (const c of types) {
      test(`${role} <- ${MessageType[c.t]}${c.lead ? " (learns the leader)" : ""}`, () => {
        const { n, s } = nodeIn(role, 3);
        n.step(msg({ type: c.t, from: 2n, to: 1n, term: 9, ...c.extra }));
        drainMessages(n, s);
        const st = n.basicStatus();
        assert.equal(st.hardState.term, 9);
        assert.equal(st.softState.raftState, "follower");
        assert.equal(st.softState.lead, c.lead ? 2n : NONE);
        assert.equal(st.hardState.vote, c.t === MessageType.MsgVote ? 2n : NONE);
      });
    }
  }

  test("a pre-vote request of a higher term never changes the term", () => {
    for (const role of ["follower", "candidate", "leader"] as const) {
      const { n, s } = nodeIn(role, 3, { cfg: { preVote: true } });
      const before = n.basicStatus();
      const msgs = stepAndCollect(n, s, msg({ type: MessageType.MsgPreVote, from: 2n, to: 1n, term: 9, index: 10, logTerm: 9 })).msgs;
      const resp = msgs.find((m) => m.type === MessageType.MsgPreVoteResp)!;
      assert.equal(resp.term, 9, "a granted pre-vote carries the requested term");
      assert.equal(resp.reject, false, "the log is up to date and it is a future term");
      assert.deepEqual(n.basicStatus().hardState, before.hardState, role);
      assert.equal(n.basicStatus().softState.raftState, role);
    }
  });

  test("a granted pre-vote answer of a higher term does not move a pre-candidate's term", () => {
    const { n, s } = nodeIn("pre-candidate", 3);
    n.step(msg({ type: MessageType.MsgPreVoteResp, from: 2n, to: 1n, term: 4 }));
    drainMessages(n, s);
    // It won the pre-election (itself + node 2) and campaigns for real at term 4.
    assert.equal(n.basicStatus().softState.raftState, "candidate");
    assert.equal(n.basicStatus().hardState.term, 4);
  });
});

describe("term handling: lower-term messages are ignored, or answered with our term", () => {
  const cases: Array<{ name: string; t: MessageType; cfg?: Partial<Config>; want: "ignore" | "appresp" | "prevote-reject" | "vote-reject" }> = [
    // §5.1: "If a server receives a request with a stale term number, it rejects the request."
    // (etcd answers only with checkQuorum or preVote; see CONFORMANCE.md.)
    { name: "MsgApp: answered so the stale leader learns our term", t: MessageType.MsgApp, want: "appresp" },
    { name: "MsgHeartbeat: answered so the stale leader learns our term", t: MessageType.MsgHeartbeat, want: "appresp" },
    { name: "MsgVote: rejected with our term (§5.1; etcd ignores it)", t: MessageType.MsgVote, want: "vote-reject" },
    { name: "MsgAppResp: ignored", t: MessageType.MsgAppResp, want: "ignore" },
    { name: "MsgHeartbeatResp: ignored", t: MessageType.MsgHeartbeatResp, want: "ignore" },
    { name: "MsgVoteResp: ignored", t: MessageType.MsgVoteResp, want: "ignore" },
    { name: "MsgPreVote: rejected with our term", t: MessageType.MsgPreVote, want: "prevote-reject" },
    { name: "MsgApp with checkQuorum: answered so the stale leader learns our term", t: MessageType.MsgApp, cfg: { checkQuorum: true }, want: "appresp" },
    { name: "MsgHeartbeat with checkQuorum: answered", t: MessageType.MsgHeartbeat, cfg: { checkQuorum: true }, want: "appresp" },
    { name: "MsgApp with preVote: answered", t: MessageType.MsgApp, cfg: { preVote: true }, want: "appresp" },
    { name: "MsgVote with preVote: rejected with our term", t: MessageType.MsgVote, cfg: { preVote: true }, want: "vote-reject" },
  ];
  for (const role of ["follower", "candidate", "leader"] as const) {
    for (const c of cases) {
      test(`${role}: ${c.name}`, () => {
        const opts: { cfg?: Partial<Config> } = {};
        if (c.cfg !== undefined) opts.cfg = c.cfg;
        const { n, s } = nodeIn(role, 5, opts);
        const before = statusKey(n);
        n.step(msg({ type: c.t, from: 2n, to: 1n, term: 4, index: 2, logTerm: 2 }));
        assert.equal(statusKey(n), before);
        const msgs = drainMessages(n, s);
        if (c.want === "ignore") assert.deepEqual(msgs, []);
        else {
          assert.equal(msgs.length, 1);
          const m = msgs[0]!;
          assert.equal(m.to, 2n);
          assert.equal(m.term, 5);
          if (c.want === "appresp") assert.equal(m.type, MessageType.MsgAppResp);
          else {
            assert.equal(m.type, c.want === "vote-reject" ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp);
            assert.equal(m.reject, true);
          }
        }
      });
    }
  }
});

describe("randomized election timeout in [electionTick, 2 * electionTick)", () => {
  const cases = [
    { name: "random 0: exactly electionTick", r: 0, want: 10 },
    { name: "random 0.5", r: 0.5, want: 15 },
    { name: "random just below 1: 2 * electionTick - 1", r: 0.9999, want: 19 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = newStorage({ voters: [1n, 2n, 3n] });
      const n = mk(1n, s, { random: () => c.r });
      let ticks = 0;
      while (n.basicStatus().softState.raftState === "follower") {
        n.tick();
        ticks++;
        assert.ok(ticks < 100);
      }
      assert.equal(ticks, c.want);
    });
  }
  test("the default source spreads timeouts over the whole range, per node", () => {
    const seen = new Set<number>();
    for (let id = 1n; id <= 60n; id++) {
      const s = newStorage({ voters: [id, 1000n] });
      const n = mk(id, s);
      let ticks = 0;
      while (n.basicStatus().softState.raftState === "follower") {
        n.tick();
        ticks++;
      }
      assert.ok(ticks >= 10 && ticks < 20, `timeout ${ticks}`);
      seen.add(ticks);
    }
    assert.ok(seen.size >= 7, `only ${seen.size} distinct timeouts`);
  });
});

describe("election scenarios", () => {
  test("a leader emerges from ticks alone; everyone agrees on it", () => {
    const net = new Network([1n, 2n, 3n, 4n, 5n]);
    net.stabilize();
    for (let i = 0; i < 50 && net.leader() === undefined; i++) net.tickStabilize();
    const l = net.leader();
    assert.ok(l !== undefined);
    for (const id of net.ids()) {
      assert.equal(net.lead(id), l.id);
      assert.equal(net.term(id), net.term(l.id));
    }
  });

  test("a candidate that loses a majority of votes becomes a follower", () => {
    const { n, s } = nodeIn("candidate", 3);
    n.step(msg({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 3, reject: true }));
    assert.equal(n.basicStatus().softState.raftState, "candidate");
    n.step(msg({ type: MessageType.MsgVoteResp, from: 3n, to: 1n, term: 3, reject: true }));
    drainMessages(n, s);
    assert.equal(n.basicStatus().softState.raftState, "follower");
    assert.equal(n.basicStatus().hardState.term, 3);
  });

  test("a candidate concedes to a leader of its own term", () => {
    for (const t of [MessageType.MsgApp, MessageType.MsgHeartbeat]) {
      const { n, s } = nodeIn("candidate", 3);
      n.step(msg({ type: t, from: 2n, to: 1n, term: 3, index: 2, logTerm: 2 }));
      drainMessages(n, s);
      assert.equal(n.basicStatus().softState.raftState, "follower");
      assert.equal(n.basicStatus().softState.lead, 2n);
    }
  });

  test("campaign() on a leader does nothing", () => {
    const { n, s } = nodeIn("leader", 3);
    const before = statusKey(n);
    n.campaign();
    assert.equal(statusKey(n), before);
    assert.deepEqual(drainMessages(n, s), []);
  });

  test("dueling candidates: the one with the longer log wins after a split", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.partition([1n], [3n]);
    net.get(1n).node.campaign();
    net.get(3n).node.campaign();
    net.stabilize();
    // Node 2 voted for 1 (first asked); node 3 lost and is a follower or still a candidate.
    assert.equal(net.state(1n), "leader");
    assert.equal(net.state(2n), "follower");
    net.heal();
    // Node 3 campaigns again at a higher term; its log is shorter (no empty entry of term 2).
    net.get(3n).node.campaign();
    net.stabilize();
    assert.equal(net.state(3n), "follower");
    for (let i = 0; i < 60 && net.leader() === undefined; i++) net.tickStabilize();
    const l = net.leader()!;
    assert.notEqual(l.id, 3n, "the node missing committed entries cannot win");
    for (const id of net.ids()) assert.equal(net.get(id).storage.lastIndex(), net.get(l.id).storage.lastIndex());
  });

  test("a single-node cluster elects itself on its election timeout", () => {
    const net = new Network([1n]);
    net.stabilize();
    for (let i = 0; i < 20 && net.state(1n) !== "leader"; i++) net.tickStabilize();
    assert.equal(net.state(1n), "leader");
  });

  test("old terms' messages do not disturb a newer leader", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.elect(2n);
    net.elect(1n);
    const term = net.term(1n);
    // A MsgApp of node 2's old term carrying a conflicting entry.
    const stale = msg({ type: MessageType.MsgApp, from: 2n, to: 1n, term: term - 1, index: 4, logTerm: term - 1, entries: entsOfTerms(5, [term - 1]) });
    const st = statusKey(net.get(1n).node);
    net.get(1n).node.step(stale);
    assert.equal(statusKey(net.get(1n).node), st);
    net.get(1n).node.propose(new Uint8Array([1]));
    net.stabilize();
    for (const id of net.ids()) assert.equal(net.commit(id), net.get(1n).storage.lastIndex());
  });
});
