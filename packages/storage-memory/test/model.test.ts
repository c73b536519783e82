// Model-based property test: random sequences of append / compact / createSnapshot /
// applySnapshot / setHardState run against MemoryStorage and against a deliberately naive model
// (a plain array copied on every change, etcd's algorithm as written), and after every step
// every read (firstIndex, lastIndex, term, entries with several limits, snapshot,
// initialState) must agree, including which error is thrown.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { EntryType } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, Snapshot } from "@tsraft/raftpb";
import { CompactedError, RaftError, SnapOutOfDateError, UnavailableError } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";

// ---- the model --------------------------------------------------------------------------------

type Outcome = "ok" | "compacted" | "unavailable" | "out-of-date" | "plain";

/** Brute-force Entry.Size(): a varint is one byte per started group of 7 bits. */
function naiveSize(e: Entry): number {
  const v = (x: number) => Math.max(1, Math.ceil(x.toString(2).length / 7));
  const head = 3 + v(e.type) + v(e.term) + v(e.index);
  return e.data === undefined ? head : head + 1 + v(e.data.length) + e.data.length;
}

class Model {
  snapshot: Snapshot = { metadata: { confState: emptyCs(), index: 0, term: 0 } };
  hardState: HardState = { term: 0, vote: 0n, commit: 0 };
  /** log[0] is the dummy entry; log[k].index === log[0].index + k. */
  log: Entry[] = [{ term: 0, index: 0, type: EntryType.EntryNormal }];

  get base(): number {
    return this.log[0]!.index;
  }
  get last(): number {
    return this.base + this.log.length - 1;
  }

  term(i: number): number | Outcome {
    if (i < this.base) return "compacted";
    if (i > this.last) return "unavailable";
    return this.log[i - this.base]!.term;
  }

  entries(lo: number, hi: number, max: number): Entry[] | Outcome {
    if (lo <= this.base) return "compacted";
    if (hi > this.last + 1 || lo > hi) return "plain";
    const all = this.log.slice(lo - this.base, hi - this.base);
    let size = 0;
    const out: Entry[] = [];
    for (const e of all) {
      size += naiveSize(e);
      if (out.length > 0 && size > max) break;
      out.push(e);
    }
    return out;
  }

  append(ents: Entry[]): Outcome {
    // the whole batch first: a run of consecutive indexes, terms >= 1 that never go down
    for (let k = 1; k < ents.length; k++) {
      if (ents[k]!.index !== ents[0]!.index + k || ents[k]!.term < ents[k - 1]!.term) return "plain";
    }
    if (ents.length === 0 || ents[ents.length - 1]!.index <= this.base) return "ok";
    const from = Math.max(0, this.base + 1 - ents[0]!.index);
    const rest = ents.slice(from);
    const at = rest[0]!.index - this.base;
    if (at > this.log.length) return "plain";
    if (rest[0]!.term < this.log[at - 1]!.term) return "plain"; // below the entry before it
    this.log = [...this.log.slice(0, at), ...rest];
    return "ok";
  }

  compact(i: number): Outcome {
    if (i < 0) return "plain"; // no index: a caller bug
    if (i <= this.base) return "compacted";
    if (i > this.last) return "plain";
    const t = this.log[i - this.base]!.term;
    this.log = [{ term: t, index: i, type: EntryType.EntryNormal }, ...this.log.slice(i - this.base + 1)];
    return "ok";
  }

  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array | undefined): Outcome {
    if (i < 0) return "plain"; // no index: a caller bug
    if (i <= this.snapshot.metadata.index) return "out-of-date";
    if (i > this.last) return "plain";
    if (i < this.base) return "compacted";
    const metadata = { confState: cs ?? this.snapshot.metadata.confState, index: i, term: this.log[i - this.base]!.term };
    this.snapshot = data === undefined ? { metadata } : { data, metadata };
    return "ok";
  }

  applySnapshot(snap: Snapshot): Outcome {
    if (snap.metadata.index <= this.snapshot.metadata.index) return "out-of-date";
    this.snapshot = snap;
    this.log = [{ term: snap.metadata.term, index: snap.metadata.index, type: EntryType.EntryNormal }];
    return "ok";
  }
}

function emptyCs(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

function outcomeOf(fn: () => unknown): Outcome | { value: unknown } {
  try {
    return { value: fn() };
  } catch (e) {
    if (e instanceof CompactedError) return "compacted";
    if (e instanceof UnavailableError) return "unavailable";
    if (e instanceof SnapOutOfDateError) return "out-of-date";
    if (e instanceof Error && !(e instanceof RaftError)) return "plain";
    throw e;
  }
}

// ---- the commands -----------------------------------------------------------------------------

type Op =
  | { kind: "append"; back: number; count: number; term: number; gap: boolean; down: boolean; seed: number }
  | { kind: "append-unordered"; back: number }
  | { kind: "compact"; back: number }
  | { kind: "create-snapshot"; back: number; withCs: boolean; withData: boolean }
  | { kind: "apply-snapshot"; ahead: number; term: number }
  | { kind: "set-hard-state"; term: number; commit: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      back: fc.nat(30),
      count: fc.nat(40),
      term: fc.integer({ min: 0, max: 5 }), // added to the term of the entry before (terms never go down)
      gap: fc.nat(9).map((k) => k === 0), // rare: a gap makes append throw
      down: fc.nat(9).map((k) => k === 0), // rare: a term below the entry before makes append throw
      seed: fc.nat(1000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("append-unordered" as const), back: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("compact" as const), back: fc.integer({ min: -2, max: 20 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("create-snapshot" as const),
      back: fc.integer({ min: -2, max: 40 }),
      withCs: fc.boolean(),
      withData: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("apply-snapshot" as const),
      ahead: fc.integer({ min: -3, max: 60 }),
      term: fc.integer({ min: 0, max: 8 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("set-hard-state" as const), term: fc.nat(9), commit: fc.nat(100) }),
  },
);

function mkEntry(index: number, term: number, seed: number): Entry {
  const k = (index * 7 + seed) % 45;
  if (k % 9 === 0) return { term, index, type: EntryType.EntryNormal };
  const type = k % 11 === 1 ? EntryType.EntryConfChange : EntryType.EntryNormal;
  return { term, index, type, data: new Uint8Array(k).fill(seed & 0xff) };
}

let csCounter = 0n;

function run(op: Op, s: MemoryStorage, m: Model): void {
  const last = m.last;
  const same = (what: string, fn: () => unknown, want: Outcome) => {
    const got = outcomeOf(fn);
    assert.equal(typeof got === "string" ? got : "ok", want, `${what}: outcome`);
  };
  switch (op.kind) {
    case "append": {
      const start = op.gap ? last + 2 : Math.max(1, last + 1 - op.back);
      const before = m.term(start - 1);
      const base = typeof before === "number" ? Math.max(1, before) : 1;
      const term = op.down ? Math.max(1, base - 1) : base + op.term;
      const ents = Array.from({ length: op.count }, (_, k) => mkEntry(start + k, term, op.seed));
      same(`append from ${start} x${op.count}`, () => s.append(ents), m.append(ents));
      break;
    }
    case "append-unordered": {
      const start = Math.max(1, last + 1 - op.back);
      const ents = [mkEntry(start, 1, 0), mkEntry(start + 2, 1, 0)];
      same(`append [${start}, ${start + 2}]`, () => s.append(ents), m.append(ents));
      break;
    }
    case "compact": {
      const i = last - op.back;
      same(`compact(${i})`, () => s.compact(i), m.compact(i));
      break;
    }
    case "create-snapshot": {
      const i = last - op.back;
      const cs = op.withCs ? { ...emptyCs(), voters: [++csCounter] } : undefined;
      const data = op.withData ? new Uint8Array([i & 0xff]) : undefined;
      const got = outcomeOf(() => s.createSnapshot(i, cs, data));
      const want = m.createSnapshot(i, cs, data);
      assert.equal(typeof got === "string" ? got : "ok", want, `createSnapshot(${i})`);
      if (typeof got !== "string") assert.equal(got.value, s.snapshot());
      break;
    }
    case "apply-snapshot": {
      const index = Math.max(0, m.snapshot.metadata.index + op.ahead);
      const snap: Snapshot = { data: new Uint8Array([1]), metadata: { confState: { ...emptyCs(), voters: [++csCounter] }, index, term: op.term } };
      same(`applySnapshot(${index})`, () => s.applySnapshot(snap), m.applySnapshot(snap));
      break;
    }
    case "set-hard-state": {
      const hs = { term: op.term, vote: BigInt(op.term), commit: op.commit };
      s.setHardState(hs);
      m.hardState = { ...hs };
      break;
    }
  }
}

const MAXES = [0, 40, 150, Infinity];

function checkReads(s: MemoryStorage, m: Model): void {
  assert.equal(s.firstIndex(), m.base + 1, "firstIndex()");
  assert.equal(s.lastIndex(), m.last, "lastIndex()");
  for (let i = Math.max(0, m.base - 2); i <= m.last + 2; i++) {
    const want = m.term(i);
    const got = outcomeOf(() => s.term(i));
    if (typeof want === "number") assert.deepEqual(got, { value: want }, `term(${i})`);
    else assert.equal(got, want, `term(${i})`);
  }
  for (let lo = Math.max(0, m.base - 1); lo <= m.last + 1; lo++) {
    const hi = Math.min(lo + 12, m.last + 1);
    const max = MAXES[lo % MAXES.length]!;
    const want = m.entries(lo, hi, max);
    const got = outcomeOf(() => s.entries(lo, hi, max));
    if (typeof want === "string") {
      assert.equal(got, want, `entries(${lo}, ${hi}, ${max})`);
    } else {
      assert.ok(typeof got !== "string", `entries(${lo}, ${hi}, ${max}) threw ${String(got)}`);
      const ents = got.value as Entry[];
      assert.equal(ents.length, want.length, `entries(${lo}, ${hi}, ${max}).length`);
      // Identity, not just equality: the storage hands back the caller's own Entry objects.
      ents.forEach((e, k) => assert.equal(e, want[k], `entries(${lo}, ${hi}, ${max})[${k}]`));
    }
  }
  assert.equal(
    outcomeOf(() => s.entries(m.base + 1, m.last + 2, Infinity)),
    "plain",
    "entries past the end",
  );
  assert.deepEqual(s.snapshot(), m.snapshot, "snapshot()");
  assert.deepEqual(s.initialState(), { hardState: m.hardState, confState: m.snapshot.metadata.confState }, "initialState()");
}

test("MemoryStorage agrees with a naive model on every read after every operation", () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }), (ops) => {
      const s = new MemoryStorage();
      const m = new Model();
      checkReads(s, m);
      for (const op of ops) {
        run(op, s, m);
        checkReads(s, m);
      }
    }),
    { numRuns: 200 },
  );
});
