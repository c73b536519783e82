/**
 * @tsraft/node: a raft node run for you. {@link RaftNode} owns the Ready loop of a RawNode
 * (timer ticks; persist, send, apply, advance; snapshots every N entries) and turns proposals,
 * conf changes, linearizable reads and leader transfers into promises with timeouts.
 * {@link TcpTransport} carries raft messages between processes over TCP or TLS, with
 * authenticated peers.
 * @module
 */
export { RaftNode, SLOW_APPLY_MS } from "./raft-node.js";
export { realScheduler } from "./scheduler.js";
export type { Scheduler, TimerHandle } from "./scheduler.js";
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
  ConfChangeRefusedError,
} from "./errors.js";
export { NODE_ERROR_CODES } from "./errors.js";
export type { NodeErrorCode } from "./errors.js";
export { TcpTransport } from "./tcp-transport.js";
export type { TcpTransportOptions, TransportStats } from "./transport-options.js";
export type { TransportAuth, TlsAuth, HmacAuth, NoAuth, PemInput, AuthMode } from "./transport-auth.js";
export { MEMBER_URI_PREFIX, MIN_SECRET_BYTES, memberUri } from "./transport-auth.js";
export {
  TransportError,
  TransportAddressError,
  TransportPeerError,
  TransportConfigError,
  TransportListenError,
  ConnectionRefusedError,
} from "./transport-errors.js";
export type { RefusalReason } from "./transport-errors.js";
export { parsePeerAddress } from "./peer-address.js";
export type { PeerAddress } from "./peer-address.js";
export { PEER_RTT_CHANNEL, SNAPSHOT_SEND_CHANNEL, SEND_FAILED_CHANNEL, SLOW_APPLY_CHANNEL } from "./diagnostics.js";
export type { PeerRttMessage, SnapshotSendMessage, SendFailedMessage, SlowApplyMessage } from "./diagnostics.js";
export { DEFAULT_OBSERVER_QUEUE } from "./events.js";
export type {
  RaftEvent,
  RaftObserver,
  ObserveOptions,
  Observation,
  LeaderChangeEvent,
  RoleChangeEvent,
  PeerHeartbeatFailingEvent,
  PeerHeartbeatResumedEvent,
  VoteRequestedEvent,
  VoteGrantedEvent,
  SnapshotSentEvent,
  SnapshotFailedEvent,
  SnapshotReceivedEvent,
  ConfChangeAppliedEvent,
  ConfChangeRefusedEvent,
  FatalEvent,
} from "./events.js";
