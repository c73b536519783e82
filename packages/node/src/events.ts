/**
 * The observer stream of a {@link RaftNode}: typed events for what an operator watches
 * (leadership, roles, peers whose heartbeats fail, votes, snapshots, configuration changes,
 * failure), delivered to each observer through a bounded queue of its own, so that a slow
 * observer never slows the node: past the bound, events are dropped and counted.
 *
 * Nothing is built while no observer is registered: the node checks one count first.
 * @module
 */
import type { StateType } from "@tsraft/raft";
import type { ConfChange, ConfChangeV2, ConfState, NodeId } from "@tsraft/raftpb";

/** Fields every event has. */
interface EventBase {
  /** Wall-clock time of the event (`Date.now()`), for display. */
  at: number;
  /** The node's term when the event was noticed. */
  term: number;
}

/** This node saw a new leader (or lost it: `lead` is `0n`). */
export interface LeaderChangeEvent extends EventBase {
  type: "leader-change";
  lead: NodeId;
  previous: NodeId;
}
/** This node's role changed. */
export interface RoleChangeEvent extends EventBase {
  type: "role-change";
  role: StateType;
  previous: StateType;
}
/** As leader: a follower did not answer heartbeats for an election timeout. */
export interface PeerHeartbeatFailingEvent extends EventBase {
  type: "peer-heartbeat-failing";
  peer: NodeId;
  /** Milliseconds since the oldest unanswered heartbeat. */
  silentMs: number;
}
/** As leader: a follower reported failing answers heartbeats again. */
export interface PeerHeartbeatResumedEvent extends EventBase {
  type: "peer-heartbeat-resumed";
  peer: NodeId;
}
/** This node campaigns: it asked its peers for their (pre-)votes. */
export interface VoteRequestedEvent extends EventBase {
  type: "vote-requested";
  preVote: boolean;
  /** The peers asked. */
  peers: NodeId[];
}
/** This node granted its (pre-)vote to a candidate. */
export interface VoteGrantedEvent extends EventBase {
  type: "vote-granted";
  preVote: boolean;
  candidate: NodeId;
}
/** A snapshot was sent to a follower (as reported by the transport). */
export interface SnapshotSentEvent extends EventBase {
  type: "snapshot-sent";
  peer: NodeId;
}
/** Sending a snapshot to a follower failed (or it could not be taken). */
export interface SnapshotFailedEvent extends EventBase {
  type: "snapshot-failed";
  peer: NodeId;
  reason: string;
}
/** This node installed a snapshot from the leader. */
export interface SnapshotReceivedEvent extends EventBase {
  type: "snapshot-received";
  index: number;
  snapshotTerm: number;
}
/** A committed conf change was applied. */
export interface ConfChangeAppliedEvent extends EventBase {
  type: "conf-change-applied";
  index: number;
  change: ConfChange | ConfChangeV2;
  confState: ConfState;
}
/** A conf change was refused: by the leader when proposed (`index` 0), or by raft when applied. */
export interface ConfChangeRefusedEvent extends EventBase {
  type: "conf-change-refused";
  index: number;
  reason: string;
}
/** The node failed and stopped (the last event). */
export interface FatalEvent extends EventBase {
  type: "fatal";
  error: unknown;
}

/** An event of {@link RaftNode.observe}; switch on `type`. */
export type RaftEvent =
  | LeaderChangeEvent
  | RoleChangeEvent
  | PeerHeartbeatFailingEvent
  | PeerHeartbeatResumedEvent
  | VoteRequestedEvent
  | VoteGrantedEvent
  | SnapshotSentEvent
  | SnapshotFailedEvent
  | SnapshotReceivedEvent
  | ConfChangeAppliedEvent
  | ConfChangeRefusedEvent
  | FatalEvent;

/** An event as a node builds it, before `at` and `term` are stamped. */
export type RaftEventBody = RaftEvent extends infer E ? (E extends RaftEvent ? Omit<E, "at" | "term"> : never) : never;

/**
 * Receives events one at a time: the next is handed over once the previous call returned or
 * its promise settled. An exception or rejection is counted ({@link Observation.errors}) and
 * the stream goes on.
 */
export type RaftObserver = (event: RaftEvent) => void | Promise<void>;

/** Options of {@link RaftNode.observe}. */
export interface ObserveOptions {
  /** Events queued for this observer at most; past it new events are dropped and counted. Default 1024. */
  maxQueue?: number;
}

/** A registered observer. */
export interface Observation {
  /** Events dropped because this observer's queue was full. */
  readonly dropped: number;
  /** Events whose delivery threw or rejected. */
  readonly errors: number;
  /** Events queued now. */
  readonly queued: number;
  /** Stops the stream (queued events are dropped, not counted). */
  close(): void;
}

/** The default of {@link ObserveOptions.maxQueue}. */
export const DEFAULT_OBSERVER_QUEUE = 1024;

/** One observer's bounded queue and its delivery loop. */
export class ObserverQueue implements Observation {
  dropped = 0;
  errors = 0;
  closed = false;
  /** Invariant: `queue.length - head <= maxQueue`. */
  private queue: RaftEvent[] = [];
  private head = 0;
  private running = false;

  constructor(
    private readonly fn: RaftObserver,
    private readonly maxQueue: number,
    private readonly onClose: (q: ObserverQueue) => void,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  push(e: RaftEvent): void {
    if (this.closed) return;
    if (this.queued >= this.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push(e);
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => void this.drain());
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.onClose(this);
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.head < this.queue.length) {
      const e = this.queue[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      try {
        const r = this.fn(e);
        if (r !== undefined && typeof (r as { then?: unknown }).then === "function") await r;
      } catch {
        this.errors++;
      }
    }
    this.running = false;
  }
}
