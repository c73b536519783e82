/**
 * The errors of @tsraft/node. Each is a {@link RaftError} with a stable `code`, so an
 * application maps them to its own answers (the KV example: 503 for {@link NoLeaderError},
 * 504 for {@link RequestTimeoutError}).
 * @module
 */
import { RaftError } from "@tsraft/raft";
import type { NodeId } from "@tsraft/raftpb";

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
