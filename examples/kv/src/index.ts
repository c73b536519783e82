/**
 * @tsraft/example-kv: a replicated key-value service on tsraft, and the tools that test it.
 * @module
 */
export { KvServer, INCOMING_SNAPSHOT_DIR } from "./server.js";
export type { KvServerOptions, MemberView, KvCounters } from "./server.js";
export { KvStateMachine, RANGE_PAGE_BYTES } from "./state-machine.js";
export type { CommandResult, MemberRecord, SpaceAlarm, KeyValue, RangePage } from "./state-machine.js";
export { encodeCommand, decodeCommand, encodeMemberContext, decodeMemberContext, MAX_KEY_BYTES, MAX_VALUE_BYTES, MAX_BODY_BYTES } from "./command.js";
export type { Command, MemberAddr, MemberContext } from "./command.js";
export { parseHostPort, isHostPort } from "./addr.js";
export type { HostPort } from "./addr.js";
export { KvError, ConfigError, HttpError, SnapshotFormatError } from "./errors.js";
export { parseConfig, parseCluster, formatCluster, usage, FLAGS } from "./config.js";
export type { KvConfig } from "./config.js";
export {
  computeClusterId,
  formatClusterId,
  parseClusterId,
  encodeDataIdentity,
  decodeDataIdentity,
  checkDataIdentity,
  DEFAULT_CLUSTER_TOKEN,
} from "./cluster-id.js";
export type { DataIdentity } from "./cluster-id.js";
export { loadPeerAuth, insecurePeersWarning } from "./peer-auth.js";
export type { PeerAuthConfig } from "./peer-auth.js";
export { DEFAULT_QUOTA_BYTES, DEFAULT_WAL_CACHE_BYTES } from "./config.js";
export { UNHANDLED_MARKER, UNHANDLED_EXIT_CODE, installCrashHandlers } from "./crash.js";
export { lineLogger } from "./logger.js";
export { kvRequest, writeOutcome, listAll } from "./client.js";
export type { KvResponse, Outcome, ClientTls } from "./client.js";
export { LocalCluster, killAllChildren } from "./cluster.js";
export { ephemeralPortLow, freePorts } from "@tsraft/test-helpers/ports";
export type { ClusterOptions, Member, MemberStatus } from "./cluster.js";
