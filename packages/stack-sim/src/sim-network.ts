/**
 * The simulated network: each message is delivered after a random delay (so messages are
 * reordered), or dropped, or delivered twice, by the run's random source; a partition cuts
 * chosen pairs of nodes both ways. A message in flight survives its sender's crash (as a
 * packet on the wire does) but is dropped if its receiver is down when it arrives.
 *
 * It plays the part of the application's transport (as {@link TcpTransport} does for real
 * nodes): RaftNode's `send` callback hands it messages; it steps them into the receiver's
 * RaftNode, and reports a snapshot's delivery (or loss) to its sender with `reportSnapshot`.
 * @module
 */
import { MessageType } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import type { Prng } from "@tsraft/raft/testing";
import type { SimLoop, Owner } from "./sim-loop.js";
import type { Trace } from "./trace.js";

/** How unreliable the network is. */
export interface NetworkFaults {
  /** Delay of each message, uniform in [min, max] virtual ms. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Probability that a message is dropped. */
  drop: number;
  /** Probability that a message is delivered twice (the copy at another delay). */
  duplicate: number;
  /**
   * Whether a forwarded proposal (MsgProp) may be duplicated too. Default false: at-most-once
   * delivery is the transport's contract (node README), which TcpTransport keeps; a duplicated
   * MsgProp is appended and applied twice (found by the soak at seed 1788 of the KV workload: a
   * compare-and-set applied twice, its proposer told the second result). True shows what a
   * transport that breaks the contract does.
   */
  duplicateProposals?: boolean;
}

/** What the network delivers to: a node's current incarnation. */
export interface Endpoint {
  owner: Owner;
  step(m: Message): void;
  reportSnapshot(to: NodeId, ok: boolean): void;
}

/** See the module comment. */
export class SimNetwork {
  private readonly endpoints = new Map<NodeId, Endpoint>();
  /** Cut pairs, as "a-b" with a < b. */
  private readonly cut = new Set<string>();
  /** Messages sent, delivered, dropped. */
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(
    private readonly loop: SimLoop,
    private readonly wire: Owner,
    private readonly rand: Prng,
    private readonly trace: Trace,
    public faults: NetworkFaults,
  ) {}

  /** The node's current incarnation receives from now on (undefined: the node is down). */
  attach(id: NodeId, e: Endpoint | undefined): void {
    if (e === undefined) this.endpoints.delete(id);
    else this.endpoints.set(id, e);
  }

  /** Cuts the network between every node of `a` and every node of `b`. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) for (const y of b) if (x !== y) this.cut.add(pair(x, y));
    this.trace.add(this.loop.now, "partition", 0, `${a.join(",")} | ${b.join(",")}`);
  }

  /** Heals every partition. */
  heal(): void {
    if (this.cut.size === 0) return;
    this.cut.clear();
    this.trace.add(this.loop.now, "heal", 0, "");
  }

  /** Whether `a` and `b` can talk now. */
  connected(a: NodeId, b: NodeId): boolean {
    return !this.cut.has(pair(a, b));
  }

  /** Sends messages from `from` (RaftNode's `send` callback of a live incarnation). */
  send(from: NodeId, msgs: readonly Message[]): void {
    const f = this.faults;
    for (const m of msgs) {
      this.stats.sent++;
      const label = `${MessageType[m.type]} t${m.term}${m.reject ? " rej" : ""}${m.entries.length > 0 ? ` ${m.entries.length}e@${m.index + 1}` : ""}`;
      const id = this.stats.sent;
      this.trace.add(this.loop.now, "send", from, label, m.to, id);
      if (!this.connected(from, m.to) || this.rand.chance(f.drop)) {
        this.lost(from, m, label, id);
        continue;
      }
      const copies = this.rand.chance(f.duplicate) && (m.type !== MessageType.MsgProp || f.duplicateProposals === true) ? 2 : 1;
      if (copies === 2) this.stats.duplicated++;
      for (let i = 0; i < copies; i++) {
        const delay = this.rand.range(f.minDelayMs, f.maxDelayMs);
        this.loop.at(this.wire, delay, () => this.arrive(from, m, label, id));
      }
    }
  }

  private arrive(from: NodeId, m: Message, label: string, id: number): void {
    const to = this.endpoints.get(m.to);
    if (to === undefined || !to.owner.alive || !this.connected(from, m.to)) {
      this.lost(from, m, label, id);
      return;
    }
    this.stats.delivered++;
    this.trace.add(this.loop.now, "deliver", m.to, label, from, id);
    to.step(m);
    if (m.type === MessageType.MsgSnap) this.endpoints.get(from)?.reportSnapshot(m.to, true);
  }

  private lost(from: NodeId, m: Message, label: string, id: number): void {
    this.stats.dropped++;
    this.trace.add(this.loop.now, "drop", from, label, m.to, id);
    if (m.type === MessageType.MsgSnap) this.endpoints.get(from)?.reportSnapshot(m.to, false);
  }
}

function pair(a: NodeId, b: NodeId): string {
  return a < b ? `${a}-${b}` : `${b}-${a}`;
}
