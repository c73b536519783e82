/**
 * ReadIndex bookkeeping on the leader (thesis §6.4): read requests waiting for a heartbeat
 * round to confirm that the leader is still the leader.
 * @module
 */
import type { Message, NodeId } from "@tsraft/raftpb";
import { panic } from "./errors.js";
import { bytesKey } from "./util.js";

/** How read-only requests are served. */
export type ReadOnlyOption = "safe" | "lease-based";

/** A read request answered: the application may serve it once it has applied `index`. */
export interface ReadState {
  /** The commit index at the time the request was received. */
  index: number;
  /** The context the application passed to `readIndex()`. */
  requestCtx: Uint8Array;
}

/** A pending request: its message, the commit index when it arrived, and who acked it. */
export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Map<NodeId, boolean>;
}

/**
 * The leader's queue of ReadIndex requests in 'safe' mode. A request is released once a quorum
 * has answered a heartbeat that carried its context (or the context of a later request).
 */
export class ReadOnly {
  readonly option: ReadOnlyOption;
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  constructor(option: ReadOnlyOption) {
    this.option = option;
  }

  /** Queues request `m` (a MsgReadIndex) at commit index `index`. Duplicates are ignored. */
  addRequest(index: number, m: Message): void {
    const key = bytesKey(m.entries[0]!.data);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req: m, index, acks: new Map() });
    this.queue.push(key);
  }

  /** Records `id`'s ack of the heartbeat carrying `context`; returns the acks, if pending. */
  recvAck(id: NodeId, context: Uint8Array | undefined): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(bytesKey(context));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * Releases the request whose context `m` carries and every request queued before it; returns
   * them in order (empty when the context is unknown).
   */
  advance(m: Message): ReadIndexStatus[] {
    const ctx = bytesKey(m.context);
    const i = this.queue.indexOf(ctx);
    if (i < 0) return [];
    const released: ReadIndexStatus[] = [];
    for (let k = 0; k <= i; k++) {
      const key = this.queue[k]!;
      const rs = this.pending.get(key);
      if (rs === undefined) panic("cannot find corresponding read state from pending map");
      released.push(rs);
      this.pending.delete(key);
    }
    this.queue = this.queue.slice(i + 1);
    return released;
  }

  /** The context of the newest pending request, or undefined. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1]!)!.req.entries[0]!.data;
  }

  /** The number of pending requests. */
  get size(): number {
    return this.queue.length;
  }
}
