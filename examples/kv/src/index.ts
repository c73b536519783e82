/**
 * @tsraft/example-kv: a replicated key-value service on tsraft, and the tools that test it.
 * @module
 */
export { KvServer } from "./server.js";
export { KvStateMachine, encodeCommand, encodeMemberAddr, decodeMemberAddr } from "./state-machine.js";
export type { Command, CommandResult, MemberAddr } from "./state-machine.js";
export { parseConfig, parseCluster, formatCluster, usage, ConfigError, FLAGS } from "./config.js";
export type { KvConfig } from "./config.js";
export { lineLogger } from "./logger.js";
export { kvRequest, writeOutcome } from "./client.js";
export type { KvResponse, Outcome } from "./client.js";
export { LocalCluster, freePorts, killAllChildren } from "./cluster.js";
export type { ClusterOptions, Member, MemberStatus } from "./cluster.js";
