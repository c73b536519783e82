/**
 * @tsraft/node: a raft node run for you. {@link RaftNode} owns the Ready loop of a RawNode
 * (timer ticks; persist, send, apply, advance; snapshots every N entries) and turns proposals,
 * conf changes, linearizable reads and leader transfers into promises with timeouts.
 * {@link TcpTransport} carries raft messages between processes over TCP.
 * @module
 */
export { RaftNode } from "./raft-node.js";
export type {
  RaftNodeOptions,
  StartOptions,
  PersistRequest,
  AppliedEntry,
  AppliedConfChange,
  SnapshotPolicy,
  NodeStatus,
  NodeStats,
} from "./raft-node.js";
export {
  NoLeaderError,
  RequestTimeoutError,
  NodeStoppedError,
  TransferError,
  EntryRefusedError,
  FatalError,
  UnsafeConfChangeError,
  NotLeaderError,
} from "./errors.js";
export { TcpTransport } from "./tcp-transport.js";
export type { TcpTransportOptions, TransportStats } from "./tcp-transport.js";
