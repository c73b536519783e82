// A leader that removes itself while it holds an uncommitted entry the other voter lacks.
// Stepping down at once (etcd's behaviour, handOverOnRemoval: false) leaves the cluster with
// no possible leader: the remaining voter never learned that the removal committed, still
// counts the old leader as a voter, and cannot win its vote because the old leader's log is
// longer. Handing leadership over first (the default) lets the remaining voter take over.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType, EntryType, MessageType, NONE, emptyConfState, encodeConfChange } from "@tsraft/raftpb";
import type { Entry, Message } from "@tsraft/raftpb";
import { CompactedError, type Config, type RawNode } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { Network, entsOfTerms, enc, mkNode, msg, newStorage } from "./harness/network.js";

function removeLeaderScenario(handOverOnRemoval: boolean): Network {
  const net = new Network([1n, 2n], { handOverOnRemoval });
  net.stabilize();
  net.elect(1n);
  const n1 = net.get(1n).node;
  n1.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 1n, id: 0n, context: undefined });
  net.processReady(1n); // the conf change goes out to node 2
  net.deliverAll();
  net.processReady(2n); // node 2 appends it and acknowledges
  n1.propose(enc("bar")); // an entry after the conf change, which node 2 does not have yet
  // Node 1 receives the acknowledgement, commits and applies its removal; everything it sends
  // in this round (the new commit index, "bar") is lost.
  net.deliverAll();
  net.processReady(1n);
  net.processReady(1n);
  net.queue = net.queue.filter((m) => !(m.from === 1n && m.to === 2n));
  net.tickStabilize(60);
  return net;
}

test("without hand-over, a leader that removes itself can leave the cluster leaderless (etcd's behaviour)", () => {
  const net = removeLeaderScenario(false);
  assert.equal(net.leader(), undefined, "nobody can be elected");
  assert.equal(net.state(1n), "follower");
});

test("with hand-over (the default), the remaining voter becomes leader and has every entry", () => {
  const net = removeLeaderScenario(true);
  assert.equal(net.leader()?.id, 2n);
  assert.equal(net.state(1n), "follower");
  // The remaining voter can commit on its own, and the entry the old leader held is kept.
  net.get(2n).node.propose(enc("after"));
  net.tickStabilize(3);
  assert.deepEqual(net.appliedData(2n), ["bar", "after"]);
});

// The hand-over is the leader's job, and it can be cut short: the removed leader restarts, or
// a higher term deposes it, before the remaining voter has its entries. It is then a follower
// outside its own configuration that never campaigns, with the longest log, whose vote the
// remaining voter still needs. Asked for that vote, it campaigns itself (in its own
// configuration, where the remaining voter's vote is enough), and hands over as leader.
const interrupted: Array<{ name: string; interrupt: (net: Network) => void }> = [
  { name: "restarts", interrupt: (net) => void net.restart(1n) },
  {
    name: "is deposed by a higher term",
    interrupt: (net) => {
      // Node 2 campaigns; its MsgVote of a higher term ends node 1's leadership.
      net.get(2n).node.campaign();
      net.processReady(2n);
      for (const m of net.take((m) => m.from === 2n && m.to === 1n)) net.deliver(m);
      assert.notEqual(net.state(1n), "leader");
    },
  },
];

for (const c of interrupted) {
  test(`a removed leader that ${c.name} before its hand-over finishes still hands over`, () => {
    const net = new Network([1n, 2n]);
    net.stabilize();
    net.elect(1n);
    const n1 = net.get(1n).node;
    n1.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: 1n, id: 0n, context: undefined });
    net.processReady(1n);
    net.deliverAll();
    net.processReady(2n);
    n1.propose(enc("bar"));
    net.deliverAll();
    net.processReady(1n);
    net.processReady(1n);
    // Node 1 applied its removal and started the hand-over; none of it reaches node 2.
    assert.equal(net.get(1n).confState.voters.join(","), "2");
    net.queue = net.queue.filter((m) => !(m.from === 1n && m.to === 2n));
    c.interrupt(net);
    net.tickStabilize(60);
    assert.equal(net.leader()?.id, 2n, "the remaining voter leads");
    assert.equal(net.state(1n), "follower");
    net.get(2n).node.propose(enc("after"));
    net.tickStabilize(3);
    assert.deepEqual(net.appliedData(2n), ["bar", "after"]);
  });
}

// When a node outside its voters campaigns (and when it must not): node 3, a learner of
// voters {1,2}, log terms [1,1,2,2] (index 4), at term 2, is asked by node 1 at term 3 for
// its vote with log (index 3, term 2). Each row names the rule; "campaigns" is what node 3
// sends next.
describe("a node outside its voters campaigns only to hand over", () => {
  const shorter = (term = 3, from = 1n): Message => msg({ type: MessageType.MsgVote, from, to: 3n, term, index: 3, logTerm: 2 });
  const cases: Array<{
    name: string;
    cfg?: Partial<Config>;
    voters?: bigint[];
    learners?: bigint[];
    entries?: Entry[];
    commit?: number;
    /** What happens to node 3 first (nothing is persisted or applied before the vote). */
    before?: (n: RawNode) => void;
    vote?: Message;
    expect: "MsgVote" | "MsgPreVote" | "nothing";
  }> = [
    { name: "asked with a shorter log, knowing no leader: campaigns", expect: "MsgVote" },
    { name: "with preVote: a pre-election first", cfg: { preVote: true }, vote: { ...shorter(3), type: MessageType.MsgPreVote }, expect: "MsgPreVote" },
    { name: "without handOverOnRemoval (etcd): never", cfg: { handOverOnRemoval: false }, expect: "nothing" },
    { name: "asked by an up-to-date candidate: grants its vote instead", vote: { ...shorter(3), index: 4 }, expect: "nothing" },
    { name: "a voter: only rejects (its own election timer campaigns)", voters: [1n, 2n, 3n], learners: [], expect: "nothing" },
    { name: "an empty configuration: nobody to ask", voters: [], learners: [], expect: "nothing" },
    {
      name: "a leader heard from within an election timeout: not disrupted (the candidate lost this term)",
      before: (n) => n.step(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 3n, term: 3 })),
      vote: shorter(3, 2n),
      expect: "nothing",
    },
    {
      name: "a leader not heard from for an election timeout: campaigns",
      before: (n) => {
        n.step(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 3n, term: 3 }));
        for (let i = 0; i < 10; i++) n.tick();
      },
      vote: shorter(3, 2n),
      expect: "MsgVote",
    },
    {
      name: "a committed conf change not yet applied: waits for it (it may change who votes)",
      entries: [
        ...entsOfTerms(1, [1, 1, 2]),
        { index: 4, term: 2, type: EntryType.EntryConfChange, data: encodeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 3n, id: 0n }) },
      ],
      commit: 4,
      expect: "nothing",
    },
    {
      name: "a snapshot not yet persisted: waits for it",
      before: (n) =>
        n.step(
          msg({
            type: MessageType.MsgSnap,
            from: 1n,
            to: 3n,
            term: 3,
            snapshot: { data: undefined, metadata: { index: 6, term: 2, confState: { ...emptyConfState(), voters: [1n, 2n], learners: [3n] } } },
          }),
        ),
      vote: { ...shorter(4, 2n), index: 5 },
      expect: "nothing",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = newStorage({
        voters: c.voters ?? [1n, 2n],
        learners: c.learners ?? [3n],
        entries: c.entries ?? entsOfTerms(1, [1, 1, 2, 2]),
        hardState: { term: 2, vote: NONE, commit: c.commit ?? 2 },
      });
      const n = mkNode(3n, s, { applied: 2, ...c.cfg });
      c.before?.(n);
      n.step(c.vote ?? shorter());
      const sent = (n.hasReady() ? n.ready().messages : []).filter((m) => m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote);
      if (c.expect === "nothing") {
        assert.deepEqual(
          sent.map((m) => MessageType[m.type]),
          [],
        );
        assert.equal(n.basicStatus().softState.raftState, "follower");
      } else {
        assert.deepEqual(
          sent.map((m) => `${MessageType[m.type]}->${m.to}`),
          [`${c.expect}->1`, `${c.expect}->2`],
        );
      }
    });
  }

  test("a storage refusal while starting that election is logged, and the step still answers (as a timed election)", () => {
    // Committed entries 3..4 are not applied, so the campaign reads them (for conf changes);
    // the storage answers CompactedError (the application compacted it meanwhile).
    class CompactingStorage extends MemoryStorage {
      compacted = false;
      override entries(lo: number, hi: number, maxSize: number): Entry[] {
        if (this.compacted) throw new CompactedError();
        return super.entries(lo, hi, maxSize);
      }
    }
    const s = new CompactingStorage();
    s.append(entsOfTerms(1, [1, 1, 2, 2]));
    s.setHardState({ term: 2, vote: NONE, commit: 4 });
    s.initialState = () => ({ hardState: { term: 2, vote: NONE, commit: 4 }, confState: { ...emptyConfState(), voters: [1n, 2n], learners: [3n] } });
    const warnings: string[] = [];
    const n = mkNode(3n, s, { applied: 2, logger: { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} } });
    s.compacted = true;
    assert.doesNotThrow(() => n.step(msg({ type: MessageType.MsgVote, from: 1n, to: 3n, term: 3, index: 3, logTerm: 2 })));
    assert.equal(n.basicStatus().softState.raftState, "follower");
    assert.match(warnings.join("\n"), /error occurred during election: .*compacted/i);
    s.compacted = false;
    const sent = n.ready().messages.map((m) => `${MessageType[m.type]}->${m.to}${m.reject ? " rejected" : ""}`);
    assert.deepEqual(sent, ["MsgVoteResp->1 rejected"]);
  });
});
