/**
 * The raftpb value types: etcd's `raftpb/raft.proto` (proto2) as TypeScript.
 *
 * Names, field numbers and enum values are etcd's; fields are camelCase. Node ids are `bigint`
 * (full uint64 range, `0n` means none); indexes and terms are `number` (a decoded value above
 * `Number.MAX_SAFE_INTEGER` is a `DecodeError`); payloads are `Uint8Array`.
 *
 * Bytes fields that etcd declares nullable (`Entry.data`, `Snapshot.data`, `Message.context`,
 * `ConfChange.context`, `ConfChangeV2.context`) keep "absent" (`undefined`) and "present and
 * empty" (`new Uint8Array(0)`) apart, because etcd encodes the two differently.
 *
 * @module
 */

/** A raft node id: a full uint64. `0n` means "no node". */
export type NodeId = bigint;

/** The id that means "no node" (no leader, no vote). */
export const NONE: NodeId = 0n;

/** `raftpb.EntryType`. */
export enum EntryType {
  EntryNormal = 0,
  EntryConfChange = 1,
  EntryConfChangeV2 = 2,
}

/** `raftpb.MessageType`, including the types etcd-io/raft added after 3.4 (19..23). */
export enum MessageType {
  MsgHup = 0,
  MsgBeat = 1,
  MsgProp = 2,
  MsgApp = 3,
  MsgAppResp = 4,
  MsgVote = 5,
  MsgVoteResp = 6,
  MsgSnap = 7,
  MsgHeartbeat = 8,
  MsgHeartbeatResp = 9,
  MsgUnreachable = 10,
  MsgSnapStatus = 11,
  MsgCheckQuorum = 12,
  MsgTransferLeader = 13,
  MsgTimeoutNow = 14,
  MsgReadIndex = 15,
  MsgReadIndexResp = 16,
  MsgPreVote = 17,
  MsgPreVoteResp = 18,
  MsgStorageAppend = 19,
  MsgStorageAppendResp = 20,
  MsgStorageApply = 21,
  MsgStorageApplyResp = 22,
  MsgForgetLeader = 23,
}

/** `raftpb.ConfChangeType`. */
export enum ConfChangeType {
  ConfChangeAddNode = 0,
  ConfChangeRemoveNode = 1,
  ConfChangeUpdateNode = 2,
  ConfChangeAddLearnerNode = 3,
}

/** `raftpb.ConfChangeTransition`. */
export enum ConfChangeTransition {
  ConfChangeTransitionAuto = 0,
  ConfChangeTransitionJointImplicit = 1,
  ConfChangeTransitionJointExplicit = 2,
}

/** `raftpb.Entry`: one log entry. Field numbers: type 1, term 2, index 3, data 4. */
export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Absent (`undefined`) and empty are different on the wire. */
  data?: Uint8Array | undefined;
}

/** `raftpb.ConfState`: the membership a snapshot (or an applied conf change) describes. */
export interface ConfState {
  /** field 1 */
  voters: NodeId[];
  /** field 2 */
  learners: NodeId[];
  /** field 3: the outgoing voters of a joint configuration. */
  votersOutgoing: NodeId[];
  /** field 4: learners that become learners when the joint configuration is left. */
  learnersNext: NodeId[];
  /** field 5 */
  autoLeave: boolean;
}

/** `raftpb.SnapshotMetadata`. */
export interface SnapshotMetadata {
  /** field 1; always present after decode and always written. */
  confState: ConfState;
  /** field 2 */
  index: number;
  /** field 3 */
  term: number;
}

/** `raftpb.Snapshot`. */
export interface Snapshot {
  /** field 1; absent (`undefined`) and empty are different on the wire. */
  data?: Uint8Array | undefined;
  /** field 2; always present after decode and always written. */
  metadata: SnapshotMetadata;
}

/** `raftpb.HardState`: what a node must persist before it sends messages. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

/** `raftpb.Message`. Field numbers in brackets. */
export interface Message {
  /** [1] */
  type: MessageType;
  /** [2] */
  to: NodeId;
  /** [3] */
  from: NodeId;
  /** [4] */
  term: number;
  /** [5] the term of the entry at `index` (MsgApp), or of the last entry (votes). */
  logTerm: number;
  /** [6] */
  index: number;
  /**
   * [7] Read-only: the array may be shared (raft's empty list, a slice of its log), so replace
   * it rather than push to it.
   */
  entries: readonly Entry[];
  /** [8] */
  commit: number;
  /** [13] (added after etcd 3.4) the vote of a MsgStorageAppend; written only when set. */
  vote?: NodeId | undefined;
  /**
   * [9] Only MsgSnap carries a meaningful snapshot. Always present after decode (empty when
   * the wire had none) and always written (empty when absent), as etcd 3.4 does.
   */
  snapshot?: Snapshot | undefined;
  /** [10] */
  reject: boolean;
  /** [11] */
  rejectHint: number;
  /** [12] absent (`undefined`) and empty are different on the wire. */
  context?: Uint8Array | undefined;
  /** [14] (added after etcd 3.4) responses of local storage messages; written only when non-empty. */
  responses?: Message[] | undefined;
}

/** `raftpb.ConfChange`: a single membership change (the V1 form). */
export interface ConfChange {
  /** [2] */
  type: ConfChangeType;
  /** [3] */
  nodeId: NodeId;
  /** [4] absent (`undefined`) and empty are different on the wire. */
  context?: Uint8Array | undefined;
  /** [1] an application request id: a full uint64 (not a node id). */
  id: bigint;
}

/** `raftpb.ConfChangeSingle`: one change of a ConfChangeV2. */
export interface ConfChangeSingle {
  /** [1] */
  type: ConfChangeType;
  /** [2] */
  nodeId: NodeId;
}

/** `raftpb.ConfChangeV2`: several changes at once, through joint consensus when needed. */
export interface ConfChangeV2 {
  /** [1] */
  transition: ConfChangeTransition;
  /** [2] */
  changes: ConfChangeSingle[];
  /** [3] absent (`undefined`) and empty are different on the wire. */
  context?: Uint8Array | undefined;
}

/**
 * etcd-io/raft's `LocalAppendThread` (2^64 - 1): the target of `MsgStorageAppend` messages
 * (asynchronous storage writes). `describeMessage` prints it as `AppendThread`.
 */
export const LOCAL_APPEND_THREAD: NodeId = 0xffffffffffffffffn;

/**
 * etcd-io/raft's `LocalApplyThread` (2^64 - 2): the target of `MsgStorageApply` messages.
 * `describeMessage` prints it as `ApplyThread`.
 */
export const LOCAL_APPLY_THREAD: NodeId = 0xfffffffffffffffen;
