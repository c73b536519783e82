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
  InvalidMessageError,
  StorageStateError,
  RaftPanic,
  errorCode,
  isRaftError,
} from "./errors.js";
export { MAX_TERM, MAX_INDEX } from "./bounds.js";
export type { RaftErrorOptions, RaftErrorCode } from "./errors.js";
export { silentLogger } from "./logger.js";
export type { Logger, LogFields } from "./logger.js";
export type { Storage, InitialState } from "./storage.js";
export { isLogIndex, isEntriesMaxSize, entryRunProblem, appendJoinProblem } from "./storage.js";
export { RawNode } from "./raw-node.js";
export type { Ready, Peer, Status, BasicStatus, ProgressStatus, SnapshotStatus } from "./raw-node.js";
export type { Config } from "./config.js";
export type { RaftHooks, ConfChangeRefusal } from "./hooks.js";
export type { TraceLogger, TraceEvent, TraceEventName, TraceMessage } from "./trace.js";
export type { SoftState, StateType } from "./raft.js";
export type { ReadState, ReadOnlyOption } from "./read-only.js";
export type { RandomSource } from "./rand.js";
export { seededRandom } from "./rand.js";
export type { ProgressState } from "./tracker/index.js";
export { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "@tsraft/raftpb";
export { isLocalMsg, isResponseMsg } from "./util.js";
