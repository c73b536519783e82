/**
 * A Storage wrapper that records every read by index (`"term(7)"`, `"entries(9)"`), to check
 * what raft asks its storage for; asking for the term of a compacted entry throws.
 */
import type { Storage } from "@tsraft/raft";
import type { MemoryStorage } from "@tsraft/storage-memory";

export class RecordingStorage implements Storage {
  /** The reads so far; clear it (`reads.length = 0`) to start recording afresh. */
  readonly reads: string[] = [];
  constructor(readonly inner: MemoryStorage) {}
  initialState() {
    return this.inner.initialState();
  }
  entries(lo: number, hi: number, maxSize: number) {
    this.reads.push(`entries(${lo})`);
    return this.inner.entries(lo, hi, maxSize);
  }
  term(i: number) {
    this.reads.push(`term(${i})`);
    if (i < this.inner.firstIndex() - 1) throw new Error(`storage asked for the compacted term of ${i}`);
    return this.inner.term(i);
  }
  firstIndex() {
    return this.inner.firstIndex();
  }
  lastIndex() {
    return this.inner.lastIndex();
  }
  snapshot() {
    return this.inner.snapshot();
  }
}
