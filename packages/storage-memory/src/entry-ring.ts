/**
 * EntryRing: the recent tail of an {@link EntryStore}, a double-ended queue of Entry objects in
 * a ring buffer. Pushing at the back and dropping at the front move two numbers, where an array
 * grown by `push` and cut with `slice` reallocated and copied the whole tail again and again
 * (the tail holds up to tens of thousands of entries when the appends are large).
 * @module
 */
import type { Entry } from "@tsraft/raftpb";

/** Slots of a new ring; it doubles when full, halves when an eighth full or less, never below this. */
const MIN_SLOTS = 64;

/**
 * Entries `at(0) .. at(length - 1)`, oldest first.
 *
 * Invariant: `slots.length` is a power of two, `mask = slots.length - 1`, `length <=
 * slots.length`; entry `k` is in `slots[(head + k) & mask]`; every other slot is `undefined`
 * (the ring keeps no entry alive that it no longer holds).
 */
export class EntryRing {
  #slots: (Entry | undefined)[] = new Array<Entry | undefined>(MIN_SLOTS).fill(undefined);
  #mask = MIN_SLOTS - 1;
  #head = 0;
  /** Entries held. */
  length = 0;

  /** Entry `k`, for `0 <= k < length` (not checked). */
  at(k: number): Entry {
    return this.#slots[(this.#head + k) & this.#mask]!;
  }

  /** Adds `e` at the back. */
  push(e: Entry): void {
    if (this.length === this.#slots.length) this.#resize(2 * this.#slots.length);
    this.#slots[(this.#head + this.length) & this.#mask] = e;
    this.length++;
  }

  /** Drops the `n` oldest entries (`n <= length`, not checked). */
  dropFront(n: number): void {
    const slots = this.#slots;
    for (let k = 0; k < n; k++) slots[(this.#head + k) & this.#mask] = undefined;
    this.#head = (this.#head + n) & this.#mask;
    this.length -= n;
    this.#maybeShrink();
  }

  /** Keeps the `n` oldest entries (`n <= length`, not checked), dropping the rest. */
  truncate(n: number): void {
    const slots = this.#slots;
    for (let k = n; k < this.length; k++) slots[(this.#head + k) & this.#mask] = undefined;
    this.length = n;
    this.#maybeShrink();
  }

  /** Entries `[from, to)` (`0 <= from <= to <= length`, not checked) in a fresh array of that size. */
  slice(from: number, to: number): Entry[] {
    const out = new Array<Entry>(to - from);
    const slots = this.#slots;
    for (let k = from; k < to; k++) out[k - from] = slots[(this.#head + k) & this.#mask]!;
    return out;
  }

  /** Gives room back after a burst: an eighth full or less halves the ring (so a tail cycling between one and two times its bound never resizes). */
  #maybeShrink(): void {
    let size = this.#slots.length;
    if (size <= MIN_SLOTS || 8 * this.length > size) return;
    while (size > MIN_SLOTS && 8 * this.length <= size) size >>= 1;
    this.#resize(size);
  }

  #resize(size: number): void {
    const old = this.#slots;
    const slots = new Array<Entry | undefined>(size).fill(undefined);
    for (let k = 0; k < this.length; k++) slots[k] = old[(this.#head + k) & this.#mask];
    this.#slots = slots;
    this.#mask = size - 1;
    this.#head = 0;
  }
}
