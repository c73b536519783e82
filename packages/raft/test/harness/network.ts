/**
 * A small in-process cluster for tests: RawNodes over MemoryStorage, a Ready loop that
 * persists, delivers and applies, and message filters for drops and partitions.
 */
import { EntryType, MessageType } from "@tsraft/raftpb";
import type { Entry, Message, NodeId } from "@tsraft/raftpb";
import { RawNode, type Config, type Ready } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { confChangeOfEntry } from "../../src/raft.js";

export interface TestNode {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
}

export type Filter = (m: Message) => boolean; // true: drop

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages in flight, in order. */
  queue: Message[] = [];
  filters: Filter[] = [];
  /** Every message delivered (for assertions). */
  delivered: Message[] = [];

  constructor(
    ids: readonly NodeId[],
    private readonly cfg: Partial<Config> = {},
    bootstrap = true,
  ) {
    for (const id of ids) this.addNode(id, ids, bootstrap);
  }

  addNode(id: NodeId, peers: readonly NodeId[], bootstrap: boolean, storage = new MemoryStorage()): TestNode {
    const node = new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, ...this.cfg });
    if (bootstrap) node.bootstrap(peers.map((p) => ({ id: p })));
    const tn: TestNode = { id, node, storage, applied: [] };
    this.nodes.set(id, tn);
    return tn;
  }

  get(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Processes one Ready of node `id`: persist, queue messages, apply, advance. */
  processReady(id: NodeId): Ready | undefined {
    const tn = this.get(id);
    if (!tn.node.hasReady()) return undefined;
    const rd = tn.node.ready();
    if (rd.snapshot !== undefined) tn.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) tn.storage.append(rd.entries);
    if (rd.hardState !== undefined) tn.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.queue.push(m);
    for (const e of rd.committedEntries) {
      tn.applied.push(e);
      if (e.type === EntryType.EntryConfChange || e.type === EntryType.EntryConfChangeV2) {
        tn.node.applyConfChange(confChangeOfEntry(e));
      }
    }
    tn.node.advance(rd);
    return rd;
  }

  /** Delivers every queued message once (new ones are queued behind). */
  deliverAll(): number {
    const q = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of q) {
      if (this.filters.some((f) => f(m))) continue;
      const to = this.nodes.get(m.to);
      if (to === undefined) continue;
      try {
        to.node.step(m);
      } catch (err) {
        if ((err as { code?: string }).code !== "TSRAFT_PROPOSAL_DROPPED" && (err as { code?: string }).code !== "TSRAFT_STEP_PEER_NOT_FOUND") throw err;
      }
      this.delivered.push(m);
      n++;
    }
    return n;
  }

  /** Runs Ready rounds and deliveries until nothing is pending. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      let busy = false;
      for (const id of [...this.nodes.keys()].sort((a, b) => (a < b ? -1 : 1))) {
        while (this.processReady(id) !== undefined) busy = true;
      }
      if (this.deliverAll() > 0) busy = true;
      if (!busy) return;
    }
    throw new Error("network did not stabilize");
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.get(id).node.tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) for (const tn of this.nodes.values()) tn.node.tick();
  }

  /** Drops every message between the two groups (both ways). */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    const sa = new Set(a);
    const sb = new Set(b);
    this.filters.push((m) => (sa.has(m.from) && sb.has(m.to)) || (sb.has(m.from) && sa.has(m.to)));
  }

  /** Isolates `id` from everyone. */
  isolate(id: NodeId): void {
    this.filters.push((m) => m.from === id || m.to === id);
  }

  heal(): void {
    this.filters = [];
  }

  /** Drops messages of `type` (from anyone). */
  dropType(type: MessageType): void {
    this.filters.push((m) => m.type === type);
  }

  leader(): TestNode | undefined {
    let lead: TestNode | undefined;
    for (const tn of this.nodes.values()) {
      if (tn.node.basicStatus().softState.raftState === "leader") {
        if (lead === undefined || tn.node.basicStatus().hardState.term > lead.node.basicStatus().hardState.term) lead = tn;
      }
    }
    return lead;
  }

  /** Campaigns `id` and stabilizes. */
  elect(id: NodeId): void {
    this.get(id).node.campaign();
    this.stabilize();
  }

  /** The data of the normal, non-empty entries a node applied. */
  appliedData(id: NodeId): string[] {
    return this.get(id)
      .applied.filter((e) => e.type === EntryType.EntryNormal && e.data !== undefined && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
