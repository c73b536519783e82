// EntryColumns and EntryStore (the compact log inside MemoryStorage): a seeded random run of
// appends, overwrites (inside old runs and inside the recent tail) and compactions over logs
// long enough to span several runs and trim the tail, checked against a plain array after every
// step; and the promise that handed-out views never change.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EntryType, entrySize } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { EntryColumns, EntryStore, MAX_TAIL_ENTRIES, RUN_ENTRIES, SPARE_RUN_BYTES, SPARE_RUNS, TAIL_APPENDS, TAIL_ENTRIES } from "@tsraft/storage-memory";

/** A small seeded PRNG (mulberry32), so that a failure replays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeEntry(index: number, term: number, rand: () => number): Entry {
  const k = rand();
  const type = k < 0.05 ? EntryType.EntryConfChange : k < 0.08 ? EntryType.EntryConfChangeV2 : EntryType.EntryNormal;
  if (k > 0.9) return { term, index, type };
  const len = k > 0.85 ? 0 : Math.floor(rand() * 600);
  const data = new Uint8Array(len);
  for (let i = 0; i < len; i++) data[i] = (index * 31 + i) & 0xff;
  return { term, index, type, data };
}

/** A deep copy, as the model must not share buffers with the store. */
function copy(e: Entry): Entry {
  return e.data === undefined ? { term: e.term, index: e.index, type: e.type } : { term: e.term, index: e.index, type: e.type, data: e.data.slice() };
}

function checkRange(store: EntryStore, model: Entry[], first: number, lo: number, hi: number, maxSize: number): void {
  const got = store.slice(lo, hi, maxSize);
  let want = model.slice(lo - first, hi - first);
  if (want.length > 0 && maxSize < Number.MAX_SAFE_INTEGER) {
    let size = 0;
    let n = 0;
    for (; n < want.length; n++) {
      size += entrySize(want[n]!);
      if (size > maxSize && n > 0) break;
    }
    want = want.slice(0, n);
  }
  assert.deepStrictEqual(got, want, `slice(${lo}, ${hi}, ${maxSize})`);
}

describe("EntryStore against a plain array", () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: appends, overwrites and compactions over ~3 runs of entries`, () => {
      const rand = rng(seed);
      const store = new EntryStore(1);
      let first = 1;
      let model: Entry[] = [];
      let term = 1;
      for (let step = 0; step < 400; step++) {
        const last = first + model.length - 1;
        const r = rand();
        if (r < 0.15 && model.length > 0) {
          // overwrite from a random point: near the end (in the tail) or far back (older runs)
          const back = rand() < 0.5 ? Math.floor(rand() * 50) : Math.floor(rand() * model.length);
          const at = Math.max(first, last - back);
          term++;
          const ents: Entry[] = [];
          for (let i = 0; i < 1 + Math.floor(rand() * 30); i++) ents.push(makeEntry(at + i, term, rand));
          store.append(ents);
          model = model.slice(0, at - first).concat(ents.map(copy));
        } else if (r < 0.22 && model.length > 0) {
          const to = first + Math.floor(rand() * (model.length + 1));
          store.compactTo(to);
          model = model.slice(to - first);
          first = to;
        } else {
          const ents: Entry[] = [];
          const n = rand() < 0.1 ? 1000 + Math.floor(rand() * 3000) : 1 + Math.floor(rand() * 64);
          for (let i = 0; i < n; i++) ents.push(makeEntry(last + 1 + i, term, rand));
          store.append(ents);
          model = model.concat(ents.map(copy));
        }
        assert.equal(store.firstIndex(), first);
        assert.equal(store.lastIndex(), first + model.length - 1);
        if (model.length === 0) continue;
        for (let q = 0; q < 4; q++) {
          const i = first + Math.floor(rand() * model.length);
          assert.equal(store.term(i), model[i - first]!.term, `term(${i})`);
          const lo = first + Math.floor(rand() * model.length);
          const hi = lo + Math.floor(rand() * Math.min(model.length - (lo - first) + 1, 700));
          checkRange(store, model, first, lo, hi, rand() < 0.5 ? Number.MAX_SAFE_INTEGER : Math.floor(rand() * 20_000));
        }
        if (step % 50 === 0) checkRange(store, model, first, first, first + model.length, Number.MAX_SAFE_INTEGER);
      }
      assert.ok(RUN_ENTRIES < 20_000 && TAIL_ENTRIES < RUN_ENTRIES, "the run exercises several runs and the tail trim");
    });
  }
});

describe("EntryColumns", () => {
  test("views handed out never change: not when the slab grows, nor after truncate and new pushes", () => {
    const run = new EntryColumns(10, 1, 1);
    const mk = (i: number, fill: number, len: number): Entry => ({ term: 1, index: i, type: EntryType.EntryNormal, data: new Uint8Array(len).fill(fill) });
    run.push(mk(10, 1, 100));
    run.push(mk(11, 2, 100));
    const a = run.entry(0);
    const b = run.entry(1);
    run.truncate(1); // keeps entry 10 only
    run.push(mk(11, 9, 100)); // fits the same slab size: without the copy it would land on b's bytes
    assert.deepEqual(b.data, new Uint8Array(100).fill(2), "a view of a truncated entry still reads what it read");
    const c = run.entry(1);
    for (let i = 12; i < 40; i++) run.push(mk(i, 3, 300)); // grows the slab and the columns several times
    assert.deepEqual(a.data, new Uint8Array(100).fill(1));
    assert.deepEqual(b.data, new Uint8Array(100).fill(2));
    assert.deepEqual(c.data, new Uint8Array(100).fill(9));
    assert.deepEqual(run.entry(1).data, new Uint8Array(100).fill(9));
    run.truncate(2);
    assert.equal(run.length, 2);
  });

  test("absent and empty data stay apart; types and terms round-trip; size() is entrySize()", () => {
    const run = new EntryColumns(1);
    const ents: Entry[] = [
      { term: 5, index: 1, type: EntryType.EntryNormal },
      { term: 2 ** 40, index: 2, type: EntryType.EntryConfChange, data: new Uint8Array(0) },
      { term: 7, index: 3, type: EntryType.EntryConfChangeV2, data: Uint8Array.of(1, 2, 3) },
    ];
    for (const e of ents) run.push(e);
    for (let k = 0; k < ents.length; k++) {
      assert.deepStrictEqual(run.entry(k), ents[k]);
      assert.equal(run.size(k), entrySize(ents[k]!));
    }
  });

  test("trim gives spare room back without changing the entries", () => {
    const run = new EntryColumns(1, 1024, 1 << 16);
    for (let i = 1; i <= 10; i++) run.push({ term: 1, index: i, type: EntryType.EntryNormal, data: new Uint8Array(10).fill(i) });
    const before = run.arrayBytes();
    run.trim();
    assert.ok(run.arrayBytes() < before / 10, `${run.arrayBytes()} < ${before / 10}`);
    for (let k = 0; k < 10; k++) assert.deepEqual(run.entry(k).data, new Uint8Array(10).fill(k + 1));
  });
});

describe("EntryStore's recent tail", () => {
  const batch = (first: number, n: number): Entry[] =>
    Array.from({ length: n }, (_, k) => ({ term: 1, index: first + k, type: EntryType.EntryNormal, data: new Uint8Array(17) }));

  test(`keeps the caller's objects of the last ${TAIL_APPENDS} appends, however large (within MAX_TAIL_ENTRIES)`, () => {
    // A leader under load appends thousands of entries at once and reads them back once they
    // commit, an append or two later: they must still be the caller's objects (no object and
    // view made per entry).
    const store = new EntryStore(1);
    const n = 4 * TAIL_ENTRIES;
    let first = 1;
    const appended: Entry[][] = [];
    for (let a = 0; a < 10; a++) {
      const b = batch(first, n);
      store.append(b);
      appended.push(b);
      first += n;
    }
    for (const b of appended.slice(-TAIL_APPENDS)) {
      const got = store.slice(b[0]!.index, b[0]!.index + n, Number.MAX_SAFE_INTEGER);
      got.forEach((e, k) => assert.equal(e, b[k], `entry ${e.index} is not the caller's object`));
    }
    // Older ones were spilled into the columns (fresh objects, the same contents).
    const old = appended[0]!;
    const got = store.slice(old[0]!.index, old[0]!.index + n, Number.MAX_SAFE_INTEGER);
    assert.notEqual(got[0], old[0]);
    assert.deepEqual(got, old);
  });

  test("holds at most 2 * MAX_TAIL_ENTRIES of the caller's objects", () => {
    const store = new EntryStore(1);
    const n = 3 * MAX_TAIL_ENTRIES;
    const b1 = batch(1, n);
    const b2 = batch(1 + n, n);
    store.append(b1);
    store.append(b2);
    const got = store.slice(1, 1 + 2 * n, Number.MAX_SAFE_INTEGER);
    const kept = got.filter((e, k) => e === (k < n ? b1[k] : b2[k - n])).length;
    assert.ok(kept >= MAX_TAIL_ENTRIES && kept <= 2 * MAX_TAIL_ENTRIES, `${kept} of the caller's objects kept`);
    assert.deepEqual(got, [...b1, ...b2]);
  });
});

describe("EntryStore's spare runs (compaction reuses released runs' arrays)", () => {
  /** Entry `i` with a 128-byte payload that names it. */
  const entry = (i: number): Entry => {
    const data = new Uint8Array(128);
    for (let k = 0; k < 128; k++) data[k] = (i * 7 + k) & 0xff;
    return { term: 1, index: i, type: EntryType.EntryNormal, data };
  };
  const intact = (e: Entry): boolean => e.data !== undefined && e.data.every((b, k) => b === ((e.index * 7 + k) & 0xff));

  /** The Ready loop of a sole voter at B = 1: append one entry, compact every `every`. */
  function grow(store: EntryStore, from: number, n: number, every: number): void {
    for (let i = from; i < from + n; i++) {
      store.append([entry(i)]);
      if (i % every === 0) store.compactTo(i + 1 - TAIL_ENTRIES);
    }
  }

  test("a log compacted as it grows allocates no new slabs once it has spare runs", () => {
    // Counts the slabs made (Uint8Arrays of at least 64 KiB): before the spare runs, every
    // 10,000 entries freed two or three 0.5 MiB slabs and allocated as many (bench/README.md,
    // log-growth).
    const store = new EntryStore(1);
    grow(store, 1, 50_000, 10_000);
    const Base = globalThis.Uint8Array;
    let slabs = 0;
    class Counting extends Base {
      // (new Uint8Array(n), and subarray's (buffer, offset, length))
      constructor(...args: [ArrayBuffer, number, number]) {
        super(...args);
        if (this.length >= 65_536) slabs++;
      }
    }
    globalThis.Uint8Array = Counting as unknown as Uint8ArrayConstructor;
    try {
      grow(store, 50_001, 200_000, 10_000);
    } finally {
      globalThis.Uint8Array = Base;
    }
    assert.equal(slabs, 0, `slabs allocated over 200,000 entries compacted every 10,000 (about ${Math.round((200_000 * 128) / (RUN_ENTRIES * 128))} runs)`);
    assert.ok(store.spareBytes() <= SPARE_RUNS * SPARE_RUN_BYTES);
    const got = store.slice(store.firstIndex(), store.lastIndex() + 1, Number.MAX_SAFE_INTEGER);
    assert.equal(got.length, store.lastIndex() - store.firstIndex() + 1);
    assert.ok(got.every((e, k) => e.index === store.firstIndex() + k && intact(e)));
  });

  test("a run whose slab was viewed is never reused: views handed out keep their bytes", () => {
    const store = new EntryStore(1);
    grow(store, 1, 3 * RUN_ENTRIES, 1_000_000);
    const views = store.slice(1, 2 * RUN_ENTRIES, Number.MAX_SAFE_INTEGER); // views into the first runs
    assert.ok(views.every(intact));
    store.compactTo(2 * RUN_ENTRIES + 1);
    grow(store, 3 * RUN_ENTRIES + 1, 10 * RUN_ENTRIES, 2 * RUN_ENTRIES);
    assert.ok(views.every(intact), "a held view changed after its run was compacted and the log went on");
    const last = store.lastIndex();
    const recent = store.slice(store.firstIndex(), last + 1, Number.MAX_SAFE_INTEGER);
    assert.ok(recent.every((e, k) => e.index === store.firstIndex() + k && intact(e)));
  });

  test(`keeps at most ${SPARE_RUNS} spare runs, of at most SPARE_RUN_BYTES each`, () => {
    const store = new EntryStore(1);
    grow(store, 1, 20 * RUN_ENTRIES, 1_000_000);
    store.compactTo(store.lastIndex() + 1); // releases 19-20 runs at once
    assert.ok(store.spareBytes() > 0 && store.spareBytes() <= SPARE_RUNS * SPARE_RUN_BYTES, `${store.spareBytes()} bytes spare`);
    assert.equal(store.arrayBytes(), 0);
  });
});
