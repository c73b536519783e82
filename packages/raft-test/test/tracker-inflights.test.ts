// Inflights: examples (filling, wrapping around the ring, freeing, the byte budget) and a
// fast-check comparison with a plain array model.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Inflights } from "../../raft/src/tracker/inflights.js";

describe("Inflights", () => {
  test("fills up to size, then is full and refuses more", () => {
    const in_ = new Inflights(10);
    for (let i = 0; i < 5; i++) in_.add(i, 100 + i);
    assert.equal(in_.count(), 5);
    assert.ok(!in_.full());
    for (let i = 5; i < 10; i++) in_.add(i, 100 + i);
    assert.equal(in_.count(), 10);
    assert.equal(in_.bytes(), 1045);
    assert.ok(in_.full());
    assert.throws(() => in_.add(10, 1), /cannot add into a full inflights/);
  });

  test("wraps around the ring", () => {
    const in_ = new Inflights(10);
    for (let i = 0; i < 8; i++) in_.add(i, 1);
    in_.freeLE(4); // frees 0..4; start moves to position 5
    assert.equal(in_.count(), 3);
    for (let i = 8; i < 15; i++) in_.add(i, 1); // positions 8, 9, 0, 1, ...
    assert.ok(in_.full());
    assert.deepEqual(in_.indexes(), [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    in_.freeLE(12);
    assert.deepEqual(in_.indexes(), [13, 14]);
    assert.equal(in_.bytes(), 2);
  });

  test("freeLE below the first index frees nothing; above the last frees all", () => {
    const in_ = new Inflights(4);
    in_.add(5, 10);
    in_.add(7, 20);
    in_.freeLE(4);
    assert.equal(in_.count(), 2);
    in_.freeLE(6);
    assert.deepEqual(in_.indexes(), [7]);
    assert.equal(in_.bytes(), 20);
    in_.freeLE(100);
    assert.equal(in_.count(), 0);
    assert.equal(in_.bytes(), 0);
    in_.freeLE(200); // no-op on empty
    assert.equal(in_.count(), 0);
  });

  test("the byte budget makes the window full", () => {
    const in_ = new Inflights(10, 1000);
    in_.add(1, 400);
    assert.ok(!in_.full());
    in_.add(2, 600);
    assert.ok(in_.full(), "bytes >= maxBytes");
    in_.freeLE(1);
    assert.ok(!in_.full());
    // A single message above the budget is allowed (when the window was not full), then full.
    in_.add(3, 5000);
    assert.ok(in_.full());
  });

  test("reset and clone", () => {
    const in_ = new Inflights(3);
    in_.add(1, 1);
    in_.add(2, 1);
    const c = in_.clone();
    in_.reset();
    assert.equal(in_.count(), 0);
    assert.equal(in_.bytes(), 0);
    assert.deepEqual(c.indexes(), [1, 2]);
    c.add(3, 1);
    assert.ok(c.full());
    assert.ok(!in_.full());
  });

  test("rejects a non-positive size", () => {
    assert.throws(() => new Inflights(0), RangeError);
    assert.throws(() => new Inflights(-1), RangeError);
    assert.throws(() => new Inflights(1.5), RangeError);
  });

  test("property: behaves like an array model", () => {
    type Op = { kind: "add"; gap: number; bytes: number } | { kind: "free"; back: number } | { kind: "reset" } | { kind: "clone" };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("add" as const), gap: fc.integer({ min: 1, max: 3 }), bytes: fc.integer({ min: 0, max: 300 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("free" as const), back: fc.integer({ min: -2, max: 12 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: "reset" as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: "clone" as const }) },
    );
    // Up to 120 ops (size "max"). The default size stops at 10: then 4 of 300 runs wrapped
    // around the ring and none grew a window of 9-12 past 8 slots; now 98 and 39.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.constantFrom(0, 500, 1000), fc.array(opArb, { maxLength: 120, size: "max" }), (size, maxBytes, ops) => {
        let in_ = new Inflights(size, maxBytes);
        let model: { index: number; bytes: number }[] = [];
        let last = 0;
        const full = () => model.length === size || (maxBytes > 0 && model.reduce((s, e) => s + e.bytes, 0) >= maxBytes);
        for (const op of ops) {
          switch (op.kind) {
            case "add":
              last += op.gap;
              if (full()) {
                assert.throws(() => in_.add(last, op.bytes));
              } else {
                in_.add(last, op.bytes);
                model.push({ index: last, bytes: op.bytes });
              }
              break;
            case "free": {
              const to = last - op.back;
              in_.freeLE(to);
              model = model.filter((e) => e.index > to);
              break;
            }
            case "reset":
              in_.reset();
              model = [];
              break;
            case "clone": {
              const old = in_;
              in_ = old.clone();
              old.reset(); // the clone is independent of the original
              break;
            }
          }
          assert.deepEqual(
            in_.indexes(),
            model.map((e) => e.index),
          );
          assert.equal(in_.count(), model.length);
          assert.equal(
            in_.bytes(),
            model.reduce((s, e) => s + e.bytes, 0),
          );
          assert.equal(in_.full(), full());
        }
      }),
      { numRuns: 300 },
    );
  });
});
