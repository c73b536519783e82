/**
 * Small helpers over the raftpb values: emptiness tests as etcd defines them, fresh empty
 * values, and payload sizes for raft's byte limits.
 * @module
 */
import type { ConfState, Entry, HardState, Snapshot } from "./types.js";

/**
 * Whether `hs` is the empty HardState (term, vote and commit all zero), as etcd's
 * `IsEmptyHardState`.
 */
export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0n && hs.commit === 0;
}

/** Whether `s` is the empty snapshot: `metadata.index === 0`, as etcd's `IsEmptySnap`. */
export function isEmptySnapshot(s: Snapshot): boolean {
  return s.metadata.index === 0;
}

/**
 * The payload bytes of an entry: the length of its data (0 when absent). etcd-io/raft counts
 * these against `maxUncommittedEntriesSize` (its `payloadSize`).
 */
export function payloadSize(e: Entry): number {
  const data = e.data;
  return data === undefined ? 0 : data.length;
}

/**
 * Whether two byte fields hold the same bytes. `undefined` (an absent field) equals only
 * `undefined`: on the wire an absent field and an empty one differ. Compare `a ?? empty` to
 * `b ?? empty` where they should not.
 */
export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A fresh empty HardState `{term: 0, vote: 0n, commit: 0}`. */
export function emptyHardState(): HardState {
  return { term: 0, vote: 0n, commit: 0 };
}

/** A fresh empty ConfState (four empty lists, `autoLeave` false). */
export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/**
 * A fresh empty Snapshot: no data, metadata index 0, term 0, an empty ConfState. It encodes
 * as etcd's zero `Snapshot` (`12 08 0a 02 28 00 10 00 18 00`).
 */
export function emptySnapshot(): Snapshot {
  return { data: undefined, metadata: { confState: emptyConfState(), index: 0, term: 0 } };
}
