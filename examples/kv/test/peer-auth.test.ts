/**
 * The raft port's authentication and the cluster id, in-process: credentials are checked at
 * start, before the data directory is touched; a data directory records its member and
 * cluster ids and is refused to another member; a member whose data directory belongs to
 * another cluster is refused at the hello by its peers (and refuses theirs), and the cluster
 * it reached is untouched; the transport's spooled snapshots live in the data directory.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, INCOMING_SNAPSHOT_DIR, KvServer, freePorts, lineLogger, loadPeerAuth, parseConfig } from "@tsraft/example-kv";
import { makeCerts } from "@tsraft/test-helpers/certs";
import type { TestCerts } from "@tsraft/test-helpers/certs";
import { DiskStorage } from "@tsraft/wal";
import { InProcCluster } from "./helpers/inproc.js";

const quiet = lineLogger(1n, "error", () => {});

describe("the raft port's credentials are checked at start", { timeout: 60_000 }, () => {
  let dir: string;
  let certs: TestCerts;
  let rogue: TestCerts;
  let ports: number[];
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "tsraft-kv-peer-auth-"));
    certs = makeCerts("kv-peer-auth");
    rogue = makeCerts("kv-peer-auth-rogue");
    ports = await freePorts(2);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    certs?.remove();
    rogue?.remove();
  });

  const start = (auth: string[], dataDir = join(dir, "data")): Promise<KvServer> =>
    KvServer.start(parseConfig(["--id", "1", "--cluster", `1=127.0.0.1:${ports[0]}/127.0.0.1:${ports[1]}`, "--data-dir", dataDir, ...auth], {}), quiet);
  const tls = (cert: string, key: string, ca: string): string[] => ["--peer-cert", cert, "--peer-key", key, "--peer-ca", ca];

  test("refused with a message naming the flag: unreadable files, another member's certificate, a key that is not the certificate's, another CA, a short secret", async () => {
    const m1 = certs.member(1n);
    const m2 = certs.member(2n);
    const client = certs.client("app");
    const foreign = rogue.member(1n);
    writeFileSync(join(dir, "short"), "0123456789abcde\n"); // 15 bytes and a newline
    writeFileSync(join(dir, "empty.pem"), "");
    const cases: [string, string[], RegExp][] = [
      ["an unreadable certificate", tls(join(dir, "nope.crt"), m1.keyPath, certs.ca.certPath), /^--peer-cert: cannot read .*nope\.crt/],
      ["an unreadable key", tls(m1.certPath, join(dir, "nope.key"), certs.ca.certPath), /^--peer-key: cannot read/],
      ["an unreadable CA", tls(m1.certPath, m1.keyPath, join(dir, "nope.ca")), /^--peer-ca: cannot read/],
      ["an empty certificate file", tls(join(dir, "empty.pem"), m1.keyPath, certs.ca.certPath), /^--peer-cert: .*holds no PEM certificate/],
      [
        "another member's certificate",
        tls(m2.certPath, m2.keyPath, certs.ca.certPath),
        /^--peer-cert: .* does not name this member \(--id 1\): want the URI subjectAltName urn:tsraft:member:1; it names member 2$/,
      ],
      ["a client certificate", tls(client.certPath, client.keyPath, certs.ca.certPath), /does not name this member .*it names no member/],
      ["the key of another certificate", tls(m1.certPath, m2.keyPath, certs.ca.certPath), /^--peer-key: .* is not the key of --peer-cert/],
      ["a certificate of another CA", tls(foreign.certPath, foreign.keyPath, certs.ca.certPath), /^--peer-cert: .* is not signed by --peer-ca/],
      ["a key file that is no key", tls(m1.certPath, m1.certPath, certs.ca.certPath), /^--peer-key: .*not an unencrypted PEM private key/],
      ["an unreadable secret file", ["--peer-secret-file", join(dir, "nope")], /^--peer-secret-file: cannot read/],
      ["a secret of 15 bytes", ["--peer-secret-file", join(dir, "short")], /^--peer-secret-file: .* holds 15 bytes; the secret must have at least 16/],
    ];
    for (const [name, auth, msg] of cases) {
      const dataDir = join(dir, `data-${name.replace(/\W+/g, "-")}`);
      await assert.rejects(start(auth, dataDir), (e: unknown) => e instanceof ConfigError && msg.test(e.message), name);
      assert.equal(existsSync(dataDir), false, `${name}: the data directory was not touched`);
    }
    // And the same files, right, start.
    const s = await start(tls(m1.certPath, m1.keyPath, certs.ca.certPath));
    assert.equal(s.transport.authMode, "tls");
    await s.stop();
  });

  test("the README's certificate commands, run as written, make certificates a member starts with", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Certificates for the raft port"));
    const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
    const out = join(dir, "readme-certs");
    mkdirSync(out);
    execFileSync("bash", ["-e", "-c", block], { cwd: out, stdio: ["ignore", "ignore", "pipe"] });
    for (const id of [2n, 3n]) {
      const auth = await loadPeerAuth(id, {
        mode: "tls",
        certFile: join(out, `member-${id}.crt`),
        keyFile: join(out, `member-${id}.key`),
        caFile: join(out, "ca.crt"),
      });
      assert.equal(auth.mode, "tls");
    }
    const s = await start(tls(join(out, "member-1.crt"), join(out, "member-1.key"), join(out, "ca.crt")), join(dir, "data-readme"));
    assert.equal(s.transport.authMode, "tls");
    await s.stop();
  });

  test("a secret file's trailing line break is not part of the secret", async () => {
    const secret = randomBytes(16).toString("hex");
    writeFileSync(join(dir, "a"), secret);
    writeFileSync(join(dir, "b"), `${secret}\r\n`);
    const a = await loadPeerAuth(1n, { mode: "hmac", secretFile: join(dir, "a") });
    const b = await loadPeerAuth(1n, { mode: "hmac", secretFile: join(dir, "b") });
    assert.deepEqual(a, { mode: "hmac", secret: Buffer.from(secret) });
    assert.deepEqual(b, a);
  });
});

describe("a data directory records its member and cluster", { timeout: 60_000 }, () => {
  let c: InProcCluster;
  before(async () => {
    c = await InProcCluster.create(1);
  });
  after(async () => {
    await c?.cleanup();
  });

  test("written at creation (etcd's WAL metadata), read back on restart; refused to another member, to another --cluster-id; --join into an empty one needs --cluster-id", async () => {
    const s = await c.start(1n);
    await c.waitForLeader();
    const clusterId = s.clusterId;
    assert.match(clusterId, /^[0-9a-f]{16}$/);
    assert.equal((await c.req(1n, "GET", "/status")).body["clusterId"], clusterId);
    assert.equal((await c.req(1n, "PUT", "/kv/x", { value: "1" })).status, 200);
    // A member joins: it takes the id from --cluster-id and keeps it.
    await c.addSlot(2n);
    const add = await c.req(1n, "POST", "/members", { id: "2", raftAddr: c.member(2n).addr.raft, httpAddr: c.member(2n).addr.http });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    const noId = c.config(2n, { join: true });
    delete noId.clusterId;
    await assert.rejects(
      KvServer.start(noId, quiet),
      (e: unknown) => e instanceof ConfigError && /--join with an empty data directory .* needs --cluster-id/.test(e.message),
    );
    await c.start(2n, { join: true });
    await c.until("member 2 to apply x", 10_000, () => c.server(2n).sm.get("x") === "1");
    assert.equal(c.server(2n).clusterId, clusterId);
    await c.stop(2n);
    // On restart the id comes from the data directory: no --cluster-id needed.
    const restart = c.config(2n, { join: true });
    delete restart.clusterId;
    c.member(2n).server = await KvServer.start(restart, quiet);
    assert.equal(c.server(2n).clusterId, clusterId);
    await c.stop(2n);
    // What the WAL metadata holds.
    const st = await DiskStorage.open(c.member(2n).dataDir);
    assert.deepEqual(st.metadata(), Uint8Array.from([0x08, 0x02, 0x10, ...varint(BigInt(`0x${clusterId}`))]));
    await st.close();
    // Refused: another --cluster-id; another member's data directory.
    await assert.rejects(
      c.start(2n, { join: true, extraArgs: ["--cluster-id", "0123456789abcdef"] }),
      (e: unknown) => e instanceof ConfigError && e.message.includes(`belongs to cluster ${clusterId}, not to --cluster-id 0123456789abcdef`),
    );
    c.member(2n).server = undefined;
    await c.addSlot(3n);
    await assert.rejects(
      c.start(3n, { join: true, extraArgs: ["--data-dir", c.member(2n).dataDir] }),
      (e: unknown) => e instanceof ConfigError && /belongs to member 2, not to --id 3/.test(e.message),
    );
    c.member(3n).server = undefined;
    assert.deepEqual(c.fatalErrors(), []);
  });

  test("a data directory of an earlier version (no metadata) is refused", async () => {
    const dataDir = join(c.baseDir, "old");
    const st = await DiskStorage.open(dataDir);
    await st.close();
    const cfg = { ...c.config(1n), dataDir };
    await assert.rejects(
      KvServer.start(cfg, quiet),
      (e: unknown) => e instanceof ConfigError && /holds no member and cluster id .* earlier version/.test(e.message),
    );
  });

  test("snapshots being received are spooled in the data directory: what a killed member left is removed at its next start", async () => {
    await c.stop(1n);
    const spool = join(c.member(1n).dataDir, INCOMING_SNAPSHOT_DIR);
    mkdirSync(spool, { recursive: true });
    const left = join(spool, "tsraft-snap-2-0123456789abcdef.part");
    writeFileSync(left, randomBytes(1024));
    await c.start(1n);
    assert.equal(existsSync(left), false, "the partial file is gone");
    assert.equal(existsSync(spool), true);
  });
});

function varint(v: bigint): number[] {
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

describe("a member whose data directory belongs to another cluster", { timeout: 90_000 }, () => {
  let a: InProcCluster;
  let b: InProcCluster;
  let dir: string;
  before(async () => {
    // Two clusters on the same loopback addresses, one after the other, with the same member
    // ids and the same secret: only their tokens differ, so only the cluster id tells them apart.
    dir = mkdtempSync(join(tmpdir(), "tsraft-kv-two-clusters-"));
    const secret = join(dir, "secret");
    writeFileSync(secret, randomBytes(32).toString("hex"));
    a = await InProcCluster.create(3, ["--peer-secret-file", secret, "--cluster-token", "cluster-a"]);
    b = await InProcCluster.create(3, ["--peer-secret-file", secret, "--cluster-token", "cluster-b"], a.addrs());
  });
  after(async () => {
    await a?.cleanup();
    await b?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test("is refused at the hello by its peers, and refuses theirs; counted; the cluster it reached is untouched", async () => {
    // Cluster B runs first: a longer log than A's will be, at its own terms.
    await b.startAll();
    await b.waitForLeader();
    const clusterB = b.clusterId();
    for (let i = 0; i < 40; i++) assert.equal((await b.req(1n, "PUT", `/kv/b${i}`, { value: `B${i}` })).status, 200);
    await b.until("B's member 2 to apply b39", 10_000, () => b.server(2n).sm.get("b39") === "B39");
    const bLast = b.server(2n).storage.lastIndex();
    for (const id of [1n, 2n, 3n]) await b.stop(id);
    // Then cluster A, on the same addresses; its member 2 stops.
    await a.startAll();
    await a.waitForLeader();
    const clusterA = a.clusterId();
    assert.notEqual(clusterA, clusterB);
    for (let i = 0; i < 5; i++) assert.equal((await a.req(1n, "PUT", `/kv/a${i}`, { value: `A${i}` })).status, 200);
    await a.until("A's member 2 to apply a4", 10_000, () => a.server(2n).sm.get("a4") === "A4");
    await a.stop(2n);
    const leaderA = await a.waitForLeader();
    const termA = a.server(leaderA).node.status().hardState.term;
    // Member 2 of B, started on its own data directory with A's flags.
    const impostor = await a.start(2n, { extraArgs: ["--data-dir", b.member(2n).dataDir] });
    assert.equal(impostor.clusterId, clusterB, "the cluster id comes from the data directory, not from the flags");
    assert.equal(impostor.storage.lastIndex(), bLast);
    const refusals = (s: KvServer): number => s.transport.stats().refusedWrongCluster;
    await a.until(
      "A's members and the impostor to refuse each other",
      10_000,
      () => refusals(a.server(1n)) > 0 && refusals(a.server(3n)) > 0 && refusals(impostor) > 0,
    );
    // A goes on with two members, undisturbed, for several election timeouts (10 ticks of 50 ms).
    for (let i = 5; i < 25; i++) {
      assert.equal((await a.req(i % 2 === 0 ? 1n : 3n, "PUT", `/kv/a${i}`, { value: `A${i}` })).status, 200);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(a.server(leaderA).node.leader(), leaderA, "A's leader did not change");
    assert.equal(a.server(leaderA).node.status().hardState.term, termA, "A's term did not move");
    for (const id of [1n, 3n]) {
      const keys = a
        .server(id)
        .sm.range("", undefined, 1000)
        .kvs.map((kv) => kv.key)
        .sort();
      assert.deepEqual(keys, Array.from({ length: 25 }, (_, i) => `a${i}`).sort(), `member ${id} of A holds A's keys only`);
    }
    assert.equal(impostor.transport.stats().received, 0, "no message of A reached the impostor");
    assert.equal(impostor.storage.lastIndex(), bLast, "nothing of A was written into B's data directory");
    assert.equal(impostor.sm.get("a0"), null);
    // A's own member 2 comes back and catches up.
    await a.stop(2n);
    await a.start(2n);
    await a.until("A's member 2 to apply a24", 10_000, () => a.server(2n).sm.get("a24") === "A24");
    assert.deepEqual([...a.fatalErrors(), ...b.fatalErrors()], []);
  });
});
