/**
 * @tsraft/raftpb: the wire format of tsraft, byte-compatible with etcd's raftpb.
 * @module
 */
export {
  NONE,
  EntryType,
  MessageType,
  ConfChangeType,
  ConfChangeTransition,
} from "./types.js";
export type {
  NodeId,
  Entry,
  ConfState,
  SnapshotMetadata,
  Snapshot,
  HardState,
  Message,
  ConfChange,
  ConfChangeSingle,
  ConfChangeV2,
} from "./types.js";
