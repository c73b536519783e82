/**
 * The keys of the state machine in sorted order, so that a range answer starts where the
 * client left off without sorting every key per request. A sorted list of chunks (the idea of
 * Python's sortedcontainers): each chunk a sorted array of at most {@link MAX_CHUNK} keys, the
 * chunks in order. Insert and delete cost a binary search plus a splice within one chunk;
 * iteration from any key is a binary search and then a walk.
 *
 * Order: JavaScript's string comparison (UTF-16 code units), the same on every member.
 * @module
 */

/** A chunk that grows past this is split in two. */
export const MAX_CHUNK = 1024;

function lowerBound(a: readonly string[], key: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: readonly string[], key: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** See the module comment. */
export class SortedKeys {
  /** Invariant: every chunk is non-empty and sorted; the last key of chunk i < the first of chunk i+1. */
  private chunks: string[][] = [];
  private count = 0;

  /** Number of keys. */
  get size(): number {
    return this.count;
  }

  /** The index of the chunk that holds `key` or would: the first whose last key is >= `key` (else the last). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid]!;
      if (c[c.length - 1]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds `key`; returns false if it was there already. */
  insert(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.count = 1;
      return true;
    }
    const ci = this.chunkFor(key);
    const c = this.chunks[ci]!;
    const i = lowerBound(c, key);
    if (c[i] === key) return false;
    c.splice(i, 0, key);
    this.count++;
    if (c.length > MAX_CHUNK) this.chunks.splice(ci + 1, 0, c.splice(MAX_CHUNK >>> 1));
    return true;
  }

  /**
   * Appends `key`, which must sort after every key held (building from a sorted source, such as
   * a snapshot); returns false, changing nothing, if it does not.
   */
  append(key: string): boolean {
    const last = this.chunks[this.chunks.length - 1];
    if (last !== undefined && !(last[last.length - 1]! < key)) return false;
    if (last === undefined || last.length >= MAX_CHUNK >>> 1) this.chunks.push([key]);
    else last.push(key);
    this.count++;
    return true;
  }

  /** Removes `key`; returns false if it was not there. */
  delete(key: string): boolean {
    if (this.chunks.length === 0) return false;
    const ci = this.chunkFor(key);
    const c = this.chunks[ci]!;
    const i = lowerBound(c, key);
    if (c[i] !== key) return false;
    c.splice(i, 1);
    this.count--;
    if (c.length === 0) this.chunks.splice(ci, 1);
    return true;
  }

  /**
   * The keys in order, from `start` (every key when undefined): those after it, or with
   * `inclusive` those at or after it. The iterator is invalid once the set changes.
   */
  *keysFrom(start?: string, inclusive = false): Generator<string, void, undefined> {
    let ci = 0;
    let i = 0;
    if (start !== undefined && this.chunks.length > 0) {
      ci = this.chunkFor(start);
      i = inclusive ? lowerBound(this.chunks[ci]!, start) : upperBound(this.chunks[ci]!, start);
    }
    for (; ci < this.chunks.length; ci++, i = 0) {
      const c = this.chunks[ci]!;
      for (; i < c.length; i++) yield c[i]!;
    }
  }
}
