/**
 * Test helpers for RaftNodes over MemoryStorage: the persist callback that writes a request to
 * the storage, a wait for a leader that ends by itself, and a 3-member in-process cluster.
 */
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode } from "@tsraft/node";
import type { PersistRequest } from "@tsraft/node";
import type { Message, NodeId } from "@tsraft/raftpb";

/** RaftNode's `persist` for `storage`: the snapshot, then the entries, then the HardState. */
export function persistTo(storage: MemoryStorage): (p: PersistRequest) => Promise<void> {
  return async (p) => {
    if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
    if (p.entries.length > 0) storage.append(p.entries);
    if (p.hardState !== undefined) storage.setHardState(p.hardState);
  };
}

/** The first of `nodes` that is leader, waiting up to `ms` (throws after). */
export async function leaderOf(nodes: readonly RaftNode[], ms = 10_000): Promise<RaftNode> {
  const end = Date.now() + ms;
  for (;;) {
    const l = nodes.find((n) => n.basicStatus().softState.raftState === "leader");
    if (l !== undefined) return l;
    if (Date.now() > end) throw new Error("no leader");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Members `ids` of one in-process cluster over MemoryStorage, delivering each message on a later
 * turn (`setImmediate`) unless `intercept` takes it (returns true); added to `made` (to stop).
 */
export function memCluster(o: { ids: readonly NodeId[]; tickMs: number; made: RaftNode[]; intercept?: (m: Message) => boolean }): Map<NodeId, RaftNode> {
  const nodes = new Map<NodeId, RaftNode>();
  for (const id of o.ids) {
    const storage = new MemoryStorage();
    const node = new RaftNode({
      raft: { id, electionTick: 10, heartbeatTick: 1, storage },
      tickMs: o.tickMs,
      requestTimeoutMs: 3000,
      persist: persistTo(storage),
      send: (msgs: readonly Message[]) => {
        for (const m of msgs) {
          if (o.intercept?.(m) === true) continue;
          const to = nodes.get(m.to);
          if (to !== undefined) setImmediate(() => to.step(m));
        }
      },
      apply: () => 0,
      restore: () => {},
    });
    nodes.set(id, node);
    o.made.push(node);
  }
  return nodes;
}
