/**
 * Binds a RaftNode, its transport and the WAL to prom-client metrics named after etcd's (see
 * the README for the mapping). Counters the libraries keep anyway ({@link RaftNode.stats},
 * `status()`) are read when a scrape asks; durations and per-peer events come from
 * `node:diagnostics_channel`, which this module subscribes to (the publishers measure
 * nothing while no one is subscribed).
 * @module
 */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { NodeId } from "@tsraft/raftpb";
import type { BasicStatus, Status } from "@tsraft/raft";
import { PEER_RTT_CHANNEL, SEND_FAILED_CHANNEL, SLOW_APPLY_CHANNEL, SNAPSHOT_SEND_CHANNEL } from "@tsraft/node";
import type { NodeStats, PeerRttMessage, SendFailedMessage, SlowApplyMessage, SnapshotSendMessage } from "@tsraft/node";
import { SNAP_SAVE_CHANNEL, WAL_REPAIR_CHANNEL, WAL_SYNC_CHANNEL, WAL_WRITE_CHANNEL } from "@tsraft/wal";
import type { SnapSaveMessage, WalRepairMessage, WalSyncMessage, WalWriteMessage } from "@tsraft/wal";

/** What the metrics read from a node: a `RaftNode` has all of it. */
export interface MetricsNode {
  stats(): NodeStats;
  basicStatus(): BasicStatus;
  status(): Status;
}

/** What to measure. */
export interface MetricsSources {
  /**
   * The raft node and its id (the id filters the node and transport channels: several nodes
   * may share a process). Absent: only the WAL and snapshot metrics are registered.
   */
  node?: { node: MetricsNode; id: NodeId };
  /** The WAL directory whose writes are measured; absent: every WAL of the process. */
  walDir?: string;
  /** The snapshot directory whose saves are measured; absent: every snapshotter of the process. */
  snapDir?: string;
}

/** Options of {@link bindMetrics}. */
export interface BindOptions {
  /** Where the metrics are registered. Default: a new Registry. */
  registry?: Registry;
  /** The prefix of every name, in place of etcd's `etcd_`. Default `"tsraft_"`. */
  prefix?: string;
}

/** The bound metrics. */
export interface TsraftMetrics {
  /** The registry holding them: `await registry.metrics()` is the Prometheus text. */
  readonly registry: Registry;
  /** Stops listening to the channels (the metrics stay registered). */
  close(): void;
}

/** etcd's buckets of `wal_fsync_duration_seconds` and `snap_save_total_duration_seconds`: 1 ms to 8.192 s. */
export const DISK_DURATION_BUCKETS: readonly number[] = exponential(0.001, 2, 14);
/** etcd's buckets of `network_peer_round_trip_time_seconds`: 0.1 ms to 0.8192 s. */
export const PEER_RTT_BUCKETS: readonly number[] = exponential(0.0001, 2, 14);

function exponential(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, v = start; i < count; i++, v *= factor) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * Registers tsraft's metrics for `sources` in a registry and starts listening to the
 * diagnostics channels. Call {@link TsraftMetrics.close} when the node stops.
 */
export function bindMetrics(sources: MetricsSources, options: BindOptions = {}): TsraftMetrics {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? "tsraft_";
  const registers = [registry];
  const walDir = sources.walDir;
  const snapDir = sources.snapDir;
  const subs: [string, (m: unknown) => void][] = [];
  const fsync = new Histogram({
    name: p + "disk_wal_fsync_duration_seconds",
    help: "The latency distributions of fsync called by WAL.",
    buckets: [...DISK_DURATION_BUCKETS],
    registers,
  });
  const walBytes = new Counter({ name: p + "disk_wal_write_bytes_total", help: "Total number of bytes written in WAL.", registers });
  // A repair happens while the WAL opens: bind before opening it, or it is not counted.
  const walRepairs = new Counter({
    name: p + "disk_wal_tail_repairs_total",
    help: "Torn WAL tails cut back to the last whole record when the WAL was opened (a write a crash interrupted).",
    registers,
  });
  const snapSave = new Histogram({
    name: p + "snap_save_total_duration_seconds",
    help: "The total latency distributions of save called by snapshot.",
    buckets: [...DISK_DURATION_BUCKETS],
    registers,
  });
  subs.push(
    [
      WAL_SYNC_CHANNEL,
      (m) => {
        const msg = m as WalSyncMessage;
        if (walDir === undefined || msg.dir === walDir) fsync.observe(msg.seconds);
      },
    ],
    [
      WAL_WRITE_CHANNEL,
      (m) => {
        const msg = m as WalWriteMessage;
        if (walDir === undefined || msg.dir === walDir) walBytes.inc(msg.bytes);
      },
    ],
    [
      WAL_REPAIR_CHANNEL,
      (m) => {
        if (walDir === undefined || (m as WalRepairMessage).dir === walDir) walRepairs.inc();
      },
    ],
    [
      SNAP_SAVE_CHANNEL,
      (m) => {
        const msg = m as SnapSaveMessage;
        if (snapDir === undefined || msg.dir === snapDir) snapSave.observe(msg.seconds);
      },
    ],
  );
  if (sources.node !== undefined) bindNode(sources.node.node, sources.node.id, p, registry, subs);
  for (const [name, fn] of subs) subscribe(name, fn);
  let closed = false;
  return {
    registry,
    close() {
      if (closed) return;
      closed = true;
      for (const [name, fn] of subs) unsubscribe(name, fn);
    },
  };
}

/** The node's metrics: read at scrape time, and the node and transport channels (added to `subs`). */
function bindNode(node: MetricsNode, id: NodeId, p: string, registry: Registry, subs: [string, (m: unknown) => void][]): void {
  const registers = [registry];
  const stats = (): NodeStats | undefined => {
    try {
      return node.stats();
    } catch {
      return undefined;
    }
  };
  const basic = (): BasicStatus | undefined => {
    try {
      return node.basicStatus();
    } catch {
      return undefined; // not started yet
    }
  };
  const fromStats = (name: string, help: string, pick: (s: NodeStats) => number): void => {
    new Counter({
      name: p + name,
      help,
      registers,
      collect() {
        const s = stats();
        this.reset();
        if (s !== undefined) this.inc(pick(s));
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number | undefined): void => {
    new Gauge({
      name: p + name,
      help,
      registers,
      collect() {
        const v = read();
        if (v !== undefined) this.set(v);
      },
    });
  };

  gauge("server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.", () => {
    const b = basic();
    return b === undefined ? 0 : b.softState.lead !== 0n ? 1 : 0;
  });
  gauge("server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.", () => (basic()?.softState.raftState === "leader" ? 1 : 0));
  gauge("server_term", "The current term of this member.", () => basic()?.hardState.term);
  fromStats("server_leader_changes_seen_total", "The number of leader changes seen.", (s) => s.leaderChanges);
  gauge("server_proposals_committed_total", "The total number of consensus proposals committed.", () => basic()?.hardState.commit);
  gauge("server_proposals_applied_total", "The total number of consensus proposals applied.", () => basic()?.applied);
  gauge("server_proposals_pending", "The current number of pending proposals to commit.", () => stats()?.proposalsPending);
  fromStats("server_proposals_failed_total", "The total number of failed proposals seen.", (s) => s.proposalsFailed);
  fromStats("server_read_indexes_failed_total", "The total number of failed read indexes seen.", (s) => s.readIndexesFailed);
  fromStats("server_entries_refused_total", "Committed entries the application refused (a result, the same on every member).", (s) => s.entriesRefused);
  fromStats("server_conf_changes_refused_total", "Conf changes raft refused, or whose hook threw.", (s) => s.confChangesRefused);
  fromStats("server_snapshot_failures_total", "Snapshot takes or saves that failed.", (s) => s.snapshotFailures);

  // One collect fills both lag gauges (the match gauge is registered, so collected, first).
  const nextLag = new Gauge({
    name: p + "server_follower_next_lag",
    help: "Entries the leader has not sent yet to a follower (leader's last index + 1 - next). Leader only.",
    labelNames: ["To"],
    registers: [],
  });
  new Gauge({
    name: p + "server_follower_match_lag",
    help: "Entries the leader has that a follower is not known to have (leader's last index - match). Leader only.",
    labelNames: ["To"],
    registers,
    collect() {
      this.reset();
      nextLag.reset();
      let st: Status;
      try {
        st = node.status();
      } catch {
        return; // not started yet
      }
      const prs = st.progress;
      if (prs === undefined) return;
      const last = prs.get(id)?.match ?? st.hardState.commit;
      for (const [to, pr] of prs) {
        if (to === id) continue;
        const To = to.toString(16);
        this.set({ To }, Math.max(0, last - pr.match));
        nextLag.set({ To }, Math.max(0, last + 1 - pr.next));
      }
    },
  });
  registry.registerMetric(nextLag);

  const rtt = new Histogram({
    name: p + "network_peer_round_trip_time_seconds",
    help: "Round-Trip-Time histogram between peers (heartbeat to answer).",
    labelNames: ["To"],
    buckets: [...PEER_RTT_BUCKETS],
    registers,
  });
  const sentFailures = new Counter({
    name: p + "network_peer_sent_failures_total",
    help: "The total number of send failures from peers.",
    labelNames: ["To"],
    registers,
  });
  // From the channel, not from stats(): RaftNode times its applies only while it has a subscriber.
  const slowApply = new Counter({
    name: p + "server_slow_apply_total",
    help: "The total number of slow apply requests (likely overloaded from slow disk).",
    registers,
  });
  const snapSendOk = new Counter({
    name: p + "network_snapshot_send_success",
    help: "Total number of successful snapshot sends.",
    labelNames: ["To"],
    registers,
  });
  const snapSendFail = new Counter({
    name: p + "network_snapshot_send_failures",
    help: "Total number of snapshot send failures.",
    labelNames: ["To"],
    registers,
  });

  subs.push(
    [
      PEER_RTT_CHANNEL,
      (m) => {
        const msg = m as PeerRttMessage;
        if (msg.node === id) rtt.observe({ To: msg.peer.toString(16) }, msg.seconds);
      },
    ],
    [
      SEND_FAILED_CHANNEL,
      (m) => {
        const msg = m as SendFailedMessage;
        if (msg.node === id) sentFailures.inc({ To: msg.peer.toString(16) }, msg.messages);
      },
    ],
    [
      SLOW_APPLY_CHANNEL,
      (m) => {
        if ((m as SlowApplyMessage).node === id) slowApply.inc();
      },
    ],
    [
      SNAPSHOT_SEND_CHANNEL,
      (m) => {
        const msg = m as SnapshotSendMessage;
        if (msg.node === id) (msg.ok ? snapSendOk : snapSendFail).inc({ To: msg.peer.toString(16) });
      },
    ],
  );
}
