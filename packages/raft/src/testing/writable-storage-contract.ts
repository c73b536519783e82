/**
 * The writable part of the Storage contract: `append`, `compact`, `createSnapshot` and
 * `applySnapshot`, which raft's {@link Storage} interface does not have
 * (raft only reads) but every storage an application writes to does: MemoryStorage, the WAL's
 * DiskStorage, the simulator's `SimStorage`. A storage opts in by handing
 * {@link writableStorageContractCases} a factory whose storages have these four methods,
 * synchronous or returning promises.
 *
 * The rows follow etcd's TestStorageCompact, TestStorageCreateSnapshot, TestStorageAppend and
 * TestStorageApplySnapshot, with DESIGN.md's answers where etcd panics: a call outside the
 * contract (`compact` or `createSnapshot` past the last index, an index that is not an integer
 * >= 0, an `append` that leaves a gap or breaks the log's shape) is refused with an `Error`
 * naming the indexes, never a `CompactedError`/`UnavailableError`/`SnapOutOfDateError` (which
 * say something about the log, not about the call). Every refusal must leave the storage as it
 * was, read back through the `Storage` methods, and, for a storage with
 * {@link WritableContractStorage.reopen}, as a restart finds it too.
 *
 * ```ts
 * import { test } from "node:test";
 * import { writableStorageContractCases } from "@tsraft/raft/testing";
 * for (const c of writableStorageContractCases(async (init) => openMyStorage(init))) test(c.name, () => c.run());
 * ```
 * @module
 */
import type { ConfState, Entry, Snapshot } from "@tsraft/raftpb";
import { CompactedError, SnapOutOfDateError, SnapshotTemporarilyUnavailableError, UnavailableError } from "../errors.js";
import type { Storage } from "../storage.js";
import { SNAP3_TO6, bytes, ent, fail, snap } from "./storage-contract.js";
import type { ContractCase, ErrorClass, StorageInit } from "./storage-contract.js";

/**
 * A storage under test by {@link writableStorageContractCases}: the read side, plus the writes
 * an application makes (each may be synchronous or return a promise), plus an optional
 * `reopen`. `close` (if present) is called once the case is over, on the last storage reopened.
 */
export interface WritableContractStorage extends Storage {
  /** Persists entries, replacing any from `entries[0].index` on (the compacted part is ignored). */
  append(entries: readonly Entry[]): void | Promise<void>;
  /** Discards the entries before `compactIndex`; `compactIndex` becomes the dummy entry. */
  compact(compactIndex: number): void | Promise<void>;
  /** Records a snapshot at index `i` (the previous ConfState when `cs` is undefined); does not compact. */
  createSnapshot(i: number, cs: ConfState | undefined, data: Uint8Array): Snapshot | Promise<Snapshot>;
  /** Replaces the whole content with `snapshot`. */
  applySnapshot(snapshot: Snapshot): void | Promise<void>;
  /**
   * For a storage that outlives its process: close this one and open the same storage again
   * the way a restart would, resolving with the reopened one (this one is not used again).
   * The suite then checks that what the restart reads agrees with what was read before it.
   */
  reopen?(): Promise<WritableContractStorage>;
  close?(): Promise<void> | void;
}

/**
 * Builds a new, independent writable storage holding exactly `init` (see {@link StorageInit});
 * called once per case.
 */
export type WritableStorageFactory = (init: StorageInit) => WritableContractStorage | Promise<WritableContractStorage>;

// ---------------------------------------------------------------------------------------------
// What the suite reads back: the log as (index, term) pairs from the dummy entry on, and the
// snapshot's index and term.

type Pair = readonly [index: number, term: number];

interface Shape {
  log: Pair[];
  snap: Pair;
}

function readShape(s: Storage): Shape {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const log: Pair[] = [];
  for (let i = first - 1; i <= last; i++) log.push([i, s.term(i)]);
  const m = s.snapshot().metadata;
  return { log, snap: [m.index, m.term] };
}

function showPairs(log: readonly Pair[]): string {
  return log.map(([i, t]) => `${i}/${t}`).join(" ");
}

function showShape(sh: Shape): string {
  return `log [${showPairs(sh.log)}] (first ${sh.log[0]![0] + 1}), snapshot ${sh.snap[0]}/${sh.snap[1]}`;
}

function expectShape(what: string, got: Shape, want: Shape): void {
  const same =
    got.log.length === want.log.length &&
    got.log.every(([i, t], k) => i === want.log[k]![0] && t === want.log[k]![1]) &&
    got.snap[0] === want.snap[0] &&
    got.snap[1] === want.snap[1];
  if (!same) fail(`${what}: got ${showShape(got)}, want ${showShape(want)}`);
}

/**
 * After a restart a storage may hold more of the log's head than before (DiskStorage reopens
 * at its snapshot, whatever was compacted in memory): the last index, the snapshot and the
 * terms of every index both have must agree.
 */
function expectSameAfterRestart(what: string, got: Shape, want: Shape): void {
  const terms = new Map(want.log);
  const gotLast = got.log[got.log.length - 1]![0];
  const wantLast = want.log[want.log.length - 1]![0];
  let same = gotLast === wantLast && got.snap[0] === want.snap[0] && got.snap[1] === want.snap[1];
  for (const [i, t] of got.log) if (terms.has(i) && terms.get(i) !== t) same = false;
  if (!same) fail(`${what}: after a restart ${showShape(got)}, before it ${showShape(want)}`);
}

/** The errors that say something about the log; a refused call outside the contract is none of them. */
const LOG_STATE_ERRORS: readonly ErrorClass[] = [CompactedError, UnavailableError, SnapOutOfDateError, SnapshotTemporarilyUnavailableError];

function describeThrown(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// ---------------------------------------------------------------------------------------------
// Rows.

/** One write, as the rows spell it. */
type Op =
  | { op: "compact"; i: number }
  | { op: "createSnapshot"; i: number }
  | { op: "applySnapshot"; index: number; term: number }
  | { op: "append"; entries: readonly Entry[] };

/**
 * What a row expects of its call: the storage read back after it (`log` from the dummy entry
 * on, `snap` the snapshot's index/term), a typed error (`throws`), or a refusal of a call
 * outside the contract (`refused`: an `Error` that is none of the log-state errors, whose
 * message names each number listed).
 */
type Want = { log: Pair[]; snap: Pair } | { throws: ErrorClass } | { refused: readonly number[] };

interface Row {
  name: string;
  setup?: readonly Op[];
  call: Op;
  want: Want;
  /**
   * Why a restart may read more than the row's `log` (then only the memory side is checked).
   * Used once: see the applySnapshot row "inside the log".
   */
  restartMayDiffer?: string;
}

const CS = SNAP3_TO6.snapshot!.metadata.confState;
const DATA = bytes(16, 5);

function describeOp(o: Op): string {
  switch (o.op) {
    case "compact":
      return `compact(${o.i})`;
    case "createSnapshot":
      return `createSnapshot(${o.i})`;
    case "applySnapshot":
      return `applySnapshot(${o.index}/${o.term})`;
    case "append":
      return `append([${o.entries.map((e) => `${e.index}/${e.term}`).join(", ")}])`;
  }
}

async function perform(s: WritableContractStorage, o: Op): Promise<unknown> {
  switch (o.op) {
    case "compact":
      return s.compact(o.i);
    case "createSnapshot":
      return s.createSnapshot(o.i, undefined, DATA);
    case "applySnapshot":
      return s.applySnapshot(snap(o.index, o.term, CS, DATA));
    case "append":
      return s.append(o.entries);
  }
}

/** The log of the fixture (snapshot 3/3, entries 4/4, 5/5, 6/6) from its dummy entry on. */
const LOG_3_TO_6: Pair[] = [
  [3, 3],
  [4, 4],
  [5, 5],
  [6, 6],
];
const SNAP_3: Pair = [3, 3];

function compactRows(): Row[] {
  return [
    { name: "up to an index inside the log", call: { op: "compact", i: 5 }, want: { log: LOG_3_TO_6.slice(2), snap: SNAP_3 } },
    { name: "up to the last index", call: { op: "compact", i: 6 }, want: { log: LOG_3_TO_6.slice(3), snap: SNAP_3 } },
    { name: "at firstIndex() - 1 (the dummy entry)", call: { op: "compact", i: 3 }, want: { throws: CompactedError } },
    { name: "below firstIndex() - 1", call: { op: "compact", i: 2 }, want: { throws: CompactedError } },
    { name: "at 0", call: { op: "compact", i: 0 }, want: { throws: CompactedError } },
    { name: "again, at the index compacted to", setup: [{ op: "compact", i: 5 }], call: { op: "compact", i: 5 }, want: { throws: CompactedError } },
    { name: "below the index compacted to", setup: [{ op: "compact", i: 5 }], call: { op: "compact", i: 4 }, want: { throws: CompactedError } },
    { name: "one past the last index", call: { op: "compact", i: 7 }, want: { refused: [7, 6] } },
    { name: "far past the last index", call: { op: "compact", i: 100 }, want: { refused: [100, 6] } },
    { name: "a non-integer index", call: { op: "compact", i: 4.5 }, want: { refused: [4.5] } },
    { name: "NaN", call: { op: "compact", i: Number.NaN }, want: { refused: [Number.NaN] } },
    { name: "Infinity", call: { op: "compact", i: Infinity }, want: { refused: [Infinity] } },
    { name: "a negative index (a caller bug, not compacted)", call: { op: "compact", i: -1 }, want: { refused: [-1] } },
  ];
}

function createSnapshotRows(): Row[] {
  return [
    { name: "inside the log: recorded, nothing compacted", call: { op: "createSnapshot", i: 5 }, want: { log: LOG_3_TO_6, snap: [5, 5] } },
    { name: "at the last index", call: { op: "createSnapshot", i: 6 }, want: { log: LOG_3_TO_6, snap: [6, 6] } },
    { name: "at the current snapshot's index", call: { op: "createSnapshot", i: 3 }, want: { throws: SnapOutOfDateError } },
    { name: "older than the current snapshot", call: { op: "createSnapshot", i: 2 }, want: { throws: SnapOutOfDateError } },
    {
      name: "older than a snapshot created before",
      setup: [{ op: "createSnapshot", i: 5 }],
      call: { op: "createSnapshot", i: 4 },
      want: { throws: SnapOutOfDateError },
    },
    {
      name: "newer than the snapshot but compacted past (the term is gone)",
      setup: [{ op: "compact", i: 5 }],
      call: { op: "createSnapshot", i: 4 },
      want: { throws: CompactedError },
    },
    { name: "one past the last index", call: { op: "createSnapshot", i: 7 }, want: { refused: [7, 6] } },
    { name: "far past the last index", call: { op: "createSnapshot", i: 100 }, want: { refused: [100, 6] } },
    { name: "a non-integer index", call: { op: "createSnapshot", i: 4.5 }, want: { refused: [4.5] } },
    { name: "NaN", call: { op: "createSnapshot", i: Number.NaN }, want: { refused: [Number.NaN] } },
    { name: "a negative index", call: { op: "createSnapshot", i: -1 }, want: { refused: [-1] } },
  ];
}

function applySnapshotRows(): Row[] {
  return [
    { name: "newer than the log: the log is emptied", call: { op: "applySnapshot", index: 10, term: 7 }, want: { log: [[10, 7]], snap: [10, 7] } },
    {
      name: "inside the log: the log is still emptied",
      call: { op: "applySnapshot", index: 5, term: 5 },
      want: { log: [[5, 5]], snap: [5, 5] },
      // etcd's WAL keeps the entries written before a snapshot record, and a restart reads those
      // after the snapshot's index back (DiskStorage does as etcd's WAL: 5/5 6/6 here). Raft
      // installs a snapshot only when its log does not match it there, and reconciles such a
      // tail with the leader as any unmatched entries.
      restartMayDiffer: "a WAL keeps the entries after the snapshot's index, as etcd's does",
    },
    { name: "at the current snapshot's index", call: { op: "applySnapshot", index: 3, term: 3 }, want: { throws: SnapOutOfDateError } },
    { name: "older than the current snapshot", call: { op: "applySnapshot", index: 2, term: 2 }, want: { throws: SnapOutOfDateError } },
    {
      name: "older than a snapshot created since",
      setup: [{ op: "createSnapshot", i: 5 }],
      call: { op: "applySnapshot", index: 4, term: 4 },
      want: { throws: SnapOutOfDateError },
    },
  ];
}

/**
 * Entries `index/term` without data, as the fixture's are (a compact spelling for the append
 * rows): an entry rewritten at the same index and term must be the same entry (Log Matching;
 * the WAL's reader refuses one that differs as corruption).
 */
function ents(...pairs: Pair[]): Entry[] {
  return pairs.map(([i, t]) => ent(i, t));
}

function appendRows(): Row[] {
  const refuse = (name: string, entries: Entry[], refused: number[]): Row => ({ name, call: { op: "append", entries }, want: { refused } });
  return [
    { name: "after the last index", call: { op: "append", entries: ents([7, 6], [8, 7]) }, want: { log: [...LOG_3_TO_6, [7, 6], [8, 7]], snap: SNAP_3 } },
    {
      name: "a conflicting suffix is replaced",
      call: { op: "append", entries: ents([5, 7], [6, 7]) },
      want: { log: [...LOG_3_TO_6.slice(0, 2), [5, 7], [6, 7]], snap: SNAP_3 },
    },
    {
      name: "everything from the first index on is replaced, even what agrees (etcd)",
      call: { op: "append", entries: ents([4, 4]) },
      want: { log: LOG_3_TO_6.slice(0, 2), snap: SNAP_3 },
    },
    { name: "nothing", call: { op: "append", entries: [] }, want: { log: LOG_3_TO_6, snap: SNAP_3 } },
    {
      name: "entirely at or below firstIndex() - 1: ignored (etcd)",
      call: { op: "append", entries: ents([2, 2], [3, 3]) },
      want: { log: LOG_3_TO_6, snap: SNAP_3 },
    },
    {
      name: "the compacted head is ignored, the rest replaces the log (etcd)",
      call: { op: "append", entries: ents([2, 3], [3, 3], [4, 5]) },
      want: { log: [...LOG_3_TO_6.slice(0, 1), [4, 5]], snap: SNAP_3 },
    },
    refuse("a gap inside the batch", ents([7, 6], [9, 6]), [7, 9]),
    refuse("an index repeated inside the batch", ents([7, 6], [7, 6]), [7]),
    refuse("a gap after the last index (etcd: missing log entry)", ents([8, 6]), [8, 6]),
    refuse("a non-integer index", ents([6.5, 6], [7.5, 6]), [6.5]),
    refuse("a non-integer index below the last one", ents([4.5, 6]), [4.5]),
    refuse("a NaN index", ents([Number.NaN, 6]), [Number.NaN]),
    refuse("an index past 2^53 - 1", ents([2 ** 53, 6]), [2 ** 53]),
    refuse("index 0 (a log's dummy entry, never an entry)", ents([0, 1]), [0]),
    refuse("a negative index, even in the compacted part", ents([-1, 1], [0, 1], [1, 1], [2, 2], [3, 3], [4, 4]), [-1]),
    refuse("term 0", ents([7, 0]), [7, 0]),
    refuse("a negative term", ents([7, -1]), [7, -1]),
    refuse("a non-integer term", ents([7, 6.5]), [7, 6.5]),
    refuse("a NaN term", ents([7, Number.NaN]), [7, Number.NaN]),
    refuse("terms going down inside the batch", ents([7, 7], [8, 6]), [8, 6, 7]),
    refuse("terms going down inside the compacted part", ents([2, 3], [3, 2], [4, 5]), [3, 2]),
    refuse("a first term below the last entry's", ents([7, 5]), [7, 5, 6]),
    refuse("an overwrite whose term is below the entry before it", ents([5, 3]), [5, 3, 4]),
    refuse("a valid head, then a bad entry: nothing is written", ents([7, 6], [8, 6], [9, Number.NaN]), [9]),
  ];
}

function runRow(make: WritableStorageFactory, { setup = [], call, want, restartMayDiffer }: Row): () => Promise<void> {
  return async () => {
    let s = await make(SNAP3_TO6);
    try {
      for (const o of setup) await perform(s, o);
      const before = readShape(s);
      const what = describeOp(call);
      let thrown: unknown;
      let threw = false;
      try {
        await perform(s, call);
      } catch (e) {
        threw = true;
        thrown = e;
      }
      if ("log" in want) {
        if (threw) fail(`${what}: threw ${describeThrown(thrown)}, want success`);
        expectShape(`after ${what}`, readShape(s), want);
      } else {
        if (!threw) fail(`${what}: returned, want ${"throws" in want ? want.throws.name : "an Error naming the bounds"} thrown`);
        if ("throws" in want) {
          if (!(thrown instanceof want.throws)) fail(`${what}: threw ${describeThrown(thrown)}, want ${want.throws.name}`);
        } else {
          if (!(thrown instanceof Error)) fail(`${what}: threw ${String(thrown)}, want an Error`);
          const kind = LOG_STATE_ERRORS.find((k) => thrown instanceof k);
          if (kind !== undefined) fail(`${what}: threw ${describeThrown(thrown)}, want an Error for a call outside the contract, not ${kind.name}`);
          for (const b of want.refused) if (!thrown.message.includes(String(b))) fail(`${what}: threw "${thrown.message}", which does not name ${b}`);
        }
        expectShape(`after the refused ${what}`, readShape(s), before);
      }
      if (s.reopen !== undefined && restartMayDiffer === undefined) {
        const expected = readShape(s);
        s = await s.reopen();
        expectSameAfterRestart(`after ${what}`, readShape(s), expected);
      }
    } finally {
      await s.close?.();
    }
  };
}

/**
 * The cases of the writable Storage contract (see the module comment), for storages built by
 * `make`; each builds its own storage, starting from a snapshot at 3 (term 3) and entries
 * 4, 5, 6 of terms 4, 5, 6. Names are unique.
 */
export function writableStorageContractCases(make: WritableStorageFactory): ContractCase[] {
  const groups: [string, Row[]][] = [
    ["compact", compactRows()],
    ["createSnapshot", createSnapshotRows()],
    ["applySnapshot", applySnapshotRows()],
    ["append", appendRows()],
  ];
  const cases: ContractCase[] = [];
  for (const [op, rows] of groups) {
    for (const row of rows) {
      const setup = row.setup === undefined || row.setup.length === 0 ? "" : ` after ${row.setup.map(describeOp).join(", ")}`;
      const outcome =
        "log" in row.want
          ? `gives [${showPairs(row.want.log)}], snapshot ${row.want.snap.join("/")}`
          : "throws" in row.want
            ? `throws ${row.want.throws.name}`
            : `is refused naming ${row.want.refused.join(", ")}`;
      cases.push({ name: `${op}: snapshot 3, log 4..6${setup}: ${describeOp(row.call)} ${outcome} (${row.name})`, run: runRow(make, row) });
    }
  }
  return cases;
}
