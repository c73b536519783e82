/**
 * @tsraft/raft: the Raft consensus state machine.
 * @module
 */
export {
  RaftError,
  CompactedError,
  UnavailableError,
  SnapOutOfDateError,
  SnapshotTemporarilyUnavailableError,
  ProposalDroppedError,
  StepLocalMsgError,
  StepPeerNotFoundError,
  ConfigError,
  ConfChangeError,
} from "./errors.js";
export type { RaftErrorOptions } from "./errors.js";
export { silentLogger } from "./logger.js";
export type { Logger, LogFields } from "./logger.js";
export type { Storage, InitialState } from "./storage.js";
