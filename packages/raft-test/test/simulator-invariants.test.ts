// Every checker can fail: each test breaks one rule by hand in a running simulation (a field
// of a node's raft state, an entry in its storage) and expects the named violation. The fault
// switch tests (faults.test.ts) show the same for bugs inside raft.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EntryType, NONE } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { InvariantViolation, ListStateMachine, Simulator, basicSchedule, runSchedule, type SimNode, type SimOptions } from "@tsraft/raft/testing";

const options: SimOptions<ListStateMachine> = { makeStorage: () => new MemoryStorage(), makeStateMachine: () => new ListStateMachine() };
const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A 3-node cluster that has elected a leader and committed some entries. */
function running(): Simulator<ListStateMachine> {
  const sim = new Simulator(basicSchedule(3, { seed: 5, options: { proposePercent: 60 } }), options);
  sim.runSteps(80);
  assert.ok(sim.leader() !== undefined && sim.checker.maxCommitted > 10);
  return sim;
}

function followerOf(sim: Simulator<ListStateMachine>): SimNode<ListStateMachine> {
  return sim.nodes.find((n) => n.up && n !== sim.leader())!;
}

function violates(name: string, fn: () => void): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvariantViolation, String(e));
    assert.equal(e.invariant, name, e.message);
    return true;
  });
}

describe("each invariant checker catches a violation", () => {
  test("election-safety: two leaders in one term", () => {
    const sim = running();
    const l = sim.leader()!;
    const f = followerOf(sim);
    f.node!.raft.term = l.node!.raft.term;
    f.node!.raft.state = "leader";
    violates("election-safety", () => sim.checker.observe(f));
  });

  test("one-vote-per-term: a vote changed within a term", () => {
    const sim = running();
    const f = sim.nodes.find((n) => n.node!.raft.vote !== NONE)!;
    const r = f.node!.raft;
    r.vote = r.vote === 1n ? 2n : 1n;
    violates("one-vote-per-term", () => sim.checker.observe(f));
  });

  test("monotonic: the commit index went back", () => {
    const sim = running();
    const f = followerOf(sim);
    f.node!.raft.raftLog.committed -= 1;
    violates("monotonic", () => sim.checker.observe(f));
  });

  test("log-matching: two different entries with the same index and term", () => {
    const sim = running();
    const f = followerOf(sim);
    const last = f.storage.lastIndex();
    const e = f.storage.entries(last, last + 1, Infinity)[0]!;
    (f.storage as MemoryStorage).append([{ ...e, data: bytes("forged") }]);
    violates("log-matching", () => sim.step());
  });

  test("committed-entry-stable: a committed entry replaced", () => {
    const sim = running();
    const f = followerOf(sim);
    const i = f.node!.raft.raftLog.committed;
    const e = f.storage.entries(i, i + 1, Infinity)[0]!;
    (f.storage as MemoryStorage).append([{ ...e, term: 999 }]);
    violates("committed-entry-stable", () => sim.checker.observe(f));
  });

  test("leader-completeness: a leader of a later term lacks committed entries", () => {
    const sim = running();
    const f = followerOf(sim);
    sim.crash(f.id);
    sim.runSteps(40);
    sim.restart(f.id);
    const r = f.node!.raft;
    assert.ok(r.raftLog.lastIndex() < sim.checker.maxCommitted);
    r.term = sim.leader()!.node!.raft.term + 1;
    r.state = "leader";
    violates("leader-completeness", () => sim.checker.observe(f));
  });

  test("state-machine-safety: a node applies another entry at an index", () => {
    const sim = running();
    const f = followerOf(sim);
    sim.crash(f.id);
    sim.restart(f.id);
    const forged: Entry = { index: f.applied + 1, term: 1, type: EntryType.EntryNormal, data: bytes("forged") };
    violates("state-machine-safety", () => sim.checker.applied(f, forged));
  });

  test("quorum-commit: a leader commits what only it has persisted", () => {
    const sim = running();
    const l = sim.leader()!;
    sim.applyOp({ t: "isolate", n: l.slot });
    for (let i = 0; i < 3; i++) sim.propose(l.id, bytes(`alone${i}`));
    sim.runSteps(2);
    const log = l.node!.raft.raftLog;
    assert.ok(l.storage.lastIndex() > log.committed);
    log.committed = l.storage.lastIndex();
    violates("quorum-commit", () => sim.checker.observe(l));
  });

  test("liveness: nothing committed within the bound", () => {
    violates("liveness", () => runSchedule(basicSchedule(3, { steps: 5 }), { ...options, livenessBound: 3 }));
  });

  test("state-machine-agreement: state machines that differ at the same index", () => {
    // A state machine whose snapshot depends on the node: not deterministic.
    class Skewed extends ListStateMachine {
      constructor(private readonly id: bigint) {
        super();
      }
      override snapshot(): Uint8Array {
        return this.items.length === 0 ? new Uint8Array(0) : Uint8Array.of(Number(this.id), ...super.snapshot());
      }
    }
    violates("state-machine-agreement", () =>
      runSchedule(basicSchedule(3, { steps: 60, options: { proposePercent: 50 } }), {
        ...options,
        makeStateMachine: (id) => new Skewed(id),
        checkStateMachines: true,
      }),
    );
  });

  test("panic: an error thrown inside the run is reported with its context", () => {
    let appends = 0;
    const makeStorage = () => {
      const st = new MemoryStorage();
      const append = st.append.bind(st);
      st.append = (ents) => {
        if (++appends > 20) throw new Error("disk on fire");
        append(ents);
      };
      return st;
    };
    assert.throws(
      () => runSchedule(basicSchedule(3, { steps: 100, options: { proposePercent: 50 } }), { ...options, makeStorage }),
      (e: unknown) => e instanceof InvariantViolation && e.invariant === "panic" && /disk on fire/.test(e.message),
    );
  });

  test("ignoreInvariants lets the other checkers speak", () => {
    const sim = running();
    const f = followerOf(sim);
    f.node!.raft.raftLog.committed -= 1;
    const quiet = new Simulator(basicSchedule(3), { ...options, ignoreInvariants: ["monotonic"] });
    quiet.runSteps(1);
    assert.doesNotThrow(() => {
      const g = quiet.nodes[0]!;
      g.node!.raft.raftLog.committed = Math.max(0, g.node!.raft.raftLog.committed - 1);
      quiet.checker.observe(g);
    });
  });
});
