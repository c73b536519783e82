/**
 * @tsraft/raftpb: the wire format of tsraft, byte-compatible with etcd's raftpb.
 *
 * The value types of etcd's `raft.proto` as TypeScript, an encoder per type that produces
 * exactly etcd v3.4's bytes, a strict decoder per type that accepts every valid encoding and
 * throws {@link DecodeError} naming the field for anything else, and `describe*` helpers in
 * etcd-io/raft's format. Low-level wire primitives are in `@tsraft/raftpb/wire`.
 * @module
 */
export {
  NONE,
  LOCAL_APPEND_THREAD,
  LOCAL_APPLY_THREAD,
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
export { DecodeError, EncodeError, MAX_DEPTH } from "./errors.js";
export { newMessage, NO_ENTRIES } from "./new-message.js";
export {
  encodeMessage,
  encodeEntry,
  encodeHardState,
  encodeConfState,
  encodeSnapshot,
  encodeConfChange,
  encodeConfChangeV2,
  encodeMessageInto,
  encodeEntryInto,
  messageSize,
  entrySize,
} from "./encode.js";
export {
  decodeMessage,
  decodeEntry,
  decodeHardState,
  decodeConfState,
  decodeSnapshot,
  decodeConfChange,
  decodeConfChangeV2,
} from "./decode.js";
export type { DecodeOptions } from "./decode.js";
export {
  isEmptyHardState,
  isEmptySnapshot,
  payloadSize,
  bytesEqual,
  emptyHardState,
  emptyConfState,
  emptySnapshot,
} from "./util.js";
export {
  describeMessage,
  describeEntry,
  describeEntries,
  describeHardState,
  describeConfState,
  describeSnapshot,
  describeConfChange,
} from "./describe.js";
export type { EntryFormatter } from "./describe.js";
export { varintSize, varint64Size } from "./wire.js";
