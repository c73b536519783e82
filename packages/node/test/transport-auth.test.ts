/**
 * The attacks on the raft port that the authenticated transport refuses: impersonation with a
 * forged `from` (in both auth modes), wrong secrets and certificates, other clusters, replayed
 * handshakes, impostor servers, strangers that used to be dialled back; and the typed errors
 * of bad addresses and options.
 */
import { after, afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect } from "node:net";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import type { AddressInfo, Server, Socket } from "node:net";
import { MessageType, encodeMessage } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { TcpTransport, TransportAddressError, TransportConfigError, TransportPeerError } from "@tsraft/node";
import type { TransportAuth } from "@tsraft/node";
import { makeCerts } from "../../../scripts/test-helpers/certs.js";
import { FrameKind, frame } from "../src/frames.js";
import { encodeHello, encodeProof, encodeWelcome, newNonce, parseHello } from "../src/handshake.js";
import { ConnectionRefusedError } from "../src/transport-errors.js";
import { authFor, certs, cleanup, track, endpoint, helloV1, msg, rawClient, removeCerts, sleep, until } from "./transport-harness.js";
import type { Ep } from "./transport-harness.js";

const rogueCa = makeCerts("rogue");
afterEach(cleanup);
after(() => {
  removeCerts();
  rogueCa.remove();
});

/** A forged heartbeat that would kill a follower (commit beyond its log) and a forged write. */
function forgeries(from: NodeId, to: NodeId): Message[] {
  return [
    { ...msg(MessageType.MsgHeartbeat, from, to), term: 7, commit: 1_000_000 },
    { ...msg(MessageType.MsgApp, from, to, 0), term: 7, commit: 1, entries: [{ term: 7, index: 1, type: 0, data: new TextEncoder().encode("forged write") }] },
  ];
}

function forgedFrames(from: NodeId, to: NodeId): Buffer {
  return Buffer.concat(forgeries(from, to).map((m) => frame(FrameKind.Msg, encodeMessage(m))));
}

/** Member 2 with peers 1 and 3 configured, in `mode`. */
async function member2(mode: "none" | "hmac" | "tls", opts: Parameters<typeof endpoint>[1] = {}): Promise<Ep> {
  const b = await endpoint(2n, { auth: authFor(mode, 2n), clusterId: "c1", ...opts });
  b.t.setPeer(1n, "127.0.0.1:9"); // addresses are irrelevant: nobody here dials 1 or 3
  b.t.setPeer(3n, "127.0.0.1:9");
  return b;
}

/** Runs an attacker transport `id` with `auth` that sends the forgeries to 2 for a while. */
async function attackWith(b: Ep, id: NodeId, auth: TransportAuth, clusterId = "c1"): Promise<Ep> {
  const x = await endpoint(id, { auth, clusterId });
  x.t.setPeer(2n, b.t.address);
  for (let i = 0; i < 8; i++) {
    x.t.send(forgeries(id, 2n));
    await sleep(25);
  }
  return x;
}

describe("impersonation (a forged `from`) is refused", { timeout: 60_000 }, () => {
  test("hmac: a caller speaking the old unauthenticated protocol, with forged messages, is refused before anything is read", async () => {
    const b = await member2("hmac");
    const x = await rawClient(b.t.address);
    x.send(Buffer.concat([helloV1(1n, 2n), forgedFrames(1n, 2n)]));
    await until("closed", () => x.closed);
    assert.equal(b.got.length, 0, "nothing reached raft");
    assert.equal(b.t.stats().refusedHandshake, 1);
    await b.t.close();
  });

  test("hmac: an attacker that names member 1 but does not know the secret is refused (both by the dialer's check and by a guessed proof)", async () => {
    const b = await member2("hmac");
    const x = await attackWith(b, 1n, { mode: "hmac", secret: "not the cluster secret!!" });
    assert.equal(b.got.length, 0, "nothing reached raft");
    assert.ok(x.t.stats().dialHandshakeFailures > 0, "the attacker saw b's MAC fail with its wrong secret");
    // A raw attacker that answers the welcome with a guessed proof.
    const r = await rawClient(b.t.address);
    r.send(frame(FrameKind.Hello, encodeHello({ cluster: "c1", from: 1n, to: 2n, stream: "msg", auth: "hmac", nonce: newNonce() })));
    await until("welcome", () => r.frames.length === 1);
    assert.equal(r.frames[0]!.kind, FrameKind.Welcome);
    r.send(Buffer.concat([frame(FrameKind.Proof, encodeProof(newNonce())), forgedFrames(1n, 2n)]));
    const before = b.t.stats().refusedHandshake;
    assert.ok(before > 0, "the attacker transport's abandoned handshakes are counted");
    await until("closed", () => r.closed);
    assert.equal(b.got.length, 0);
    assert.equal(b.t.stats().refusedHandshake, before + 1);
    await x.t.close();
    await b.t.close();
  });

  test("tls: plain TCP, a certificate of another CA, another member's certificate and a client certificate cannot pass as member 1", async () => {
    const b = await member2("tls");
    const raw = await rawClient(b.t.address);
    raw.send(Buffer.concat([helloV1(1n, 2n), forgedFrames(1n, 2n)]));
    await until("plain TCP closed", () => raw.closed);
    const rogue = rogueCa.member(1n);
    const x = await attackWith(b, 1n, { mode: "tls", cert: rogue.cert, key: rogue.key, ca: certs().ca.cert });
    const stolen = certs().member(3n); // a genuine member's credentials, hello claiming 1
    assert.equal(await tlsAttempt(1n, b.t.address, stolen.cert, stolen.key), "refused");
    const client = certs().client("kv-client"); // signed by the cluster CA, but names no member
    assert.equal(await tlsAttempt(1n, b.t.address, client.cert, client.key), "refused");
    await until("refusals counted", () => b.t.stats().refusedHandshake >= 4);
    assert.equal(b.got.length, 0, "nothing reached raft");
    await x.t.close();
    await b.t.close();
  });

  test("none: the explicit opt-out does accept a forged `from` (why it is for tests and trusted networks only)", async () => {
    const b = await member2("none");
    const x = await attackWith(b, 1n, { mode: "none" });
    await until("delivered", () => b.got.length > 0);
    await x.t.close();
    await b.t.close();
  });
});

/**
 * Dials 2 over TLS with `cert`/`key` (of the cluster CA), sends a hello claiming `claimed` and
 * the forgeries; resolves `"welcomed"` if 2 answered, `"refused"` if it closed first.
 */
async function tlsAttempt(claimed: NodeId, addr: string, cert: Buffer, key: Buffer): Promise<"welcomed" | "refused"> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve) => {
    const s = track(
      tlsConnect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), cert, key, ca: certs().ca.cert, checkServerIdentity: () => undefined }),
      (x) => x.destroy(),
    );
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on("secureConnect", () => {
      const hello = frame(FrameKind.Hello, encodeHello({ cluster: "c1", from: claimed, to: 2n, stream: "msg", auth: "tls", nonce: Buffer.alloc(0) }));
      s.write(Buffer.concat([hello, forgedFrames(claimed, 2n)]), () => {});
    });
    s.on("data", () => {
      clearTimeout(timer);
      resolve("welcomed");
      setTimeout(() => s.destroy(), 100);
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve("refused");
    });
  });
}

describe("the dialer refuses an impostor server", { timeout: 60_000 }, () => {
  test("hmac: a server that does not know the secret gets no message", async () => {
    const impostor = await endpoint(2n, { auth: { mode: "hmac", secret: "the impostor's own secret" }, clusterId: "c1" });
    impostor.t.setPeer(1n, "127.0.0.1:9");
    const a = await endpoint(1n, { auth: authFor("hmac", 1n), clusterId: "c1" });
    a.t.setPeer(2n, impostor.t.address);
    for (let i = 0; i < 8; i++) {
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await sleep(20);
    }
    assert.equal(impostor.got.length, 0);
    assert.ok(a.t.stats().dialHandshakeFailures > 0);
    assert.equal(a.t.stats().connects, 0);
    await a.t.close();
    await impostor.t.close();
  });

  test("tls: a server with another CA's certificate naming the dialled id gets no message", async () => {
    const r = rogueCa.member(2n);
    const impostor = await endpoint(2n, { auth: { mode: "tls", cert: r.cert, key: r.key, ca: certs().ca.cert }, clusterId: "c1" });
    impostor.t.setPeer(1n, "127.0.0.1:9");
    const a = await endpoint(1n, { auth: authFor("tls", 1n), clusterId: "c1" });
    a.t.setPeer(2n, impostor.t.address);
    for (let i = 0; i < 8; i++) {
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await sleep(25);
    }
    assert.equal(impostor.got.length, 0);
    assert.ok(a.t.stats().dialHandshakeFailures > 0);
    await a.t.close();
    await impostor.t.close();
  });
  test("tls: a server with a genuine certificate of another member gets no message (the dialer checks the id it dials)", async () => {
    const m3 = certs().member(3n);
    const seen: Buffer[] = [];
    // An impostor holding member 3's credentials welcomes any hello as if it were 2.
    const fake = track(
      createTlsServer({ cert: m3.cert, key: m3.key, ca: certs().ca.cert, requestCert: true, rejectUnauthorized: true }, (s) => {
        s.once("data", () => s.write(frame(FrameKind.Welcome, encodeWelcome({ nonce: Buffer.alloc(0), mac: Buffer.alloc(0) }))));
        s.on("data", (d: Buffer) => seen.push(d));
        s.on("error", () => {});
      }),
      (x) => x.close(),
    );
    fake.on("tlsClientError", () => {});
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
    const a = await endpoint(1n, { auth: authFor("tls", 1n), clusterId: "c1" });
    a.t.setPeer(2n, `127.0.0.1:${(fake.address() as AddressInfo).port}`);
    for (let i = 0; i < 8; i++) {
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await sleep(25);
    }
    assert.equal(seen.length, 0, "the dialer did not even send its hello");
    assert.ok(a.t.stats().dialHandshakeFailures > 0);
    await a.t.close();
    fake.close();
  });
});

describe("a peer of another cluster, or of another auth mode, is refused at the hello", { timeout: 60_000 }, () => {
  for (const mode of ["none", "hmac", "tls"] as const) {
    test(`wrong cluster id (${mode})`, async () => {
      const b = await member2(mode);
      const x = await attackWith(b, 1n, authFor(mode, 1n), "another-cluster");
      await until("refusal counted", () => b.t.stats().refusedWrongCluster > 0);
      assert.equal(b.got.length, 0);
      await x.t.close();
      await b.t.close();
    });
  }

  test("hmac member and none member do not talk", async () => {
    const b = await member2("hmac");
    const x = await attackWith(b, 1n, { mode: "none" });
    assert.equal(b.got.length, 0);
    assert.ok(b.t.stats().refusedHandshake > 0);
    await x.t.close();
    await b.t.close();
  });
});

/** A TCP proxy that records each direction of every connection. */
async function recordingProxy(target: string): Promise<{ addr: string; up: Buffer[][]; down: Buffer[][]; server: Server; sockets: Socket[] }> {
  const i = target.lastIndexOf(":");
  const up: Buffer[][] = [];
  const down: Buffer[][] = [];
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    const u: Buffer[] = [];
    const d: Buffer[] = [];
    up.push(u);
    down.push(d);
    const t = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
    sockets.push(client, t);
    client.on("data", (b: Buffer) => {
      u.push(Buffer.from(b));
      t.write(b);
    });
    t.on("data", (b: Buffer) => {
      d.push(Buffer.from(b));
      client.write(b);
    });
    for (const s of [client, t]) {
      s.on("error", () => {});
      s.on("close", () => {
        client.destroy();
        t.destroy();
      });
    }
  });
  track(server, (x) => {
    for (const s of sockets) s.destroy();
    x.close();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { addr: `127.0.0.1:${(server.address() as AddressInfo).port}`, up, down, server, sockets };
}

describe("a recorded handshake cannot be replayed", { timeout: 60_000 }, () => {
  test("hmac: replaying a member's recorded connection (hello, proof, messages) to the acceptor delivers nothing", async () => {
    const a = await endpoint(1n, { auth: authFor("hmac", 1n), clusterId: "c1" });
    const b = await member2("hmac");
    b.t.setPeer(1n, a.t.address);
    const proxy = await recordingProxy(b.t.address);
    a.t.setPeer(2n, proxy.addr);
    a.t.send(forgeries(1n, 2n)); // genuine this time: sent by member 1 itself
    await until("genuine delivery", () => b.got.length === 2);
    await a.t.close();
    const recorded = Buffer.concat(proxy.up[0]!);
    const before = b.got.length;
    const r = await rawClient(b.t.address);
    r.send(recorded);
    await until("replay refused", () => r.closed);
    assert.equal(b.got.length, before, "the replayed messages were not delivered");
    assert.equal(b.t.stats().refusedHandshake, 1);
    for (const s of proxy.sockets) s.destroy();
    proxy.server.close();
    await b.t.close();
  });

  test("hmac: replaying an acceptor's recorded welcome to a dialer does not make it send", async () => {
    const a = await endpoint(1n, { auth: authFor("hmac", 1n), clusterId: "c1" });
    const b = await member2("hmac");
    const proxy = await recordingProxy(b.t.address);
    a.t.setPeer(2n, proxy.addr);
    a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
    await until("genuine delivery", () => b.got.length === 1);
    const welcome = Buffer.concat(proxy.down[0]!);
    for (const s of proxy.sockets) s.destroy();
    proxy.server.close();
    await b.t.close();
    // An impostor takes b's place and answers every hello with the recorded welcome.
    const seen: Buffer[] = [];
    const fake = track(
      createServer((s) => {
        s.once("data", () => s.write(welcome));
        s.on("data", (d: Buffer) => seen.push(d));
        s.on("error", () => {});
        track(s, (x) => x.destroy());
      }),
      (x) => x.close(),
    );
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", () => r()));
    const failures = a.t.stats().dialHandshakeFailures;
    a.t.setPeer(2n, `127.0.0.1:${(fake.address() as AddressInfo).port}`);
    for (let i = 0; i < 8; i++) {
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await sleep(20);
    }
    assert.ok(a.t.stats().dialHandshakeFailures > failures);
    const all = Buffer.concat(seen);
    // Only hellos reached the impostor: each is parsed as one, and no message frame follows.
    for (let off = 0; off < all.length; ) {
      const len = all.readUInt32BE(off);
      assert.equal(all[off + 4], FrameKind.Hello);
      parseHello(all.subarray(off + 5, off + 4 + len));
      off += 4 + len;
    }
    await a.t.close();
    fake.close();
  });
});

describe("strangers are never dialled back", { timeout: 60_000 }, () => {
  test("a hello from an id that is not a configured peer is refused and its address never learned or dialled", async () => {
    const b = await member2("none");
    let dialled = 0;
    const trap = track(
      createServer((s) => {
        dialled++;
        s.destroy();
      }),
      (x) => x.close(),
    );
    await new Promise<void>((r) => trap.listen(0, "127.0.0.1", () => r()));
    const trapAddr = `127.0.0.1:${(trap.address() as AddressInfo).port}`;
    const x = await rawClient(b.t.address);
    x.send(Buffer.concat([helloV1(9n, 2n, trapAddr), forgedFrames(9n, 2n)]));
    const y = await rawClient(b.t.address);
    y.send(frame(FrameKind.Hello, encodeHello({ cluster: "c1", from: 9n, to: 2n, stream: "msg", auth: "none", nonce: Buffer.alloc(0) })));
    await until("both closed", () => x.closed && y.closed);
    b.t.send([msg(MessageType.MsgHeartbeatResp, 2n, 9n)]);
    await sleep(100);
    assert.equal(dialled, 0, "b never dialled the stranger's address");
    assert.equal(b.t.peerAddresses().has(9n), false);
    assert.equal(b.got.length, 0);
    assert.equal(b.t.stats().refusedUnknownPeer, 1, "the version-2 hello from 9 is refused as an unknown peer");
    assert.equal(b.t.stats().refusedHandshake, 1, "the version-1 hello is refused as malformed");
    trap.close();
    await b.t.close();
  });

  test("a hello naming this node's own id as the sender is refused", async () => {
    const b = await member2("none");
    const x = await rawClient(b.t.address);
    x.send(frame(FrameKind.Hello, encodeHello({ cluster: "c1", from: 2n, to: 2n, stream: "msg", auth: "none", nonce: Buffer.alloc(0) })));
    await until("closed", () => x.closed);
    assert.equal(b.t.stats().refusedUnknownPeer, 1);
    await b.t.close();
  });
});

describe("typed errors at the gates", { timeout: 60_000 }, () => {
  test("setPeer validates the address and the id", async () => {
    const b = await member2("none");
    for (const bad of ["garbage", "", "h:0", "h:99999", ":80", "h:", "h:8a", "h: 80", "a b:80", "h:-1", "h:1.5"]) {
      assert.throws(
        () => b.t.setPeer(5n, bad),
        (err: unknown) => err instanceof TransportAddressError && err.code === "TSRAFT_TRANSPORT_ADDRESS" && err.address === bad,
        `setPeer(${JSON.stringify(bad)})`,
      );
    }
    assert.equal(b.t.peerAddresses().has(5n), false);
    assert.throws(
      () => b.t.setPeer(2n, "127.0.0.1:80"),
      (err: unknown) => err instanceof TransportPeerError && err.code === "TSRAFT_TRANSPORT_PEER",
    );
    assert.throws(
      () => b.t.setPeer(0n, "127.0.0.1:80"),
      (err: unknown) => err instanceof TransportPeerError,
    );
    b.t.setPeer(5n, "[::1]:80");
    b.t.setPeer(6n, "localhost:65535");
    await b.t.close();
  });

  test("invalid options and unusable credentials are refused at construction", () => {
    const base = { id: 1n, port: 0, onMessage: () => {} };
    const m1 = certs().member(1n);
    const m3 = certs().member(3n);
    const cases: [string, Record<string, unknown>][] = [
      ["auth", { auth: undefined }],
      ["auth.secret", { auth: { mode: "hmac", secret: "short" } }],
      ["auth.mode", { auth: { mode: "kerberos" } }],
      ["auth.cert", { auth: { mode: "tls", cert: m3.cert, key: m3.key, ca: certs().ca.cert } }],
      ["auth.cert", { auth: { mode: "tls", cert: m1.cert.toString(), key: m1.key, ca: certs().ca.cert } }],
      ["auth.key", { auth: { mode: "tls", cert: m1.cert, key: "/nonexistent/key.pem", ca: certs().ca.cert } }],
      ["auth", { auth: { mode: "tls", cert: m1.cert, key: m3.key, ca: certs().ca.cert } }],
      ["clusterId", { clusterId: "has space" }],
      ["maxFrameBytes", { maxFrameBytes: 0 }],
      ["maxPendingConnections", { maxPendingConnections: 500, maxInboundConnections: 100 }],
      ["maxSnapshotBytes", { maxSnapshotBytes: 2 ** 31 }],
      ["port", { port: 70000 }],
      ["host", { host: "" }],
      ["id", { id: 0n }],
    ];
    for (const [option, extra] of cases) {
      assert.throws(
        () => new TcpTransport({ ...base, auth: { mode: "none" }, ...extra } as ConstructorParameters<typeof TcpTransport>[0]),
        (err: unknown) => err instanceof TransportConfigError && err.code === "TSRAFT_TRANSPORT_CONFIG" && err.option === option,
        option,
      );
    }
    // Paths work as well as bytes.
    new TcpTransport({ ...base, auth: { mode: "tls", cert: m1.certPath, key: m1.keyPath, ca: certs().ca.certPath } });
  });

  test("the hello parser is strict", () => {
    const good = JSON.parse(encodeHello({ cluster: "c1", from: 1n, to: 2n, stream: "msg", auth: "hmac", nonce: newNonce() }).toString()) as Record<
      string,
      unknown
    >;
    const bad: Record<string, unknown>[] = [
      { ...good, v: 1 },
      { ...good, extra: 1 },
      { ...good, from: "01" },
      { ...good, from: "18446744073709551616" },
      { ...good, from: 1 },
      { ...good, to: "-2" },
      { ...good, stream: "other" },
      { ...good, auth: "tls" }, // a nonce outside hmac mode
      { ...good, nonce: "zz" },
      { ...good, cluster: "x".repeat(129) },
    ];
    for (const h of bad)
      assert.throws(
        () => parseHello(Buffer.from(JSON.stringify(h))),
        (e: unknown) => e instanceof ConnectionRefusedError && e.reason === "handshake",
        JSON.stringify(h),
      );
    for (const raw of ["", "null", "[]", "{", "\u0000"]) assert.throws(() => parseHello(Buffer.from(raw)), ConnectionRefusedError);
    assert.equal(parseHello(Buffer.from(JSON.stringify(good))).from, 1n);
  });
});
