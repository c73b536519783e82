/**
 * The errors of @tsraft/node. Each is a {@link RaftError} with a stable `code`, so an
 * application maps them to its own answers (the KV example: 503 for {@link NoLeaderError},
 * 504 for {@link RequestTimeoutError}).
 * @module
 */
import { RaftError } from "@tsraft/raft";
import type { NodeId } from "@tsraft/raftpb";

/**
 * The `code` of every error @tsraft/node throws on purpose: its own errors, the transport's
 * (`'TSRAFT_TRANSPORT_*'`), and the plain `RaftError`s of `RaftNode` (`'TSRAFT_NODE_*'`). Raft's
 * errors (`RaftErrorCode` of @tsraft/raft, e.g. `'TSRAFT_PROPOSAL_DROPPED'`) also come through.
 */
export const NODE_ERROR_CODES = [
  "TSRAFT_NO_LEADER",
  "TSRAFT_TIMEOUT",
  "TSRAFT_NODE_STOPPED",
  "TSRAFT_TRANSFER",
  "TSRAFT_ENTRY_REFUSED",
  "TSRAFT_FATAL",
  "TSRAFT_UNSAFE_CONF_CHANGE",
  "TSRAFT_NOT_LEADER",
  "TSRAFT_CONF_CHANGE_REFUSED",
  "TSRAFT_NODE_CONFIG",
  "TSRAFT_NODE_RESTORE",
  "TSRAFT_NODE_STATE",
  "TSRAFT_TRANSPORT_ADDRESS",
  "TSRAFT_TRANSPORT_PEER",
  "TSRAFT_TRANSPORT_CONFIG",
  "TSRAFT_TRANSPORT_LISTEN",
  "TSRAFT_TRANSPORT_REFUSED",
] as const;

/** One of {@link NODE_ERROR_CODES}. Test the code rather than the class: a code survives two copies of the package. */
export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];

/**
 * There is no leader right now (an election is under way, or this node is cut off), so the
 * request was not submitted. Safe to retry: nothing was proposed.
 */
export class NoLeaderError extends RaftError {
  constructor(message = "raft node: no leader; the request was not submitted") {
    super("TSRAFT_NO_LEADER", message);
  }
}

/**
 * A request did not complete in time. For a proposal the outcome is **unknown**: the entry may
 * still be committed and applied later (or may already be); the caller must not assume
 * either.
 */
export class RequestTimeoutError extends RaftError {
  /** What timed out: `'propose'`, `'confChange'`, `'readIndex'`, `'transferLeader'`. */
  readonly op: string;
  /** The timeout, in milliseconds. */
  readonly timeoutMs: number;
  constructor(op: string, timeoutMs: number) {
    super(
      "TSRAFT_TIMEOUT",
      op === "readIndex" || op === "transferLeader"
        ? `raft node: ${op} timed out after ${timeoutMs} ms`
        : `raft node: ${op} timed out after ${timeoutMs} ms; it may or may not have been applied`,
    );
    this.op = op;
    this.timeoutMs = timeoutMs;
  }
}

/** The node was stopped (or failed) before the request completed; the outcome of a proposal is unknown. */
export class NodeStoppedError extends RaftError {
  constructor(message = "raft node: stopped") {
    super("TSRAFT_NODE_STOPPED", message);
  }
}

/** A leader transfer was refused at once (the target is not a voter of the configuration). */
export class TransferError extends RaftError {
  /** The node leadership was to go to. */
  readonly target: NodeId;
  constructor(target: NodeId, message: string) {
    super("TSRAFT_TRANSFER", message);
    this.target = target;
  }
}

/**
 * The application's `apply` (or `applyConfChange`) threw while applying a committed entry.
 * Every member applies the same log, so a deterministic application refuses the entry alike
 * everywhere: the refusal is the entry's result. The proposer's promise rejects with this
 * error; the node logs it, counts it ({@link RaftNode.stats}) and goes on.
 */
export class EntryRefusedError extends RaftError {
  /** The index of the refused entry. */
  readonly index: number;
  constructor(index: number, cause: unknown) {
    super("TSRAFT_ENTRY_REFUSED", `raft node: the application refused entry ${index}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.index = index;
  }
}

/**
 * Thrown by the application from one of RaftNode's callbacks (`apply`, `applyConfChange`,
 * `restore`, the snapshot policy) to say that this node cannot go on (its own storage failed,
 * say): the node fails as if `persist` had failed. Any other error thrown by `apply` is taken
 * as a refusal of the entry ({@link EntryRefusedError}).
 */
export class FatalError extends RaftError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("TSRAFT_FATAL", message, options);
  }
}

/**
 * A configuration change was refused by the `strictReconfig` check: it would leave fewer
 * voters that the leader has heard from recently than the quorum of the new configuration
 * (etcd's `--strict-reconfig-check`). Nothing was proposed.
 */
export class UnsafeConfChangeError extends RaftError {
  /** Voters of the resulting configuration that the leader heard from recently (itself included). */
  readonly connected: number;
  /** The quorum of the resulting configuration. */
  readonly quorum: number;
  constructor(message: string, connected: number, quorum: number) {
    super("TSRAFT_UNSAFE_CONF_CHANGE", message);
    this.connected = connected;
    this.quorum = quorum;
  }
}

/**
 * The request must be made on the leader (with `strictReconfig`, configuration changes are
 * checked and proposed by the leader only). Nothing was proposed; `leader` says where to go.
 */
export class NotLeaderError extends RaftError {
  /** The leader this node knows (`0n`: none). */
  readonly leader: NodeId;
  constructor(leader: NodeId, message = `raft node: not the leader; the leader is ${leader}`) {
    super("TSRAFT_NOT_LEADER", message);
    this.leader = leader;
  }
}

/**
 * The leader refused a proposed configuration change: another change is not applied yet, or
 * the change does not fit the joint state (raft puts an empty entry in its place, so nothing
 * changes; etcd-io/raft#453). Retry once the pending change is applied. `reason` is raft's.
 */
export class ConfChangeRefusedError extends RaftError {
  /** Why raft refused it, e.g. "possible unapplied conf change at index 7 (applied to 5)". */
  readonly reason: string;
  constructor(reason: string) {
    super("TSRAFT_CONF_CHANGE_REFUSED", `raft node: conf change refused by the leader: ${reason}`);
    this.reason = reason;
  }
}
