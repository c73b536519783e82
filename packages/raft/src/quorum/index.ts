/**
 * Quorum math for raft: majority and joint configurations, committed indexes and vote results.
 * Imports nothing from the rest of raft.
 * @module
 */
export { MajorityConfig } from "./majority.js";
export { JointConfig } from "./joint.js";
export { INFINITE_INDEX, indexString, compareNodeIds } from "./types.js";
export type { AckedIndexer, VoteLookup, VoteResult } from "./types.js";
