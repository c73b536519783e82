// Snapshots: a follower far behind catches up through a snapshot while proposals continue; a
// follower restores only newer snapshots; storage is never asked about what a snapshot
// replaced; a temporarily unavailable snapshot is retried; restarts from a snapshot.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, NONE, emptyConfState } from "@tsraft/raftpb";
import type { Entry, Snapshot } from "@tsraft/raftpb";
import { SnapshotTemporarilyUnavailableError } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { Network, drain, enc, entsOfTerms, mkNode, msg, newStorage } from "./harness/network.js";
import { RecordingStorage } from "./harness/recording-storage.js";

const cs3 = () => ({ ...emptyConfState(), voters: [1n, 2n, 3n] });

function snapMsg(index: number, term: number, to = 2n): ReturnType<typeof msg> {
  return msg({ type: MessageType.MsgSnap, from: 1n, to, term, snapshot: { metadata: { index, term, confState: cs3() } } });
}

describe("catching up through a snapshot", () => {
  test("a follower far behind catches up by snapshot while proposals continue", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.isolate(3n);
    const want: string[] = [];
    for (let i = 0; i < 60; i++) {
      const d = `p${i}`;
      want.push(d);
      net.get(1n).node.propose(enc(d));
      net.stabilize();
      if (i % 10 === 9) {
        net.compact(1n);
        net.compact(2n);
      }
    }
    assert.ok(net.get(1n).storage.firstIndex() > net.get(3n).storage.lastIndex() + 1, "node 3 needs compacted entries");
    net.heal();
    net.delivered = [];
    // Keep proposing while node 3 catches up, one message round at a time.
    for (let i = 0; i < 30; i++) {
      const d = `q${i}`;
      want.push(d);
      net.get(1n).node.propose(enc(d));
      if (i % 3 === 0) net.tickAll();
      net.round();
    }
    net.tickStabilize(2);
    const snaps = net.delivered.filter((m) => m.type === MessageType.MsgSnap);
    assert.ok(snaps.length >= 1);
    assert.ok(snaps.every((m) => m.to === 3n));
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), want, `node ${id}`);
    assert.deepEqual(net.get(3n).sm, net.get(1n).sm);
    const pr = net.get(1n).node.status().progress!.get(3n)!;
    assert.equal(pr.state, "replicate");
    assert.equal(pr.match, net.get(1n).storage.lastIndex());
  });

  test("a dropped snapshot is reported as failed and sent again later", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.isolate(3n);
    for (let i = 0; i < 5; i++) net.get(1n).node.propose(enc(`p${i}`));
    net.stabilize();
    net.compact(1n);
    net.heal();
    net.dropType(MessageType.MsgSnap);
    net.delivered = [];
    net.tickStabilize(3);
    assert.notEqual(net.appliedData(3n).length, 5);
    net.heal();
    net.tickStabilize(3);
    assert.equal(net.appliedData(3n).length, 5);
  });

  test("a snapshot that is temporarily unavailable is retried", () => {
    class Flaky extends MemoryStorage {
      unavailable = false;
      asked = 0;
      override snapshot(): Snapshot {
        this.asked++;
        if (this.unavailable) throw new SnapshotTemporarilyUnavailableError();
        return super.snapshot();
      }
    }
    const net = new Network([2n, 3n], {}, false);
    const flaky = new Flaky();
    net.addNode(1n, [], false, flaky);
    for (const id of [1n, 2n, 3n]) net.get(id).node.bootstrap([{ id: 1n }, { id: 2n }, { id: 3n }]);
    net.stabilize();
    net.elect(1n);
    net.isolate(3n);
    for (let i = 0; i < 5; i++) net.get(1n).node.propose(enc(`p${i}`));
    net.stabilize();
    net.compact(1n);
    flaky.unavailable = true;
    net.heal();
    net.tickStabilize(3);
    assert.ok(flaky.asked > 0);
    assert.equal(net.appliedData(3n).length, 0);
    assert.equal(net.state(1n), "leader");
    flaky.unavailable = false;
    net.tickStabilize(3);
    assert.equal(net.appliedData(3n).length, 5);
  });
});

describe("the follower's side", () => {
  /** Follower 2 with log (1..5 of term 1), commit `commit`. */
  function follower(commit: number) {
    const s = newStorage({ voters: [1n, 2n, 3n], entries: entsOfTerms(1, [1, 1, 1, 1, 1]), hardState: { term: 1, vote: NONE, commit } });
    return { n: mkNode(2n, s, { applied: commit }), s };
  }
  const cases: Array<{ name: string; commit: number; index: number; term: number; restored: boolean; wCommit: number; wResp: number }> = [
    { name: "a newer snapshot is restored", commit: 2, index: 10, term: 2, restored: true, wCommit: 10, wResp: 10 },
    { name: "a snapshot at the commit index is ignored", commit: 3, index: 3, term: 1, restored: false, wCommit: 3, wResp: 3 },
    { name: "an older snapshot is ignored", commit: 4, index: 2, term: 1, restored: false, wCommit: 4, wResp: 4 },
    { name: "a snapshot matching the log only moves the commit index", commit: 2, index: 4, term: 1, restored: false, wCommit: 4, wResp: 4 },
    { name: "a snapshot at a log index but another term replaces the log", commit: 2, index: 4, term: 2, restored: true, wCommit: 4, wResp: 4 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { n, s } = follower(c.commit);
      n.step(snapMsg(c.index, c.term));
      const rd = drain(n, s)!;
      assert.equal(rd.snapshot !== undefined, c.restored);
      assert.equal(n.basicStatus().hardState.commit, c.wCommit);
      const resp = rd.messages.find((m) => m.type === MessageType.MsgAppResp)!;
      assert.equal(resp.index, c.wResp);
      assert.equal(resp.reject, false);
      if (c.restored) {
        assert.equal(s.firstIndex(), c.index + 1);
        assert.equal(rd.committedEntries.length, 0, "nothing is applied before the snapshot");
        assert.equal(n.basicStatus().applied, c.index);
        // Entries continue from the snapshot.
        n.step(
          msg({
            type: MessageType.MsgApp,
            from: 1n,
            to: 2n,
            term: c.term,
            index: c.index,
            logTerm: c.term,
            commit: c.index + 1,
            entries: entsOfTerms(c.index + 1, [c.term]),
          }),
        );
        const rd2 = drain(n, s)!;
        assert.deepEqual(
          rd2.committedEntries.map((e: Entry) => e.index),
          [c.index + 1],
        );
      }
    });
  }

  for (const mode of ["sync", "async"] as const) {
    test(`${mode}: a snapshot arriving while unstable entries are being written never makes the log ask storage about them`, () => {
      const ms = new MemoryStorage();
      ms.applySnapshot({ metadata: { index: 5, term: 2, confState: cs3() } });
      ms.append(entsOfTerms(6, [2, 2, 2]));
      ms.setHardState({ term: 3, vote: NONE, commit: 5 });
      const rs = new RecordingStorage(ms);
      const n = mkNode(2n, rs, { applied: 5, asyncStorageWrites: mode === "async" });
      // Entries 9..11 of term 3 arrive and are handed out for writing.
      n.step(msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 3, index: 8, logTerm: 2, commit: 5, entries: entsOfTerms(9, [3, 3, 3]) }));
      const rd = n.ready();
      assert.equal(rd.entries.length, 3);
      // Before the write is acknowledged, a snapshot at 20 arrives.
      rs.reads.length = 0;
      n.step(snapMsg(20, 3));
      // The write of 9..11 completes: its acknowledgement must be ignored.
      ms.append(rd.entries);
      if (mode === "sync") n.advance(rd);
      else {
        const app = rd.messages.find((m) => m.type === MessageType.MsgStorageAppend)!;
        for (const r of app.responses ?? []) if (r.to === 2n) n.step(r);
      }
      // An out-of-date MsgApp arrives after the snapshot.
      n.step(msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 3, index: 8, logTerm: 2, commit: 8, entries: entsOfTerms(9, [3]) }));
      const rd2 = n.ready();
      assert.equal(rd2.snapshot?.metadata.index, 20);
      const stale = rd2.messages
        .flatMap((m) => (m.type === MessageType.MsgStorageAppend ? (m.responses ?? []) : [m]))
        .filter((m) => m.type === MessageType.MsgAppResp && m.to === 1n);
      assert.ok(stale.length >= 1);
      assert.ok(
        stale.every((m) => !m.reject && m.index === 20),
        JSON.stringify(stale.map((m) => m.index)),
      );
      assert.deepEqual(
        rs.reads.filter((r) => Number(/\((\d+)\)/.exec(r)![1]) < 20),
        [],
        "storage asked about entries the snapshot replaced",
      );
      assert.equal(n.basicStatus().hardState.commit, 20);
    });
  }
});

describe("restarting from a snapshot", () => {
  test("a node restarts over a compacted storage and hands out only entries after `applied`", () => {
    const ms = new MemoryStorage();
    ms.applySnapshot({ metadata: { index: 10, term: 2, confState: cs3() }, data: enc("state") });
    ms.append(entsOfTerms(11, [2, 3, 3]));
    ms.setHardState({ term: 3, vote: 1n, commit: 12 });
    const n = mkNode(1n, ms, { applied: 10 });
    const st = n.status();
    assert.deepEqual(st.hardState, { term: 3, vote: 1n, commit: 12 });
    assert.deepEqual(st.config.voters, [1n, 2n, 3n]);
    const rd = drain(n, ms)!;
    assert.equal(rd.snapshot, undefined, "the stored snapshot is not handed out again");
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [11, 12],
    );
  });

  test("a restarted node without `applied` starts applying after the snapshot", () => {
    const ms = new MemoryStorage();
    ms.applySnapshot({ metadata: { index: 10, term: 2, confState: cs3() } });
    ms.append(entsOfTerms(11, [2]));
    ms.setHardState({ term: 2, vote: NONE, commit: 11 });
    const n = mkNode(1n, ms);
    assert.equal(n.basicStatus().applied, 10);
    assert.deepEqual(
      drain(n, ms)!.committedEntries.map((e) => e.index),
      [11],
    );
  });
});
