/**
 * @tsraft/wal/testing: a simulated file system for crash and disk-fault tests of code that
 * runs over the WAL, the Snapshotter and DiskStorage (pass `fs.io()` as their `io`).
 * @module
 */
export { SimFS } from "./sim-fs.js";
export type { SimFaults, SimFSStats } from "./sim-fs.js";
export { setWalFaults } from "../internal/faults.js";
export type { WalFaultSwitches } from "../internal/faults.js";
