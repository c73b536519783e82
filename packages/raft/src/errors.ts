/**
 * The errors of @tsraft/raft. Every error a caller may handle is a {@link RaftError} with a
 * stable `code`; a broken invariant (a bug, or storage that breaks its contract) goes through
 * {@link panic} and is a {@link RaftPanic}, which the library never catches.
 * @module
 */

/** Options common to every {@link RaftError}. */
export interface RaftErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * The `code` of every error @tsraft/raft throws on purpose (its {@link RaftError}s), and of
 * {@link RaftPanic}. Other packages add their own (`'TSRAFT_WAL_*'` in @tsraft/wal, ...); every
 * tsraft code starts with `'TSRAFT_'`.
 */
export type RaftErrorCode =
  | "TSRAFT_COMPACTED"
  | "TSRAFT_UNAVAILABLE"
  | "TSRAFT_SNAP_OUT_OF_DATE"
  | "TSRAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE"
  | "TSRAFT_PROPOSAL_DROPPED"
  | "TSRAFT_STEP_LOCAL_MSG"
  | "TSRAFT_STEP_PEER_NOT_FOUND"
  | "TSRAFT_CONFIG"
  | "TSRAFT_CONF_CHANGE"
  | "TSRAFT_INVALID_MESSAGE"
  | "TSRAFT_STORAGE_STATE"
  | "TSRAFT_BOOTSTRAP"
  | "TSRAFT_PANIC";

/**
 * The `code` of `err` when it has a string one (any tsraft error, and Node's system errors),
 * else undefined. Test codes, not classes: a code survives two copies of a package in one
 * install, where `instanceof` against the other copy's class is false.
 */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Whether `err` is a {@link RaftError} of any tsraft package (of this copy or another one): its
 * code starts with `'TSRAFT_'` and it is not a {@link RaftPanic}.
 */
export function isRaftError(err: unknown): err is RaftError {
  const code = errorCode(err);
  return code !== undefined && code.startsWith("TSRAFT_") && code !== "TSRAFT_PANIC";
}

/** The base class of every error that tsraft's API throws on purpose. */
export class RaftError extends Error {
  /**
   * A stable machine-readable code, such as `'TSRAFT_COMPACTED'`: one of {@link RaftErrorCode}
   * for raft's own errors. Test it (or use {@link isRaftError}) rather than `instanceof`.
   */
  readonly code: string;

  constructor(code: string, message: string, options?: RaftErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** The requested index is unavailable because it predates the last snapshot. */
export class CompactedError extends RaftError {
  constructor(message = "requested index is unavailable due to compaction", options?: RaftErrorOptions) {
    super("TSRAFT_COMPACTED", message, options);
  }
}

/** The requested log entries are unavailable (beyond the last index). */
export class UnavailableError extends RaftError {
  constructor(message = "requested entry at index is unavailable", options?: RaftErrorOptions) {
    super("TSRAFT_UNAVAILABLE", message, options);
  }
}

/** The snapshot being applied is older than the existing one. */
export class SnapOutOfDateError extends RaftError {
  constructor(message = "requested index is older than the existing snapshot", options?: RaftErrorOptions) {
    super("TSRAFT_SNAP_OUT_OF_DATE", message, options);
  }
}

/** The storage cannot produce a snapshot right now; raft will retry later. */
export class SnapshotTemporarilyUnavailableError extends RaftError {
  constructor(message = "snapshot is temporarily unavailable", options?: RaftErrorOptions) {
    super("TSRAFT_SNAPSHOT_TEMPORARILY_UNAVAILABLE", message, options);
  }
}

/** A proposal was dropped (no leader, a leader transfer in progress, a size limit, ...). */
export class ProposalDroppedError extends RaftError {
  constructor(message = "raft proposal dropped", options?: RaftErrorOptions) {
    super("TSRAFT_PROPOSAL_DROPPED", message, options);
  }
}

/** `step()` was given a local message type (MsgHup, MsgBeat, ...), which only raft may create. */
export class StepLocalMsgError extends RaftError {
  constructor(message = "raft: cannot step raft local message", options?: RaftErrorOptions) {
    super("TSRAFT_STEP_LOCAL_MSG", message, options);
  }
}

/** `step()` was given a response from a peer that is not in the configuration. */
export class StepPeerNotFoundError extends RaftError {
  constructor(message = "raft: cannot step as peer not found", options?: RaftErrorOptions) {
    super("TSRAFT_STEP_PEER_NOT_FOUND", message, options);
  }
}

/** The configuration given to `new RawNode()` is invalid; `field` names the option. */
export class ConfigError extends RaftError {
  /** The offending option of `Config`. */
  readonly field: string;
  constructor(field: string, message: string) {
    super("TSRAFT_CONFIG", `raft: invalid config: ${field}: ${message}`);
    this.field = field;
  }
}

/** A configuration change is invalid (removing the last voter, entering joint while joint, ...). */
export class ConfChangeError extends RaftError {
  constructor(message: string, options?: RaftErrorOptions) {
    super("TSRAFT_CONF_CHANGE", `raft: invalid configuration change: ${message}`, options);
  }
}

/**
 * Reports a broken invariant: a bug in tsraft, or a Storage that broke its contract. Throws a
 * {@link RaftPanic} (not a {@link RaftError}); tsraft never catches it and the node must not be
 * used afterwards.
 */
export function panic(message: string): never {
  throw new RaftPanic(`raft: ${message}`);
}

/**
 * What {@link panic} throws: a broken invariant, a bug in tsraft or a `Storage` that broke its
 * contract (for instance lost entries it had acknowledged). Deliberately not a
 * {@link RaftError}: a RaftError leaves the node unchanged and healthy, a RaftPanic means the
 * node must not be used again. Tell it by its `code`, `'TSRAFT_PANIC'` (or `instanceof
 * RaftPanic` within one copy of the package); tsraft itself never catches it.
 */
export class RaftPanic extends Error {
  /** Always `'TSRAFT_PANIC'`. */
  readonly code = "TSRAFT_PANIC" as const;
  constructor(message: string) {
    super(message);
    this.name = "RaftPanic";
  }
}

/**
 * `step()` was given a message that breaks the protocol's shape (for example a MsgApp whose
 * entries are not contiguous after `index`, or have terms out of order). Nothing changed.
 */
export class InvalidMessageError extends RaftError {
  constructor(message: string, options?: RaftErrorOptions) {
    super("TSRAFT_INVALID_MESSAGE", `raft: invalid message: ${message}`, options);
  }
}

/**
 * The state a `Storage` holds at startup cannot be used: a term or index beyond what raft
 * accepts ({@link MAX_TERM}, {@link MAX_INDEX}), or a commit index outside the stored log.
 * Thrown by `new RawNode()`; `field` names the value (`'hardState.term'`, `'lastIndex'`, ...).
 */
export class StorageStateError extends RaftError {
  /** The offending value, as a path from the storage: `'hardState.commit'`, `'term(lastIndex)'`, ... */
  readonly field: string;
  constructor(field: string, message: string) {
    super("TSRAFT_STORAGE_STATE", `raft: invalid storage state: ${field}: ${message}`);
    this.field = field;
  }
}
