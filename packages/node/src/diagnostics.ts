/**
 * What RaftNode and TcpTransport publish on `node:diagnostics_channel`, for metrics
 * (`@tsraft/prometheus` subscribes) or any other subscriber. Without a subscriber nothing is
 * measured or built: each publisher checks `channel.hasSubscribers` first (one property read).
 * Counters that cost nothing to keep are in {@link RaftNode.stats} and
 * {@link TcpTransport.stats} instead, read when a scrape asks.
 * @module
 */
import { channel } from "node:diagnostics_channel";
import type { NodeId } from "@tsraft/raftpb";

/** The name of the channel of {@link PeerRttMessage}s. */
export const PEER_RTT_CHANNEL = "tsraft:node:peer-rtt";
/** The name of the channel of {@link SnapshotSendMessage}s. */
export const SNAPSHOT_SEND_CHANNEL = "tsraft:node:snapshot-send";
/** The name of the channel of {@link SendFailedMessage}s. */
export const SEND_FAILED_CHANNEL = "tsraft:transport:send-failed";
/** The name of the channel of {@link SlowApplyMessage}s. */
export const SLOW_APPLY_CHANNEL = "tsraft:node:slow-apply";

/**
 * Published by a leader's RaftNode when a follower answers a heartbeat: the time from sending
 * the oldest unanswered heartbeat to that follower to the answer. A lost heartbeat makes one
 * figure too high (by up to a heartbeat interval): an upper bound, like etcd's prober's.
 * At most one per follower per tick: ReadIndex sends a heartbeat round per read batch, and
 * publishing each answer cost a leader about 3% of its CPU in 1-client reads (a sample per
 * tick is what etcd's prober takes every few seconds).
 */
export interface PeerRttMessage {
  /** This node's id. */
  node: NodeId;
  /** The follower. */
  peer: NodeId;
  seconds: number;
}

/** Published by RaftNode when the application reports how sending a snapshot ended. */
export interface SnapshotSendMessage {
  node: NodeId;
  peer: NodeId;
  ok: boolean;
}

/** Published by TcpTransport when messages to a peer were dropped (queue full, peer down). */
export interface SendFailedMessage {
  /** This node's id. */
  node: NodeId;
  peer: NodeId;
  /** How many messages. */
  messages: number;
}

/**
 * Published by RaftNode when applying one batch of committed entries took longer than
 * `SLOW_APPLY_MS` (etcd's `slow_apply_total`). Measured only while this channel has a
 * subscriber: the measure is two clock reads per applied batch, about 2% of a proposal's
 * instructions in driver-3node (see the prometheus README, "Overhead").
 */
export interface SlowApplyMessage {
  node: NodeId;
  /** How long the batch took. */
  seconds: number;
  /** Entries in the batch. */
  entries: number;
}

/** @internal */
export const peerRttChannel = channel(PEER_RTT_CHANNEL);
/** @internal */
export const snapshotSendChannel = channel(SNAPSHOT_SEND_CHANNEL);
/** @internal */
export const sendFailedChannel = channel(SEND_FAILED_CHANNEL);
/** @internal */
export const slowApplyChannel = channel(SLOW_APPLY_CHANNEL);

/**
 * Heartbeat round trips of a leader: the send time of the oldest unanswered heartbeat to each
 * follower. Fed only while {@link peerRttChannel} has subscribers (or observers want heartbeat
 * events), so it costs nothing otherwise.
 */
export class HeartbeatClock {
  /** Invariant: a peer is here iff a heartbeat to it is unanswered (as far as this clock saw). */
  private readonly sentAt = new Map<NodeId, number>();

  /** Notes a heartbeat sent to `to` at `now` (kept only if none is outstanding). */
  sent(to: NodeId, now: number): void {
    if (!this.sentAt.has(to)) this.sentAt.set(to, now);
  }

  /** A heartbeat response from `from` at `now`: the round trip in milliseconds, or undefined. */
  answered(from: NodeId, now: number): number | undefined {
    const t = this.sentAt.get(from);
    if (t === undefined) return undefined;
    this.sentAt.delete(from);
    return now - t;
  }

  /** When a round trip to each peer was last let through by {@link sample}. */
  private readonly sampledAt = new Map<NodeId, number>();

  /** Whether a round trip to `peer` measured at `now` is to be published: at most one per `gapMs`. */
  sample(peer: NodeId, now: number, gapMs: number): boolean {
    const last = this.sampledAt.get(peer);
    if (last !== undefined && now - last < gapMs) return false;
    this.sampledAt.set(peer, now);
    return true;
  }

  /** Peers reported overdue by {@link overdue} and not answered since. */
  private readonly failing = new Set<NodeId>();

  /** Peers whose oldest unanswered heartbeat is older than `limitMs`, each reported once until it answers: `[peer, silentMs]`. */
  overdue(now: number, limitMs: number): [NodeId, number][] {
    const out: [NodeId, number][] = [];
    for (const [peer, t] of this.sentAt) {
      if (now - t > limitMs && !this.failing.has(peer)) {
        this.failing.add(peer);
        out.push([peer, Math.round(now - t)]);
      }
    }
    return out;
  }

  /** Whether `peer` was reported overdue; it is not any more (call when it answered). */
  resumed(peer: NodeId): boolean {
    return this.failing.delete(peer);
  }

  /** Forgets everything (leadership lost). */
  clear(): void {
    this.sentAt.clear();
    this.failing.clear();
    this.sampledAt.clear();
  }
}
