/**
 * Bounded resources on the raft port: frames before the handshake, handshake deadlines,
 * connection caps, one message stream and one snapshot stream per peer, snapshots spooled to
 * disk (no allocation of the announced size, memory and files released after a cut stream),
 * and what an authenticated peer may still not send.
 */
import { after, afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { MessageType, encodeMessage } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { FrameKind, frame, frameHeader } from "../src/frames.js";
import { snapshotHeader } from "../src/snapshot-send.js";
import { authFor, cleanup, tempDir, track, endpoint, memberSocket, msg, rawClient, removeCerts, sleep, until } from "./transport-harness.js";
import type { Ep, MemberSocket } from "./transport-harness.js";

afterEach(cleanup);
after(removeCerts);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const confState = { voters: [1n, 2n, 3n, 4n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const AUTH = authFor("hmac", 1n); // the same secret for every member

function snapMsg(from: NodeId, to: NodeId, size: number | undefined): Message {
  return {
    ...msg(MessageType.MsgSnap, from, to),
    snapshot: { data: size === undefined ? undefined : new Uint8Array(size), metadata: { index: 10, term: 2, confState } },
  };
}

/** A snapshot header frame announcing `size` bytes (the data is not in `m`). */
function headerFrame(from: NodeId, to: NodeId, size: number): Buffer {
  const head = snapshotHeader(snapMsg(from, to, 0));
  head.writeUInt32BE(Math.floor(size / 2 ** 32), 0);
  head.writeUInt32BE(size >>> 0, 4);
  return frame(FrameKind.SnapHeader, head);
}

function chunkFrames(data: Buffer, chunk = 64 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += chunk) {
    const c = data.subarray(off, Math.min(off + chunk, data.length));
    out.push(frameHeader(FrameKind.SnapChunk, c.length), c);
  }
  return out;
}

async function member2(opts: Parameters<typeof endpoint>[1] = {}): Promise<Ep> {
  const b = await endpoint(2n, { auth: AUTH, clusterId: "c1", ...opts });
  for (const id of [1n, 3n, 4n]) b.t.setPeer(id, "127.0.0.1:9");
  return b;
}

function spools(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith("tsraft-snap-"));
}

describe("before the handshake", { timeout: 60_000 }, () => {
  test("a frame larger than 4 KiB is refused at its header, so nothing close to it is buffered", async () => {
    const b = await member2();
    const conns = await Promise.all(Array.from({ length: 8 }, () => rawClient(b.t.address)));
    const junk = Buffer.alloc(1024 * 1024, 7);
    for (const c of conns) {
      const head = Buffer.alloc(5);
      head.writeUInt32BE(64 * 1024 * 1024, 0); // a 64 MiB "hello"
      head[4] = FrameKind.Hello;
      c.send(head);
      for (let i = 0; i < 4; i++) c.send(junk);
    }
    await until("all closed", () => conns.every((c) => c.closed), 3000);
    assert.equal(b.t.stats().refusedLimit, 8);
    assert.equal(b.t.stats().inboundOpen, 0);
    // A 4 KiB frame is not too large, but not a hello either.
    const c = await rawClient(b.t.address);
    c.send(frame(FrameKind.Msg, Buffer.alloc(4000)));
    await until("closed", () => c.closed);
    assert.equal(b.t.stats().refusedHandshake, 1);
    await b.t.close();
  });

  test("a connection that does not complete its handshake in time is closed", async () => {
    const b = await member2({ handshakeTimeoutMs: 200 });
    const silent = await rawClient(b.t.address);
    const slow = await rawClient(b.t.address);
    slow.send(Buffer.from([0, 0, 0])); // part of a header, then nothing
    const t0 = Date.now();
    await until("both closed", () => silent.closed && slow.closed, 3000);
    assert.ok(Date.now() - t0 < 1500);
    assert.equal(b.t.stats().refusedHandshake, 2);
    await b.t.close();
  });
});

describe("connection caps", { timeout: 60_000 }, () => {
  test("connections in their handshake are capped; a member gets in once they time out", async () => {
    const b = await member2({ maxPendingConnections: 4, maxPendingPerAddress: 4, maxInboundConnections: 100, handshakeTimeoutMs: 300 });
    // From five addresses, two each: only the cap on all pending connections applies.
    const squatters = await Promise.all(Array.from({ length: 10 }, (_, i) => rawClient(b.t.address, `127.0.0.${1 + (i % 5)}`)));
    await until("6 refused", () => squatters.filter((c) => c.closed).length === 6, 2000);
    assert.equal(b.t.stats().refusedLimit, 6);
    assert.equal(b.t.stats().inboundPending, 4);
    // The squatters are cut at the deadline; then a member connects.
    await until("squatters timed out", () => squatters.every((c) => c.closed), 2000);
    const m = await memberSocket(1n, 2n, b.t.address, "msg", AUTH);
    m.s.write(frame(FrameKind.Msg, encodeMessage(msg(MessageType.MsgHeartbeat, 1n, 2n))));
    await until("delivered", () => b.got.length === 1);
    assert.deepEqual([b.t.stats().inboundOpen, b.t.stats().inboundPending], [1, 0]);
  });

  test("all inbound connections are capped, identified ones included", async () => {
    const b = await member2({ maxInboundConnections: 3, maxPendingConnections: 2, maxPendingPerAddress: 2 });
    await memberSocket(1n, 2n, b.t.address, "msg", AUTH);
    await memberSocket(3n, 2n, b.t.address, "msg", AUTH);
    const squatter = await rawClient(b.t.address);
    await until("3 open", () => b.t.stats().inboundOpen === 3);
    const refused = await rawClient(b.t.address);
    await until("the fourth refused", () => refused.closed);
    await assert.rejects(memberSocket(4n, 2n, b.t.address, "msg", AUTH));
    assert.equal(squatter.closed, false);
    assert.equal(b.t.stats().refusedLimit, 2);
  });

  test("one remote address cannot take every handshake slot", async () => {
    const b = await member2({ maxPendingConnections: 6, maxPendingPerAddress: 2 });
    const one = await Promise.all(Array.from({ length: 4 }, () => rawClient(b.t.address, "127.0.0.1")));
    await until("2 refused", () => one.filter((c) => c.closed).length === 2, 2000);
    const two = await Promise.all(Array.from({ length: 2 }, () => rawClient(b.t.address, "127.0.0.2")));
    await sleep(50);
    assert.equal(two.filter((c) => c.closed).length, 0);
    assert.equal(b.t.stats().refusedLimit, 2);
    assert.equal(b.t.stats().inboundPending, 4);
  });

  test("a peer has at most one message stream: a new one replaces the old", async () => {
    const b = await member2();
    const streams: MemberSocket[] = [];
    for (let i = 0; i < 3; i++) streams.push(await memberSocket(1n, 2n, b.t.address, "msg", AUTH));
    await until("the older streams were closed", () => streams[0]!.closed && streams[1]!.closed);
    assert.equal(streams[2]!.closed, false);
    assert.equal(b.t.stats().inboundOpen, 1);
    streams[2]!.s.destroy();
    await b.t.close();
  });
});

describe("snapshot streams", { timeout: 60_000 }, () => {
  test("a second concurrent snapshot stream from the same peer is refused; the first completes", async () => {
    const b = await member2();
    const data = Buffer.alloc(1024 * 1024, 3);
    const first = await memberSocket(1n, 2n, b.t.address, "snap", AUTH);
    first.s.write(headerFrame(1n, 2n, data.length));
    for (const f of chunkFrames(data.subarray(0, data.length / 2))) first.s.write(f);
    const second = await memberSocket(1n, 2n, b.t.address, "snap", AUTH);
    second.s.write(headerFrame(1n, 2n, 10));
    await until("second refused", () => second.closed);
    assert.equal(b.t.stats().refusedSnapshot, 1);
    for (const f of chunkFrames(data.subarray(data.length / 2))) first.s.write(f);
    await until("first acknowledged", () => first.frames.some((f) => f.kind === FrameKind.SnapAck));
    const got = b.got.filter((m) => m.type === MessageType.MsgSnap);
    assert.equal(got.length, 1);
    assert.equal(Buffer.compare(Buffer.from(got[0]!.snapshot!.data!), data), 0);
    // Another peer's stream is independent.
    const other = await memberSocket(3n, 2n, b.t.address, "snap", AUTH);
    other.s.write(headerFrame(3n, 2n, 0));
    await until("acknowledged", () => other.frames.some((f) => f.kind === FrameKind.SnapAck));
    first.s.destroy();
    await b.t.close();
  });

  test("over TLS, a snapshot goes to disk as it arrives and is delivered intact once complete", async () => {
    const dir = tempDir();
    const b = await endpoint(2n, { auth: authFor("tls", 2n), clusterId: "c1", snapshotDir: dir });
    b.t.setPeer(1n, "127.0.0.1:9");
    const data = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 11)) & 0xff;
    const s = await memberSocket(1n, 2n, b.t.address, "snap", authFor("tls", 1n));
    s.s.write(headerFrame(1n, 2n, data.length));
    for (const f of chunkFrames(data.subarray(0, 1024 * 1024))) s.s.write(f);
    await until("the first half on disk", () => spools(dir).length === 1 && statSync(join(dir, spools(dir)[0]!)).size === 1024 * 1024);
    assert.equal(b.got.length, 0, "nothing delivered before the end");
    for (const f of chunkFrames(data.subarray(1024 * 1024))) s.s.write(f);
    await until("acknowledged", () => s.frames.some((f) => f.kind === FrameKind.SnapAck));
    assert.equal(b.got.length, 1);
    assert.equal(Buffer.compare(Buffer.from(b.got[0]!.snapshot!.data!), data), 0);
    assert.deepEqual(spools(dir), [], "the file is removed once read back");
  });

  test("three streams announcing 1 GiB allocate nothing of it, go to disk as they arrive, and leave nothing behind when cut", async () => {
    const dir = tempDir();
    const b = await member2({ snapshotDir: dir });
    const GiB = 1024 * 1024 * 1024;
    const sent = Buffer.alloc(8 * 1024 * 1024, 9); // one buffer, sent by all three
    gc();
    const base = process.memoryUsage();
    const streams: MemberSocket[] = [];
    for (const id of [1n, 3n, 4n]) {
      const s = await memberSocket(id, 2n, b.t.address, "snap", AUTH);
      s.s.write(headerFrame(id, 2n, GiB));
      for (const f of chunkFrames(sent, 256 * 1024)) s.s.write(f);
      streams.push(s);
    }
    await until(
      "8 MiB of each stream on disk",
      () => spools(dir).length === 3 && spools(dir).every((n) => statSync(join(dir, n)).size === sent.length),
      10_000,
    );
    gc();
    const during = process.memoryUsage();
    const grewAb = during.arrayBuffers - base.arrayBuffers;
    const grewRss = during.rss - base.rss;
    assert.ok(grewAb < 32 * 1024 * 1024, `arrayBuffers grew by ${(grewAb / 2 ** 20).toFixed(1)} MiB while receiving`);
    assert.ok(grewRss < 96 * 1024 * 1024, `rss grew by ${(grewRss / 2 ** 20).toFixed(1)} MiB while receiving`);
    for (const s of streams) s.s.destroy();
    await until("spool files removed", () => spools(dir).length === 0);
    gc();
    const afterCut = process.memoryUsage();
    assert.ok(
      afterCut.arrayBuffers - base.arrayBuffers < 16 * 1024 * 1024,
      `arrayBuffers after the cut: +${((afterCut.arrayBuffers - base.arrayBuffers) / 2 ** 20).toFixed(1)} MiB`,
    );
    assert.equal(b.got.length, 0);
    await b.t.close();
  });

  test("a snapshot over maxSnapshotBytes is refused at its header; one past its announced size, when it overflows", async () => {
    const dir = tempDir();
    const b = await member2({ snapshotDir: dir, maxSnapshotBytes: 1024 * 1024 });
    const big = await memberSocket(1n, 2n, b.t.address, "snap", AUTH);
    big.s.write(headerFrame(1n, 2n, 1024 * 1024 + 1));
    await until("refused", () => big.closed);
    assert.equal(spools(dir).length, 0);
    const over = await memberSocket(1n, 2n, b.t.address, "snap", AUTH);
    over.s.write(headerFrame(1n, 2n, 1000));
    for (const f of chunkFrames(Buffer.alloc(1001))) over.s.write(f);
    await until("refused", () => over.closed);
    await until("spool removed", () => spools(dir).length === 0);
    assert.equal(b.t.stats().refusedSnapshot, 2);
    assert.equal(b.got.length, 0);
    await b.t.close();
  });

  test("a stalled snapshot stream is cut after snapshotTimeoutMs and its file removed", async () => {
    const dir = tempDir();
    const b = await member2({ snapshotDir: dir, snapshotTimeoutMs: 300 });
    const s = await memberSocket(1n, 2n, b.t.address, "snap", AUTH);
    s.s.write(headerFrame(1n, 2n, 1000));
    for (const f of chunkFrames(Buffer.alloc(500))) s.s.write(f);
    await until("spooling", () => spools(dir).length === 1);
    await until("cut", () => s.closed, 3000);
    await until("spool removed", () => spools(dir).length === 0);
    assert.equal(b.t.stats().refusedSnapshot, 1);
    await b.t.close();
  });

  test("a snapshot header that is not from the connected member, or not a MsgSnap, is refused", async () => {
    const b = await member2();
    const forged = await memberSocket(1n, 2n, b.t.address, "snap", AUTH);
    forged.s.write(headerFrame(3n, 2n, 0));
    const notSnap = await memberSocket(3n, 2n, b.t.address, "snap", AUTH);
    const h = Buffer.concat([Buffer.alloc(9), Buffer.from(encodeMessage(msg(MessageType.MsgHeartbeat, 3n, 2n)))]);
    notSnap.s.write(frame(FrameKind.SnapHeader, h));
    await until("both refused", () => forged.closed && notSnap.closed);
    assert.equal(b.t.stats().refusedSnapshot, 2);
    assert.equal(b.got.length, 0);
    await b.t.close();
  });

  test("without snapshotDir, a killed process leaves nothing of its own in the temp directory", async () => {
    const id = 900_000_000n + BigInt(Math.floor(Math.random() * 1e6));
    const mine = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith(`tsraft-snap-${id}-`));
    const script = join(tempDir("tsraft-child-"), "child.mts");
    writeFileSync(
      script,
      `import { TcpTransport } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).href)};
       const t = new TcpTransport({ id: ${id}n, port: 0, auth: { mode: "none" }, onMessage() {} });
       await t.start();
       console.log("started");
       setInterval(() => {}, 1000);`,
    );
    const child = track(spawn(process.execPath, ["--conditions=@tsraft/source", "--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] }), (c) =>
      c.kill("SIGKILL"),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => d.toString().includes("started") && resolve());
      child.once("exit", (code) => reject(new Error(`child exited with ${code}`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    assert.deepEqual(mine(), []);
  });

  test("partial snapshot files a crash left behind are removed at start; other files are kept", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "tsraft-snap-1-0011223344556677.part"), "partial");
    writeFileSync(join(dir, "keep.txt"), "mine");
    const b = await member2({ snapshotDir: dir });
    assert.deepEqual(readdirSync(dir), ["keep.txt"]);
    await b.t.close();
  });
});

describe("what an authenticated member still may not send", { timeout: 60_000 }, () => {
  const cases: [string, Buffer][] = [
    ["a message from another id", frame(FrameKind.Msg, encodeMessage(msg(MessageType.MsgHeartbeat, 3n, 2n)))],
    ["a message to another node", frame(FrameKind.Msg, encodeMessage(msg(MessageType.MsgHeartbeat, 1n, 3n)))],
    ["a MsgSnap outside a snapshot stream", frame(FrameKind.Msg, encodeMessage(snapMsg(1n, 2n, 16)))],
    ["a local message type (MsgHup)", frame(FrameKind.Msg, encodeMessage(msg(MessageType.MsgHup, 1n, 2n)))],
    ["an undecodable message", frame(FrameKind.Msg, Buffer.from([0xff, 0xff, 0xff]))],
    ["a frame of an unknown kind", frame(99 as FrameKind, Buffer.alloc(3))],
    ["a snapshot chunk on a message stream", frame(FrameKind.SnapChunk, Buffer.alloc(3))],
  ];
  for (const [name, bytes] of cases) {
    test(name, async () => {
      const b = await member2();
      const m = await memberSocket(1n, 2n, b.t.address, "msg", AUTH);
      m.s.write(Buffer.concat([bytes, frame(FrameKind.Msg, encodeMessage(msg(MessageType.MsgHeartbeat, 1n, 2n)))]));
      await until("closed", () => m.closed);
      assert.equal(b.t.stats().refusedProtocol, 1);
      assert.equal(b.got.length, 0, "not even the valid message after it");
      await b.t.close();
    });
  }

  test("frames over maxFrameBytes are refused at the header", async () => {
    const b = await member2({ maxFrameBytes: 64 * 1024, snapshotChunkBytes: 64 * 1024 });
    const m = await memberSocket(1n, 2n, b.t.address, "msg", AUTH);
    m.s.write(frameHeader(FrameKind.Msg, 64 * 1024 + 1));
    await until("closed", () => m.closed);
    assert.equal(b.t.stats().refusedLimit, 1);
    await b.t.close();
  });
});
