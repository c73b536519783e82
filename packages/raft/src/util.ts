/**
 * Small helpers shared by the raft modules: message classification, entry sizes, the
 * size-limited slice, and id formatting.
 * @module
 */
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, MessageType, entrySize } from "@tsraft/raftpb";
import type { Entry, Message, NodeId } from "@tsraft/raftpb";
import { panic } from "./errors.js";

/** raftpb's empty, frozen entry list, shared by messages that carry no entries (typed read-only). */
export { NO_ENTRIES } from "@tsraft/raftpb";

/**
 * An empty, frozen message list: raft's queues (`msgs`, `msgsAfterAppend`) when empty, and a
 * Ready's `messages` when it has none. An empty array costs an allocation per Ready; a queue
 * that receives a message is replaced by a one-element array (see `Raft.send`).
 */
export const NO_MESSAGES: readonly Message[] = Object.freeze([]);

const LOCAL_TYPES = new Set<MessageType>([
  MessageType.MsgHup,
  MessageType.MsgBeat,
  MessageType.MsgUnreachable,
  MessageType.MsgSnapStatus,
  MessageType.MsgCheckQuorum,
  MessageType.MsgStorageAppend,
  MessageType.MsgStorageAppendResp,
  MessageType.MsgStorageApply,
  MessageType.MsgStorageApplyResp,
]);

const RESPONSE_TYPES = new Set<MessageType>([
  MessageType.MsgAppResp,
  MessageType.MsgVoteResp,
  MessageType.MsgHeartbeatResp,
  MessageType.MsgUnreachable,
  MessageType.MsgReadIndexResp,
  MessageType.MsgPreVoteResp,
  MessageType.MsgStorageAppendResp,
  MessageType.MsgStorageApplyResp,
]);

/** True for message types that only raft itself (or the local storage threads) may create. */
export function isLocalMsg(t: MessageType): boolean {
  return LOCAL_TYPES.has(t);
}

/** True for message types that answer a request. */
export function isResponseMsg(t: MessageType): boolean {
  return RESPONSE_TYPES.has(t);
}

/** True for the ids of the local storage threads. */
export function isLocalMsgTarget(id: NodeId): boolean {
  return id === LOCAL_APPEND_THREAD || id === LOCAL_APPLY_THREAD;
}

/** The response type of a (pre-)vote request. */
export function voteRespMsgType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.MsgVote:
      return MessageType.MsgVoteResp;
    case MessageType.MsgPreVote:
      return MessageType.MsgPreVoteResp;
    default:
      return panic(`not a vote message: ${MessageType[t]}`);
  }
}

/** The sum of the encoded sizes of `ents`. */
export function entsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (let i = 0; i < ents.length; i++) s += entrySize(ents[i]!);
  return s;
}

/** The sum of the payload sizes of `ents`. */
export function payloadsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (let i = 0; i < ents.length; i++) {
    const d = ents[i]!.data;
    if (d !== undefined) s += d.length;
  }
  return s;
}

/**
 * The longest prefix of `ents` whose total encoded size is at most `maxSize`, but always at
 * least one entry. Returns `ents` itself when nothing is cut.
 */
export function limitSize<T extends readonly Entry[]>(ents: T, maxSize: number): T {
  if (ents.length <= 1) return ents;
  let size = entrySize(ents[0]!);
  let limit = 1;
  for (; limit < ents.length; limit++) {
    size += entrySize(ents[limit]!);
    if (size > maxSize) break;
  }
  return (limit === ents.length ? ents : ents.slice(0, limit)) as T;
}

/** A node id as etcd prints it: lower-case hex. */
export function hexId(id: NodeId): string {
  return id.toString(16);
}

/** The minimum of two numbers (no allocation, no NaN handling). */
export function min(a: number, b: number): number {
  return a < b ? a : b;
}

/** A string key for a byte string (ReadIndex contexts): one char per byte. */
export function bytesKey(b: Uint8Array | undefined): string {
  if (b === undefined || b.length === 0) return "";
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}
