/**
 * Making messages. A leaf module (it imports only raftpb and util.ts) so that raft.ts and the
 * per-role handlers it imports (election.ts, membership.ts, step-*.ts) can all make messages
 * without importing values back from raft.ts.
 * @module
 */
import type { Message, MessageType, NodeId } from "@tsraft/raftpb";
import { NO_ENTRIES } from "./util.js";

/** Makes a message with every field in one order (one hidden class for all messages). */
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
