/**
 * A fuzz test of the raft port with a live node: a 3-member cluster (RaftNode over
 * MemoryStorage, TcpTransports on loopback with HMAC authentication) keeps committing while
 * member 2's port gets random, mutated and adversarial bytes at every stage of a connection:
 * before the handshake, inside it (hellos, proofs, replays), and after it as an authenticated
 * but misbehaving peer (id 4: a configured transport peer that is not a raft member) on
 * message streams and inside snapshot streams.
 *
 * The property: every message member 2's transport hands to raft is byte for byte one that a
 * genuine member (1 or 3) sent to member 2; the node stays up; the three replicated logs end
 * equal and hold every acknowledged write once; connections, files and memory are released.
 *
 * Runs `TSRAFT_FUZZ_MS` milliseconds (default 3000) with seed `TSRAFT_FUZZ_SEED` (default:
 * random, printed). For a long run: `TSRAFT_FUZZ_MS=120000 pnpm test packages/node/test/transport-fuzz.test.ts`.
 */
import { after, afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomInt } from "node:crypto";
import { readdirSync } from "node:fs";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { isLocalMsg } from "@tsraft/raft";
import { Prng } from "@tsraft/raft/testing";
import { MessageType, decodeMessage, encodeMessage } from "@tsraft/raftpb";
import type { ConfState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode, TcpTransport } from "@tsraft/node";
import type { PersistRequest, TransportAuth } from "@tsraft/node";
import { FrameKind, FrameReader, frame, frameHeader } from "../src/frames.js";
import { acceptorMac, dialerMac, encodeHello, encodeProof, newNonce, parseWelcome } from "../src/handshake.js";
import { snapshotHeader } from "../src/snapshot-send.js";
import { cleanup, memberSocket, removeCerts, sleep, tempDir, track, until } from "./transport-harness.js";

afterEach(cleanup);
after(removeCerts);
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const FUZZ_MS = Number(process.env.TSRAFT_FUZZ_MS ?? 3000);
const SEED = Number(process.env.TSRAFT_FUZZ_SEED ?? randomInt(2 ** 31));
const CLUSTER = "fuzz";
const SECRET = Buffer.from("the fuzz cluster's secret, 32+ bytes");
const AUTH: TransportAuth = { mode: "hmac", secret: SECRET };
const TARGET = 2n;
const INSIDER = 4n; // configured on the target's transport, not a raft member
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The simulator's seeded generator, plus random bytes, so that a failing run can be replayed. */
function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; chance(p: number): boolean; bytes(n: number): Buffer } {
  const p = new Prng(seed);
  return {
    int: (n) => p.int(n),
    pick: (xs) => p.pick(xs),
    chance: (q) => p.chance(q),
    bytes: (n) => {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = p.int(256);
      return b;
    },
  };
}
type Rng = ReturnType<typeof rng>;

/** Applies a few random byte-level mutations. */
function mutate(r: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  for (let k = 1 + r.int(4); k > 0; k--) {
    const at = b.length === 0 ? 0 : r.int(b.length);
    switch (r.int(6)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << r.int(8));
        break;
      case 1:
        if (b.length > 0) b[at] = r.int(256);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), r.bytes(1 + r.int(16)), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(16)))]);
        break;
      case 4:
        b = b.subarray(0, at);
        break;
      case 5:
        b = Buffer.concat([b, b.subarray(at, at + 1 + r.int(32))]);
        break;
    }
  }
  return b;
}

const marker = (): Message["entries"] => [{ term: 1_000_001, index: 1, type: 0, data: enc.encode("FUZZ forged write") }];

/** A message the fuzzer forges: absurd terms, a forged write, commit beyond any log. */
function forged(r: Rng, from: NodeId, to: NodeId): Message {
  const type = r.pick([
    MessageType.MsgHeartbeat,
    MessageType.MsgApp,
    MessageType.MsgVote,
    MessageType.MsgHup,
    MessageType.MsgSnap,
    MessageType.MsgProp,
    MessageType.MsgTimeoutNow,
  ]);
  return {
    type,
    from,
    to,
    term: 1_000_000 + r.int(1000),
    logTerm: r.int(3),
    index: r.int(1000),
    entries: type === MessageType.MsgApp || type === MessageType.MsgProp ? marker() : [],
    commit: 1_000_000,
    reject: false,
    rejectHint: 0,
    ...(type === MessageType.MsgSnap
      ? {
          snapshot: {
            data: enc.encode("FUZZ"),
            metadata: {
              index: 5_000_000,
              term: 1_000_000,
              confState: { voters: [from], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
            },
          },
        }
      : {}),
  };
}

/** Whether the target's transport would accept `payload` as a Msg frame from the insider (the fuzzer must never send those). */
function acceptable(payload: Buffer): boolean {
  try {
    const m = decodeMessage(payload);
    return m.from === INSIDER && m.to === TARGET && !isLocalMsg(m.type) && m.type !== MessageType.MsgSnap;
  } catch {
    return false;
  }
}

/**
 * The size the target would accept a snapshot header for from the insider, or undefined if
 * it refuses the header (the acceptor's rules; the default maxSnapshotBytes of 1 GiB).
 */
function acceptableHeader(h: Buffer): number | undefined {
  if (h.length < 9 || h[8]! > 1) return undefined;
  const size = h.readUInt32BE(0) * 2 ** 32 + h.readUInt32BE(4);
  if (size > 2 ** 30 || (h[8] === 0 && size !== 0)) return undefined;
  try {
    const m = decodeMessage(h.subarray(9));
    if (m.type !== MessageType.MsgSnap || m.snapshot === undefined || m.from !== INSIDER || m.to !== TARGET) return undefined;
  } catch {
    return undefined;
  }
  return size;
}

/** A raw connection that is closed by cleanup and never throws. */
function open(addr: string, r: Rng): Promise<Socket | undefined> {
  const i = addr.lastIndexOf(":");
  // From 127.0.0.2..9: the members' own connections come from 127.0.0.1 and keep their per-address slots.
  const s = track(connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), localAddress: `127.0.0.${2 + r.int(8)}` }), (x) => x.destroy());
  s.on("error", () => {});
  s.on("data", () => {});
  return new Promise((resolve) => {
    s.once("connect", () => resolve(s));
    s.once("error", () => resolve(undefined));
    s.once("close", () => resolve(undefined));
  });
}

const write = (s: Socket, b: Buffer): void => {
  if (!s.destroyed) s.write(b, () => {});
};

/** A hello as the fuzzer makes them: well-formed but wrong in one way (or none), or mutated. */
function fuzzHello(r: Rng): Buffer {
  const h = {
    cluster: CLUSTER,
    from: r.pick([1n, 3n, INSIDER]),
    to: TARGET,
    stream: r.pick(["msg", "snap"] as const),
    auth: "hmac" as "hmac" | "none" | "tls",
    nonce: newNonce(),
  };
  switch (r.int(6)) {
    case 0:
      h.cluster = r.pick(["other", "", "fuzz2"]);
      break;
    case 1:
      h.from = r.pick([0n, 2n, 9n, (1n << 64n) - 1n]);
      break;
    case 2:
      h.to = r.pick([1n, 3n, 5n]);
      break;
    case 3:
      h.auth = r.pick(["none", "tls"]);
      h.nonce = Buffer.alloc(0);
      break;
    case 4:
      return mutate(r, encodeHello(h));
  }
  return encodeHello(h);
}

interface Recorded {
  hello: Buffer;
  proof: Buffer;
}

/** One unauthenticated scenario: the fuzzer does not know the secret. */
async function outsider(r: Rng, addr: string, replay: Recorded): Promise<void> {
  const s = await open(addr, r);
  if (s === undefined) return;
  const forgedFrames = (): Buffer =>
    Buffer.concat(Array.from({ length: 1 + r.int(4) }, () => frame(FrameKind.Msg, encodeMessage(forged(r, r.pick([1n, 3n, INSIDER]), TARGET)))));
  switch (r.int(10)) {
    case 0: // random bytes
      write(s, r.bytes(r.int(8192)));
      break;
    case 1: // random frames, some with absurd lengths
      for (let k = r.int(5); k >= 0; k--) {
        const f = r.chance(0.2) ? frameHeader(r.int(256) as FrameKind, r.int(2 ** 31)) : frame(r.int(256) as FrameKind, r.bytes(r.int(5000)));
        write(s, f);
      }
      break;
    case 2: // a hello, then a made-up or wrongly keyed proof, then forged messages
    case 3:
    case 8:
    case 9: {
      const hello = fuzzHello(r);
      write(s, frame(FrameKind.Hello, hello));
      if (r.chance(0.3)) write(s, forgedFrames()); // inside the handshake, before any proof
      if (r.chance(0.7)) {
        const welcome = await firstFrame(s, 300);
        const wrong = Buffer.from("not the secret of this cluster!!");
        let proof: Buffer = r.bytes(32);
        if (welcome !== undefined && r.chance(0.5)) {
          try {
            proof = dialerMac(wrong, hello, parseWelcome(welcome, true).nonce);
          } catch {
            // not a welcome with a nonce
          }
        }
        write(s, frame(FrameKind.Proof, r.chance(0.2) ? mutate(r, encodeProof(proof)) : encodeProof(proof)));
      }
      write(s, forgedFrames());
      break;
    }
    case 4: // the unauthenticated protocol of old
      write(s, frame(FrameKind.Hello, Buffer.from(JSON.stringify({ v: 1, from: r.pick(["1", "3", "4", "9"]), to: "2", addr: "127.0.0.1:1", stream: "msg" }))));
      write(s, forgedFrames());
      break;
    case 5: // a replayed genuine handshake (from an earlier connection), perhaps mutated
      write(s, frame(FrameKind.Hello, r.chance(0.2) ? mutate(r, replay.hello) : replay.hello));
      write(s, frame(FrameKind.Proof, r.chance(0.2) ? mutate(r, replay.proof) : replay.proof));
      write(s, forgedFrames());
      break;
    case 6: // slow: a byte at a time
      for (const byte of frame(FrameKind.Hello, fuzzHello(r)).subarray(0, 20)) {
        if (s.destroyed) break;
        write(s, Buffer.from([byte]));
        await sleep(20);
      }
      break;
    case 7: {
      // Handshake and forged frames in a random order, perhaps mutated.
      const parts = [frame(FrameKind.Hello, fuzzHello(r)), frame(FrameKind.Proof, encodeProof(r.bytes(32))), forgedFrames(), forgedFrames()];
      for (let i = parts.length - 1; i > 0; i--) {
        const j = r.int(i + 1);
        [parts[i], parts[j]] = [parts[j]!, parts[i]!];
      }
      const all = Buffer.concat(parts);
      write(s, r.chance(0.5) ? mutate(r, all) : all);
      break;
    }
  }
  await sleep(r.int(50));
  s.destroy();
}

function firstFrame(s: Socket, ms: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const reader = new FrameReader(4096);
    const timer = setTimeout(() => done(undefined), ms);
    const onData = (d: Buffer): void => {
      try {
        reader.push(d, (_k, p) => done(Buffer.from(p)));
      } catch {
        done(undefined);
      }
    };
    const done = (b: Buffer | undefined): void => {
      clearTimeout(timer);
      s.off("data", onData);
      resolve(b);
    };
    s.on("data", onData);
    s.once("close", () => done(undefined));
  });
}

/** One authenticated scenario: the insider (id 4) misbehaves after the handshake. */
async function insider(r: Rng, addr: string): Promise<void> {
  const kind = r.chance(0.5) ? "msg" : "snap";
  let ms;
  try {
    ms = await memberSocket(INSIDER, TARGET, addr, kind, AUTH, CLUSTER);
  } catch {
    return; // refused by a cap, or its single snapshot stream is taken
  }
  const s = ms.s;
  if (kind === "msg") {
    for (let k = 1 + r.int(6); k > 0 && !s.destroyed; k--) {
      const m = forged(r, r.pick([1n, 3n, INSIDER, 9n]), r.pick([TARGET, TARGET, 1n]));
      let payload: Buffer = Buffer.from(encodeMessage(m));
      if (r.chance(0.5)) payload = mutate(r, payload);
      if (acceptable(payload)) continue; // a valid message from the insider is not an attack
      write(s, r.chance(0.1) ? frame(r.int(256) as FrameKind, payload) : frame(FrameKind.Msg, payload));
      await sleep(r.int(20));
    }
  } else {
    const size = r.pick([0, 10, 1000, 100_000, 2 ** 30, 2 ** 40]);
    const m = forged(r, r.pick([1n, INSIDER, INSIDER]), TARGET);
    const snap: Message = {
      ...m,
      type: MessageType.MsgSnap,
      snapshot: {
        data: new Uint8Array(0),
        metadata: { index: 5_000_000, term: 1_000_000, confState: { voters: [INSIDER], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } },
      },
    };
    const head = snapshotHeader(snap);
    head.writeUInt32BE(Math.floor(size / 2 ** 32), 0);
    head.writeUInt32BE(size >>> 0, 4);
    const header = r.chance(0.3) ? mutate(r, head) : head;
    // Never a complete, valid snapshot from the insider: the chunks stop short of an
    // acceptable header's size or cross it (no chunk ends exactly on it).
    const announced = acceptableHeader(header);
    if (announced === 0) {
      s.destroy(); // it would complete at once
      return;
    }
    if (r.chance(0.1)) write(s, frame(FrameKind.SnapChunk, r.bytes(100))); // a chunk before the header
    write(s, frame(FrameKind.SnapHeader, header));
    let sent = 0;
    const goal = r.int(300_000);
    while (sent < goal && !s.destroyed) {
      let n = Math.min(goal - sent, 1 + r.int(65_536));
      if (announced !== undefined && sent + n === announced) n++;
      write(s, frame(FrameKind.SnapChunk, r.bytes(n)));
      sent += n;
      if (announced !== undefined && sent > announced) break;
      await sleep(r.int(5));
    }
  }
  await sleep(r.int(100));
  s.destroy();
}

/**
 * One of each refusal, deterministically, before the random part: a hello of another cluster,
 * one from a stranger, one in another auth mode, a replay, a frame over the pre-handshake
 * limit, a forged message and an oversized snapshot from the insider.
 */
async function prelude(addr: string, replay: Recorded): Promise<void> {
  const r = rng(1);
  const hellos = [
    encodeHello({ cluster: "other", from: 1n, to: TARGET, stream: "msg", auth: "hmac", nonce: newNonce() }),
    encodeHello({ cluster: CLUSTER, from: 9n, to: TARGET, stream: "msg", auth: "hmac", nonce: newNonce() }),
    encodeHello({ cluster: CLUSTER, from: 1n, to: TARGET, stream: "msg", auth: "none", nonce: Buffer.alloc(0) }),
  ];
  const sends = [
    ...hellos.map((h) => frame(FrameKind.Hello, h)),
    Buffer.concat([frame(FrameKind.Hello, replay.hello), frame(FrameKind.Proof, replay.proof)]),
    frameHeader(FrameKind.Hello, 1 << 20),
  ];
  for (const b of sends) {
    const s = await open(addr, r);
    if (s === undefined) continue;
    write(s, b);
    await firstFrame(s, 300);
    s.destroy();
  }
  const m = await memberSocket(INSIDER, TARGET, addr, "msg", AUTH, CLUSTER);
  write(m.s, frame(FrameKind.Msg, encodeMessage(forged(r, 1n, TARGET))));
  const sn = await memberSocket(INSIDER, TARGET, addr, "snap", AUTH, CLUSTER);
  write(sn.s, frame(FrameKind.SnapHeader, Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 1])));
  await until("both refused", () => m.closed && sn.closed, 3000);
}

/** A flood of idle connections, to hit the caps. */
async function flood(r: Rng, addr: string): Promise<void> {
  const ss = await Promise.all(Array.from({ length: 10 + r.int(30) }, () => open(addr, r)));
  await sleep(50 + r.int(150));
  for (const s of ss) s?.destroy();
}

interface Member {
  id: NodeId;
  node: RaftNode<number>;
  transport: TcpTransport;
  log: string[];
  fatal: unknown[];
}

function persistTo(storage: MemoryStorage) {
  return async (p: PersistRequest): Promise<void> => {
    if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
    if (p.entries.length > 0) storage.append(p.entries);
    if (p.hardState !== undefined) storage.setHardState(p.hardState);
  };
}

const keyOf = (m: Message): string => createHash("sha256").update(encodeMessage(m)).digest("hex");

test(`the raft port under fuzzing: unauthenticated bytes never reach raft, the cluster keeps committing (${FUZZ_MS} ms)`, {
  timeout: FUZZ_MS + 60_000,
}, async (t) => {
  t.diagnostic(`seed ${SEED} (TSRAFT_FUZZ_SEED to replay), ${FUZZ_MS} ms (TSRAFT_FUZZ_MS)`);
  const snapDir = tempDir();
  // Every message members 1 and 3 hand their transport for member 2, by content.
  const genuine = new Map<string, number>();
  const violations: string[] = [];
  const members: Member[] = [];
  const ids = [1n, 2n, 3n];
  for (const id of ids) {
    const storage = new MemoryStorage();
    const m: Member = { id, log: [], fatal: [], node: undefined as unknown as RaftNode<number>, transport: undefined as unknown as TcpTransport };
    m.transport = new TcpTransport({
      id,
      port: 0,
      auth: AUTH,
      clusterId: CLUSTER,
      onMessage: (msg) => {
        if (id === TARGET) {
          const k = keyOf(msg);
          const n = genuine.get(k) ?? 0;
          if (n === 0) {
            violations.push(`${MessageType[msg.type]} ${msg.from}->${msg.to} term ${msg.term}`);
            return; // never let it reach raft: raft does not yet refuse absurd terms
          }
          if (n === 1) genuine.delete(k);
          else genuine.set(k, n - 1);
        }
        m.node.step(msg);
      },
      onUnreachable: (p) => m.node.reportUnreachable(p),
      onSnapshotStatus: (p, st) => m.node.reportSnapshot(p, st),
      ...(id === TARGET ? { handshakeTimeoutMs: 500, snapshotDir: snapDir, snapshotTimeoutMs: 2000 } : {}),
    });
    m.node = new RaftNode<number>({
      raft: { id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
      tickMs: 20,
      requestTimeoutMs: 3000,
      persist: persistTo(storage),
      send: (msgs) => {
        if (id !== TARGET) for (const x of msgs) if (x.to === TARGET) genuine.set(keyOf(x), (genuine.get(keyOf(x)) ?? 0) + 1);
        m.transport.send(msgs);
      },
      apply: (e) => {
        m.log.push(dec.decode(e.data));
        return m.log.length;
      },
      restore: (s: Snapshot) => {
        m.log = s.data === undefined || s.data.length === 0 ? [] : (JSON.parse(dec.decode(s.data)) as string[]);
      },
      snapshot: {
        entries: 64,
        take: () => enc.encode(JSON.stringify(m.log)),
        save: async (s: { index: number; confState: ConfState; data: Uint8Array }) => {
          storage.createSnapshot(s.index, s.confState, s.data);
          storage.compact(s.index);
        },
      },
      onFatal: (err) => m.fatal.push(err),
    });
    await m.transport.start();
    track(m, async (x) => {
      await x.node.stop();
      await x.transport.close();
    });
    members.push(m);
  }
  for (const a of members) for (const b of members) if (a !== b) a.transport.setPeer(b.id, b.transport.address);
  const target = members[1]!;
  target.transport.setPeer(INSIDER, "127.0.0.1:9"); // never dialled: raft never sends to 4
  for (const m of members) await m.node.start({ bootstrap: ids.map((id) => ({ id })) });
  await until("a leader", () => members.every((m) => m.node.leader() !== 0n), 10_000);

  // A genuine handshake of the insider, recorded for replays.
  const replay = await recordHandshake(target.transport.address);

  gc();
  const memBefore = process.memoryUsage();
  await prelude(target.transport.address, replay);
  const deadline = Date.now() + FUZZ_MS;
  const acked: string[] = [];
  let timeouts = 0;
  const writer = (async () => {
    for (let i = 0; Date.now() < deadline; i++) {
      try {
        await members[i % 3]!.node.propose(enc.encode(`w${i}`));
        acked.push(`w${i}`);
      } catch {
        timeouts++;
        await sleep(20);
      }
    }
  })();
  const workers = Array.from({ length: 4 }, async (_, w) => {
    const r = rng(SEED + w);
    while (Date.now() < deadline) {
      const p = r.int(20);
      if (p < 11) await outsider(r, target.transport.address, replay);
      else if (p < 19) await insider(r, target.transport.address);
      else await flood(r, target.transport.address);
    }
  });
  await Promise.all([writer, ...workers]);

  // The node is up, nothing forged got through, and the cluster still works.
  assert.deepEqual(violations, [], "messages that no genuine member sent reached raft");
  for (const m of members) assert.deepEqual(m.fatal, [], `member ${m.id} failed`);
  assert.ok(target.node.status().running);
  assert.ok(target.node.status().hardState.term < 1000, `term ${target.node.status().hardState.term}`);
  const last = `final${SEED}`;
  await members[0]!.node.propose(enc.encode(last));
  acked.push(last);
  await until("all applied the same log", () => members.every((m) => m.log.at(-1) === last && m.log.length === members[0]!.log.length), 15_000);
  for (const m of members) assert.deepEqual(m.log, members[0]!.log, `member ${m.id}'s log`);
  const applied = new Set(members[0]!.log);
  assert.equal(applied.size, members[0]!.log.length, "no write applied twice");
  for (const w of acked) assert.ok(applied.has(w), `acknowledged ${w} is in the log`);
  assert.ok(acked.length >= Math.max(10, FUZZ_MS / 300), `the cluster kept committing: ${acked.length} writes acknowledged, ${timeouts} timed out`);

  // Every kind of refusal was exercised; connections and spool files are released.
  const st = target.transport.stats();
  t.diagnostic(`${acked.length} writes acknowledged, ${timeouts} timed out; target stats ${JSON.stringify(st)}`);
  for (const k of ["refusedHandshake", "refusedUnknownPeer", "refusedWrongCluster", "refusedLimit", "refusedSnapshot", "refusedProtocol"] as const) {
    assert.ok(st[k] > 0, `${k} exercised`);
  }
  await until("fuzz connections released", () => target.transport.stats().inboundPending === 0 && target.transport.stats().inboundOpen <= 2, 5000);
  await until("no spool files left", () => readdirSync(snapDir).length === 0, 5000);
  gc();
  const memAfter = process.memoryUsage();
  const grew = (memAfter.arrayBuffers - memBefore.arrayBuffers) / 2 ** 20;
  t.diagnostic(
    `arrayBuffers ${grew >= 0 ? "+" : ""}${grew.toFixed(1)} MiB, heapUsed ${((memAfter.heapUsed - memBefore.heapUsed) / 2 ** 20).toFixed(1)} MiB over the run`,
  );
  assert.ok(grew < 64, `arrayBuffers grew by ${grew.toFixed(1)} MiB`);
});

/** Performs one genuine handshake as the insider, recording the hello and the proof it sent. */
async function recordHandshake(addr: string): Promise<Recorded> {
  const i = addr.lastIndexOf(":");
  const s = track(connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) }), (x) => x.destroy());
  s.on("error", () => {});
  await new Promise<void>((r) => s.once("connect", () => r()));
  const hello = encodeHello({ cluster: CLUSTER, from: INSIDER, to: TARGET, stream: "msg", auth: "hmac", nonce: newNonce() });
  s.write(frame(FrameKind.Hello, hello));
  const w = await firstFrame(s, 2000);
  assert.ok(w !== undefined, "welcome");
  const welcome = parseWelcome(w, true);
  assert.ok(acceptorMac(SECRET, hello, welcome.nonce).equals(welcome.mac));
  const proof = encodeProof(dialerMac(SECRET, hello, welcome.nonce));
  s.write(frame(FrameKind.Proof, proof));
  await sleep(20);
  s.destroy();
  return { hello, proof };
}
