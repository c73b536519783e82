/**
 * @tsraft/cli: the `tsraft` operator tool (see the README). The functions behind the commands
 * are exported for programs and tests.
 * @module
 */
export { main, COMMANDS } from "./main.js";
export { EXIT } from "./io.js";
export type { Io, Command } from "./io.js";
export { scanWal, segmentFiles, RECORD_TYPES } from "./records.js";
export type { DumpRecord, SegmentEnd } from "./records.js";
export { verifyWal, repairWal, NO_SEGMENTS } from "./verify.js";
export type { Verdict, RepairOutcome } from "./verify.js";
export { forceNewCluster } from "./force-new-cluster.js";
export type { ForceNewClusterResult } from "./force-new-cluster.js";
