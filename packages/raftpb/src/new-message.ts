/**
 * The one factory of {@link Message} objects for every package (raft's handlers, RawNode's
 * proposals, the decoder's field order): every message gets every field in one order, so V8
 * gives all of them one hidden class and the code that reads messages stays monomorphic.
 * @module
 */
import type { Entry, Message, MessageType, NodeId } from "./types.js";

/** An empty, frozen entry list shared by messages that carry no entries (typed read-only). */
export const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

/**
 * A message of `type` from `from` to `to` at `term`, every other field zero, empty or absent,
 * in the field order of {@link Message} (the order the decoder builds too).
 */
export function newMessage(type: MessageType, to: NodeId, from: NodeId, term: number): Message {
  return {
    type,
    to,
    from,
    term,
    logTerm: 0,
    index: 0,
    entries: NO_ENTRIES,
    commit: 0,
    vote: undefined,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: undefined,
    responses: undefined,
  };
}
