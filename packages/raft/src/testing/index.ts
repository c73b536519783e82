/**
 * @tsraft/raft/testing: helpers for testing code built on tsraft (and tsraft itself): the
 * Storage contract suite, and the deterministic cluster simulator (see TESTING.md).
 * @module
 */
export { storageContractCases } from "./storage-contract.js";
export type { ContractCase, ContractStorage, StorageFactory, StorageInit } from "./storage-contract.js";
export { writableStorageContractCases } from "./writable-storage-contract.js";
export type { WritableContractStorage, WritableStorageFactory } from "./writable-storage-contract.js";
export { Simulator, runSchedule } from "./simulator.js";
export { defaultLivenessBound } from "./options.js";
export { describeNode } from "./report.js";
export type { SimOptions, SimResult, SimStats, SimInvariant } from "./options.js";
export { SimNode } from "./sim-node.js";
export type { SimStorage } from "./sim-node.js";
export { ListStateMachine } from "./state-machine.js";
export type { StateMachine } from "./state-machine.js";
export { InvariantViolation, INVARIANTS } from "./invariants.js";
export type { InvariantName } from "./invariants.js";
export {
  scheduleArbitrary,
  encodeSchedule,
  decodeSchedule,
  basicSchedule,
  CONF_KINDS,
  DEFAULT_OP_WEIGHTS,
  COVERAGE_OP_WEIGHTS,
  DEFAULT_CLUSTER_OPTIONS,
} from "./schedule.js";
export type { Schedule, Op, OpKind, TimedOp, ClusterOptions, ConfKind, ScheduleParams, FastCheckApi } from "./schedule.js";
export { CALM } from "./network.js";
export type { NetSettings } from "./network.js";
export { Prng } from "./random.js";
