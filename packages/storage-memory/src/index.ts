/**
 * @tsraft/storage-memory: the in-memory Storage of tsraft, and the compact entry containers it
 * is built from (also used by `@tsraft/wal`'s DiskStorage cache).
 * @module
 */
export { MemoryStorage } from "./memory-storage.js";
export { EntryStore, RUN_ENTRIES, RUN_BYTES, TAIL_ENTRIES, TAIL_BYTES, TAIL_APPENDS, MAX_TAIL_ENTRIES, SPARE_RUNS, SPARE_RUN_BYTES } from "./entry-store.js";
export { EntryColumns, RUN_OVERHEAD_BYTES } from "./entry-columns.js";
