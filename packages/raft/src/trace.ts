/**
 * The opt-in trace of raft's state transitions (`Config.traceLogger`), in the shape of
 * etcd-io/raft's `TracingEvent` (its `tracing.go`, used to check runs against its TLA+ spec):
 * InitState, BecomeCandidate/Follower/Leader, Commit, Replicate, ChangeConf, ApplyConfChange,
 * Ready, and the sending and receiving of append, vote and snapshot messages, each with the
 * node's id, term/vote/commit, role, last log index and configuration, and the message fields.
 * Ids are printed in hex, as etcd's `strconv.FormatUint(id, 16)`.
 *
 * Unset, it costs one `undefined` check at each site (every call site checks `r.trace`
 * before calling here, so nothing is built).
 * @module
 */
import { ConfChangeType, MessageType } from "@tsraft/raftpb";
import type { ConfChangeV2, Message } from "@tsraft/raftpb";
import type { Raft, StateType } from "./raft.js";

/** The events of {@link TraceEvent.name}. */
export type TraceEventName =
  | "InitState"
  | "BecomeCandidate"
  | "BecomeFollower"
  | "BecomeLeader"
  | "Commit"
  | "Replicate"
  | "ChangeConf"
  | "ApplyConfChange"
  | "Ready"
  | "SendAppendEntriesRequest"
  | "ReceiveAppendEntriesRequest"
  | "SendAppendEntriesResponse"
  | "ReceiveAppendEntriesResponse"
  | "SendRequestVoteRequest"
  | "ReceiveRequestVoteRequest"
  | "SendRequestVoteResponse"
  | "ReceiveRequestVoteResponse"
  | "SendSnapshot"
  | "ReceiveSnapshot";

/** A message as traced (etcd's `TracingMessage`). */
export interface TraceMessage {
  type: string;
  /** The message's term. */
  term: number;
  to: string;
  from: string;
  entries: number;
  logTerm: number;
  index: number;
  commit: number;
  vote: string;
  reject: boolean;
  rejectHint: number;
}

/** One event (etcd's `TracingEvent`; JSON.stringify gives its field names). */
export interface TraceEvent {
  name: TraceEventName;
  /** This node's id, hex. */
  nid: string;
  state: { term: number; vote: string; commit: number };
  /** The last index of the log. */
  log: number;
  /** [incoming voters, outgoing voters], hex ids. */
  conf: [string[], string[]];
  /** etcd's role name: StateFollower, StatePreCandidate, StateCandidate, StateLeader. */
  role: string;
  msg?: TraceMessage;
  /** ChangeConf and ApplyConfChange: the changes, and the voters after ApplyConfChange. */
  cc?: { changes: { nid: string; action: string }[]; newconf?: string[] };
}

/** Receives trace events, synchronously, in the order raft makes them. Must not call back into raft. */
export type TraceLogger = (e: TraceEvent) => void;

const hex = (id: bigint): string => id.toString(16);

/** etcd's role names (kept here rather than imported from raft.ts: this module must not import raft at run time). */
const ROLES: Record<StateType, string> = {
  follower: "StateFollower",
  "pre-candidate": "StatePreCandidate",
  candidate: "StateCandidate",
  leader: "StateLeader",
};

function event(r: Raft, name: TraceEventName): TraceEvent {
  const v = r.trk.config.voters;
  return {
    name,
    nid: hex(r.id),
    state: { term: r.term, vote: hex(r.vote), commit: r.raftLog.committed },
    log: r.raftLog.lastIndex(),
    conf: [v.incoming.slice().map(hex), v.outgoing.slice().map(hex)],
    role: ROLES[r.state],
  };
}

/** Emits a state event (no message). The caller checked `r.trace !== undefined`. */
export function traceState(r: Raft, name: TraceEventName): void {
  r.trace!(event(r, name));
}

function traceMessage(m: Message): TraceMessage {
  return {
    type: MessageType[m.type] ?? String(m.type),
    term: m.term,
    to: hex(m.to),
    from: hex(m.from),
    entries: m.entries.length,
    logTerm: m.logTerm,
    index: m.index,
    commit: m.commit,
    vote: hex(m.vote ?? 0n),
    reject: m.reject,
    rejectHint: m.rejectHint,
  };
}

const SEND: Partial<Record<MessageType, TraceEventName>> = {
  [MessageType.MsgApp]: "SendAppendEntriesRequest",
  [MessageType.MsgHeartbeat]: "SendAppendEntriesRequest",
  [MessageType.MsgAppResp]: "SendAppendEntriesResponse",
  [MessageType.MsgHeartbeatResp]: "SendAppendEntriesResponse",
  [MessageType.MsgVote]: "SendRequestVoteRequest",
  [MessageType.MsgVoteResp]: "SendRequestVoteResponse",
  [MessageType.MsgSnap]: "SendSnapshot",
};
const RECEIVE: Partial<Record<MessageType, TraceEventName>> = {
  [MessageType.MsgApp]: "ReceiveAppendEntriesRequest",
  [MessageType.MsgHeartbeat]: "ReceiveAppendEntriesRequest",
  [MessageType.MsgAppResp]: "ReceiveAppendEntriesResponse",
  [MessageType.MsgHeartbeatResp]: "ReceiveAppendEntriesResponse",
  [MessageType.MsgVote]: "ReceiveRequestVoteRequest",
  [MessageType.MsgVoteResp]: "ReceiveRequestVoteResponse",
  [MessageType.MsgSnap]: "ReceiveSnapshot",
};

/** A message sent (etcd traces what the spec models: appends, heartbeats, votes, snapshots; not to itself). */
export function traceSend(r: Raft, m: Message): void {
  const name = SEND[m.type];
  if (name === undefined || m.to === r.id) return;
  const e = event(r, name);
  e.msg = traceMessage(m);
  r.trace!(e);
}

/** A message received from a peer. */
export function traceReceive(r: Raft, m: Message): void {
  const name = RECEIVE[m.type];
  if (name === undefined || m.from === r.id) return;
  const e = event(r, name);
  e.msg = traceMessage(m);
  r.trace!(e);
}

const ACTIONS: Record<ConfChangeType, string> = {
  [ConfChangeType.ConfChangeAddNode]: "AddNewServer",
  [ConfChangeType.ConfChangeRemoveNode]: "RemoveServer",
  [ConfChangeType.ConfChangeUpdateNode]: "UpdateServer",
  [ConfChangeType.ConfChangeAddLearnerNode]: "AddLearner",
};

/** ChangeConf (a leader accepted a proposed change) or ApplyConfChange (with the voters after it). */
export function traceConfChange(r: Raft, name: "ChangeConf" | "ApplyConfChange", cc: ConfChangeV2): void {
  const e = event(r, name);
  e.cc = { changes: cc.changes.map((c) => ({ nid: hex(c.nodeId), action: ACTIONS[c.type] ?? String(c.type) })) };
  if (name === "ApplyConfChange") e.cc.newconf = r.trk.config.voters.incoming.slice().map(hex);
  r.trace!(e);
}
