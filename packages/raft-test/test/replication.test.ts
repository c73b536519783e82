// Log replication, seen from the leader's side (one RawNode, messages stepped by hand): the
// commit rule, progress state transitions, the inflight window, reject hints, heartbeat commits,
// and stale or reordered responses.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, NONE } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import type { RawNode } from "@tsraft/raft";
import type { MemoryStorage } from "@tsraft/storage-memory";
import { bytes, confState, drain, drainMessages, enc, entsOfTerms, mkNode, msg, newLeader, newStorage, progressOf, statusKey } from "./harness/network.js";

function ack(n: RawNode, from: NodeId, index: number): void {
  n.step(msg({ type: MessageType.MsgAppResp, from, to: 1n, term: n.basicStatus().hardState.term, index }));
}

function reject(n: RawNode, from: NodeId, index: number, hint: number, logTerm: number): void {
  n.step(msg({ type: MessageType.MsgAppResp, from, to: 1n, term: n.basicStatus().hardState.term, index, reject: true, rejectHint: hint, logTerm }));
}

function hbResp(n: RawNode, from: NodeId, context?: Uint8Array): void {
  const m = msg({ type: MessageType.MsgHeartbeatResp, from, to: 1n, term: n.basicStatus().hardState.term });
  if (context !== undefined) m.context = context;
  n.step(m);
}

const appsTo = (msgs: readonly Message[], to: NodeId) => msgs.filter((m) => m.type === MessageType.MsgApp && m.to === to);

describe("commit rule: a leader commits by counting only entries of its own term (Figure 8)", () => {
  // Leader 1 at term 4 over log terms [1, 2, 2]; its empty entry is (4, 4).
  const cases: Array<{ name: string; voters: NodeId[]; acks: Array<[NodeId, number]>; want: number }> = [
    { name: "a majority holds only older-term entries: nothing commits", voters: [1n, 2n, 3n], acks: [[2n, 3]], want: 0 },
    { name: "a majority holds the new-term entry: it and all before it commit", voters: [1n, 2n, 3n], acks: [[2n, 4]], want: 4 },
    { name: "a minority holds the new-term entry: nothing", voters: [1n, 2n, 3n, 4n, 5n], acks: [[2n, 4]], want: 0 },
    {
      name: "majority of five at the new-term entry",
      voters: [1n, 2n, 3n, 4n, 5n],
      acks: [
        [2n, 4],
        [3n, 4],
      ],
      want: 4,
    },
    {
      name: "majority of five, one of them at an older index",
      voters: [1n, 2n, 3n, 4n, 5n],
      acks: [
        [2n, 4],
        [3n, 3],
      ],
      want: 0,
    },
    {
      name: "acks of older entries from all: still nothing",
      voters: [1n, 2n, 3n, 4n, 5n],
      acks: [
        [2n, 3],
        [3n, 3],
        [4n, 3],
        [5n, 3],
      ],
      want: 0,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { n, s } = newLeader({ voters: c.voters, terms: [1, 2, 2], term: 4 });
      for (const [from, index] of c.acks) {
        // A probe must first find the match; an ack at `index` proves it.
        ack(n, from, index);
      }
      drainMessages(n, s);
      assert.equal(n.basicStatus().hardState.commit, c.want);
    });
  }
});

describe("progress state transitions", () => {
  const cases: Array<{
    name: string;
    setup?: (n: RawNode, s: MemoryStorage) => void;
    act: (n: RawNode, s: MemoryStorage) => void;
    want: { state: string; match: number; next: number; paused?: boolean };
    sends?: { index: number; entries?: number } | "nothing" | "snapshot";
  }> = [
    {
      name: "probe + accepted append -> replicate, next = match + 1",
      act: (n) => ack(n, 2n, 4),
      want: { state: "replicate", match: 4, next: 5, paused: false },
    },
    {
      name: "probe + rejection of the latest probe -> probe, next from the hint, unpaused",
      act: (n) => reject(n, 2n, 3, 1, 1),
      want: { state: "probe", match: 0, next: 2 },
      sends: { index: 1, entries: 3 },
    },
    {
      name: "probe + a stale rejection (not of the latest probe) -> nothing",
      act: (n) => reject(n, 2n, 2, 1, 1),
      want: { state: "probe", match: 0, next: 4, paused: true },
      sends: "nothing",
    },
    {
      name: "probe, paused after a probe, + heartbeat response -> the probe is resent",
      act: (n) => hbResp(n, 2n),
      want: { state: "probe", match: 0, next: 4, paused: true },
      sends: { index: 3, entries: 1 },
    },
    {
      name: "replicate + rejection above match -> probe at match + 1",
      setup: (n, s) => {
        ack(n, 2n, 4);
        n.propose(enc("a"));
        n.propose(enc("b"));
        drainMessages(n, s);
      },
      act: (n) => reject(n, 2n, 6, 6, 2),
      want: { state: "probe", match: 4, next: 5, paused: true },
      sends: { index: 4, entries: 2 },
    },
    {
      name: "replicate + rejection at or below match (stale) -> nothing",
      setup: (n, s) => {
        ack(n, 2n, 4);
        n.propose(enc("a"));
        drainMessages(n, s);
      },
      act: (n) => reject(n, 2n, 4, 3, 2),
      want: { state: "replicate", match: 4, next: 6, paused: false },
      sends: "nothing",
    },
    {
      name: "replicate + reportUnreachable -> probe at match + 1",
      setup: (n, s) => {
        ack(n, 2n, 4);
        n.propose(enc("a"));
        drainMessages(n, s);
      },
      act: (n) => n.reportUnreachable(2n),
      want: { state: "probe", match: 4, next: 5, paused: false },
    },
    {
      name: "probe + reportUnreachable -> unchanged",
      act: (n) => n.reportUnreachable(2n),
      want: { state: "probe", match: 0, next: 4, paused: true },
    },
    {
      name: "probe + an ack at match after falling back -> replicate again",
      setup: (n, s) => {
        ack(n, 2n, 4);
        n.reportUnreachable(2n);
        drainMessages(n, s);
      },
      act: (n) => ack(n, 2n, 4),
      want: { state: "replicate", match: 4, next: 5, paused: false },
    },
    {
      name: "replicate + heartbeat response -> stays replicate",
      setup: (n) => ack(n, 2n, 4),
      act: (n) => hbResp(n, 2n),
      want: { state: "replicate", match: 4, next: 5, paused: false },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      // Leader 1 at term 2 over [1, 1, 1]; empty entry (4, 2); probes 2 at next 4.
      const { n, s } = newLeader({ terms: [1, 1, 1], term: 2 });
      c.setup?.(n, s);
      c.act(n, s);
      const sent = drainMessages(n, s).filter((m) => m.to === 2n && m.type !== MessageType.MsgHeartbeat);
      const pr = progressOf(n, 2n);
      assert.equal(pr.state, c.want.state);
      assert.equal(pr.match, c.want.match);
      assert.equal(pr.next, c.want.next);
      if (c.want.paused !== undefined) assert.equal(pr.paused, c.want.paused);
      if (c.sends === "nothing") assert.deepEqual(sent, []);
      else if (c.sends !== undefined && c.sends !== "snapshot") {
        assert.equal(sent.length, 1, JSON.stringify(sent.map((m) => MessageType[m.type])));
        assert.equal(sent[0]!.type, MessageType.MsgApp);
        assert.equal(sent[0]!.index, c.sends.index);
        if (c.sends.entries !== undefined) assert.equal(sent[0]!.entries.length, c.sends.entries);
      }
    });
  }

  describe("snapshot state", () => {
    /** Leader 1 at term 2 over [1 x5], commit 5, its storage compacted at 5; node 2 needs a snapshot. */
    function needsSnapshot() {
      const { n, s } = newLeader({ terms: [1, 1, 1, 1, 1], term: 2, commit: 5 });
      s.createSnapshot(5, confState([1n, 2n, 3n]), enc("snap"));
      s.compact(5);
      reject(n, 2n, 5, 0, 0); // node 2's log is empty
      const sent = drainMessages(n, s).filter((m) => m.to === 2n);
      return { n, s, sent };
    }
    test("probe + entries compacted -> snapshot, a MsgSnap goes out, appends pause", () => {
      const { n, s, sent } = needsSnapshot();
      assert.deepEqual(
        sent.map((m) => MessageType[m.type]),
        ["MsgSnap"],
      );
      assert.equal(sent[0]!.snapshot!.metadata.index, 5);
      const pr = progressOf(n, 2n);
      assert.deepEqual([pr.state, pr.match, pr.next, pr.paused], ["snapshot", 0, 6, true]);
      n.propose(enc("x"));
      hbResp(n, 2n);
      assert.deepEqual(appsTo(drainMessages(n, s), 2n), [], "nothing is appended while the snapshot is pending");
    });
    test("snapshot + reportSnapshot finish -> probe after the snapshot, paused until the follower answers", () => {
      const { n, s } = needsSnapshot();
      n.reportSnapshot(2n, "finish");
      const pr = progressOf(n, 2n);
      assert.deepEqual([pr.state, pr.match, pr.next, pr.paused], ["probe", 0, 6, true]);
      assert.deepEqual(appsTo(drainMessages(n, s), 2n), []);
    });
    test("snapshot + reportSnapshot failure -> probe from match + 1, paused until the next heartbeat", () => {
      const { n, s } = needsSnapshot();
      n.reportSnapshot(2n, "failure");
      const pr = progressOf(n, 2n);
      assert.deepEqual([pr.state, pr.match, pr.next, pr.paused], ["probe", 0, 1, true]);
      assert.deepEqual(appsTo(drainMessages(n, s), 2n), []);
      // The next heartbeat response retries: with the entries still compacted, a new snapshot.
      hbResp(n, 2n);
      const again = drainMessages(n, s).filter((m) => m.to === 2n);
      assert.deepEqual(
        again.map((m) => MessageType[m.type]),
        ["MsgSnap"],
      );
    });
    test("snapshot + the follower's ack of the snapshot -> replicate", () => {
      const { n, s } = needsSnapshot();
      ack(n, 2n, 5);
      const sent = appsTo(drainMessages(n, s), 2n);
      const pr = progressOf(n, 2n);
      assert.equal(pr.state, "replicate");
      assert.equal(pr.match, 5);
      assert.equal(sent.length, 1);
      assert.equal(sent[0]!.index, 5);
      assert.equal(sent[0]!.entries[0]!.index, 6);
    });
  });
});

describe("inflight window", () => {
  /** Leader with node 2 in replicate at match 1; returns MsgApps with entries sent to 2 while proposing. */
  function burst(cfg: { maxInflightMsgs?: number; maxInflightBytes?: number; maxSizePerMsg?: number }, proposals: number, payload: number) {
    const { n, s } = newLeader({ cfg });
    ack(n, 2n, 1);
    drainMessages(n, s);
    const sent: Message[] = [];
    for (let i = 0; i < proposals; i++) {
      n.propose(bytes(payload));
      sent.push(...appsTo(drainMessages(n, s), 2n));
    }
    return { n, s, sent };
  }
  const cases = [
    { name: "maxInflightMsgs 3: three appends in flight", cfg: { maxInflightMsgs: 3 }, payload: 10, want: 3 },
    { name: "maxInflightMsgs 1", cfg: { maxInflightMsgs: 1 }, payload: 10, want: 1 },
    { name: "maxInflightMsgs 256: all ten", cfg: {}, payload: 10, want: 10 },
    { name: "maxInflightBytes 250 with 100-byte payloads: full at the third", cfg: { maxInflightBytes: 250, maxSizePerMsg: 100 }, payload: 100, want: 3 },
    { name: "maxInflightBytes 200: full at exactly 200 bytes", cfg: { maxInflightBytes: 200, maxSizePerMsg: 100 }, payload: 100, want: 2 },
    { name: "both limits: the smaller wins", cfg: { maxInflightMsgs: 4, maxInflightBytes: 1000, maxSizePerMsg: 100 }, payload: 100, want: 4 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { n, sent } = burst(c.cfg, 10, c.payload);
      assert.equal(sent.length, c.want);
      assert.ok(sent.every((m) => m.entries.length === 1));
      const pr = progressOf(n, 2n);
      assert.equal(pr.state, "replicate");
      assert.equal(pr.paused, c.want < 10);
    });
  }

  test("an ack frees the window and the backlog goes out at once", () => {
    const { n, s, sent } = burst({ maxInflightMsgs: 3 }, 6, 10);
    assert.deepEqual(
      sent.map((m) => m.entries[0]!.index),
      [2, 3, 4],
    );
    ack(n, 2n, 2);
    const more = appsTo(drainMessages(n, s), 2n);
    assert.equal(more.length, 1);
    assert.deepEqual(
      more[0]!.entries.map((e) => e.index),
      [5, 6, 7],
    );
    assert.equal(progressOf(n, 2n).paused, true, "three in flight again");
    ack(n, 2n, 7);
    assert.equal(progressOf(n, 2n).paused, false);
  });

  test("with the window full, a heartbeat response brings an empty MsgApp so the commit index flows", () => {
    const { n, s } = burst({ maxInflightMsgs: 2 }, 5, 10);
    // Node 3 acknowledges everything: entries commit, but node 2's window is full.
    ack(n, 3n, 1);
    ack(n, 3n, 6);
    const afterCommit = drainMessages(n, s);
    assert.equal(n.basicStatus().hardState.commit, 6);
    assert.deepEqual(appsTo(afterCommit, 2n), []);
    hbResp(n, 2n);
    const sent = appsTo(drainMessages(n, s), 2n);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.entries.length, 0, "an empty MsgApp");
    assert.equal(sent[0]!.commit, 6);
    assert.equal(sent[0]!.index, 3, "at next - 1: after the two appends in flight");
  });
});

describe("reject hints: the leader skips a whole term per round trip (findConflictByTerm)", () => {
  // Leader log terms: 1 1 1 4 4 5 5 6 6 6, then its own empty entry (11, 8). It probed node 2
  // with (index 10, logTerm 6). Node 2 rejects with hint (rejectHint, logTerm).
  const cases: Array<{ name: string; hint: number; logTerm: number; wantIndex: number }> = [
    { name: "follower has term 3 at 10: skip terms 6, 5, 4", hint: 10, logTerm: 3, wantIndex: 3 },
    { name: "follower has term 5 at 7: the end of term 5", hint: 7, logTerm: 5, wantIndex: 7 },
    { name: "follower has term 4 at 9: the end of term 4", hint: 9, logTerm: 4, wantIndex: 5 },
    { name: "follower has term 2 at 6: the end of term 1", hint: 6, logTerm: 2, wantIndex: 3 },
    { name: "follower's log is shorter (hint 5, term 1)", hint: 5, logTerm: 1, wantIndex: 3 },
    { name: "follower has a higher term at the rejected index: probe just below it", hint: 10, logTerm: 7, wantIndex: 9 },
    { name: "follower's log is empty", hint: 0, logTerm: 0, wantIndex: 0 },
    { name: "no term (0): the hint index itself", hint: 4, logTerm: 0, wantIndex: 4 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { n, s, sent } = newLeader({ terms: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6], term: 8 });
      const probe = appsTo(sent, 2n)[0]!;
      assert.deepEqual([probe.index, probe.logTerm], [10, 6]);
      reject(n, 2n, 10, c.hint, c.logTerm);
      const next = appsTo(drainMessages(n, s), 2n);
      assert.equal(next.length, 1);
      assert.equal(next[0]!.index, c.wantIndex);
    });
  }

  test("the follower computes its hint from its own log", () => {
    // Follower 2 with terms 1 1 1 2 2 2 3 3 3 3 3 (Figure 7 f-like) probed at (10, 6).
    const s = newStorage({ voters: [1n, 2n, 3n], entries: entsOfTerms(1, [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]), hardState: { term: 3, vote: NONE, commit: 0 } });
    const f = mkNode(2n, s);
    f.step(msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 8, index: 10, logTerm: 6, commit: 0 }));
    const resp = drain(f, s)!.messages.find((m) => m.type === MessageType.MsgAppResp)!;
    assert.equal(resp.reject, true);
    assert.deepEqual([resp.index, resp.rejectHint, resp.logTerm], [10, 10, 3]);
    // A probe past its log: the hint is its last index.
    f.step(msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 8, index: 14, logTerm: 6, commit: 0 }));
    const resp2 = drain(f, s)!.messages.find((m) => m.type === MessageType.MsgAppResp)!;
    assert.deepEqual([resp2.reject, resp2.index, resp2.rejectHint, resp2.logTerm], [true, 14, 11, 3]);
  });
});

describe("heartbeats and commit", () => {
  const cases = [
    { name: "raises the commit index", commit: 2, hb: 4, want: 4 },
    { name: "never lowers it", commit: 4, hb: 2, want: 4 },
    { name: "equal: unchanged", commit: 3, hb: 3, want: 3 },
    { name: "zero: unchanged", commit: 3, hb: 0, want: 3 },
  ];
  for (const c of cases) {
    test(`a follower's heartbeat ${c.name}`, () => {
      const s = newStorage({ voters: [1n, 2n, 3n], entries: entsOfTerms(1, [1, 1, 1, 1, 1]), hardState: { term: 1, vote: NONE, commit: c.commit } });
      const f = mkNode(2n, s, { applied: c.commit });
      f.step(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1, commit: c.hb }));
      const rd = drain(f, s)!;
      assert.equal(f.basicStatus().hardState.commit, c.want);
      const resp = rd.messages.filter((m) => m.type === MessageType.MsgHeartbeatResp);
      assert.equal(resp.length, 1);
      assert.equal(resp[0]!.to, 1n);
    });
  }

  test("a heartbeat echoes its context in the response", () => {
    const s = newStorage({ voters: [1n, 2n] });
    const f = mkNode(2n, s);
    f.step(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1, context: enc("rq") }));
    const resp = drain(f, s)!.messages[0]!;
    assert.deepEqual(resp.context, enc("rq"));
  });

  test("the leader's heartbeat carries min(match, commit) per follower", () => {
    const { n, s } = newLeader({ voters: [1n, 2n, 3n, 4n, 5n] });
    for (const id of [2n, 3n, 4n]) ack(n, id, 1);
    for (let i = 0; i < 3; i++) n.propose(enc(`e${i}`));
    drainMessages(n, s);
    ack(n, 2n, 4);
    ack(n, 3n, 4);
    ack(n, 4n, 2);
    drainMessages(n, s);
    assert.equal(n.basicStatus().hardState.commit, 4);
    n.tick();
    const hbs = drainMessages(n, s).filter((m) => m.type === MessageType.MsgHeartbeat);
    const byTo = new Map(hbs.map((m) => [m.to, m.commit]));
    assert.deepEqual(
      [...byTo.entries()].sort((a, b) => Number(a[0] - b[0])),
      [
        [2n, 4],
        [3n, 4],
        [4n, 2],
        [5n, 0],
      ],
    );
  });

  test("a heartbeat response from a lagging follower triggers an append at once", () => {
    const { n, s } = newLeader({ terms: [1, 1], term: 2 });
    ack(n, 2n, 3);
    n.propose(enc("a"));
    drainMessages(n, s);
    n.reportUnreachable(2n); // pretend the append was lost: back to probe at match + 1
    hbResp(n, 2n);
    const sent = appsTo(drainMessages(n, s), 2n);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.index, 3);
  });
});

describe("stale and reordered responses never move match or next backwards", () => {
  function replicating() {
    const { n, s } = newLeader();
    ack(n, 2n, 1);
    for (let i = 0; i < 5; i++) n.propose(enc(`e${i}`));
    drainMessages(n, s);
    ack(n, 2n, 4);
    drainMessages(n, s);
    return { n, s };
  }
  const cases: Array<{ name: string; act: (n: RawNode) => void; match: number; next: number }> = [
    { name: "an older ack", act: (n) => ack(n, 2n, 2), match: 4, next: 7 },
    { name: "a duplicate ack", act: (n) => acks(n, [4, 4]), match: 4, next: 7 },
    { name: "acks out of order", act: (n) => acks(n, [6, 5]), match: 6, next: 7 },
    { name: "an ack from index 0", act: (n) => ack(n, 2n, 0), match: 4, next: 7 },
    { name: "a stale rejection at or below match", act: (n) => reject(n, 2n, 3, 1, 1), match: 4, next: 7 },
    { name: "an ack beyond next raises next too", act: (n) => ack(n, 2n, 6), match: 6, next: 7 },
  ];
  function acks(n: RawNode, is: number[]) {
    for (const i of is) ack(n, 2n, i);
  }
  for (const c of cases) {
    test(c.name, () => {
      const { n } = replicating();
      c.act(n);
      const pr = progressOf(n, 2n);
      assert.equal(pr.match, c.match);
      assert.equal(pr.next, c.next);
      assert.equal(pr.state, "replicate");
    });
  }

  test("a rejection from a matched follower sends next back to match + 1, not below", () => {
    const { n, s } = replicating();
    reject(n, 2n, 6, 0, 0); // a hint of 0 would send next to 1; match 4 bounds it
    const pr = progressOf(n, 2n);
    assert.deepEqual([pr.state, pr.match, pr.next], ["probe", 4, 5]);
    const sent = appsTo(drainMessages(n, s), 2n);
    assert.equal(sent[0]!.index, 4);
  });

  test("a stale response changes nothing at all", () => {
    const { n } = replicating();
    const before = statusKey(n);
    ack(n, 2n, 3);
    reject(n, 2n, 2, 0, 0);
    assert.equal(statusKey(n), before);
  });
});
