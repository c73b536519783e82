/**
 * The configuration of a raft node, and its validation.
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";
import { ConfigError } from "./errors.js";
import { faultsOf, type FaultSwitches } from "./internal/faults.js";
import type { RaftHooks } from "./hooks.js";
import type { TraceLogger } from "./trace.js";
import { NO_LIMIT } from "./log.js";
import { silentLogger, type Logger } from "./logger.js";
import { seededRandom, type RandomSource } from "./rand.js";
import type { ReadOnlyOption } from "./read-only.js";
import type { Storage } from "./storage.js";
import { isLocalMsgTarget } from "./util.js";

/** The options of a raft node. Only `id`, `electionTick` and `storage` are required. */
export interface Config {
  /** The id of this node; never `0n` (and not one of the two local storage-thread ids). */
  id: NodeId;
  /**
   * Ticks a follower waits without hearing from a leader before it campaigns; the actual
   * timeout is randomized in `[electionTick, 2 * electionTick)`. Must exceed `heartbeatTick`;
   * etcd uses 10.
   */
  electionTick: number;
  /** Ticks between heartbeats of a leader: an integer > 0, default 1 (etcd uses 1). */
  heartbeatTick?: number;
  /** The stable storage raft reads from. */
  storage: Storage;
  /** The last applied index when restarting; entries up to it are not handed out again. */
  applied?: number;
  /** Bytes of entries in one MsgApp (0: one entry per message). Default 1 MiB. */
  maxSizePerMsg?: number;
  /** Bytes of committed entries in one Ready. Default: `maxSizePerMsg`. */
  maxCommittedSizePerReady?: number;
  /** Bytes of uncommitted entry payloads a leader accepts before dropping proposals. 0: no limit. */
  maxUncommittedEntriesSize?: number;
  /** MsgApps in flight to one follower in replicate state. Must be > 0; default 256. */
  maxInflightMsgs?: number;
  /** Payload bytes in flight to one follower; 0 (default) means no limit. */
  maxInflightBytes?: number;
  /** A leader steps down when it has not heard from a quorum for an election timeout. */
  checkQuorum?: boolean;
  /** Run a pre-election (PreVote, thesis §9.6) before raising the term. */
  preVote?: boolean;
  /** How ReadIndex requests are confirmed; 'lease-based' needs `checkQuorum`. Default 'safe'. */
  readOnlyOption?: ReadOnlyOption;
  /** Followers drop proposals instead of forwarding them to the leader. */
  disableProposalForwarding?: boolean;
  /**
   * Skip the leader's check that a proposed conf change can be applied (at most one pending,
   * no simple change while joint). For tests of conf change handling only.
   */
  disableConfChangeValidation?: boolean;
  /** A leader removed from (or demoted in) the configuration steps down. Default true. */
  stepDownOnRemoval?: boolean;
  /**
   * With `stepDownOnRemoval`, a removed leader first hands leadership to the most up-to-date
   * voter of the new configuration (brings it up to date, sends MsgTimeoutNow) and steps down
   * then, or after an election timeout. Without it the leader steps down at once, as etcd does,
   * which can leave a cluster without a leader when the old leader holds uncommitted entries
   * the remaining voters lack (they cannot win its vote). Also, a node outside the voters of
   * its own configuration that knows no leader and is asked for its vote by a candidate with a
   * shorter log campaigns, to finish a hand-over that was cut short (restart, deposed, timed
   * out); false: such a node never campaigns, as in etcd. Default true.
   */
  handOverOnRemoval?: boolean;
  /**
   * The leader sends the entries proposed between two `ready()` calls as one MsgApp per
   * follower (within `maxSizePerMsg`), when the next Ready is built, instead of one MsgApp per
   * `propose()` call as etcd does. Default true; false gives etcd's message pattern.
   */
  batchProposals?: boolean;
  /**
   * One Ready cycle per proposal on a leader that is the only voter: its own new entries are
   * committed when it appends them, so the Ready that hands them out to persist also hands them
   * out to apply (and carries the new commit index), as etcd 3.4 does. Default false: the
   * leader counts its own entries only once `advance()` reports them persisted (through a
   * MsgAppResp to itself), so the commit comes in the next Ready, as etcd-io/raft v3.6 does and
   * as etcd's interaction scripts print.
   *
   * Applies only while this node is the leader and every quorum of its configuration is this
   * node alone (one voter, this one; when joint, both halves are that voter). With two or more
   * voters nothing changes. Learners are allowed.
   *
   * Why it is safe: the entry is committed once a quorum has persisted it, and here the quorum
   * is the leader alone. The commit moves before the leader's write, but nothing can observe it
   * before that write: the application learns it from this Ready (`hardState.commit`,
   * `committedEntries`) and must persist the Ready's `entries` before it applies
   * `committedEntries` and before it sends `messages` (which is how a learner could learn it),
   * and a commit index persisted in the HardState is written with, or after, the entries it
   * covers. A crash before the write loses the entries and the commit together, and nobody has
   * applied them. That argument needs the synchronous Ready loop, so this option cannot be
   * combined with `asyncStorageWrites` (which sends messages while the entries are being
   * written): {@link ConfigError} then. With more voters the same shortcut would let a follower
   * apply an entry only one member holds durably, which is why it is limited to a sole voter.
   */
  soleVoterCommitOnAppend?: boolean;
  /**
   * Enable asynchronous storage writes: Ready carries MsgStorageAppend / MsgStorageApply
   * messages instead of being acknowledged by `advance()`. See the README.
   */
  asyncStorageWrites?: boolean;
  /** The logger: an object whose `debug`, `info`, `warn` and `error` are functions; silent by default. */
  logger?: Logger;
  /** The random source of election timeouts; default: seeded from `id`. */
  random?: RandomSource;
  /** Callbacks for what raft otherwise only logs (see {@link RaftHooks}); default none. */
  hooks?: RaftHooks;
  /**
   * Receives raft's state transitions and message sends/receives in the shape of etcd-io/raft's
   * `TracingEvent` (see trace.ts). Default none: one `undefined` check per trace site.
   */
  traceLogger?: TraceLogger;
}

/**
 * A validated {@link Config} with every default filled in, plus the testing knobs attached to
 * it (internal/faults.ts; all off unless a test attached some).
 */
export interface ResolvedConfig {
  id: NodeId;
  electionTick: number;
  heartbeatTick: number;
  storage: Storage;
  applied: number;
  maxSizePerMsg: number;
  maxCommittedSizePerReady: number;
  maxUncommittedEntriesSize: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  checkQuorum: boolean;
  preVote: boolean;
  readOnlyOption: ReadOnlyOption;
  disableProposalForwarding: boolean;
  disableConfChangeValidation: boolean;
  stepDownOnRemoval: boolean;
  handOverOnRemoval: boolean;
  batchProposals: boolean;
  soleVoterCommitOnAppend: boolean;
  asyncStorageWrites: boolean;
  logger: Logger;
  random: RandomSource;
  /** Test-only fault switches of this node (not part of {@link Config}). */
  faults: FaultSwitches;
  hooks: RaftHooks;
  traceLogger: TraceLogger | undefined;
}

const MIB = 1024 * 1024;

function nonNegativeInt(field: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 0) throw new ConfigError(field, `must be a non-negative integer, got ${v}`);
  return v;
}

const LOGGER_METHODS = ["debug", "info", "warn", "error"] as const;

/** `logger`, or the silent logger if it is undefined. */
function validLogger(logger: Logger | undefined): Logger {
  if (logger === undefined) return silentLogger;
  if (typeof logger !== "object" || logger === null) {
    throw new ConfigError("logger", `must be an object with debug, info, warn and error methods, got ${logger === null ? "null" : typeof logger}`);
  }
  for (const m of LOGGER_METHODS) {
    if (typeof logger[m] !== "function") throw new ConfigError("logger", `logger.${m} must be a function, got ${typeof logger[m]}`);
  }
  return logger;
}

/**
 * Checks every option and fills in the defaults.
 * @throws {@link ConfigError} naming the first invalid option.
 */
export function validateConfig(c: Config): ResolvedConfig {
  if (typeof c.id !== "bigint" || c.id === 0n) throw new ConfigError("id", "cannot use none (0n) as id");
  if (c.id < 0n || c.id > 0xffff_ffff_ffff_ffffn) throw new ConfigError("id", "must be a uint64");
  if (isLocalMsgTarget(c.id)) throw new ConfigError("id", "cannot use a local storage thread id as id");
  const heartbeatTick = c.heartbeatTick === undefined ? 1 : c.heartbeatTick;
  if (!Number.isSafeInteger(heartbeatTick) || heartbeatTick <= 0) {
    throw new ConfigError("heartbeatTick", `heartbeat tick must be an integer greater than 0, got ${String(heartbeatTick)}`);
  }
  if (!Number.isSafeInteger(c.electionTick) || c.electionTick <= heartbeatTick) {
    throw new ConfigError("electionTick", "election tick must be greater than heartbeat tick");
  }
  if (c.storage === undefined || c.storage === null) throw new ConfigError("storage", "storage cannot be nil");
  const maxSizePerMsg = nonNegativeInt("maxSizePerMsg", c.maxSizePerMsg, MIB);
  const maxCommitted = nonNegativeInt("maxCommittedSizePerReady", c.maxCommittedSizePerReady, 0);
  const maxUncommitted = nonNegativeInt("maxUncommittedEntriesSize", c.maxUncommittedEntriesSize, 0);
  const maxInflightMsgs = c.maxInflightMsgs ?? 256;
  if (!Number.isSafeInteger(maxInflightMsgs) || maxInflightMsgs <= 0) {
    throw new ConfigError("maxInflightMsgs", "max inflight messages must be greater than 0");
  }
  const maxInflightBytes = nonNegativeInt("maxInflightBytes", c.maxInflightBytes, 0);
  if (maxInflightBytes > 0 && maxInflightBytes < maxSizePerMsg) {
    throw new ConfigError("maxInflightBytes", "max inflight bytes must be >= max message size");
  }
  const readOnlyOption = c.readOnlyOption ?? "safe";
  if (readOnlyOption !== "safe" && readOnlyOption !== "lease-based") {
    throw new ConfigError("readOnlyOption", `must be 'safe' or 'lease-based', got ${String(readOnlyOption)}`);
  }
  const checkQuorum = c.checkQuorum ?? false;
  if (readOnlyOption === "lease-based" && !checkQuorum) {
    throw new ConfigError("readOnlyOption", "CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased");
  }
  const applied = nonNegativeInt("applied", c.applied, 0);
  const logger = validLogger(c.logger);
  const asyncStorageWrites = c.asyncStorageWrites ?? false;
  const soleVoterCommitOnAppend = c.soleVoterCommitOnAppend ?? false;
  if (soleVoterCommitOnAppend && asyncStorageWrites) {
    throw new ConfigError(
      "soleVoterCommitOnAppend",
      "cannot be combined with asyncStorageWrites (messages may leave before the entries they commit are durable)",
    );
  }
  return {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick,
    storage: c.storage,
    applied,
    maxSizePerMsg,
    maxCommittedSizePerReady: maxCommitted === 0 ? maxSizePerMsg : maxCommitted,
    maxUncommittedEntriesSize: maxUncommitted === 0 ? NO_LIMIT : maxUncommitted,
    maxInflightMsgs,
    maxInflightBytes,
    checkQuorum,
    preVote: c.preVote ?? false,
    readOnlyOption,
    disableProposalForwarding: c.disableProposalForwarding ?? false,
    disableConfChangeValidation: c.disableConfChangeValidation ?? false,
    stepDownOnRemoval: c.stepDownOnRemoval ?? true,
    handOverOnRemoval: c.handOverOnRemoval ?? true,
    batchProposals: c.batchProposals ?? true,
    soleVoterCommitOnAppend,
    asyncStorageWrites,
    logger,
    random: c.random ?? seededRandom(Number(c.id & 0xffff_ffffn) ^ Number(c.id >> 32n)),
    faults: faultsOf(c),
    hooks: c.hooks ?? {},
    traceLogger: c.traceLogger,
  };
}
