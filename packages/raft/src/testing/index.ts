/**
 * @tsraft/raft/testing: helpers for testing code built on tsraft (and tsraft itself).
 * @module
 */
export { storageContractCases } from "./storage-contract.js";
export type { ContractCase, ContractStorage, StorageFactory, StorageInit } from "./storage-contract.js";
