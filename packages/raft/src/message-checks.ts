/**
 * The checks `RawNode.step()` makes before stepping a message: raft refuses at the gate what it
 * cannot handle, so that no message from the network (forged, corrupted, or from a buggy peer)
 * can make it panic, or push a term or index where its next increment no longer fits. Each
 * check throws before anything changes; none allocates on the common path.
 *
 * What is refused, and why:
 * - local message types from anyone but the local storage threads, and storage-thread messages
 *   without `asyncStorageWrites` or of the wrong type ({@link StepLocalMsgError});
 * - a message without a term, but for a forwarded MsgProp or MsgReadIndex (raft steps a message
 *   without a term as its own, past the term rules);
 * - a message claiming to come from this node itself, but for the requests a follower forwards
 *   keeping their origin (MsgProp, MsgReadIndex, MsgTransferLeader: a former leader may send
 *   them back) and, with `asyncStorageWrites`, the answers raft addresses to itself (its
 *   MsgAppResp and vote responses, never rejections): a node never sends itself anything
 *   else, and a forged self-acknowledgement would count toward the commit quorum before the
 *   entries are durable;
 * - a term, logTerm, index, commit, rejectHint, entry index or term, or snapshot index or term
 *   above {@link MAX_TERM} / {@link MAX_INDEX} (or not a non-negative integer);
 * - a MsgApp whose entries do not follow `index` contiguously with terms in `[logTerm, term]`;
 * - a MsgApp or MsgProp entry of a conf change type that does not decode as one, or a v1 conf
 *   change without data (the WAL refuses to hold one; raft decodes
 *   conf changes, and so does every application when it applies them);
 * - a MsgProp or MsgReadIndex with a term (raft forwards them without one: a term would move
 *   this node's term before the request is even looked at), a MsgProp without entries, a
 *   MsgReadIndex without exactly one (its context);
 * - a MsgSnap whose snapshot has a term outside `[1, term]` or a ConfState that is not a valid
 *   configuration;
 * - a MsgHeartbeat whose commit is beyond this node's last index (see the README, Errors);
 * - a storage thread's answer about entries or a snapshot beyond the commit index.
 *
 * The leader's checks of a MsgAppResp against its own log live in step-leader.ts, where they
 * apply (a response of an older term is harmless and ignored, not refused).
 * @module
 */
import { EntryType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, MessageType } from "@tsraft/raftpb";
import type { ConfState, Entry, Message, Snapshot } from "@tsraft/raftpb";
import { MAX_INDEX, MAX_TERM, inRange } from "./bounds.js";
import { Changer, restore as restoreConfig } from "./confchange/index.js";
import { InvalidMessageError, StepLocalMsgError, errorCode, isRaftError } from "./errors.js";
import { confChangeOfEntry, confStatesEquivalent } from "./membership.js";
import type { Raft } from "./raft.js";
import { ProgressTracker } from "./tracker/index.js";
import { hexId, isLocalMsg, isLocalMsgTarget } from "./util.js";

/**
 * Checks `m` before it is stepped into `r`.
 * @throws {@link StepLocalMsgError} for a local message from outside, {@link InvalidMessageError}
 *   for anything else listed in the module comment.
 */
export function checkMessage(r: Raft, m: Message, asyncStorageWrites: boolean): void {
  checkOrigin(r, m, asyncStorageWrites);
  checkScalarRanges(m);
  if (m.type === MessageType.MsgApp) {
    // The hot path: one pass over the entries checks their shape and, with it, their range.
    checkAppend(m);
    return;
  }
  checkEntryRanges(m);
  switch (m.type) {
    case MessageType.MsgProp:
      if (m.term !== 0) throw invalid(m, `term ${m.term}: a forwarded proposal carries no term`);
      if (m.entries.length === 0) throw invalid(m, "no entries");
      checkConfChangeEntries(m);
      return;
    case MessageType.MsgReadIndex:
      if (m.term !== 0) throw invalid(m, `term ${m.term}: a forwarded read request carries no term`);
      if (m.entries.length !== 1) throw invalid(m, `${m.entries.length} entries, want 1 (the request context)`);
      return;
    case MessageType.MsgSnap:
      if (m.snapshot !== undefined) checkSnapshot(r, m, m.snapshot);
      return;
    case MessageType.MsgHeartbeat: {
      const last = r.raftLog.lastIndex();
      if (m.commit > last) throw invalid(m, `commit ${m.commit} is beyond the last index ${last}`);
      return;
    }
    case MessageType.MsgStorageAppendResp: {
      const s = m.snapshot;
      if (s !== undefined && s.metadata.index > r.raftLog.committed) {
        throw invalid(m, `snapshot index ${s.metadata.index} is beyond the commit index ${r.raftLog.committed}`);
      }
      return;
    }
    case MessageType.MsgStorageApplyResp: {
      const n = m.entries.length;
      if (n > 0 && m.entries[n - 1]!.index > r.raftLog.committed) {
        throw invalid(m, `entry ${m.entries[n - 1]!.index} is beyond the commit index ${r.raftLog.committed}`);
      }
      return;
    }
    default:
      return;
  }
}

/** Local types only from the local storage threads, and those only with their own answers. */
function checkOrigin(r: Raft, m: Message, asyncStorageWrites: boolean): void {
  const from = m.from;
  if (isLocalMsg(m.type)) {
    if (!isLocalMsgTarget(from)) throw new StepLocalMsgError();
    const want = from === LOCAL_APPEND_THREAD ? MessageType.MsgStorageAppendResp : MessageType.MsgStorageApplyResp;
    if (!asyncStorageWrites || m.type !== want) {
      throw new StepLocalMsgError(
        `raft: cannot step raft local message: ${MessageType[m.type]} from the local ${from === LOCAL_APPLY_THREAD ? "apply" : "append"} thread` +
          (asyncStorageWrites ? "" : " without asyncStorageWrites"),
      );
    }
    return;
  }
  // (Another type that claims to come from a storage thread is a peer's message like any other:
  // its sender is not in the configuration.)
  if (m.term === 0 && m.type !== MessageType.MsgProp && m.type !== MessageType.MsgReadIndex) {
    // Raft treats a message without a term as its own (no term rules apply): a peer's always
    // carries one, but for the forwarded requests.
    throw invalid(m, "no term (only a forwarded MsgProp or MsgReadIndex comes without one)");
  }
  if (from === r.id && !isForwarded(m.type) && !(asyncStorageWrites && isSelfAnswer(m))) {
    throw invalid(m, "from this node itself");
  }
}

/** Requests a follower forwards to its leader keeping their origin, which may be the leader itself. */
function isForwarded(t: MessageType): boolean {
  return t === MessageType.MsgProp || t === MessageType.MsgReadIndex || t === MessageType.MsgTransferLeader;
}

/**
 * The answers raft addresses to itself (delivered by the application with asyncStorageWrites):
 * its acknowledgement of its own entries and its vote for itself, never a rejection.
 */
function isSelfAnswer(m: Message): boolean {
  const t = m.type;
  return !m.reject && (t === MessageType.MsgAppResp || t === MessageType.MsgVoteResp || t === MessageType.MsgPreVoteResp);
}

/** The message's own terms and indexes, and its snapshot's, within the bounds. */
function checkScalarRanges(m: Message): void {
  if (!inRange(m.term, MAX_TERM)) throw outOfRange(m, "term", m.term, MAX_TERM);
  if (!inRange(m.logTerm, MAX_TERM)) throw outOfRange(m, "logTerm", m.logTerm, MAX_TERM);
  if (!inRange(m.index, MAX_INDEX)) throw outOfRange(m, "index", m.index, MAX_INDEX);
  if (!inRange(m.commit, MAX_INDEX)) throw outOfRange(m, "commit", m.commit, MAX_INDEX);
  if (!inRange(m.rejectHint, MAX_INDEX)) throw outOfRange(m, "rejectHint", m.rejectHint, MAX_INDEX);
  const s = m.snapshot;
  if (s !== undefined) {
    if (!inRange(s.metadata.index, MAX_INDEX)) throw outOfRange(m, "snapshot.metadata.index", s.metadata.index, MAX_INDEX);
    if (!inRange(s.metadata.term, MAX_TERM)) throw outOfRange(m, "snapshot.metadata.term", s.metadata.term, MAX_TERM);
  }
}

/** Every entry's term and index within the bounds (a MsgApp's are checked by {@link checkAppend}). */
function checkEntryRanges(m: Message): void {
  const ents = m.entries;
  for (let i = 0; i < ents.length; i++) {
    const e = ents[i]!;
    if (!inRange(e.index, MAX_INDEX)) throw outOfRange(m, `entries[${i}].index`, e.index, MAX_INDEX);
    if (!inRange(e.term, MAX_TERM)) throw outOfRange(m, `entries[${i}].term`, e.term, MAX_TERM);
  }
}

/**
 * A MsgApp describes a log slice: entries at `index + 1, index + 2, ...` up to at most
 * {@link MAX_INDEX}, with integer terms non-decreasing, at least `logTerm` and at most the
 * message's term (so within {@link MAX_TERM}). Anything else would corrupt the log if appended.
 * Its conf change entries decode. One pass, as this runs for every append a follower receives:
 * measured on the development VM, 0.43-0.47 µs for 64 entries, against 0.25-0.44 µs for the
 * shape check alone that was here before.
 */
function checkAppend(m: Message): void {
  const ents = m.entries;
  const n = ents.length;
  let prevTerm = m.logTerm;
  if (m.logTerm > m.term) throw invalid(m, `logTerm ${m.logTerm} above the message term ${m.term}`);
  // m.index is an integer in [0, MAX_INDEX] and n < 2^32: the sum is exact.
  if (m.index + n > MAX_INDEX) throw outOfRange(m, `entries[${n - 1}].index`, m.index + n, MAX_INDEX);
  for (let i = 0; i < n; i++) {
    const e = ents[i]!;
    if (e.index !== m.index + 1 + i) throw invalid(m, `entry ${i} has index ${e.index}, want ${m.index + 1 + i}`);
    const t = e.term;
    if (!(t >= prevTerm && t <= m.term) || !Number.isInteger(t)) throw invalid(m, `entry ${e.index} has term ${t}, not an integer in [${prevTerm}, ${m.term}]`);
    if (e.type !== EntryType.EntryNormal) checkConfChangeEntry(m, e, i);
    prevTerm = t;
  }
}

/** Every entry of a conf change type holds a decodable conf change. */
function checkConfChangeEntries(m: Message): void {
  const ents = m.entries;
  for (let i = 0; i < ents.length; i++) {
    checkConfChangeEntry(m, ents[i]!, i);
  }
}

function checkConfChangeEntry(m: Message, e: Entry, i: number): void {
  if (e.type !== EntryType.EntryConfChange && e.type !== EntryType.EntryConfChangeV2) return;
  // A v1 ConfChange's encoding is never absent (proto2: its fields are always written); an
  // entry without it would be appended, and the WAL's reader refuses one as corrupt.
  if (e.type === EntryType.EntryConfChange && e.data === undefined) throw invalid(m, `entry ${i} (EntryConfChange) has no data`);
  try {
    confChangeOfEntry(e);
  } catch (err) {
    // A raftpb DecodeError; anything else is not a verdict on the message.
    if (errorCode(err) !== "TSRAFT_DECODE") throw err;
    throw invalid(m, `entry ${i} (${EntryType[e.type]}) does not decode: ${(err as Error).message}`, err);
  }
}

/** A snapshot of a term in `[1, m.term]` whose ConfState is a valid configuration. */
function checkSnapshot(r: Raft, m: Message, s: Snapshot): void {
  const { index, term, confState } = s.metadata;
  if (index === 0) return; // an empty snapshot is ignored
  if (term === 0 || term > m.term) throw invalid(m, `snapshot term ${term} outside [1, ${m.term}]`);
  checkConfState(r, m, confState);
}

/** Restores `cs` on an empty tracker, as a follower would, and compares the result. */
function checkConfState(r: Raft, m: Message, cs: ConfState): void {
  let restored: ConfState;
  try {
    const trk = new ProgressTracker(r.trk.maxInflight, r.trk.maxInflightBytes);
    const res = restoreConfig(new Changer(trk, r.raftLog.lastIndex()), cs);
    trk.config = res.config;
    trk.progress = res.progress;
    restored = trk.confState();
  } catch (err) {
    if (!isRaftError(err)) throw err;
    throw invalid(m, `snapshot ConfState is not a valid configuration: ${err.message}`, err);
  }
  if (!confStatesEquivalent(cs, restored)) throw invalid(m, "snapshot ConfState is not a valid configuration (duplicate or overlapping ids)");
}

function invalid(m: Message, what: string, cause?: unknown): InvalidMessageError {
  return new InvalidMessageError(`${MessageType[m.type] ?? `type ${m.type}`} from ${hexId(m.from)}: ${what}`, cause === undefined ? undefined : { cause });
}

function outOfRange(m: Message, field: string, v: number, max: number): InvalidMessageError {
  return invalid(m, `${field} ${v} is not an integer in [0, ${max}]`);
}
