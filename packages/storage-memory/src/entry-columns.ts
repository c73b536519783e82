/**
 * EntryColumns: a run of consecutive log entries held in columns instead of objects.
 *
 * An `Entry` object with its own `Uint8Array` costs about 250 bytes of V8 overhead on top of the
 * payload (the object, the typed array, its ArrayBuffer and backing-store bookkeeping). Here a
 * run of entries costs 13 bytes each plus the payload: the terms in a `Float64Array`, the type
 * and "has data" flag in a `Uint8Array`, the end offset of each payload in a `Uint32Array`, and
 * the payloads copied one after the other into one slab. Indexes are implicit (`first + k`).
 * `Entry` objects are made only when asked ({@link EntryColumns.entry}), with `data` a view
 * into the slab.
 *
 * Views stay valid and never change: bytes written to the slab are never overwritten. The slab
 * grows by copying into a larger one, and {@link EntryColumns.truncate} copies the kept prefix
 * into a fresh slab, so a view handed out earlier keeps pointing at bytes nobody writes again.
 * @module
 */
import type { Entry, EntryType } from "@tsraft/raftpb";
import { varintSize } from "@tsraft/raftpb/wire";

/** The flag bit for "the entry has a `data` field" (absent and empty differ on the wire). */
const HAS_DATA = 0x80;
/** The bits of the entry type; types above this cannot be stored (raftpb has 0..2). */
const TYPE_MASK = 0x7f;

/** The smallest column capacity and slab size a run starts with. */
const MIN_CAPACITY = 16;
const MIN_SLAB = 256;

/**
 * V8's own cost of one run beyond its typed arrays' byte lengths: the object, four typed array
 * objects and their ArrayBuffers and backing-store records (an estimate: about 150 bytes per
 * array). Used by {@link EntryColumns.heapBytes}; `@tsraft/wal`'s `test/cache-cost.test.ts`
 * checks that blocks counted this way are within 25% of the heap they hold (measured: -0.2% to
 * +5% for runs of 256 100-byte entries, +0.9% for 1000-byte entries).
 */
export const RUN_OVERHEAD_BYTES = 600;

/** Throws the plain Error of an entry the columns cannot hold (a caller bug). */
function badType(e: Entry): never {
  throw new Error(`storage-memory: entry ${e.index} has type ${String(e.type)}, want an integer in [0, ${TYPE_MASK}]`);
}

/**
 * A run of consecutive entries `[first, first + length)`, in columns (see the module comment).
 *
 * Invariant: `length <= terms.length === flags.length === ends.length`; `ends` is
 * non-decreasing over `[0, length)` and `ends[length - 1] <= used <= slab.length`; the payload
 * of entry `k` is `slab[k === 0 ? 0 : ends[k - 1], ends[k])`.
 */
export class EntryColumns {
  /** The index of the run's first entry (changed only by {@link reset}). */
  private start: number;
  /** How many entries the run holds. */
  length = 0;
  private terms: Float64Array;
  private flags: Uint8Array;
  private ends: Uint32Array;
  private slab: Uint8Array;
  /** Bytes of the slab in use (the end of the last entry's payload). */
  private used = 0;
  /** Whether {@link entry} has handed out a view into the current slab (see {@link reusable}). */
  private viewed = false;

  /**
   * An empty run whose first entry will have index `first`, with room for `capacity` entries
   * and `slabBytes` payload bytes before it grows (hints: it grows as needed).
   */
  constructor(first: number, capacity = MIN_CAPACITY, slabBytes = MIN_SLAB) {
    this.start = first;
    const cap = Math.max(MIN_CAPACITY, capacity);
    this.terms = new Float64Array(cap);
    this.flags = new Uint8Array(cap);
    this.ends = new Uint32Array(cap);
    this.slab = new Uint8Array(Math.max(MIN_SLAB, slabBytes));
  }

  /** The index of the run's first entry. */
  get first(): number {
    return this.start;
  }

  /** The index after the last entry. */
  get end(): number {
    return this.start + this.length;
  }

  /** Payload bytes held. */
  get payloadBytes(): number {
    return this.used;
  }

  /**
   * Appends `e` (its index must be {@link end}; not checked), copying its payload.
   * @throws `Error` if `e.type` is not an integer in [0, 127].
   */
  push(e: Entry): void {
    const t = e.type as number;
    if ((t & TYPE_MASK) !== t) badType(e); // anything but an integer in [0, 127]
    const k = this.length;
    if (k === this.terms.length) this.growColumns(2 * k);
    const d = e.data;
    let flag = t;
    if (d !== undefined) {
      flag |= HAS_DATA;
      const len = d.length;
      if (len > 0) {
        const need = this.used + len;
        if (need > this.slab.length) this.growSlab(Math.max(need, 2 * this.slab.length));
        this.slab.set(d, this.used);
        this.used = need;
      }
    }
    this.terms[k] = e.term;
    this.flags[k] = flag;
    this.ends[k] = this.used;
    this.length = k + 1;
  }

  /** The term of entry `first + k`, for `0 <= k < length` (not checked). */
  term(k: number): number {
    return this.terms[k]!;
  }

  /**
   * Entry `first + k` (for `0 <= k < length`, not checked) as a fresh object; its `data`, if
   * any, is a view into the slab, valid for as long as the caller keeps it.
   */
  entry(k: number): Entry {
    const f = this.flags[k]!;
    const term = this.terms[k]!;
    const type = (f & TYPE_MASK) as EntryType;
    if ((f & HAS_DATA) === 0) return { term, index: this.start + k, type };
    const start = k === 0 ? 0 : this.ends[k - 1]!;
    this.viewed = true;
    return { term, index: this.start + k, type, data: this.slab.subarray(start, this.ends[k]!) };
  }

  /** `entrySize` (etcd's `Entry.Size()`) of entry `first + k`, without making the object. */
  size(k: number): number {
    const n = 4 + varintSize(this.terms[k]!) + varintSize(this.start + k);
    if ((this.flags[k]! & HAS_DATA) === 0) return n;
    const len = this.ends[k]! - (k === 0 ? 0 : this.ends[k - 1]!);
    return n + 1 + varintSize(len) + len;
  }

  /**
   * Keeps only the first `n` entries (`n <= length`). The kept payloads are copied into a fresh
   * slab (views handed out keep the old one, which is not written again).
   */
  truncate(n: number): void {
    if (n >= this.length) return;
    this.length = n;
    this.used = n === 0 ? 0 : this.ends[n - 1]!;
    const fresh = new Uint8Array(this.slab.length);
    fresh.set(this.slab.subarray(0, this.used));
    this.slab = fresh;
    this.viewed = false;
  }

  /**
   * Whether the run's arrays may be reused ({@link reset}): true until {@link entry} hands out a view
   * into the slab (a view must keep reading the same bytes for as long as it is held).
   */
  get reusable(): boolean {
    return !this.viewed;
  }

  /**
   * Empties the run, keeping its arrays, to hold entries from index `first` on. Only for a run
   * that is {@link reusable} and that nobody reads any more (its entries were compacted): it
   * spares a log that is compacted as it grows from allocating and freeing a run's arrays
   * (about 0.5 MiB) every few thousand entries (see the package README, "The entry store").
   */
  reset(first: number): void {
    this.start = first;
    this.length = 0;
    this.used = 0;
  }

  /**
   * Gives back unused room (called when no more entries will be pushed): columns cut to
   * `length`, and the slab cut to the bytes in use when more than 1/8 of it is free.
   */
  trim(): void {
    if (this.terms.length > this.length) this.growColumns(this.length);
    if (this.slab.length - this.used > this.used / 8 && this.slab.length > MIN_SLAB) this.growSlab(this.used);
  }

  /** Bytes of typed arrays held (columns at their capacity, the slab at its size). */
  arrayBytes(): number {
    return this.terms.byteLength + this.flags.byteLength + this.ends.byteLength + this.slab.byteLength;
  }

  /** What the run costs in memory: {@link arrayBytes} plus {@link RUN_OVERHEAD_BYTES}. */
  heapBytes(): number {
    return this.arrayBytes() + RUN_OVERHEAD_BYTES;
  }

  private growColumns(cap: number): void {
    const c = Math.max(cap, this.length, 1);
    const terms = new Float64Array(c);
    terms.set(this.terms.subarray(0, this.length));
    const flags = new Uint8Array(c);
    flags.set(this.flags.subarray(0, this.length));
    const ends = new Uint32Array(c);
    ends.set(this.ends.subarray(0, this.length));
    this.terms = terms;
    this.flags = flags;
    this.ends = ends;
  }

  private growSlab(size: number): void {
    const s = new Uint8Array(size);
    s.set(this.slab.subarray(0, this.used));
    this.slab = s;
  }
}
