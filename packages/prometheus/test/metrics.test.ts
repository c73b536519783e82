/**
 * bindMetrics over a stand-in node and hand-published channel messages: names and values,
 * filtering by node id and directory, and that close() leaves the channels without
 * subscribers (so the publishers go back to measuring nothing).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import type { BasicStatus, Status } from "@tsraft/raft";
import { PEER_RTT_CHANNEL, SEND_FAILED_CHANNEL, SLOW_APPLY_CHANNEL, SNAPSHOT_SEND_CHANNEL } from "@tsraft/node";
import type { NodeStats } from "@tsraft/node";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { EntryType } from "@tsraft/raftpb";
import { DiskStorage, SNAP_SAVE_CHANNEL, WAL_REPAIR_CHANNEL, WAL_SYNC_CHANNEL, WAL_WRITE_CHANNEL } from "@tsraft/wal";
import { bindMetrics } from "@tsraft/prometheus";

const stats: NodeStats = {
  writes: 0,
  readiesPersisted: 0,
  entriesApplied: 0,
  entriesRefused: 2,
  confChangesRefused: 1,
  snapshotsTaken: 0,
  snapshotsInstalled: 0,
  snapshotFailures: 0,
  leaderChanges: 3,
  proposalsFailed: 4,
  readIndexesFailed: 5,
  slowApplies: 6,
  proposalsPending: 7,
};
const basic: BasicStatus = {
  id: 1n,
  hardState: { term: 9, vote: 1n, commit: 100 },
  softState: { lead: 1n, raftState: "leader" },
  applied: 90,
  leadTransferee: 0n,
};
const status: Status = {
  ...basic,
  config: { voters: [1n, 2n, 0x1an], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  progress: new Map([
    [1n, { match: 100, next: 101, state: "replicate", paused: false, recentActive: true, isLearner: false }],
    [2n, { match: 97, next: 99, state: "replicate", paused: false, recentActive: true, isLearner: false }],
    [0x1an, { match: 10, next: 11, state: "probe", paused: true, recentActive: false, isLearner: false }],
  ]),
};
const node = { stats: () => stats, basicStatus: () => basic, status: () => status };

async function text(m: ReturnType<typeof bindMetrics>): Promise<string> {
  return m.registry.metrics();
}

test("counters and gauges read from the node when scraped, with etcd's names", async () => {
  const m = bindMetrics({ node: { node, id: 1n } });
  try {
    const t = await text(m);
    for (const line of [
      "tsraft_server_has_leader 1",
      "tsraft_server_is_leader 1",
      "tsraft_server_term 9",
      "tsraft_server_leader_changes_seen_total 3",
      "tsraft_server_proposals_committed_total 100",
      "tsraft_server_proposals_applied_total 90",
      "tsraft_server_proposals_pending 7",
      "tsraft_server_proposals_failed_total 4",
      "tsraft_server_read_indexes_failed_total 5",
      "tsraft_server_slow_apply_total 0", // from the channel, not from stats()
      'tsraft_server_follower_match_lag{To="2"} 3',
      'tsraft_server_follower_match_lag{To="1a"} 90',
      'tsraft_server_follower_next_lag{To="2"} 2',
      'tsraft_server_follower_next_lag{To="1a"} 90',
    ])
      assert.ok(t.split("\n").includes(line), `missing ${line}`);
    assert.doesNotMatch(t, /follower_match_lag\{To="1"\}/, "the leader itself is not a follower");
  } finally {
    m.close();
  }
});

test("channel messages: only this node's and this directory's are counted", async () => {
  const m = bindMetrics({ node: { node, id: 1n }, walDir: "/d/wal", snapDir: "/d/snap" });
  try {
    channel(WAL_SYNC_CHANNEL).publish({ dir: "/d/wal", seconds: 0.003 });
    channel(WAL_SYNC_CHANNEL).publish({ dir: "/other/wal", seconds: 0.5 });
    channel(WAL_WRITE_CHANNEL).publish({ dir: "/d/wal", bytes: 4096 });
    channel(WAL_WRITE_CHANNEL).publish({ dir: "/other/wal", bytes: 1 });
    channel(SNAP_SAVE_CHANNEL).publish({ dir: "/d/snap", seconds: 0.02, index: 5 });
    channel(PEER_RTT_CHANNEL).publish({ node: 1n, peer: 2n, seconds: 0.0003 });
    channel(PEER_RTT_CHANNEL).publish({ node: 2n, peer: 1n, seconds: 0.0003 });
    channel(SEND_FAILED_CHANNEL).publish({ node: 1n, peer: 0x1an, messages: 3 });
    channel(SNAPSHOT_SEND_CHANNEL).publish({ node: 1n, peer: 0x1an, ok: false });
    channel(SNAPSHOT_SEND_CHANNEL).publish({ node: 1n, peer: 2n, ok: true });
    channel(SLOW_APPLY_CHANNEL).publish({ node: 1n, seconds: 0.2, entries: 3 });
    channel(SLOW_APPLY_CHANNEL).publish({ node: 2n, seconds: 0.2, entries: 3 });
    const lines = (await text(m)).split("\n");
    for (const line of [
      'tsraft_disk_wal_fsync_duration_seconds_bucket{le="0.002"} 0',
      'tsraft_disk_wal_fsync_duration_seconds_bucket{le="0.004"} 1',
      "tsraft_disk_wal_fsync_duration_seconds_count 1",
      "tsraft_disk_wal_write_bytes_total 4096",
      "tsraft_snap_save_total_duration_seconds_count 1",
      'tsraft_network_peer_round_trip_time_seconds_bucket{le="0.0004",To="2"} 1',
      'tsraft_network_peer_round_trip_time_seconds_count{To="2"} 1',
      'tsraft_network_peer_sent_failures_total{To="1a"} 3',
      'tsraft_network_snapshot_send_failures{To="1a"} 1',
      'tsraft_network_snapshot_send_success{To="2"} 1',
      "tsraft_server_slow_apply_total 1",
    ])
      assert.ok(lines.includes(line), `missing ${line}`);
    assert.ok(!lines.some((l) => l.startsWith('tsraft_network_peer_round_trip_time_seconds_count{To="1"}')));
  } finally {
    m.close();
  }
});

test("close() unsubscribes: the channels have no subscribers left", () => {
  const names = [
    WAL_SYNC_CHANNEL,
    WAL_WRITE_CHANNEL,
    WAL_REPAIR_CHANNEL,
    SNAP_SAVE_CHANNEL,
    PEER_RTT_CHANNEL,
    SEND_FAILED_CHANNEL,
    SNAPSHOT_SEND_CHANNEL,
    SLOW_APPLY_CHANNEL,
  ];
  for (const n of names) assert.equal(channel(n).hasSubscribers, false, n);
  const m = bindMetrics({ node: { node, id: 1n } });
  for (const n of names) assert.equal(channel(n).hasSubscribers, true, n);
  m.close();
  for (const n of names) assert.equal(channel(n).hasSubscribers, false, n);
});

test("a node that is not started yet: no leader, no values, no exception", async () => {
  const fail = (): never => {
    throw new Error("raft node: not started");
  };
  const m = bindMetrics({ node: { node: { stats: () => stats, basicStatus: fail, status: fail }, id: 1n } });
  try {
    const t = await text(m);
    assert.ok(t.split("\n").includes("tsraft_server_has_leader 0"));
  } finally {
    m.close();
  }
});

/**
 * A WAL directory whose last save was torn by a crash: five synced saves of one entry, a crash
 * (`abandon`: no close, so no seal claims the tail), then bytes inside the last save's entry
 * zeroed, as a sector the disk never wrote. The next open cuts that save (a tail repair).
 */
async function tornWal(): Promise<{ dir: string; walDir: string }> {
  const dir = join(await mkdtemp(join(tmpdir(), "tsraft-prom-")), "node");
  const opts = { segmentSizeBytes: 1 << 16 };
  const s = await DiskStorage.open(dir, opts);
  const walDir = join(dir, "wal");
  const seg = join(walDir, (await readdir(walDir)).find((n) => n.endsWith(".wal"))!);
  let lastSaveAt = 0;
  for (let i = 1; i <= 5; i++) {
    const before = await readFile(seg);
    let end = before.length;
    while (end > 0 && before[end - 1] === 0) end--;
    lastSaveAt = Math.ceil(end / 8) * 8; // where save i starts
    await s.save({ term: 1, vote: 1n, commit: i - 1 }, [{ term: 1, index: i, type: EntryType.EntryNormal, data: new Uint8Array(300).fill(i) }]);
  }
  await s.abandon();
  const b = await readFile(seg);
  b.fill(0, lastSaveAt + 64, lastSaveAt + 128); // inside save 5's entry
  await writeFile(seg, b);
  return { dir, walDir };
}

test("a WAL tail repair at open counts in tsraft_disk_wal_tail_repairs_total (its directory's only)", async () => {
  const { dir, walDir } = await tornWal();
  const m = bindMetrics({ walDir });
  const other = bindMetrics({ walDir: "/elsewhere/wal" });
  try {
    assert.match(await text(m), /^tsraft_disk_wal_tail_repairs_total 0$/m, "registered before any repair");
    const s = await DiskStorage.open(dir, { segmentSizeBytes: 1 << 16 });
    assert.equal(s.lastIndex(), 4, "save 5 cut");
    assert.notEqual(s.repairedTail, undefined);
    await s.close();
    assert.match(await text(m), /^tsraft_disk_wal_tail_repairs_total 1$/m);
    assert.match(await text(other), /^tsraft_disk_wal_tail_repairs_total 0$/m, "another directory's repair is not counted");
    const again = await DiskStorage.open(dir, { segmentSizeBytes: 1 << 16 });
    await again.close();
    assert.match(await text(m), /^tsraft_disk_wal_tail_repairs_total 1$/m, "a clean open repairs nothing");
  } finally {
    m.close();
    other.close();
    await rm(dirname(dir), { recursive: true, force: true });
  }
});
