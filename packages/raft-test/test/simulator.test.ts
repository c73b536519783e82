// The simulator itself: determinism, the persistence model (a crash loses what was not
// persisted), liveness after healing, the replay encoding, and the shape of its reports.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MemoryStorage } from "@tsraft/storage-memory";
import {
  InvariantViolation,
  ListStateMachine,
  Simulator,
  basicSchedule,
  decodeSchedule,
  encodeSchedule,
  runSchedule,
  scheduleArbitrary,
  type Schedule,
  type SimOptions,
} from "@tsraft/raft/testing";

const options: SimOptions<ListStateMachine> = {
  makeStorage: () => new MemoryStorage(),
  makeStateMachine: () => new ListStateMachine(),
  replayCommand: (code) => `pnpm soak --replay ${code}`,
};
const text = (b: Uint8Array): string => String.fromCharCode(...b);
const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A schedule with a bit of everything. */
const busy: Schedule = decodeSchedule(
  "1_7_5_2_300_3_64_4_10_1_40" +
    "-50.N.10.5.3.1-100.J-150.H-200.K.20-250.M.0.0.0-300.S.1.2-350.C.2.15-400.P.6-450.H-500.M.5.1.0-550.L.3" +
    "-600.D.0.2-650.T.1.2-700.O.3.1-750.E.4-800.X.2.5-850.M.2.0.0-900.H",
);

describe("simulator", () => {
  test("the same schedule gives the same run, event for event", () => {
    const a = runSchedule(busy, options);
    const b = runSchedule(busy, options);
    assert.equal(a.traceHash, b.traceHash);
    assert.deepEqual(a, b);
    assert.ok(a.stats.crashes > 0 && a.stats.messagesDropped > 0 && a.stats.confChanges > 0, JSON.stringify(a.stats));
    const c = runSchedule({ ...busy, seed: busy.seed + 1 }, options);
    assert.notEqual(c.traceHash, a.traceHash);
  });

  test("determinism holds for random schedules (traces compared by hash)", () => {
    fc.assert(
      fc.property(scheduleArbitrary(fc, { maxSteps: 120 }), (s) => {
        assert.equal(runSchedule(s, options).traceHash, runSchedule(s, options).traceHash);
      }),
      { numRuns: 40, seed: 1 }, // pinned, as every schedule test here (harness/seeds.ts)
    );
  });

  test("a fault-free cluster applies every proposal on every node, in the same order", () => {
    const sim = new Simulator(basicSchedule(3, { options: { proposePercent: 50 }, steps: 200 }), options);
    sim.run();
    const lists = sim.nodes.map((n) => n.stateMachine.items.map(text));
    assert.ok(lists[0]!.length > 50, `only ${lists[0]!.length} entries applied`);
    // The liveness probe was the last proposal: everyone applied it.
    assert.deepEqual(lists[1], lists[0]);
    assert.deepEqual(lists[2], lists[0]);
  });

  test("a crash loses the entries of a Ready taken but not persisted", () => {
    const sim = new Simulator(basicSchedule(1), options);
    assert.ok(sim.runUntil((s) => s.leader() !== undefined, 100));
    sim.runSteps(2);
    const n = sim.node(1n);
    const last = n.storage.lastIndex();
    sim.applyOp({ t: "disk", n: 0, delay: 3 }); // Readies wait 3 steps before they are persisted
    assert.ok(sim.propose(1n, bytes("lost")));
    sim.runSteps(1); // the Ready with the entry is taken, not persisted yet
    assert.ok(n.pending !== undefined && n.pending.rd.entries.length === 1);
    assert.equal(n.storage.lastIndex(), last);
    sim.crash(1n);
    sim.applyOp({ t: "disk", n: 0, delay: 0 });
    sim.restart(1n);
    assert.equal(n.incarnation, 2);
    assert.equal(n.storage.lastIndex(), last);
    assert.ok(sim.runUntil((s) => s.leader() !== undefined, 100));
    assert.ok(sim.propose(1n, bytes("kept")));
    sim.runSteps(2);
    sim.crash(1n);
    sim.restart(1n);
    sim.runSteps(30);
    const applied = n.stateMachine.items.map(text);
    assert.ok(applied.includes("kept") && !applied.includes("lost"), applied.join(","));
  });

  test("a restarted node rebuilds its state machine from its snapshot and its log", () => {
    const sim = new Simulator(basicSchedule(3, { options: { proposePercent: 60 } }), options);
    sim.runSteps(80);
    sim.applyOp({ t: "snapshot", n: 1, keep: 2 });
    sim.runSteps(20);
    const n = sim.node(2n);
    assert.ok(n.storage.snapshot().metadata.index > 0);
    const before = n.stateMachine.items.map(text);
    sim.crash(2n);
    sim.restart(2n);
    sim.runSteps(1);
    assert.deepEqual(n.stateMachine.items.map(text).slice(0, before.length), before);
  });

  test("after faults heal, a proposal is applied everywhere within the bound", () => {
    const s: Schedule = {
      ...basicSchedule(5, { steps: 150, seed: 3, options: { proposePercent: 30, checkQuorum: true, preVote: true } }),
      ops: [
        { at: 100, op: { t: "net", drop: 30, dup: 10, delay: 4, reorder: true } },
        { at: 300, op: { t: "partition", mask: 0b00011 } },
        { at: 500, op: { t: "crash-leader", down: 0 } },
        { at: 700, op: { t: "isolate-leader" } },
      ],
    };
    const r = runSchedule(s, options);
    assert.ok(r.recoverySteps !== undefined && r.recoverySteps > 0, JSON.stringify(r));
  });

  test("membership changes: a node added during the run catches up and applies", () => {
    const sim = new Simulator(basicSchedule(3, { spare: 1, options: { proposePercent: 50 } }), options);
    sim.runSteps(60);
    sim.applyOp({ t: "snapshot", n: 0, keep: 0 });
    sim.applyOp({ t: "snapshot", n: 1, keep: 0 });
    sim.applyOp({ t: "snapshot", n: 2, keep: 0 });
    sim.applyOp({ t: "conf", kind: "add-learner", a: 0, b: 0 });
    sim.runSteps(40);
    sim.applyOp({ t: "conf", kind: "promote", a: 0, b: 0 });
    sim.runSteps(40);
    const cs = sim.leader()!.node!.status().config;
    assert.deepEqual(cs.voters, [1n, 2n, 3n, 4n]);
    sim.checkLiveness();
    assert.deepEqual(sim.node(4n).stateMachine.items.map(text), sim.node(1n).stateMachine.items.map(text));
  });

  test("schedules survive encoding for replay", () => {
    fc.assert(
      fc.property(scheduleArbitrary(fc), (s) => {
        assert.deepEqual(decodeSchedule(encodeSchedule(s)), s);
      }),
      { numRuns: 300, seed: 1 },
    );
    assert.throws(() => decodeSchedule("2_1"), /bad header/);
    assert.throws(() => decodeSchedule("1_1_3_0_10_0_0_1_10_1_0-5.Z.1"), /bad operation/);
  });

  test("a violation names the invariant, the seed, the step, the replay command and the logs", () => {
    const sim = new Simulator(basicSchedule(3, { seed: 42, options: { proposePercent: 50 } }), {
      ...options,
      invariants: [{ name: "no-more-than-5", check: (s) => (s.node(1n).applied > 5 ? `node 1 applied ${s.node(1n).applied} entries` : undefined) }],
    });
    let err: unknown;
    try {
      sim.runSteps(300);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof InvariantViolation, String(err));
    assert.equal(err.invariant, "no-more-than-5");
    assert.equal(err.seed, 42);
    assert.ok(err.step > 0);
    assert.match(err.message, /^invariant "no-more-than-5" violated at step \d+ \(event \d+\) of seed 42: node 1 applied \d+ entries/);
    assert.match(err.message, /\nreplay: pnpm soak --replay 1_42_3_0_0_0_/);
    assert.match(err.message, /\n {2}node 1: (leader|follower) term \d+/);
    assert.match(err.message, /\nrecent events:\n {2}step \d+ /);
    assert.equal(err.replay, `pnpm soak --replay ${encodeSchedule(sim.schedule)}`);
  });

  test("tracing prints every event and the raft log lines", () => {
    const lines: string[] = [];
    runSchedule(basicSchedule(3, { steps: 30 }), { ...options, trace: (l) => lines.push(l) });
    assert.ok(
      lines.some((l) => / deliver 1->2 MsgVote | deliver \d->\d MsgApp /.test(l)),
      lines.slice(0, 20).join("\n"),
    );
    assert.ok(lines.some((l) => /\[\d\] info: \d became leader at term \d/.test(l)));
  });

  test("ListStateMachine snapshots round-trip", () => {
    const a = new ListStateMachine();
    for (const s of ["", "a", "bc", "x".repeat(300)]) a.apply({ index: 1, term: 1, type: 0, data: bytes(s) });
    const b = new ListStateMachine();
    b.restore(a.snapshot());
    assert.deepEqual(b.items.map(text), a.items.map(text));
    assert.throws(() => b.restore(Uint8Array.of(0, 0, 0, 9, 1)), /truncated/);
  });
});
