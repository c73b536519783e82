/**
 * @tsraft/storage-memory: the in-memory Storage of tsraft.
 * @module
 */
export { MemoryStorage } from "./memory-storage.js";
