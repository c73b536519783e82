/**
 * ProposalWaiters (the ring of pending `propose()` promises) against a model (a Map of what is
 * pending): random runs of adds with gaps in the sequence numbers, resolves and rejects of
 * pending and unknown numbers, sweeps and a final reject of everything. Every promise must
 * settle exactly as the model says, and `size`/`rejected` must agree after every step. The
 * runs are long enough to grow the ring and to move stuck proposals out of it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { RequestTimeoutError } from "@tsraft/node";
import { ProposalWaiters } from "../src/proposal-waiters.js";

type Op =
  | { kind: "add"; gap: number }
  | { kind: "resolve"; pick: number; where: "oldest" | "newest" | "any" }
  | { kind: "reject"; pick: number }
  | { kind: "unknown"; pick: number }
  | { kind: "sweep"; advance: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("add" as const), gap: fc.integer({ min: 1, max: 3 }) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("resolve" as const),
      pick: fc.nat(),
      where: fc.constantFrom("oldest" as const, "newest" as const, "any" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reject" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unknown" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("sweep" as const), advance: fc.integer({ min: 0, max: 20 }) }) },
);

/** Runs `ops` on a ProposalWaiters and a model; returns when every promise has settled. */
async function check(ops: readonly Op[]): Promise<void> {
  const timeoutMs = 100;
  const w = new ProposalWaiters<number>(timeoutMs);
  const pending = new Map<number, number>(); // seq -> deadline
  const want = new Map<number, string>();
  const got = new Map<number, string>();
  let seq = 0;
  let clock = 0;
  let rejected = 0;
  const settle = (s: number, how: string): void => {
    want.set(s, how);
    pending.delete(s);
  };
  for (const op of ops) {
    const live = [...pending.keys()];
    switch (op.kind) {
      case "add": {
        seq += op.gap;
        const s = seq;
        pending.set(s, clock + timeoutMs);
        w.add(s, clock + timeoutMs).then(
          (v) => got.set(s, `resolved ${v}`),
          (e: unknown) => got.set(s, e instanceof RequestTimeoutError ? "timeout" : `rejected ${(e as Error).message}`),
        );
        break;
      }
      case "resolve": {
        if (live.length === 0) break;
        // Near the oldest (the order of the log), near the newest (so some stay behind for long,
        // moved out of the ring), or any.
        const k =
          op.where === "oldest"
            ? Math.min(op.pick % 4, live.length - 1)
            : op.where === "newest"
              ? Math.max(0, live.length - 1 - (op.pick % 4))
              : op.pick % live.length;
        const s = live[k]!;
        w.resolve(s, s * 10);
        settle(s, `resolved ${s * 10}`);
        break;
      }
      case "reject": {
        if (live.length === 0) break;
        const s = live[op.pick % live.length]!;
        w.reject(s, new Error(`no ${s}`));
        settle(s, `rejected no ${s}`);
        rejected++;
        break;
      }
      case "unknown": {
        // A number never added, or one already settled: nothing happens.
        const s = op.pick % (seq + 2);
        if (pending.has(s)) break;
        w.resolve(s, -1);
        w.reject(s, new Error("late"));
        break;
      }
      case "sweep": {
        clock += op.advance;
        w.sweep(clock);
        for (const [s, d] of [...pending]) {
          if (d <= clock) {
            settle(s, "timeout");
            rejected++;
          }
        }
        break;
      }
    }
    assert.equal(w.size, pending.size, "size");
    assert.equal(w.rejected, rejected, "rejected");
  }
  for (const s of pending.keys()) want.set(s, "rejected stopped");
  w.rejectAll(new Error("stopped"));
  assert.equal(w.size, 0);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(new Map([...got].sort((a, b) => a[0] - b[0])), new Map([...want].sort((a, b) => a[0] - b[0])));
}

describe("ProposalWaiters", () => {
  test("settles every promise as a Map of pending proposals would (random runs)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 3000, size: "max" }), (ops) => check(ops)),
      { numRuns: 60 },
    );
  });

  test("a proposal stuck behind many settled ones keeps its promise, and the ring stays small", async () => {
    const w = new ProposalWaiters<number>(1000);
    const stuck = w.add(1, 10);
    const done: Promise<number>[] = [];
    for (let s = 2; s < 100_000; s++) {
      done.push(w.add(s, 500));
      w.resolve(s, s);
    }
    assert.equal(w.size, 1);
    const ring = (w as unknown as { res: unknown[] }).res.length;
    assert.ok(ring <= 256, `ring of ${ring} slots for 1 pending proposal`);
    w.resolve(1, 7);
    assert.equal(await stuck, 7);
    assert.equal(w.size, 0);
    assert.equal((await Promise.all(done)).length, 99_998);
  });

  test("sweep rejects the stuck proposal before younger ones, with RequestTimeoutError", async () => {
    const w = new ProposalWaiters<number>(1000);
    const stuck = w.add(1, 10);
    for (let s = 2; s < 5000; s++) {
      void w.add(s, 20);
      w.resolve(s, s);
    }
    const young = w.add(5000, 20);
    w.sweep(15);
    await assert.rejects(stuck, RequestTimeoutError);
    assert.equal(w.size, 1);
    w.sweep(20);
    await assert.rejects(young, RequestTimeoutError);
    assert.equal(w.rejected, 2);
  });
});
