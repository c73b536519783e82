import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, formatCluster, parseCluster, parseConfig, writeOutcome } from "@tsraft/example-kv";

describe("config", () => {
  test("defaults form a local 3-member cluster", () => {
    const c = parseConfig([], {});
    assert.equal(c.id, 1n);
    assert.equal(c.cluster.size, 3);
    assert.equal(c.raftAddr, "127.0.0.1:12001");
    assert.equal(c.httpAddr, "127.0.0.1:11001");
    assert.equal(c.join, false);
    assert.equal(c.tickMs, 100);
    assert.match(c.dataDir, /tsraft-kv[/\\]node-1$/);
  });

  test("flags win over the environment, which wins over defaults", () => {
    const c = parseConfig(["--id", "2", "--tick-ms=50", "--fault-injection"], { KV_ID: "3", KV_TICK_MS: "20", KV_SNAPSHOT_ENTRIES: "7" });
    assert.equal(c.id, 2n);
    assert.equal(c.tickMs, 50);
    assert.equal(c.snapshotEntries, 7);
    assert.equal(c.faultInjection, true);
    assert.equal(c.raftAddr, "127.0.0.1:12002");
  });

  const bad: { name: string; argv: string[]; msg: RegExp }[] = [
    { name: "unknown flag", argv: ["--nope", "1"], msg: /unknown flag --nope/ },
    { name: "id 0", argv: ["--id", "0"], msg: /--id/ },
    { name: "member not in the cluster without --join", argv: ["--id", "9"], msg: /not in --cluster/ },
    { name: "joining member without addresses", argv: ["--id", "9", "--join"], msg: /--raft-addr/ },
    { name: "election ticks not above heartbeat", argv: ["--election-ticks", "1"], msg: /election-ticks/ },
    { name: "bad cluster", argv: ["--cluster", "1=localhost"], msg: /cannot parse/ },
    { name: "missing value", argv: ["--tick-ms"], msg: /needs a value/ },
    { name: "a port over 65535 in the cluster", argv: ["--cluster", "1=h:99999/h:1"], msg: /cannot parse/ },
    { name: "a port of 0 in the cluster", argv: ["--cluster", "1=h:0/h:1"], msg: /cannot parse/ },
    { name: "a member id of 2^64", argv: ["--cluster", "18446744073709551616=h:1/h:2"], msg: /ids must be in/ },
    { name: "--id 2^64", argv: ["--id", "18446744073709551616", "--join", "--raft-addr", "h:1", "--http-addr", "h:2"], msg: /--id/ },
    { name: "a bad --raft-addr", argv: ["--id", "4", "--join", "--raft-addr", "h:1e3", "--http-addr", "h:2"], msg: /bad address/ },
    { name: "--quota-bytes 0", argv: ["--quota-bytes", "0"], msg: /--quota-bytes/ },
    { name: "--client-cert without --client-key", argv: ["--client-cert", "c.pem"], msg: /go together/ },
    { name: "--client-ca alone", argv: ["--client-ca", "ca.pem"], msg: /go together/ },
  ];
  for (const b of bad) {
    test(`rejects: ${b.name}`, () => {
      assert.throws(() => parseConfig(b.argv, {}), (e: unknown) => e instanceof ConfigError && b.msg.test(e.message));
    });
  }

  test("quota, log cache and HTTPS flags", () => {
    const d = parseConfig([], {});
    assert.equal(d.quotaBytes, 256 * 1024 * 1024);
    assert.ok(d.walCacheBytes > 256 * 1024 * 1024);
    assert.equal(d.clientTls, undefined);
    const c = parseConfig(["--quota-bytes", "1000", "--wal-cache-bytes", "2000000", "--client-cert", "c.pem", "--client-key", "k.pem", "--client-ca", "ca.pem"], {});
    assert.equal(c.quotaBytes, 1000);
    assert.equal(c.walCacheBytes, 2_000_000);
    assert.deepEqual(c.clientTls, { certFile: "c.pem", keyFile: "k.pem", caFile: "ca.pem" });
    assert.equal(parseConfig(["--id", "18446744073709551615", "--join", "--raft-addr", "h:1", "--http-addr", "h:2"], {}).id, 0xffffffffffffffffn);
  });

  test("a joining member takes its addresses from flags", () => {
    const c = parseConfig(["--id", "4", "--join", "--raft-addr", "127.0.0.1:9", "--http-addr", "127.0.0.1:10"], {});
    assert.equal(c.join, true);
    assert.equal(c.raftAddr, "127.0.0.1:9");
  });

  test("cluster strings round-trip", () => {
    const s = "1=127.0.0.1:1/127.0.0.1:2,7=h:3/h:4";
    assert.equal(formatCluster(parseCluster(s)), s);
  });
});

describe("client outcomes", () => {
  const cases: { name: string; status: number; body: Record<string, unknown>; error?: string; want: string }[] = [
    { name: "200 applied", status: 200, body: {}, want: "ok" },
    { name: "412 compare failed (applied, as a no-op)", status: 412, body: {}, want: "ok" },
    { name: "503 no leader: not submitted", status: 503, body: { outcome: "not_applied" }, want: "not_applied" },
    { name: "504 timeout: unknown", status: 504, body: { outcome: "unknown" }, want: "unknown" },
    { name: "503 stopping while pending: unknown", status: 503, body: { outcome: "unknown" }, want: "unknown" },
    { name: "connection refused: never sent", status: 0, body: {}, error: "ECONNREFUSED", want: "not_applied" },
    { name: "client timeout: unknown", status: 0, body: {}, error: "TIMEOUT", want: "unknown" },
    { name: "connection reset: unknown", status: 0, body: {}, error: "ECONNRESET", want: "unknown" },
    { name: "400 bad request", status: 400, body: {}, want: "not_applied" },
    { name: "421 not_leader: not submitted", status: 421, body: { outcome: "not_applied" }, want: "not_applied" },
    { name: "507 no_space: refused", status: 507, body: { outcome: "not_applied" }, want: "not_applied" },
    { name: "500 internal on a write: unknown", status: 500, body: { outcome: "unknown" }, want: "unknown" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(writeOutcome({ status: c.status, body: c.body, ...(c.error === undefined ? {} : { error: c.error }) }), c.want);
    });
  }
});
