import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bindable } from "@tsraft/test-helpers/ports";
import {
  ConfigError,
  DEFAULT_CLUSTER_TOKEN,
  computeClusterId,
  decodeDataIdentity,
  ephemeralPortLow,
  freePorts,
  encodeDataIdentity,
  formatCluster,
  formatClusterId,
  parseCluster,
  parseClusterId,
  parseConfig,
  writeOutcome,
} from "@tsraft/example-kv";

/** A way to authenticate peers, for the tests that are about something else. */
const AUTH = ["--peer-secret-file", "secret"];

describe("config", () => {
  test("defaults form a local 3-member cluster", () => {
    const c = parseConfig([...AUTH], {});
    assert.equal(c.id, 1n);
    assert.equal(c.cluster.size, 3);
    assert.equal(c.raftAddr, "127.0.0.1:12001");
    assert.equal(c.httpAddr, "127.0.0.1:11001");
    assert.equal(c.join, false);
    assert.equal(c.tickMs, 100);
    assert.match(c.dataDir, /tsraft-kv[/\\]node-1$/);
    assert.equal(c.clusterToken, DEFAULT_CLUSTER_TOKEN);
    assert.equal(c.clusterId, undefined);
  });

  test("flags win over the environment, which wins over defaults", () => {
    const c = parseConfig(["--id", "2", "--tick-ms=50", "--fault-injection", ...AUTH], { KV_ID: "3", KV_TICK_MS: "20", KV_SNAPSHOT_ENTRIES: "7" });
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
    { name: "--quota-bytes 0", argv: ["--quota-bytes", "0", ...AUTH], msg: /--quota-bytes/ },
    { name: "--client-cert without --client-key", argv: ["--client-cert", "c.pem"], msg: /go together/ },
    { name: "--client-ca alone", argv: ["--client-ca", "ca.pem"], msg: /go together/ },
  ];
  bad.push(
    {
      name: "no way to authenticate peers",
      argv: [],
      msg: /the raft port needs authentication: give --peer-cert, --peer-key and --peer-ca \(mutual TLS\), or --peer-secret-file \(a shared secret\), or --insecure-peers/,
    },
    { name: "TLS and a secret", argv: ["--peer-cert", "c", "--peer-key", "k", "--peer-ca", "ca", "--peer-secret-file", "s"], msg: /choose one way/ },
    { name: "a secret and --insecure-peers", argv: ["--peer-secret-file", "s", "--insecure-peers"], msg: /choose one way/ },
    { name: "--insecure-peers false alone", argv: ["--insecure-peers=false"], msg: /needs authentication/ },
    { name: "--peer-cert without --peer-ca", argv: ["--peer-cert", "c", "--peer-key", "k"], msg: /--peer-cert, --peer-key and --peer-ca go together/ },
    { name: "--peer-ca alone", argv: ["--peer-ca", "ca"], msg: /go together/ },
    { name: "--cluster-id without --join", argv: ["--cluster-id", "0123456789abcdef", ...AUTH], msg: /--cluster-id goes with --join/ },
    {
      name: "a --cluster-id that is not hex",
      argv: ["--id", "4", "--join", "--raft-addr", "h:1", "--http-addr", "h:2", "--cluster-id", "xyz", ...AUTH],
      msg: /--cluster-id: want up to 16 hex digits/,
    },
    {
      name: "a --cluster-id of 17 digits",
      argv: ["--id", "4", "--join", "--raft-addr", "h:1", "--http-addr", "h:2", "--cluster-id", "1".repeat(17), ...AUTH],
      msg: /--cluster-id/,
    },
    { name: "a --cluster-token with a space", argv: ["--cluster-token", "my cluster", ...AUTH], msg: /--cluster-token/ },
  );
  for (const b of bad) {
    test(`rejects: ${b.name}`, () => {
      assert.throws(
        () => parseConfig(b.argv, {}),
        (e: unknown) => e instanceof ConfigError && b.msg.test(e.message),
      );
    });
  }

  test("the raft port's authentication: one of mutual TLS, a secret file, or --insecure-peers; flags or environment", () => {
    assert.deepEqual(parseConfig(["--peer-cert", "m.crt", "--peer-key", "m.key", "--peer-ca", "ca.crt"], {}).peerAuth, {
      mode: "tls",
      certFile: "m.crt",
      keyFile: "m.key",
      caFile: "ca.crt",
    });
    assert.deepEqual(parseConfig([], { KV_PEER_CERT: "m.crt", KV_PEER_KEY: "m.key", KV_PEER_CA: "ca.crt" }).peerAuth, {
      mode: "tls",
      certFile: "m.crt",
      keyFile: "m.key",
      caFile: "ca.crt",
    });
    assert.deepEqual(parseConfig(["--peer-secret-file", "s"], {}).peerAuth, { mode: "hmac", secretFile: "s" });
    assert.deepEqual(parseConfig([], { KV_PEER_SECRET_FILE: "s" }).peerAuth, { mode: "hmac", secretFile: "s" });
    assert.deepEqual(parseConfig(["--insecure-peers"], {}).peerAuth, { mode: "none" });
    assert.deepEqual(parseConfig([], { KV_INSECURE_PEERS: "true" }).peerAuth, { mode: "none" });
  });

  test("a joining member takes the cluster id from --cluster-id or KV_CLUSTER_ID; the token from --cluster-token", () => {
    const join = ["--id", "4", "--join", "--raft-addr", "h:1", "--http-addr", "h:2", ...AUTH];
    assert.equal(parseConfig([...join, "--cluster-id", "00c0ffee12345678"], {}).clusterId, 0x00c0ffee12345678n);
    assert.equal(parseConfig(join, { KV_CLUSTER_ID: "FFFFFFFFFFFFFFFF" }).clusterId, 0xffffffffffffffffn);
    assert.equal(parseConfig(join, {}).clusterId, undefined, "checked at start, where it is known whether the data directory is new");
    assert.equal(parseConfig([...AUTH, "--cluster-token", "prod-eu-1"], {}).clusterToken, "prod-eu-1");
  });

  test("quota, log cache and HTTPS flags", () => {
    const d = parseConfig([...AUTH], {});
    assert.equal(d.quotaBytes, 256 * 1024 * 1024);
    assert.ok(d.walCacheBytes > 256 * 1024 * 1024);
    assert.equal(d.walInlineWrites, false);
    assert.equal(parseConfig([...AUTH, "--wal-inline-writes", "true"], {}).walInlineWrites, true);
    assert.equal(parseConfig([...AUTH], { KV_WAL_INLINE_WRITES: "1" }).walInlineWrites, true);
    assert.throws(() => parseConfig([...AUTH], { KV_WAL_INLINE_WRITES: "sometimes" }), /--wal-inline-writes: want true or false/);
    assert.equal(d.clientTls, undefined);
    const c = parseConfig(
      ["--quota-bytes", "1000", "--wal-cache-bytes", "2000000", "--client-cert", "c.pem", "--client-key", "k.pem", "--client-ca", "ca.pem", ...AUTH],
      {},
    );
    assert.equal(c.quotaBytes, 1000);
    assert.equal(c.walCacheBytes, 2_000_000);
    assert.deepEqual(c.clientTls, { certFile: "c.pem", keyFile: "k.pem", caFile: "ca.pem" });
    assert.equal(parseConfig(["--id", "18446744073709551615", "--join", "--raft-addr", "h:1", "--http-addr", "h:2", ...AUTH], {}).id, 0xffffffffffffffffn);
  });

  test("a joining member takes its addresses from flags", () => {
    const c = parseConfig(["--id", "4", "--join", "--raft-addr", "127.0.0.1:9", "--http-addr", "127.0.0.1:10", ...AUTH], {});
    assert.equal(c.join, true);
    assert.equal(c.raftAddr, "127.0.0.1:9");
  });

  test("cluster strings round-trip", () => {
    const s = "1=127.0.0.1:1/127.0.0.1:2,7=h:3/h:4";
    assert.equal(formatCluster(parseCluster(s)), s);
  });
});

describe("cluster id and data identity", () => {
  const members = parseCluster("1=127.0.0.1:12001/127.0.0.1:11001,2=127.0.0.1:12002/127.0.0.1:11002,3=127.0.0.1:12003/127.0.0.1:11003");

  test("computed from the token and the initial members' ids and raft addresses, in any order", () => {
    const id = computeClusterId("t", members);
    assert.equal(computeClusterId("t", new Map([...members].reverse())), id, "the order of --cluster does not matter");
    assert.equal(computeClusterId("t", parseCluster("1=127.0.0.1:12001/h:1,2=127.0.0.1:12002/h:2,3=127.0.0.1:12003/h:3")), id, "HTTP addresses do not count");
    const others = [
      computeClusterId("u", members),
      computeClusterId("t", parseCluster("1=127.0.0.1:12001/h:1,2=127.0.0.1:12002/h:2")),
      computeClusterId("t", parseCluster("1=127.0.0.1:12001/h:1,2=127.0.0.1:12002/h:2,4=127.0.0.1:12003/h:3")),
      computeClusterId("t", parseCluster("1=127.0.0.1:12001/h:1,2=127.0.0.1:12002/h:2,3=127.0.0.1:12004/h:3")),
    ];
    assert.equal(new Set([id, ...others]).size, 5, "another token, member set, id or raft address: another cluster id");
    assert.match(formatClusterId(id), /^[0-9a-f]{16}$/);
    assert.equal(parseClusterId(formatClusterId(id)), id);
    assert.equal(formatClusterId(0x1234n), "0000000000001234");
  });

  test("kept in the WAL metadata as etcd's Metadata {NodeID = 1, ClusterID = 2}; decoding is strict", () => {
    assert.deepEqual(encodeDataIdentity({ memberId: 1n, clusterId: 0x1234n }), Uint8Array.from([0x08, 0x01, 0x10, 0xb4, 0x24]));
    for (const identity of [
      { memberId: 1n, clusterId: 0n },
      { memberId: 0xffffffffffffffffn, clusterId: 0xffffffffffffffffn },
      { memberId: 7n, clusterId: computeClusterId("t", members) },
    ]) {
      assert.deepEqual(decodeDataIdentity(encodeDataIdentity(identity)), identity);
    }
    const bad: [string, number[]][] = [
      ["empty", []],
      ["no cluster id", [0x08, 0x01]],
      ["no member id", [0x10, 0x01]],
      ["a field twice", [0x08, 0x01, 0x08, 0x02, 0x10, 0x01]],
      ["another field", [0x08, 0x01, 0x10, 0x01, 0x18, 0x01]],
      ["a length-delimited field", [0x0a, 0x01, 0x01, 0x10, 0x01]],
      ["a cut varint", [0x08, 0x01, 0x10, 0x80]],
      ["a varint over 64 bits", [0x08, 0x01, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]],
      ["a varint of 11 bytes", [0x08, 0x01, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
      ["text", [...Buffer.from("node 1")]],
    ];
    for (const [name, bytes] of bad) assert.equal(decodeDataIdentity(Uint8Array.from(bytes)), undefined, name);
  });
});

describe("freePorts", () => {
  test("distinct ports below the kernel's ephemeral range (where no outbound connection can take one before the member binds it), each bindable", async () => {
    const low = ephemeralPortLow();
    for (let round = 0; round < 5; round++) {
      const ports = await freePorts(6);
      assert.equal(new Set(ports).size, 6, `distinct: ${ports}`);
      for (const p of ports) {
        assert.ok(p >= 1024 && p < low, `port ${p} not below the ephemeral range (${low})`);
        assert.ok(await bindable([p]), `port ${p} bindable`);
      }
    }
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
