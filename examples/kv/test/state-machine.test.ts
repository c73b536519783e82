/**
 * The state machine: results of commands, refusals of anything that is not one (decided alike
 * on every member, never thrown), the quota, range pages, the binary snapshot format (round
 * trip, determinism, turns of the event loop, damage), and the sorted key index.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { KvStateMachine, SnapshotFormatError, encodeCommand } from "@tsraft/example-kv";
import type { CommandResult } from "@tsraft/example-kv";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "../src/command.js";
import { MAX_CHUNK, SortedKeys } from "../src/sorted-keys.js";
import { YIELD_KEYS } from "../src/snapshot-format.js";

const enc = new TextEncoder();
const Q = 1 << 30;
const put = (key: string, value: string, extra: { prev?: string | null; quota?: number } = {}): Uint8Array =>
  encodeCommand({ op: "put", key, value, quota: extra.quota ?? Q, ...(extra.prev === undefined ? {} : { prev: extra.prev }) });
const del = (key: string, prev?: string | null): Uint8Array => encodeCommand(prev === undefined ? { op: "del", key } : { op: "del", key, prev });
const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));

describe("state machine: commands", () => {
  test("put, compare-and-set, delete, and their results", () => {
    const sm = new KvStateMachine();
    assert.deepEqual(sm.apply(1, put("a", "1")), { code: "ok", prev: null, index: 1 });
    assert.deepEqual(sm.apply(2, put("a", "2", { prev: "0" })), { code: "compare_failed", current: "1", index: 2 });
    assert.deepEqual(sm.apply(3, put("a", "2", { prev: "1" })), { code: "ok", prev: "1", index: 3 });
    assert.deepEqual(sm.apply(4, put("b", "x", { prev: null })), { code: "ok", prev: null, index: 4 });
    assert.deepEqual(sm.apply(5, put("b", "y", { prev: null })), { code: "compare_failed", current: "x", index: 5 });
    assert.deepEqual(sm.apply(6, del("a", "9")), { code: "compare_failed", current: "2", index: 6 });
    assert.deepEqual(sm.apply(7, del("a")), { code: "ok", prev: "2", index: 7 });
    assert.deepEqual(sm.apply(8, del("nope")), { code: "ok", prev: null, index: 8 });
    assert.equal(sm.get("a"), null);
    assert.deepEqual(sm.range("", undefined, 10).kvs, [{ key: "b", value: "x" }]);
    assert.equal(sm.usedBytes(), 2);
    assert.equal(sm.appliedIndex(), 8);
  });

  // Whatever bytes a committed entry carries: a result, the same on every member, nothing changed.
  const garbage: { name: string; data: Uint8Array }[] = [
    { name: "not UTF-8", data: Uint8Array.of(0xff, 0xfe, 0x7b) },
    { name: "not JSON", data: enc.encode("{") },
    { name: "empty", data: new Uint8Array(0) },
    { name: "null", data: json(null) },
    { name: "an array", data: json([1, 2]) },
    { name: "a number", data: json(7) },
    { name: "unknown op", data: json({ op: "drop", key: "a" }) },
    { name: "op __proto__", data: enc.encode('{"op":"__proto__","key":"a"}') },
    { name: "no key", data: json({ op: "put", value: "v", quota: Q }) },
    { name: "empty key", data: json({ op: "put", key: "", value: "v", quota: Q }) },
    { name: "key not a string", data: json({ op: "del", key: 5 }) },
    { name: "key with a lone surrogate", data: json({ op: "put", key: "a\ud800", value: "v", quota: Q }) },
    { name: `key of ${MAX_KEY_BYTES + 1} bytes`, data: json({ op: "put", key: "k".repeat(MAX_KEY_BYTES + 1), value: "v", quota: Q }) },
    { name: "no value", data: json({ op: "put", key: "a", quota: Q }) },
    { name: "value not a string", data: json({ op: "put", key: "a", value: { x: 1 }, quota: Q }) },
    { name: "value with a lone surrogate", data: json({ op: "put", key: "a", value: "\udc00", quota: Q }) },
    { name: `value of ${MAX_VALUE_BYTES + 1} bytes`, data: json({ op: "put", key: "a", value: "v".repeat(MAX_VALUE_BYTES + 1), quota: Q }) },
    { name: "prev a number", data: json({ op: "put", key: "a", value: "v", prev: 1, quota: Q }) },
    { name: "no quota", data: json({ op: "put", key: "a", value: "v" }) },
    { name: "quota 0", data: json({ op: "put", key: "a", value: "v", quota: 0 }) },
    { name: "quota 1.5", data: json({ op: "put", key: "a", value: "v", quota: 1.5 }) },
    { name: "quota a string", data: json({ op: "put", key: "a", value: "v", quota: "9" }) },
    { name: "unknown field", data: json({ op: "del", key: "a", force: true }) },
  ];
  for (const g of garbage) {
    test(`an entry that is not a command is refused, not thrown: ${g.name}`, async () => {
      const a = new KvStateMachine();
      const b = new KvStateMachine();
      for (const sm of [a, b]) sm.apply(1, put("a", "1"));
      const before = await a.snapshot();
      let ra: CommandResult | undefined;
      assert.doesNotThrow(() => (ra = a.apply(2, g.data)));
      const rb = b.apply(2, g.data);
      assert.equal(ra!.code, "bad_command");
      assert.deepEqual(ra, rb, "decided alike on every member");
      assert.equal(a.get("a"), "1");
      assert.equal(a.appliedIndex(), 2);
      const after = await a.snapshot();
      assert.deepEqual(after.subarray(13), before.subarray(13), "nothing but the applied index changed");
    });
  }
});

describe("state machine: quota", () => {
  test("a write over the quota is refused with no_space and raises the alarm; reads and deletes work; writes work again once there is room", () => {
    const sm = new KvStateMachine();
    const quota = 100;
    assert.equal(sm.apply(1, put("k1", "x".repeat(40), { quota })).code, "ok"); // 42 bytes
    assert.equal(sm.apply(2, put("k2", "x".repeat(40), { quota })).code, "ok"); // 84
    const r = sm.apply(3, put("k3", "x".repeat(40), { quota }));
    assert.deepEqual(r, { code: "no_space", index: 3, usedBytes: 84, quota: 100 });
    assert.equal(sm.get("k3"), null);
    assert.deepEqual(sm.spaceAlarm(), { index: 3, quota: 100 });
    assert.equal(sm.get("k1"), "x".repeat(40), "reads still work");
    assert.equal(sm.apply(4, put("k1", "y".repeat(60), { quota })).code, "no_space", "growing a value counts the growth");
    assert.equal(sm.apply(5, put("k1", "short", { quota })).code, "ok", "shrinking a value always works");
    assert.equal(sm.spaceAlarm(), null, "a change that frees space clears the alarm");
    assert.equal(sm.usedBytes(), 2 + 5 + 42);
    assert.equal(sm.apply(6, put("k3", "x".repeat(60), { quota })).code, "no_space");
    assert.equal(sm.apply(7, del("k2")).code, "ok", "deletes work under the alarm");
    assert.equal(sm.spaceAlarm(), null);
    assert.equal(sm.apply(8, put("k3", "x".repeat(60), { quota })).code, "ok", "and writes work again");
    assert.equal(sm.usedBytes(), 7 + 62);
  });

  test("the limit is the one in the entry, so members started with other limits decide alike", () => {
    const a = new KvStateMachine();
    const b = new KvStateMachine();
    for (const sm of [a, b]) {
      assert.equal(sm.apply(1, put("a", "x".repeat(90), { quota: 1000 })).code, "ok");
      assert.equal(sm.apply(2, put("b", "x".repeat(90), { quota: 100 })).code, "no_space");
    }
  });

  test("bytes are counted in UTF-8", () => {
    const sm = new KvStateMachine();
    sm.apply(1, put("é", "😀"));
    assert.equal(sm.usedBytes(), 2 + 4);
  });
});

describe("state machine: range pages", () => {
  const sm = new KvStateMachine();
  const keys = ["a", "a/1", "a/2", "a/3", "ab", "b", "__proto__", "constructor", "é"];
  keys.forEach((k, i) => sm.apply(i + 1, put(k, `v-${k}`)));

  test("prefix, limit, after, more and next", () => {
    assert.deepEqual(sm.range("a/", undefined, 2), {
      kvs: [
        { key: "a/1", value: "v-a/1" },
        { key: "a/2", value: "v-a/2" },
      ],
      more: true,
      next: "a/2",
    });
    assert.deepEqual(sm.range("a/", "a/2", 2), { kvs: [{ key: "a/3", value: "v-a/3" }], more: false, next: "a/3" });
    assert.deepEqual(sm.range("a/", "a/3", 2), { kvs: [], more: false, next: null });
    assert.deepEqual(sm.range("a/", "0", 1).kvs, [{ key: "a/1", value: "v-a/1" }], "an `after` before the prefix starts at the prefix");
    assert.deepEqual(sm.range("a/", "z", 5).kvs, []);
    assert.deepEqual(
      sm.range("", undefined, 100).kvs.map((x) => x.key),
      [...keys].sort(),
    );
    assert.deepEqual(sm.range("__", undefined, 5).kvs, [{ key: "__proto__", value: "v-__proto__" }]);
  });

  test("a page is cut by bytes, with at least one key", () => {
    const big = new KvStateMachine();
    for (let i = 0; i < 10; i++) big.apply(i + 1, put(`k${i}`, "v".repeat(1000)));
    const p = big.range("", undefined, 100, 2500);
    assert.equal(p.kvs.length, 3);
    assert.equal(p.more, true);
    assert.equal(big.range("", undefined, 100, 1).kvs.length, 1);
  });
});

describe("state machine: snapshots", () => {
  function populated(): KvStateMachine {
    const sm = new KvStateMachine();
    sm.apply(1, put("k", "v"));
    sm.apply(2, put("ключ", "значение 😀"));
    sm.apply(3, put("", "x")); // refused (empty key)
    sm.apply(4, put("big", "z".repeat(100_000)));
    sm.addMember(5, 5n, { addr: { raft: "r:1", http: "h:1" }, promote: true });
    sm.addMember(6, 0xffffffffffffffffn, { addr: null, promote: false });
    sm.apply(7, put("over", "x".repeat(10), { quota: 10 }));
    return sm;
  }

  test("snapshot and restore give the same state: keys, bytes, members, alarm, index; the bytes are deterministic", async () => {
    const sm = populated();
    const snap = await sm.snapshot();
    const copy = new KvStateMachine();
    await copy.restore(snap);
    assert.equal(copy.get("ключ"), "значение 😀");
    assert.equal(copy.get("big"), "z".repeat(100_000));
    assert.deepEqual(copy.range("", undefined, 10), sm.range("", undefined, 10));
    assert.equal(copy.usedBytes(), sm.usedBytes());
    assert.deepEqual(copy.spaceAlarm(), { index: 7, quota: 10 });
    assert.deepEqual(
      [...copy.memberRecords()],
      [
        ["5", { addr: { raft: "r:1", http: "h:1" }, promote: true }],
        ["18446744073709551615", { addr: null, promote: false }],
      ],
    );
    assert.equal(copy.appliedIndex(), 7);
    assert.deepEqual(await copy.snapshot(), snap, "same state, same bytes");
    await copy.restore(undefined);
    assert.equal(copy.size(), 0);
    assert.equal(copy.usedBytes(), 0);
  });

  test("taking and restoring a large state turn the event loop many times", async () => {
    const sm = new KvStateMachine();
    const n = 10 * YIELD_KEYS;
    for (let i = 0; i < n; i++) sm.apply(i + 1, put(`key-${String(i).padStart(6, "0")}`, `value-${i}`));
    let turns = 0;
    let running = true;
    const count = (): void => {
      turns++;
      if (running) setImmediate(count);
    };
    setImmediate(count);
    let afterTake: number;
    const copy = new KvStateMachine();
    try {
      const snap = await sm.snapshot();
      afterTake = turns;
      await copy.restore(snap);
    } finally {
      running = false; // a failed snapshot or restore must not leave the loop turning (the file would hang to its timeout)
    }
    assert.ok(afterTake >= 9, `turns during the snapshot: ${afterTake}`);
    assert.ok(turns - afterTake >= 9, `turns during the restore: ${turns - afterTake}`);
    assert.equal(copy.size(), n);
    assert.equal(copy.get("key-012345"), "value-12345");
  });

  test("a state that changes while its snapshot is being written is a broken guarantee: it throws", async () => {
    const sm = new KvStateMachine();
    for (let i = 0; i < 3 * YIELD_KEYS; i++) sm.apply(i + 1, put(`k${i}`, "v"));
    const p = sm.snapshot();
    setImmediate(() => sm.apply(1_000_000, put("late", "v")));
    await assert.rejects(p, /changed while a snapshot/);
  });

  test("damaged snapshots are refused with SnapshotFormatError", async () => {
    const good = await populated().snapshot();
    const flip = (i: number): Uint8Array => {
      const b = good.slice();
      b[i]! ^= 0xff;
      return b;
    };
    const bad: { name: string; data: Uint8Array }[] = [
      { name: "JSON (the old format)", data: enc.encode('{"index":1,"kv":[],"members":[]}') },
      { name: "wrong magic", data: flip(0) },
      { name: "unknown version", data: flip(4) },
      { name: "truncated", data: good.subarray(0, good.length - 1) },
      { name: "trailing bytes", data: Uint8Array.from([...good, 0]) },
      { name: "a value that is not UTF-8", data: flip(good.length - 1) },
    ];
    for (const b of bad) {
      await assert.rejects(new KvStateMachine().restore(b.data), SnapshotFormatError, b.name);
    }
    // Keys out of order: two states whose key sections are swapped.
    const one = new KvStateMachine();
    one.apply(1, put("b", "1"));
    one.apply(2, put("c", "1"));
    const s = await one.snapshot();
    const swapped = s.slice();
    swapped.set(s.subarray(s.length - 10, s.length), s.length - 20);
    swapped.set(s.subarray(s.length - 20, s.length - 10), s.length - 10);
    await assert.rejects(new KvStateMachine().restore(swapped), /out of order/);
    // A used-bytes count that does not add up.
    const miscount = s.slice();
    miscount[s.length - 21]! += 1;
    await assert.rejects(new KvStateMachine().restore(miscount), /header says/);
  });
});

describe("sorted keys", () => {
  test("against a sorted array, under random inserts and deletes", () => {
    // Up to 3,000 ops (size "max": fast-check's default size stops arrays at 10 elements). Keys:
    // short ones, which repeat (inserts of a held key, deletes that find one), and longer ones,
    // which mostly do not, so that some runs hold more than MAX_CHUNK keys and split chunks
    // (with short keys only, never: at most about 800 distinct keys in 3,000 ops).
    const key = fc.oneof({ weight: 1, arbitrary: fc.string({ maxLength: 3 }) }, { weight: 3, arbitrary: fc.string({ minLength: 4, maxLength: 6 }) });
    const opsArb = fc.array(fc.tuple(fc.boolean(), key), { maxLength: 3000, size: "max" });
    let split = 0;
    fc.assert(
      fc.property(opsArb, fc.string({ maxLength: 3 }), (ops, from) => {
        const s = new SortedKeys();
        const model = new Set<string>();
        let peak = 0;
        for (const [ins, k] of ops) {
          if (ins) assert.equal(s.insert(k), !model.has(k));
          else assert.equal(s.delete(k), model.has(k));
          if (ins) model.add(k);
          else model.delete(k);
          peak = Math.max(peak, model.size);
        }
        if (peak > MAX_CHUNK) split++;
        const sorted = [...model].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.equal(s.size, sorted.length);
        assert.deepEqual([...s.keysFrom()], sorted);
        assert.deepEqual(
          [...s.keysFrom(from)],
          sorted.filter((k) => k > from),
        );
        assert.deepEqual(
          [...s.keysFrom(from, true)],
          sorted.filter((k) => k >= from),
        );
      }),
      // No shrinking: a failure needs more than MAX_CHUNK keys, and shrinking thousands of ops
      // ran for minutes without getting anywhere near a small case (measured with a planted bug).
      { numRuns: 200, endOnFailure: true },
    );
    assert.ok(split >= 10, `only ${split} of 200 runs split a chunk`);
  });

  test("append only in order", () => {
    const s = new SortedKeys();
    assert.equal(s.append("a"), true);
    assert.equal(s.append("a"), false);
    assert.equal(s.append("0"), false);
    for (let i = 0; i < 5000; i++) assert.equal(s.append(`b${String(i).padStart(5, "0")}`), true);
    assert.equal(s.size, 5001);
    assert.equal(s.insert("b00001x"), true);
    assert.deepEqual([...s.keysFrom("b00001", false)].slice(0, 2), ["b00001x", "b00002"]);
  });
});
