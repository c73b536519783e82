/**
 * The Storage contract suite: the read-side behaviour raft relies on, as a list of cases any
 * {@link Storage} implementation can run (MemoryStorage, the WAL's DiskStorage, your own).
 *
 * The cases follow etcd's storage tests (TestStorageTerm, TestStorageEntries,
 * TestStorageLastIndex, TestStorageFirstIndex, ...) as tables, plus round trips of what a
 * storage must preserve exactly. Mutating operations are not part of the `Storage` interface,
 * so they are not tested here: each implementation tests its own, and the suite only needs a
 * factory that builds a storage with a given content.
 *
 * Runner-agnostic (no node:test, no node:assert): register each case with your runner.
 *
 * ```ts
 * import { test } from "node:test";
 * import { storageContractCases } from "@tsraft/raft/testing";
 * for (const c of storageContractCases(async (init) => openMyStorage(init))) test(c.name, () => c.run());
 * ```
 * @module
 */
import { EntryType, bytesEqual, entrySize } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, Snapshot } from "@tsraft/raftpb";
import { CompactedError, UnavailableError } from "../errors.js";
import type { Storage } from "../storage.js";

/**
 * The content a {@link StorageFactory} must load into a new storage.
 *
 * `entries` directly follow the snapshot: `entries[0].index === snapshot.metadata.index + 1`
 * (or 1 without a snapshot); they are consecutive, and their terms never decrease.
 */
export interface StorageInit {
  /** The snapshot the storage holds; absent: none (an empty snapshot at index 0, term 0). */
  snapshot?: Snapshot | undefined;
  /** The log entries after the snapshot, possibly none. */
  entries: readonly Entry[];
  /** The saved HardState; absent: the zero HardState `{ term: 0, vote: 0n, commit: 0 }`. */
  hardState?: HardState | undefined;
}

/** A storage under test; `close` (if present) is called once the case is over, even on failure. */
export type ContractStorage = Storage & { close?(): Promise<void> | void };

/**
 * Builds a new, independent storage holding exactly `init` (for a disk-backed storage: write
 * it to a fresh directory, then open it the way an application would on restart). The suite
 * never mutates `init`, and calls the factory once or more per case.
 */
export type StorageFactory = (init: StorageInit) => ContractStorage | Promise<ContractStorage>;

/** One case of the suite: a unique name and a body that throws (or rejects) on failure. */
export interface ContractCase {
  name: string;
  run(): void | Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Helpers: a tiny assertion set, since this module must not depend on any test runner.

/** @internal A failed expectation of a contract case (shared with writable-storage-contract.ts). */
export class ContractFailure extends Error {
  constructor(message: string) {
    super(`storage contract: ${message}`);
    this.name = "ContractFailure";
  }
}

/** @internal */
export function fail(message: string): never {
  throw new ContractFailure(message);
}

function describeEntry(e: Entry): string {
  const data = e.data === undefined ? "" : ` data=${e.data.length}B`;
  const type = e.type === EntryType.EntryNormal ? "" : ` type=${EntryType[e.type] ?? e.type}`;
  return `${e.index}/${e.term}${type}${data}`;
}

/** @internal */
export function describeEntries(ents: readonly Entry[]): string {
  return ents.length <= 8
    ? `[${ents.map(describeEntry).join(", ")}]`
    : `[${ents.slice(0, 3).map(describeEntry).join(", ")}, ... (${ents.length}), ${describeEntry(ents[ents.length - 1]!)}]`;
}

function entryEqual(a: Entry, b: Entry): boolean {
  return a.index === b.index && a.term === b.term && a.type === b.type && bytesEqual(a.data, b.data);
}

function expectEntries(what: string, got: readonly Entry[], want: readonly Entry[]): void {
  if (!Array.isArray(got)) fail(`${what}: returned ${String(got)}, want an array`);
  const same = got.length === want.length && got.every((e, k) => entryEqual(e, want[k]!));
  if (!same) fail(`${what}: got ${describeEntries(got)}, want ${describeEntries(want)}`);
}

function expectEqual<T extends number | bigint | boolean>(what: string, got: T, want: T): void {
  if (got !== want) fail(`${what}: got ${String(got)}, want ${String(want)}`);
}

function expectIds(what: string, got: readonly bigint[], want: readonly bigint[]): void {
  const same = got.length === want.length && got.every((id, k) => id === want[k]);
  if (!same) fail(`${what}: got [${got.join(", ")}], want [${want.join(", ")}]`);
}

function expectConfState(what: string, got: ConfState, want: ConfState): void {
  expectIds(`${what}.voters`, got.voters, want.voters);
  expectIds(`${what}.learners`, got.learners, want.learners);
  expectIds(`${what}.votersOutgoing`, got.votersOutgoing, want.votersOutgoing);
  expectIds(`${what}.learnersNext`, got.learnersNext, want.learnersNext);
  expectEqual(`${what}.autoLeave`, got.autoLeave, want.autoLeave);
}

/** @internal */
export type ErrorClass = new (...args: never[]) => Error;

/** `fn` must throw: an instance of `kind`, or any Error when `kind` is undefined. */
function expectThrows(what: string, fn: () => unknown, kind: ErrorClass | undefined): void {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    if (kind === undefined ? e instanceof Error : e instanceof kind) return;
    fail(`${what}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, want ${kind?.name ?? "an Error"}`);
  }
  const shown = Array.isArray(result) ? describeEntries(result as Entry[]) : String(result);
  fail(`${what}: returned ${shown}, want ${kind?.name ?? "an Error"} thrown`);
}

/**
 * `fn` must throw what DESIGN calls a call outside the contract: a plain `Error` (not a
 * `RaftError`: raft would read a `CompactedError` or `UnavailableError` as a state of the log)
 * whose message names each of `bounds` (the index or indexes asked for).
 */
function expectCallerBug(what: string, fn: () => unknown, bounds: readonly number[], words: readonly string[] = []): void {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    if (!(e instanceof Error)) fail(`${what}: threw ${String(e)}, want an Error`);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("TSRAFT_"))
      fail(`${what}: threw ${e.name} (${code}), want a plain Error (a caller bug, not a state of the log)`);
    for (const b of bounds) if (!e.message.includes(String(b))) fail(`${what}: threw "${e.message}", which does not name ${b}`);
    for (const w of words) if (!e.message.includes(w)) fail(`${what}: threw "${e.message}", which does not name ${w}`);
    return;
  }
  const shown = Array.isArray(result) ? describeEntries(result as Entry[]) : String(result);
  fail(`${what}: returned ${shown}, want an Error naming the bounds`);
}

async function withStorage(make: StorageFactory, init: StorageInit, body: (s: Storage) => void): Promise<void> {
  const s = await make(init);
  try {
    body(s);
  } finally {
    await s.close?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

/** @internal */
export function ent(index: number, term: number, data?: Uint8Array, type: EntryType = EntryType.EntryNormal): Entry {
  return data === undefined ? { term, index, type } : { term, index, type, data };
}

/** @internal */
export function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 31) & 0xff;
  return b;
}

function confState(voters: bigint[], extra: Partial<ConfState> = {}): ConfState {
  return { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false, ...extra };
}

/** @internal */
export function snap(index: number, term: number, cs: ConfState = confState([1n, 2n, 3n]), data?: Uint8Array): Snapshot {
  const metadata = { confState: cs, index, term };
  return data === undefined ? { metadata } : { data, metadata };
}

/** etcd's `[{3,3}, {4,4}, {5,5}]`: a snapshot at 3 (term 3), then entries 4 and 5. */
const SNAP3: StorageInit = { snapshot: snap(3, 3), entries: [ent(4, 4), ent(5, 5)] };

/** @internal etcd's TestStorageEntries log: snapshot at 3, entries 4, 5, 6 with terms 4, 5, 6. */
export const SNAP3_TO6: StorageInit = { snapshot: snap(3, 3), entries: [ent(4, 4), ent(5, 5), ent(6, 6)] };

/** A log with no snapshot: 1..3. */
const NO_SNAP: StorageInit = { entries: [ent(1, 1), ent(2, 1), ent(3, 2)] };

/** A snapshot and no entry after it. */
const SNAP_ONLY: StorageInit = { snapshot: snap(10, 4, confState([1n]), bytes(5, 1)), entries: [] };

/** Payloads of varied sizes (absent, empty, small, larger), terms changing along the log. */
const SIZED: StorageInit = {
  snapshot: snap(10, 2),
  entries: Array.from({ length: 20 }, (_, k) => {
    const index = 11 + k;
    const term = k < 5 ? 2 : k < 12 ? 3 : 5;
    if (k % 7 === 3) return ent(index, term);
    if (k % 7 === 5) return ent(index, term, new Uint8Array(0));
    return ent(index, term, bytes((k * 37) % 150, k));
  }),
};

/** Every field an entry carries, with values a lossy storage would get wrong. */
const HIGH = 2 ** 40;
const VARIED: StorageInit = {
  snapshot: snap(HIGH, 2 ** 33, confState([1n, 2n, 0xffff_ffff_ffff_ffffn])),
  entries: [
    ent(HIGH + 1, 2 ** 33),
    ent(HIGH + 2, 2 ** 33, new Uint8Array(0)),
    ent(HIGH + 3, 2 ** 33 + 1, bytes(3, 7), EntryType.EntryConfChange),
    ent(HIGH + 4, 2 ** 33 + 1, bytes(1000, 9), EntryType.EntryConfChangeV2),
    ent(HIGH + 5, 2 ** 33 + 2, bytes(1, 0)),
  ],
};

const JOINT_CS = confState([1n, 2n, 3n], {
  learners: [5n],
  votersOutgoing: [1n, 2n, 4n],
  learnersNext: [4n],
  autoLeave: true,
});
const WITH_STATE: StorageInit = {
  snapshot: snap(5, 2, JOINT_CS, bytes(64, 3)),
  entries: [ent(6, 2), ent(7, 3)],
  hardState: { term: 3, vote: 0xfedc_ba98_7654_3210n, commit: 7 },
};

// ---------------------------------------------------------------------------------------------
// Cases.

function termCases(make: StorageFactory): ContractCase[] {
  const rows: { fixture: string; init: StorageInit; i: number; want: number | ErrorClass | "error" }[] = [
    { fixture: "empty", init: { entries: [] }, i: 0, want: 0 },
    { fixture: "empty", init: { entries: [] }, i: 1, want: UnavailableError },
    { fixture: "no snapshot", init: NO_SNAP, i: 0, want: 0 },
    { fixture: "no snapshot", init: NO_SNAP, i: 1, want: 1 },
    { fixture: "no snapshot", init: NO_SNAP, i: 3, want: 2 },
    { fixture: "no snapshot", init: NO_SNAP, i: 4, want: UnavailableError },
    { fixture: "snapshot 3", init: SNAP3, i: 0, want: CompactedError },
    { fixture: "snapshot 3", init: SNAP3, i: 2, want: CompactedError },
    { fixture: "snapshot 3", init: SNAP3, i: 3, want: 3 },
    { fixture: "snapshot 3", init: SNAP3, i: 4, want: 4 },
    { fixture: "snapshot 3", init: SNAP3, i: 5, want: 5 },
    { fixture: "snapshot 3", init: SNAP3, i: 6, want: UnavailableError },
    { fixture: "snapshot 3", init: SNAP3, i: 100, want: UnavailableError },
    { fixture: "snapshot only", init: SNAP_ONLY, i: 9, want: CompactedError },
    { fixture: "snapshot only", init: SNAP_ONLY, i: 10, want: 4 },
    { fixture: "snapshot only", init: SNAP_ONLY, i: 11, want: UnavailableError },
    { fixture: "indexes above 2^32", init: VARIED, i: HIGH - 1, want: CompactedError },
    { fixture: "indexes above 2^32", init: VARIED, i: HIGH, want: 2 ** 33 },
    { fixture: "indexes above 2^32", init: VARIED, i: HIGH + 3, want: 2 ** 33 + 1 },
    { fixture: "indexes above 2^32", init: VARIED, i: HIGH + 5, want: 2 ** 33 + 2 },
    { fixture: "indexes above 2^32", init: VARIED, i: HIGH + 6, want: UnavailableError },
    // Not an index at all: a caller bug, never a term (nor "compacted"/"unavailable").
    { fixture: "snapshot 3", init: SNAP3, i: 4.5, want: "error" },
    { fixture: "snapshot 3", init: SNAP3, i: 2.5, want: "error" },
    { fixture: "snapshot 3", init: SNAP3, i: 5.5, want: "error" },
    { fixture: "snapshot 3", init: SNAP3, i: Number.NaN, want: "error" },
    { fixture: "snapshot 3", init: SNAP3, i: Infinity, want: "error" },
    { fixture: "empty", init: { entries: [] }, i: -0.5, want: "error" },
    // A negative index is no index (etcd's are uint64; the lowest is 0, a fresh log's dummy
    // entry): a caller bug, not "compacted", which says the entry existed.
    { fixture: "empty", init: { entries: [] }, i: -1, want: "error" },
    { fixture: "snapshot 3", init: SNAP3, i: -1, want: "error" },
    { fixture: "snapshot 3", init: SNAP3, i: Number.MIN_SAFE_INTEGER, want: "error" },
  ];
  return rows.map(({ fixture, init, i, want }) => ({
    name: `term: ${fixture}: term(${i}) ${typeof want === "number" ? `is ${want}` : typeof want === "string" ? "throws an Error naming it" : `throws ${want.name}`}`,
    run: () =>
      withStorage(make, init, (s) => {
        if (typeof want === "number") expectEqual(`term(${i})`, s.term(i), want);
        else if (typeof want === "string") expectCallerBug(`term(${i})`, () => s.term(i), [i]);
        else expectThrows(`term(${i})`, () => s.term(i), want);
      }),
  }));
}

function boundsCases(make: StorageFactory): ContractCase[] {
  const rows: { fixture: string; init: StorageInit; first: number; last: number }[] = [
    { fixture: "empty", init: { entries: [] }, first: 1, last: 0 },
    { fixture: "no snapshot", init: NO_SNAP, first: 1, last: 3 },
    { fixture: "snapshot 3", init: SNAP3, first: 4, last: 5 },
    { fixture: "snapshot only", init: SNAP_ONLY, first: 11, last: 10 },
    { fixture: "indexes above 2^32", init: VARIED, first: HIGH + 1, last: HIGH + 5 },
  ];
  return rows.map(({ fixture, init, first, last }) => ({
    name: `firstIndex/lastIndex: ${fixture}: first ${first}, last ${last}, term(first - 1) known`,
    run: () =>
      withStorage(make, init, (s) => {
        expectEqual("firstIndex()", s.firstIndex(), first);
        expectEqual("lastIndex()", s.lastIndex(), last);
        // The dummy entry: the term of firstIndex() - 1 is the snapshot's (0 without one).
        expectEqual(`term(${first - 1})`, s.term(first - 1), init.snapshot?.metadata.term ?? 0);
        if (first > 1) expectThrows(`term(${first - 2})`, () => s.term(first - 2), CompactedError);
        expectThrows(`term(${last + 1})`, () => s.term(last + 1), UnavailableError);
        expectThrows(`entries(${first - 1}, ${first}, Infinity)`, () => s.entries(first - 1, first, Infinity), CompactedError);
      }),
  }));
}

function entriesCases(make: StorageFactory): ContractCase[] {
  const e = SNAP3_TO6.entries;
  const [e4, e5, e6] = [e[0]!, e[1]!, e[2]!];
  const s4 = entrySize(e4);
  const s5 = entrySize(e5);
  const s6 = entrySize(e6);
  // "error": a caller bug naming lo and hi; "maxSize": a caller bug naming maxSize and its value.
  type Row = { lo: number; hi: number; max: number; want: Entry[] | ErrorClass | "error" | "maxSize"; note?: string };
  const rows: Row[] = [
    { lo: 2, hi: 6, max: Infinity, want: CompactedError },
    { lo: 3, hi: 4, max: Infinity, want: CompactedError, note: "the dummy entry is not readable" },
    { lo: 4, hi: 5, max: Infinity, want: [e4] },
    { lo: 4, hi: 6, max: Infinity, want: [e4, e5] },
    { lo: 4, hi: 7, max: Infinity, want: [e4, e5, e6] },
    { lo: 5, hi: 7, max: Infinity, want: [e5, e6] },
    { lo: 6, hi: 7, max: Number.MAX_SAFE_INTEGER, want: [e6] },
    { lo: 4, hi: 4, max: Infinity, want: [], note: "lo === hi is empty" },
    { lo: 7, hi: 7, max: Infinity, want: [], note: "lo === hi === lastIndex() + 1 is empty" },
    { lo: 4, hi: 7, max: 0, want: [e4], note: "at least one entry even with maxSize 0" },
    { lo: 4, hi: 7, max: s4 - 1, want: [e4], note: "at least one entry even if it is over maxSize" },
    { lo: 4, hi: 7, max: s4 + s5, want: [e4, e5], note: "limit to 2" },
    { lo: 4, hi: 7, max: s4 + s5 + Math.floor(s6 / 2), want: [e4, e5], note: "limit to 2" },
    { lo: 4, hi: 7, max: s4 + s5 + s6 - 1, want: [e4, e5], note: "limit to 2" },
    { lo: 4, hi: 7, max: s4 + s5 + s6, want: [e4, e5, e6], note: "all, exactly" },
    { lo: 4, hi: 8, max: Infinity, want: "error", note: "hi past lastIndex() + 1 is a caller bug" },
    { lo: 7, hi: 8, max: Infinity, want: "error", note: "lo past lastIndex() too" },
    { lo: 4, hi: 100, max: 0, want: "error", note: "far past the end, with a size limit" },
    { lo: 5, hi: 4, max: Infinity, want: "error", note: "lo > hi is a caller bug" },
    { lo: 7, hi: 6, max: Infinity, want: "error", note: "lo > hi at the end" },
    { lo: 4.5, hi: 6, max: Infinity, want: "error", note: "a non-integer lo" },
    { lo: 4, hi: 5.5, max: Infinity, want: "error", note: "a non-integer hi" },
    { lo: 2.5, hi: 5, max: Infinity, want: "error", note: "a non-integer lo below the first index" },
    { lo: Number.NaN, hi: 5, max: Infinity, want: "error", note: "NaN lo" },
    { lo: 4, hi: Number.NaN, max: Infinity, want: "error", note: "NaN hi" },
    { lo: 4, hi: Infinity, max: Infinity, want: "error", note: "an infinite hi" },
    { lo: 3, hi: 2, max: Infinity, want: CompactedError, note: "compaction is checked first, as etcd does" },
    { lo: -1, hi: 5, max: Infinity, want: "error", note: "a negative lo is a caller bug, not compacted" },
    { lo: -1, hi: -1, max: Infinity, want: "error", note: "a negative empty range" },
    { lo: -3, hi: -2, max: Infinity, want: "error", note: "a negative range" },
    // maxSize is a byte count (etcd: a uint64, noLimit = MaxUint64): any integer >= 0, or
    // Infinity for no limit. Anything else is a caller bug, never read as a limit or as none.
    { lo: 4, hi: 7, max: 2 ** 64, want: [e4, e5, e6], note: "etcd's noLimit (MaxUint64) is no limit" },
    { lo: 4, hi: 7, max: Number.NaN, want: "maxSize", note: "a NaN maxSize is not 'no limit'" },
    { lo: 4, hi: 7, max: -1, want: "maxSize", note: "a negative maxSize" },
    { lo: 4, hi: 7, max: -Infinity, want: "maxSize", note: "a negative maxSize" },
    { lo: 4, hi: 7, max: s4 + 0.5, want: "maxSize", note: "a non-integer maxSize" },
    { lo: 4, hi: 4, max: Number.NaN, want: "maxSize", note: "even for an empty range" },
    { lo: 2, hi: 6, max: Number.NaN, want: "maxSize", note: "checked before compaction, like the indexes" },
  ];
  return rows.map(({ lo, hi, max, want, note }) => {
    const expect = Array.isArray(want)
      ? describeEntries(want)
      : `throws ${want === "error" ? "an Error naming the bounds" : want === "maxSize" ? "an Error naming maxSize" : want.name}`;
    return {
      name: `entries: snapshot 3, log 4..6: entries(${lo}, ${hi}, ${max}) ${expect}${note ? ` (${note})` : ""}`,
      run: () =>
        withStorage(make, SNAP3_TO6, (s) => {
          const what = `entries(${lo}, ${hi}, ${max})`;
          if (Array.isArray(want)) expectEntries(what, s.entries(lo, hi, max), want);
          else if (want === "error") expectCallerBug(what, () => s.entries(lo, hi, max), [lo, hi]);
          else if (want === "maxSize") expectCallerBug(what, () => s.entries(lo, hi, max), [max], ["maxSize"]);
          else expectThrows(what, () => s.entries(lo, hi, max), want);
        }),
    };
  });
}

/** Reading the whole log page by page with a size limit: every page is the longest allowed. */
function pagingCases(make: StorageFactory): ContractCase[] {
  const log = SIZED.entries;
  const sizes = log.map(entrySize);
  const maxes = [0, 1, 20, 64, 100, 150, 200, 333, 1000, sizes.reduce((a, b) => a + b, 0), Infinity];
  return maxes.map((max) => ({
    name: `entries: paging a log of varied payloads with maxSize ${max}: pages are maximal and cover the log`,
    run: () =>
      withStorage(make, SIZED, (s) => {
        const first = s.firstIndex();
        const end = s.lastIndex() + 1;
        const got: Entry[] = [];
        for (let lo = first; lo < end; ) {
          const page = s.entries(lo, end, max);
          const what = `entries(${lo}, ${end}, ${max})`;
          if (page.length === 0) fail(`${what}: returned no entry`);
          const k = lo - first;
          const total = page.reduce((sum, e) => sum + entrySize(e), 0);
          if (page.length > 1 && total > max) fail(`${what}: ${page.length} entries of ${total} bytes exceed maxSize`);
          const next = k + page.length;
          if (next < log.length && total + sizes[next]! <= max) {
            fail(`${what}: stopped after ${page.length} entries (${total} bytes) though entry ${first + next} (${sizes[next]} bytes) fits`);
          }
          got.push(...page);
          lo += page.length;
        }
        expectEntries(`all pages with maxSize ${max}`, got, log);
      }),
  }));
}

function contentCases(make: StorageFactory): ContractCase[] {
  return [
    {
      name: "entries: type, data (absent, empty, 1000 bytes), indexes and terms above 2^32 are kept exactly",
      run: () =>
        withStorage(make, VARIED, (s) => {
          expectEntries(`entries(${HIGH + 1}, ${HIGH + 6}, Infinity)`, s.entries(HIGH + 1, HIGH + 6, Infinity), VARIED.entries);
          for (const e of VARIED.entries) {
            expectEntries(`entries(${e.index}, ${e.index + 1}, 0)`, s.entries(e.index, e.index + 1, 0), [e]);
            expectEqual(`term(${e.index})`, s.term(e.index), e.term);
          }
        }),
    },
    {
      name: "entries: an earlier result is not changed by later reads",
      run: () =>
        withStorage(make, SIZED, (s) => {
          const all = s.entries(11, 31, Infinity);
          const copy = all.slice();
          s.entries(15, 20, 0);
          s.entries(11, 31, 100);
          s.term(20);
          expectEntries("entries(11, 31, Infinity) after other reads", all, copy);
          expectEntries("entries(11, 31, Infinity) again", s.entries(11, 31, Infinity), SIZED.entries);
        }),
    },
    {
      name: "empty storage: firstIndex 1, lastIndex 0, term(0) 0, empty snapshot, zero state",
      run: () =>
        withStorage(make, { entries: [] }, (s) => {
          expectEqual("firstIndex()", s.firstIndex(), 1);
          expectEqual("lastIndex()", s.lastIndex(), 0);
          expectEqual("term(0)", s.term(0), 0);
          expectEntries("entries(1, 1, Infinity)", s.entries(1, 1, Infinity), []);
          expectThrows("entries(0, 1, Infinity)", () => s.entries(0, 1, Infinity), CompactedError);
          expectCallerBug("entries(-1, 1, Infinity)", () => s.entries(-1, 1, Infinity), [-1, 1]);
          expectCallerBug("term(-1)", () => s.term(-1), [-1]);
          const sn = s.snapshot();
          expectEqual("snapshot().metadata.index", sn.metadata.index, 0);
          expectEqual("snapshot().metadata.term", sn.metadata.term, 0);
          const { hardState, confState: cs } = s.initialState();
          expectEqual("hardState.term", hardState.term, 0);
          expectEqual("hardState.vote", hardState.vote, 0n);
          expectEqual("hardState.commit", hardState.commit, 0);
          expectConfState("confState", cs, confState([]));
        }),
    },
    {
      name: "initialState: HardState (a 64-bit vote) and the snapshot's joint ConfState round trip",
      run: () =>
        withStorage(make, WITH_STATE, (s) => {
          const { hardState, confState: cs } = s.initialState();
          const want = WITH_STATE.hardState!;
          expectEqual("hardState.term", hardState.term, want.term);
          expectEqual("hardState.vote", hardState.vote, want.vote);
          expectEqual("hardState.commit", hardState.commit, want.commit);
          expectConfState("confState", cs, JOINT_CS);
        }),
    },
    {
      name: "initialState: no HardState saved gives the zero HardState",
      run: () =>
        withStorage(make, SNAP3, (s) => {
          const { hardState, confState: cs } = s.initialState();
          expectEqual("hardState.term", hardState.term, 0);
          expectEqual("hardState.vote", hardState.vote, 0n);
          expectEqual("hardState.commit", hardState.commit, 0);
          expectConfState("confState", cs, SNAP3.snapshot!.metadata.confState);
        }),
    },
    {
      name: "snapshot: index, term, ConfState and data are the ones stored",
      run: () =>
        withStorage(make, WITH_STATE, (s) => {
          const got = s.snapshot();
          const want = WITH_STATE.snapshot!;
          expectEqual("snapshot().metadata.index", got.metadata.index, want.metadata.index);
          expectEqual("snapshot().metadata.term", got.metadata.term, want.metadata.term);
          expectConfState("snapshot().metadata.confState", got.metadata.confState, want.metadata.confState);
          if (!bytesEqual(got.data, want.data)) fail("snapshot().data differs from the data stored");
        }),
    },
    {
      name: "snapshot: a snapshot with no entry after it is the whole state",
      run: () =>
        withStorage(make, SNAP_ONLY, (s) => {
          const got = s.snapshot();
          expectEqual("snapshot().metadata.index", got.metadata.index, 10);
          expectEqual("snapshot().metadata.term", got.metadata.term, 4);
          if (!bytesEqual(got.data, SNAP_ONLY.snapshot!.data)) fail("snapshot().data differs from the data stored");
          expectEntries("entries(11, 11, Infinity)", s.entries(11, 11, Infinity), []);
          expectCallerBug("entries(11, 12, Infinity)", () => s.entries(11, 12, Infinity), [11, 12]);
        }),
    },
  ];
}

/**
 * The cases of the Storage contract, for a storage built by `make`. Names are unique; each case
 * builds its own storage(s) and closes them. Run them all: a storage that passes behaves, on
 * the read side, as raft expects of etcd's MemoryStorage.
 */
export function storageContractCases(make: StorageFactory): ContractCase[] {
  return [...termCases(make), ...boundsCases(make), ...entriesCases(make), ...pagingCases(make), ...contentCases(make)];
}
