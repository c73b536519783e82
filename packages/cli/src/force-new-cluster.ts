/**
 * Quorum-loss recovery (etcd's `--force-new-cluster`, hashicorp/raft's `RecoverCluster`):
 * rewrites a stopped member's data directory (a `DiskStorage`: `wal/` + `snap/`) so that it
 * restarts as the only member of its cluster, keeping every committed entry.
 *
 * What it writes, through DiskStorage's public API, as etcd does:
 * 1. the entries after the commit index are dropped (they may never have been committed
 *    anywhere; a new leader of the old cluster could have replaced them);
 * 2. after the commit index it appends, at the current term: an empty ConfChangeV2 if the
 *    configuration is joint (to leave it), `ConfChangeAddNode` for this member if it is not a
 *    voter, and one `ConfChangeRemoveNode` for every other member;
 * 3. the HardState's commit moves to the last of them: they are committed by fiat.
 *
 * When the member starts, raft applies them like any committed conf change, leaving a
 * configuration of one voter, which elects itself. The risks (see the CLI README): committed
 * entries that only the lost members had applied are lost; the lost members must never come
 * back with their old data (they would form a second cluster with the same id); the other
 * survivors, if any, must be wiped and re-added as new members.
 * @module
 */
import {
  ConfChangeTransition,
  ConfChangeType,
  EntryType,
  NONE,
  decodeConfChange,
  decodeConfChangeV2,
  encodeConfChange,
  encodeConfChangeV2,
} from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, NodeId } from "@tsraft/raftpb";
import { DiskStorage } from "@tsraft/wal";

/** What {@link forceNewCluster} did. */
export interface ForceNewClusterResult {
  /** The members of the configuration in effect at the commit index (voters and learners). */
  before: { voters: NodeId[]; learners: NodeId[]; joint: boolean };
  /** Entries dropped after the commit index (never known to be committed). */
  droppedUncommitted: number;
  /** The entries appended (conf changes), their indexes `commit + 1 ...`. */
  appended: { index: number; change: string }[];
  /** The new HardState. */
  hardState: HardState;
}

/** The configuration at the end of the committed log, replayed by set logic from the snapshot's. */
function confAtCommit(snap: ConfState, committed: readonly Entry[]): { voters: Set<NodeId>; learners: Set<NodeId>; joint: boolean } {
  const voters = new Set<NodeId>([...snap.voters, ...snap.votersOutgoing]);
  const learners = new Set<NodeId>([...snap.learners, ...snap.learnersNext]);
  let joint = snap.votersOutgoing.length > 0;
  const apply = (type: ConfChangeType, id: NodeId): void => {
    if (type === ConfChangeType.ConfChangeAddNode) {
      voters.add(id);
      learners.delete(id);
    } else if (type === ConfChangeType.ConfChangeAddLearnerNode) {
      learners.add(id);
      voters.delete(id);
    } else if (type === ConfChangeType.ConfChangeRemoveNode) {
      voters.delete(id);
      learners.delete(id);
    }
  };
  for (const e of committed) {
    if (e.type === EntryType.EntryConfChange) {
      const cc = decodeConfChange(e.data ?? new Uint8Array(0));
      apply(cc.type, cc.nodeId);
    } else if (e.type === EntryType.EntryConfChangeV2) {
      const cc = decodeConfChangeV2(e.data ?? new Uint8Array(0));
      if (cc.changes.length === 0) joint = false;
      else {
        for (const c of cc.changes) apply(c.type, c.nodeId);
        joint = cc.transition !== ConfChangeTransition.ConfChangeTransitionAuto || cc.changes.length > 1;
      }
    }
  }
  return { voters, learners, joint };
}

const byId = (a: NodeId, b: NodeId): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Rewrites the data directory `dir` of member `id` (stopped: the WAL is locked while it
 * runs) into a one-member cluster. See the module comment.
 * @throws `WalLockedError` if the member is running; the errors of `DiskStorage.open`;
 *   `Error` if `dir` holds no raft state (nothing to recover) or `id` is 0.
 */
export async function forceNewCluster(dir: string, id: NodeId): Promise<ForceNewClusterResult> {
  if (id === NONE) throw new Error("force-new-cluster: the member id cannot be 0");
  const storage = await DiskStorage.open(dir, { repairTornTail: false });
  try {
    const { hardState: hs, confState } = storage.initialState();
    if (hs.term === 0 && storage.lastIndex() === 0) throw new Error(`force-new-cluster: ${dir} holds no raft state: nothing to recover`);
    const first = storage.firstIndex();
    const commit = hs.commit;
    const committed = commit >= first ? storage.entries(first, commit + 1, Number.MAX_SAFE_INTEGER) : [];
    const conf = confAtCommit(confState, committed);
    const before = { voters: [...conf.voters].sort(byId), learners: [...conf.learners].sort(byId), joint: conf.joint };
    const term = hs.term;
    const out: Entry[] = [];
    const appended: { index: number; change: string }[] = [];
    const push = (type: EntryType, data: Uint8Array, change: string): void => {
      const index = commit + 1 + out.length;
      out.push({ term, index, type, data });
      appended.push({ index, change });
    };
    if (conf.joint)
      push(
        EntryType.EntryConfChangeV2,
        encodeConfChangeV2({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [] }),
        "leave joint configuration",
      );
    if (!conf.voters.has(id))
      push(EntryType.EntryConfChange, encodeConfChange({ id: 0n, type: ConfChangeType.ConfChangeAddNode, nodeId: id }), `add ${id.toString(16)} as voter`);
    for (const other of [...before.voters, ...before.learners].sort(byId)) {
      if (other === id) continue;
      push(EntryType.EntryConfChange, encodeConfChange({ id: 0n, type: ConfChangeType.ConfChangeRemoveNode, nodeId: other }), `remove ${other.toString(16)}`);
    }
    if (out.length === 0) return { before, droppedUncommitted: 0, appended, hardState: hs }; // one voter already: nothing to do
    const droppedUncommitted = storage.lastIndex() - commit;
    const newHs: HardState = { term, vote: hs.vote, commit: commit + out.length };
    // One save: the entries replace everything after the commit index; then the commit moves.
    await storage.save(newHs, out);
    return { before, droppedUncommitted, appended, hardState: newHs };
  } finally {
    await storage.close();
  }
}
