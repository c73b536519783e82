// The Ready cycle hands out arrays it does not copy (the unstable log's own entry array, raft's
// message queue, one shared frozen empty list per field) and refills the leader's
// self-acknowledgement on advance(). These tests check that nothing handed out changes
// afterwards, whatever the node does next, and that the cycle still commits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EntryType, MessageType, newMessage } from "@tsraft/raftpb";
import type { Entry, Message } from "@tsraft/raftpb";
import { RawNode, type Ready } from "@tsraft/raft";
import { Prng } from "@tsraft/raft/testing";
import { MemoryStorage } from "@tsraft/storage-memory";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function leader(): { rn: RawNode; st: MemoryStorage } {
  const st = new MemoryStorage();
  const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: st });
  rn.bootstrap([{ id: 1n }]);
  rn.campaign();
  for (let i = 0; i < 1000 && (rn.basicStatus().softState.raftState !== "leader" || rn.hasReady()); i++) {
    if (!rn.hasReady()) {
      rn.tick();
      continue;
    }
    const rd = rn.ready();
    if (rd.entries.length > 0) st.append(rd.entries);
    if (rd.hardState !== undefined) st.setHardState(rd.hardState);
    rn.advance(rd);
  }
  assert.equal(rn.basicStatus().softState.raftState, "leader");
  return { rn, st };
}

test("entries a Ready handed out stay as they were when more are proposed before advance()", () => {
  // The Ready holds the unstable log's own array (one entry per Ready: no copy); the next
  // append must copy it instead of pushing onto it.
  const { rn, st } = leader();
  rn.propose(enc("a"));
  const rd = rn.ready();
  assert.equal(rd.entries.length, 1);
  rn.propose(enc("b"));
  rn.propose(enc("c"));
  assert.equal(rd.entries.length, 1, "the handed-out entries grew");
  assert.deepEqual(rd.entries[0]!.data, enc("a"));
  st.append(rd.entries);
  rn.advance(rd);
  const next = rn.ready();
  assert.deepEqual(
    next.entries.map((e) => e.data),
    [enc("b"), enc("c")],
  );
});

/** Proposes `s`; a proposal dropped for want of a leader is fine here. */
function propose(rn: RawNode, s: string): void {
  try {
    rn.propose(enc(s));
  } catch (err) {
    if ((err as { code?: string }).code !== "TSRAFT_PROPOSAL_DROPPED") throw err;
  }
}

/** What a Ready holds, by identity, to compare later. */
function record(rd: Ready): unknown[][] {
  const ents = (a: readonly Entry[]): unknown[] => a.map((e) => [e, e.index, e.term, e.data]);
  const msgs = (a: readonly Message[]): unknown[] => a.map((m) => [m, m.type, m.to, m.term, m.index, m.commit, m.entries, m.entries.length]);
  return [ents(rd.entries), ents(rd.committedEntries), msgs(rd.messages), [...rd.readStates], [rd.hardState?.commit, rd.hardState?.term]];
}

for (const seed of [1, 2, 3]) {
  test(`no Ready of a 3-node cluster changes after it was handed out (seed ${seed})`, () => {
    const rand = new Prng(seed);
    const ids = [1n, 2n, 3n];
    const nodes = ids.map((id) => {
      const st = new MemoryStorage();
      const rn = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage: st, maxSizePerMsg: 64 });
      rn.bootstrap(ids.map((p) => ({ id: p })));
      return { id, rn, st };
    });
    const inFlight: Message[] = [];
    const handedOut: { rd: Ready; seen: unknown[][] }[] = [];
    let lossy = true;
    const cycle = (n: (typeof nodes)[number]): void => {
      if (!n.rn.hasReady()) return;
      const rd = n.rn.ready();
      handedOut.push({ rd, seen: record(rd) });
      if (rand.int(3) === 0) propose(n.rn, `between ${handedOut.length}`); // before advance(), as a pipelined loop may
      if (rd.entries.length > 0) n.st.append(rd.entries);
      if (rd.hardState !== undefined) n.st.setHardState(rd.hardState);
      for (const m of rd.messages) if (!lossy || rand.int(50) !== 0) inFlight.push(m); // a few are lost, until healing
      n.rn.advance(rd);
    };
    nodes[0]!.rn.campaign();
    for (let step = 0; step < 3000; step++) {
      const n = nodes[rand.int(3)]!;
      const op = rand.int(40);
      if (op < 12) propose(n.rn, `p${step}`);
      else if (op < 13) n.rn.tick();
      else if (op < 15) n.rn.readIndex(enc(`r${step}`));
      else if (op < 30 && inFlight.length > 0) {
        const m = inFlight.splice(rand.int(inFlight.length), 1)[0]!;
        const to = nodes.find((x) => x.id === m.to)!;
        try {
          to.rn.step(m);
        } catch (err) {
          // a RaftError (a proposal forwarded to a node that lost its leader, say): dropped
          if ((err as { code?: string }).code === undefined) throw err;
        }
      } else cycle(n);
    }
    // Then heal: every message delivered in order, a tick per round, until all caught up.
    lossy = false;
    for (let round = 0; round < 100; round++) {
      for (const n of nodes) n.rn.tick();
      for (let k = 0; k < 10; k++) {
        for (const n of nodes) while (n.rn.hasReady()) cycle(n);
        for (const m of inFlight.splice(0)) {
          try {
            nodes.find((x) => x.id === m.to)!.rn.step(m);
          } catch (err) {
            if ((err as { code?: string }).code === undefined) throw err;
          }
        }
      }
    }
    const committed = nodes.map((n) => n.rn.basicStatus().hardState.commit);
    assert.ok(Math.max(...committed) > 200, `the cluster committed (${committed.join(", ")})`);
    for (const [i, h] of handedOut.entries()) assert.deepEqual(record(h.rd), h.seen, `Ready ${i} changed after it was handed out`);
  });
}

test("a single voter commits every proposal with the self-acknowledgement refilled on each advance()", () => {
  const { rn, st } = leader();
  const start = rn.basicStatus().hardState.commit;
  let applied = 0;
  for (let i = 0; i < 50; i++) {
    rn.propose(enc(`x${i}`));
    while (rn.hasReady()) {
      const rd = rn.ready();
      if (rd.entries.length > 0) st.append(rd.entries);
      if (rd.hardState !== undefined) st.setHardState(rd.hardState);
      applied += rd.committedEntries.length;
      rn.advance(rd);
    }
    assert.equal(rn.basicStatus().hardState.commit, start + i + 1);
  }
  assert.equal(applied, 50);
});

test("committed entries are never the stale copies of entries a later append replaced", () => {
  // RaftLog hands out the entries the last Ready persisted as the next committed entries
  // without reading them back (recentStable); an append that replaces some of them must make
  // it read them again. Follower 2: entries 4..6 of term 2 persisted, then a leader of term 3
  // replaces 5..6 and commits 6.
  const st = new MemoryStorage();
  const rn = new RawNode({ id: 2n, electionTick: 10, heartbeatTick: 1, storage: st });
  rn.bootstrap([{ id: 1n }, { id: 2n }, { id: 3n }]);
  const cycle = (): Ready => {
    const rd = rn.ready();
    if (rd.entries.length > 0) st.append(rd.entries);
    if (rd.hardState !== undefined) st.setHardState(rd.hardState);
    rn.advance(rd);
    return rd;
  };
  while (rn.hasReady()) cycle();
  const ent = (index: number, term: number): Entry => ({ term, index, type: EntryType.EntryNormal, data: enc(`${index}@${term}`) });
  const app = (from: bigint, term: number, index: number, logTerm: number, entries: Entry[], commit: number): Message => {
    const m = newMessage(MessageType.MsgApp, 2n, from, term);
    m.index = index;
    m.logTerm = logTerm;
    m.entries = entries;
    m.commit = commit;
    return m;
  };
  rn.step(app(1n, 2, 3, 1, [ent(4, 2), ent(5, 2), ent(6, 2)], 3));
  assert.deepEqual(
    cycle().entries.map((e) => e.index),
    [4, 5, 6],
  );
  rn.step(app(3n, 3, 4, 2, [ent(5, 3), ent(6, 3)], 6));
  const got: string[] = [];
  while (rn.hasReady()) for (const e of cycle().committedEntries) got.push(new TextDecoder().decode(e.data));
  assert.deepEqual(got, ["4@2", "5@3", "6@3"]);
});
