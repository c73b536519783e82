/**
 * EntryStore: a log of consecutive entries held compactly: the most recent entries as the
 * caller's own Entry objects (the tail), everything older in runs of {@link EntryColumns} (terms
 * and types in typed arrays, payloads copied into slabs).
 *
 * Why the tail: raft reads back what was just appended (committed entries to apply, entries
 * for a follower that is barely behind), and handing out the objects it gave us costs nothing,
 * where an entry rebuilt from the columns costs an object and a view. Appending only pushes
 * onto the tail; once it holds twice its bound in entries or bytes, the older entries are
 * spilled into the runs in one pass, keeping the newest within the bound. The bound in entries
 * is {@link TAIL_ENTRIES}, or the entries of the last {@link TAIL_APPENDS} appends if more (a
 * leader under load appends thousands at once and applies them an append or two later), at
 * most {@link MAX_TAIL_ENTRIES}; in bytes {@link TAIL_BYTES} of payload. So
 * entries compacted while still in the tail are never copied, and the tail's bound keeps what
 * the store costs per entry of a long log at the columns' 13 bytes plus the payload.
 *
 * Costs: `append` amortised O(batch) plus one copy of each payload when it is spilled; `term`
 * O(1) in the tail and the last run, O(log runs) elsewhere; `slice` O(returned) (an object and
 * a view per entry outside the tail); `compactTo` O(runs dropped) (whole runs are released; a
 * run partly below the new first index keeps its slab until all of it is compacted).
 * @module
 */
import { entrySize } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { EntryColumns } from "./entry-columns.js";
import { EntryRing } from "./entry-ring.js";

/** A run stops taking entries once it holds this many. */
export const RUN_ENTRIES = 4096;
/** A run stops taking entries once its payloads reach this many bytes. */
export const RUN_BYTES = 1 << 20;
/** Recent entries kept as the caller's objects (at least this many, unless over {@link TAIL_BYTES}). */
export const TAIL_ENTRIES = 512;
/** Payload bytes of recent entries kept as the caller's objects. */
export const TAIL_BYTES = 512 * 1024;
/**
 * The tail keeps at least the entries of this many recent appends (within
 * {@link MAX_TAIL_ENTRIES} and {@link TAIL_BYTES}): raft reads back the committed entries of
 * the last appends to apply them, and with batches of thousands of entries (a leader under
 * load) a tail of {@link TAIL_ENTRIES} would have spilled them first, making an object and a
 * view per entry on every member: measured 460 bytes per proposal in `pnpm bench driver-3node`
 * at C = 4,096 (bench/README.md).
 */
export const TAIL_APPENDS = 4;
/** The most entries the tail keeps as the caller's objects, whatever the appends' sizes. */
export const MAX_TAIL_ENTRIES = 16_384;
/**
 * Runs released by compaction whose arrays are kept for the next runs (see
 * {@link EntryStore.compactTo}): enough for a log compacted every 10,000 entries or so (2-3
 * runs of 4,096 released at a time); each at most {@link SPARE_RUN_BYTES}.
 */
export const SPARE_RUNS = 4;
/** The largest run (columns and slab, {@link EntryColumns.arrayBytes}) kept as a spare. */
export const SPARE_RUN_BYTES = 2 * RUN_BYTES;

/**
 * Consecutive entries `[firstIndex(), lastIndex()]` (see the module comment).
 *
 * Invariant: `#tail.at(k)` is the caller's object for index `#tailFirst + k`;
 * `#tailFirst + #tail.length === #last + 1` and `#tailFirst >= #first`.
 * Invariant: the runs hold the indexes below `#tailFirst`: they are consecutive
 * (`runs[k + 1].first === runs[k].end`), the first starts at or before `#first` and the last
 * ends at `#tailFirst`; only the last run takes new (spilled) entries.
 */
export class EntryStore {
  #runs: EntryColumns[] = [];
  /**
   * Released runs whose arrays the next runs take (see {@link compactTo}).
   * Invariant: at most {@link SPARE_RUNS}, each {@link EntryColumns.reusable} and held nowhere else.
   */
  #spare: EntryColumns[] = [];
  /** Entries and payload bytes of the last run filled: the size a new run starts at. */
  #runHint = 0;
  #slabHint = 0;
  #first: number;
  #last: number;
  #tail = new EntryRing();
  #tailFirst: number;
  #tailBytes = 0;
  /** Entries of each of the last {@link TAIL_APPENDS} appends (a ring), and their sum. */
  #recent = new Uint32Array(TAIL_APPENDS);
  #recentAt = 0;
  #recentSum = 0;

  /** An empty store whose first entry will have index `first`. */
  constructor(first: number) {
    this.#first = first;
    this.#last = first - 1;
    this.#tailFirst = first;
  }

  /** The first index held (or that will be held). */
  firstIndex(): number {
    return this.#first;
  }

  /** The last index held; `firstIndex() - 1` when empty. */
  lastIndex(): number {
    return this.#last;
  }

  /** The term of entry `i`, for `firstIndex() <= i <= lastIndex()` (not checked). */
  term(i: number): number {
    if (i >= this.#tailFirst) return this.#tail.at(i - this.#tailFirst).term;
    const r = this.#run(i);
    return r.term(i - r.first);
  }

  /**
   * Appends `ents[from..]`, whose indexes are consecutive, starting at an index in
   * `[firstIndex(), lastIndex() + 1]` (not checked): everything from there on is replaced.
   * Precondition (not checked here; MemoryStorage checks it first): every type is an integer in
   * [0, 127].
   */
  append(ents: readonly Entry[], from = 0): void {
    const n = ents.length;
    if (from >= n) return;
    const at = ents[from]!.index;
    if (at <= this.#last) this.#truncate(at);
    this.#last += n - from;
    const k = this.#recentAt;
    this.#recentSum += n - from - this.#recent[k]!;
    this.#recent[k] = n - from;
    this.#recentAt = (k + 1) % TAIL_APPENDS;
    this.#pushTail(ents, from);
  }

  /**
   * The entries in `[lo, hi)` (within the store; not checked), stopping before their total
   * `entrySize` would exceed `maxSize` but at least one when `lo < hi`. A fresh array; the
   * entries are the caller's objects at the tail and fresh objects (data: views) elsewhere.
   */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo >= hi) return [];
    const end = maxSize < Number.MAX_SAFE_INTEGER ? this.#limit(lo, hi, maxSize) : hi;
    const tailFirst = this.#tailFirst;
    // Arrays of exactly the size returned: an empty one grown by push reserves 17 slots.
    if (lo >= tailFirst) return this.#tail.slice(lo - tailFirst, end - tailFirst);
    const out: Entry[] = new Array<Entry>(end - lo);
    let i = lo;
    let r = this.#runIndex(i);
    for (; i < end && i < tailFirst; i++) {
      let run = this.#runs[r]!;
      if (i >= run.end) run = this.#runs[++r]!;
      out[i - lo] = run.entry(i - run.first);
    }
    const tail = this.#tail;
    for (; i < end; i++) out[i - lo] = tail.at(i - tailFirst);
    return out;
  }

  /** The end of the slice from `lo` (`< hi`) whose entries' total size stays within `maxSize` (at least one). */
  #limit(lo: number, hi: number, maxSize: number): number {
    let size = 0;
    const tailFirst = this.#tailFirst;
    let i = lo;
    if (i < tailFirst) {
      let r = this.#runIndex(i);
      for (; i < hi && i < tailFirst; i++) {
        let run = this.#runs[r]!;
        if (i >= run.end) run = this.#runs[++r]!;
        size += run.size(i - run.first);
        if (size > maxSize && i > lo) return i;
      }
    }
    const tail = this.#tail;
    for (; i < hi; i++) {
      size += entrySize(tail.at(i - tailFirst));
      if (size > maxSize && i > lo) return i;
    }
    return hi;
  }

  /**
   * Drops the entries below `first` (`firstIndex() <= first <= lastIndex() + 1`, not checked).
   *
   * The runs wholly below `first` are released; up to {@link SPARE_RUNS} of them keep their
   * arrays for the next runs, unless a view into their slab was handed out (views never change).
   * Why: compaction to the applied index releases every run, and the next run then started at
   * the smallest size and doubled its arrays up to the last one's (for 4,096 entries of 128
   * bytes: about 20 typed arrays of 256 bytes to 512 KiB, 1 MiB allocated and freed per run)
   * while the process's other allocations went through the same C heap; now a log compacted as
   * it grows allocates no run arrays once it has spares (package README, "The entry store").
   */
  compactTo(first: number): void {
    if (first <= this.#first) return;
    this.#first = first;
    const runs = this.#runs;
    let k = 0;
    while (k < runs.length && runs[k]!.end <= first) k++;
    if (k > 0) {
      const spare = this.#spare;
      for (let j = 0; j < k && spare.length < SPARE_RUNS; j++) {
        const r = runs[j]!;
        if (r.reusable && r.arrayBytes() <= SPARE_RUN_BYTES) spare.push(r);
      }
      runs.splice(0, k);
    }
    if (first > this.#tailFirst) {
      // (every run is gone: they all ended at #tailFirst)
      const drop = first - this.#tailFirst;
      for (let j = 0; j < drop; j++) this.#tailBytes -= this.#tail.at(j).data?.length ?? 0;
      this.#tail.dropFront(drop);
      this.#tailFirst = first;
    }
  }

  /** Bytes of typed arrays held by the runs (columns and slabs; for tests and measurements). */
  arrayBytes(): number {
    let n = 0;
    for (const r of this.#runs) n += r.arrayBytes();
    return n;
  }

  /** Bytes of typed arrays held by spare runs (see {@link compactTo}; for tests and measurements). */
  spareBytes(): number {
    let n = 0;
    for (const r of this.#spare) n += r.arrayBytes();
    return n;
  }

  #newRun(prev: EntryColumns | undefined, first: number): EntryColumns {
    // Size the next run like the last full one (exact for a steady workload; remembered across
    // compactions, which may release every run), and give the last one's spare room back. A
    // spare run (see compactTo) is taken as it is: it grows if it must.
    if (prev !== undefined) {
      prev.trim();
      this.#runHint = prev.length;
      this.#slabHint = prev.payloadBytes;
    }
    let run = this.#spare.pop();
    if (run !== undefined) run.reset(first);
    else run = new EntryColumns(first, this.#runHint, this.#slabHint);
    this.#runs.push(run);
    return run;
  }

  #truncate(at: number): void {
    this.#last = at - 1;
    if (at <= this.#tailFirst) {
      const runs = this.#runs;
      let k = runs.length;
      while (k > 0 && runs[k - 1]!.first >= at) k--;
      runs.length = k;
      if (k > 0) runs[k - 1]!.truncate(at - runs[k - 1]!.first);
      this.#tail.truncate(0);
      this.#tailFirst = at;
      this.#tailBytes = 0;
    } else {
      const keep = at - this.#tailFirst;
      for (let j = keep; j < this.#tail.length; j++) this.#tailBytes -= this.#tail.at(j).data?.length ?? 0;
      this.#tail.truncate(keep);
    }
  }

  #pushTail(ents: readonly Entry[], from: number): void {
    const tail = this.#tail;
    let bytes = this.#tailBytes;
    for (let k = from; k < ents.length; k++) {
      const e = ents[k]!;
      tail.push(e);
      bytes += e.data?.length ?? 0;
    }
    this.#tailBytes = bytes;
    const bound = Math.min(MAX_TAIL_ENTRIES, Math.max(TAIL_ENTRIES, this.#recentSum));
    if (tail.length <= 2 * bound && bytes <= 2 * TAIL_BYTES) return;
    // Keep the newest entries within both bounds; spill the older ones into the runs.
    let keep = 0;
    let kept = 0;
    for (let j = tail.length - 1; j >= 0 && keep < bound; j--) {
      const len = tail.at(j).data?.length ?? 0;
      if (kept + len > TAIL_BYTES) break;
      kept += len;
      keep++;
    }
    const spill = tail.length - keep;
    let run = this.#runs[this.#runs.length - 1];
    for (let k = 0; k < spill; k++) {
      if (run === undefined || run.length >= RUN_ENTRIES || run.payloadBytes >= RUN_BYTES) {
        run = this.#newRun(run, this.#tailFirst + k);
      }
      run.push(tail.at(k));
    }
    tail.dropFront(spill);
    this.#tailFirst += spill;
    this.#tailBytes = kept;
  }

  /** The run holding index `i` (held; not checked). */
  #run(i: number): EntryColumns {
    const runs = this.#runs;
    const last = runs[runs.length - 1]!;
    if (i >= last.first) return last;
    return runs[this.#runIndex(i)]!;
  }

  /** The position in `#runs` of the run holding index `i` (held; not checked). */
  #runIndex(i: number): number {
    const runs = this.#runs;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[mid]!.first <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
