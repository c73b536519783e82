/**
 * The leader's tracking of configuration, per-peer progress and votes. Imports only quorum/ and
 * raftpb types.
 * @module
 */
export { Inflights } from "./inflights.js";
export { Progress, ProgressMap, describeProgressMap, progressStateString } from "./progress.js";
export type { ProgressState, ProgressInit } from "./progress.js";
export { ProgressTracker, emptyConfig, describeConfig, configToConfState } from "./tracker.js";
export type { TrackerConfig, VoteTally } from "./tracker.js";
