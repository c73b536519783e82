/**
 * GET /metrics of a live 3-member cluster (in this process): Prometheus text that a strict
 * parser accepts, with etcd's metric names (prefix `tsraft_`), peer ids only as labels, and
 * values that match what the cluster did. Three members share the process, so this also
 * checks that each member's metrics are its own (channels filtered by node id and directory).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { InProcCluster } from "./helpers/inproc.js";
import { parsePrometheusText, sampleValue } from "./helpers/prom-text.js";
import type { Family } from "./helpers/prom-text.js";

function get(addr: string, path: string): Promise<{ status: number; type: string; text: string }> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const req = request({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), method: "GET", path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("GET /metrics", () => {
  let c: InProcCluster;
  let lead: bigint;
  before(async () => {
    c = await InProcCluster.create(3);
    await c.startAll();
    lead = await c.waitForLeader();
    for (let i = 0; i < 20; i++) assert.equal((await c.req(lead, "PUT", `/kv/k${i}`, { value: `v${i}` })).status, 200);
    // Heartbeats go out every tick (50 ms): wait for a few round trips.
    await new Promise((r) => setTimeout(r, 300));
  });
  after(async () => {
    await c.cleanup();
    assert.deepEqual(c.fatalErrors(), []);
  });

  const scrape = async (id: bigint): Promise<Map<string, Family>> => {
    const r = await get(c.member(id).addr.http, "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(r.text);
  };

  test("the leader's: etcd's names, types, and values that match the cluster", async () => {
    const f = await scrape(lead);
    const types: Record<string, Family["type"]> = {
      tsraft_server_has_leader: "gauge",
      tsraft_server_is_leader: "gauge",
      tsraft_server_leader_changes_seen_total: "counter",
      tsraft_server_proposals_committed_total: "gauge",
      tsraft_server_proposals_applied_total: "gauge",
      tsraft_server_proposals_pending: "gauge",
      tsraft_server_proposals_failed_total: "counter",
      tsraft_server_read_indexes_failed_total: "counter",
      tsraft_server_slow_apply_total: "counter",
      tsraft_disk_wal_fsync_duration_seconds: "histogram",
      tsraft_disk_wal_write_bytes_total: "counter",
      tsraft_snap_save_total_duration_seconds: "histogram",
      tsraft_network_peer_round_trip_time_seconds: "histogram",
      tsraft_network_peer_sent_failures_total: "counter",
      tsraft_network_snapshot_send_success: "counter",
      tsraft_network_snapshot_send_failures: "counter",
      tsraft_server_follower_match_lag: "gauge",
      tsraft_server_follower_next_lag: "gauge",
    };
    for (const [name, type] of Object.entries(types)) assert.equal(f.get(name)?.type, type, name);
    assert.equal(sampleValue(f, "tsraft_server_has_leader"), 1);
    assert.equal(sampleValue(f, "tsraft_server_is_leader"), 1);
    assert.ok(sampleValue(f, "tsraft_server_leader_changes_seen_total")! >= 1);
    assert.ok(sampleValue(f, "tsraft_server_proposals_committed_total")! >= 20);
    assert.ok(sampleValue(f, "tsraft_server_proposals_applied_total")! >= 20);
    assert.equal(sampleValue(f, "tsraft_server_proposals_failed_total"), 0);
    assert.ok(sampleValue(f, "tsraft_disk_wal_fsync_duration_seconds_count")! >= 1);
    assert.ok(sampleValue(f, "tsraft_disk_wal_write_bytes_total")! > 0);
    // etcd's fsync buckets: 1 ms doubling to 8.192 s.
    const les = f
      .get("tsraft_disk_wal_fsync_duration_seconds")!
      .samples.filter((s) => s.name.endsWith("_bucket"))
      .map((s) => s.labels["le"]);
    assert.deepEqual(les, [
      "0.001",
      "0.002",
      "0.004",
      "0.008",
      "0.016",
      "0.032",
      "0.064",
      "0.128",
      "0.256",
      "0.512",
      "1.024",
      "2.048",
      "4.096",
      "8.192",
      "+Inf",
    ]);
    // Peers only as labels (hex ids, as etcd's), never in names; one series per follower.
    for (const peer of [...c.members.keys()].filter((id) => id !== lead)) {
      const To = peer.toString(16);
      assert.ok(sampleValue(f, "tsraft_network_peer_round_trip_time_seconds_count", { To })! >= 1, `rtt to ${To}`);
      assert.equal(sampleValue(f, "tsraft_server_follower_match_lag", { To }), 0, `match lag of ${To}`);
      assert.equal(sampleValue(f, "tsraft_server_follower_next_lag", { To }), 0, `next lag of ${To}`);
    }
    for (const name of f.keys()) assert.doesNotMatch(name, /_[0-9a-f]{1,16}_|node_?\d/, name);
  });

  test("a follower's: has a leader, is not it, has no follower series", async () => {
    const follower = [...c.members.keys()].find((id) => id !== lead)!;
    const f = await scrape(follower);
    assert.equal(sampleValue(f, "tsraft_server_has_leader"), 1);
    assert.equal(sampleValue(f, "tsraft_server_is_leader"), 0);
    assert.equal(f.get("tsraft_server_follower_match_lag")!.samples.length, 0);
    assert.equal(f.get("tsraft_network_peer_round_trip_time_seconds")!.samples.length, 0, "a follower sends no heartbeats");
    assert.ok(sampleValue(f, "tsraft_server_proposals_applied_total")! >= 20);
  });

  test("a failed proposal is counted", async () => {
    const follower = [...c.members.keys()].find((id) => id !== lead)!;
    const node = c.server(follower).node;
    const before = node.stats().proposalsFailed;
    await c.stop(lead);
    // The follower's proposals fail (no leader, or time out): each one counted.
    await node.propose(new Uint8Array([1])).catch(() => undefined);
    assert.equal(node.stats().proposalsFailed, before + 1);
    const f = await scrape(follower);
    assert.equal(sampleValue(f, "tsraft_server_proposals_failed_total"), before + 1);
  });
});
