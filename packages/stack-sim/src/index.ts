/**
 * @tsraft/stack-sim: the whole-stack deterministic simulator (issue 16): RaftNodes over
 * DiskStorage on simulated disks, a simulated network and clock owned by one seeded event
 * loop, crashes and partitions, the safety checks, and an HTML timeline of a run. See
 * TESTING.md at the repository root for running your own state machine in it.
 * @module
 */
export { runStackSchedule } from "./run.js";
export type { StackRunOptions, StackRunResult } from "./run.js";
export type { StackStateMachine } from "./state-machine.js";
export type { StackWorkload, HistoryOp, Request } from "./workload.js";
export type { MemberSettings, AppliedResult } from "./member.js";
export type { NetworkFaults } from "./sim-network.js";
export type { Violation } from "./checks.js";
export { Trace } from "./trace.js";
export type { TraceEvent } from "./trace.js";
export { SimLoop, Owner } from "./sim-loop.js";
export { renderTimeline } from "./timeline-html.js";
export { shrinkSchedule } from "./shrink.js";
export type { ShrinkRun, ShrinkOutcome } from "./shrink.js";
export { DEFAULT_SCHEDULE, scheduleArgs, parseScheduleArgs, scheduleOptions } from "./schedule-params.js";
export type { ScheduleParams } from "./schedule-params.js";
export type { TimelineInfo } from "./timeline-html.js";
