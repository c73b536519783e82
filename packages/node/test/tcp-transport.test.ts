/**
 * What the transport does for well-behaved peers, in each auth mode: delivery both ways,
 * reconnects, bounded queues, snapshots streamed and acknowledged, partitions.
 */
import { after, afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { MessageType } from "@tsraft/raftpb";
import type { Message } from "@tsraft/raftpb";
import { authFor, cleanup, track, endpoint, link, msg, removeCerts, until } from "./transport-harness.js";

afterEach(cleanup);
after(removeCerts);

const confState = { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

for (const mode of ["none", "hmac", "tls"] as const) {
  const ep = (id: bigint, opts: Parameters<typeof endpoint>[1] = {}, port = 0) => endpoint(id, { auth: authFor(mode, id), clusterId: "c1", ...opts }, port);

  describe(`TcpTransport (auth ${mode})`, { timeout: 60_000 }, () => {
    test("delivers messages both ways, in order", async () => {
      const a = await ep(1n);
      const b = await ep(2n);
      link(a, 1n, b, 2n);
      assert.equal(a.t.authMode, mode);
      a.t.send(Array.from({ length: 100 }, (_, i) => msg(MessageType.MsgApp, 1n, 2n, i)));
      await until("b got 100", () => b.got.length === 100);
      assert.deepEqual(
        b.got.map((m) => m.index),
        Array.from({ length: 100 }, (_, i) => i),
      );
      b.t.send([msg(MessageType.MsgAppResp, 2n, 1n, 7)]);
      await until("a got the answer", () => a.got.length === 1);
      assert.equal(a.got[0]!.index, 7);
      const st = b.t.stats();
      assert.equal(st.refusedHandshake + st.refusedUnknownPeer + st.refusedProtocol, 0);
      await a.t.close();
      await b.t.close();
    });

    test("reconnects after the peer restarts on the same port; drops and reports unreachable meanwhile", async () => {
      const a = await ep(1n);
      let b = await ep(2n);
      const port = Number(b.t.address.split(":")[1]);
      link(a, 1n, b, 2n);
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await until("first", () => b.got.length === 1);
      await b.t.close();
      for (let i = 0; i < 20 && a.unreachable.length === 0; i++) {
        a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(a.unreachable.includes(2n), "unreachable reported while the peer is down");
      b = await ep(2n, {}, port);
      b.t.setPeer(1n, a.t.address);
      for (let i = 0; i < 200 && b.got.length === 0; i++) {
        a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(b.got.length > 0, "messages flow again after the restart");
      assert.ok(a.t.stats().connects >= 2);
      await a.t.close();
      await b.t.close();
    });

    test("delivers each message at most once across a peer's restart and a cut connection: nothing written is sent again", async () => {
      // The contract of RaftNode's send (README: "Transports deliver each message at most once"):
      // a forwarded proposal delivered twice would be applied twice.
      const a = await ep(1n);
      let b = await ep(2n);
      const port = Number(b.t.address.split(":")[1]);
      link(a, 1n, b, 2n);
      let next = 0;
      const burst = async (n: number): Promise<void> => {
        for (let k = 0; k < n; k++) {
          a.t.send([msg(MessageType.MsgProp, 1n, 2n, next++)]);
          if (k % 10 === 0) await new Promise((r) => setTimeout(r, 1));
        }
      };
      await burst(200);
      await until("some delivered", () => b.got.length > 0);
      const before = b.got;
      const closing = b.t.close(); // while messages may still be in flight
      await burst(100);
      await closing;
      b = await ep(2n, {}, port);
      b.t.setPeer(1n, a.t.address);
      for (let i = 0; i < 200 && b.got.length < 50; i++) await burst(10);
      assert.ok(b.got.length > 0, "messages flow again after the restart");
      // The connection cut while both stay up (everything written before the cut was read).
      await burst(100);
      await until("the last one read", () => b.got.at(-1)?.index === next - 1); // in order: all before it too
      b.t.setBlocked([1n]);
      await new Promise((r) => setTimeout(r, 50)); // a sees the connection close
      b.t.setBlocked([]);
      const had = b.got.length;
      for (let i = 0; i < 200 && b.got.length < had + 50; i++) await burst(10);
      assert.ok(b.got.length > had, "messages flow again after the cut");
      const indexes = [...before, ...b.got].map((m) => m.index);
      const twice = indexes.filter((x, i) => indexes.indexOf(x) !== i);
      assert.deepEqual(twice, [], "no message delivered twice");
      await a.t.close();
      await b.t.close();
    });

    test("the send queue is bounded: a peer that stops reading makes new messages drop with unreachable", async () => {
      const held: Socket[] = [];
      const sink = track(
        createServer((s) => {
          held.push(s);
          s.pause(); // never read, never answer the hello
        }),
        (x) => {
          for (const s of held) s.destroy();
          x.close();
        },
      );
      await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
      const a = await ep(1n, { maxQueueMessages: 50, maxQueueBytes: 1 << 20 });
      a.t.setPeer(2n, `127.0.0.1:${(sink.address() as AddressInfo).port}`);
      const big: Message = { ...msg(MessageType.MsgApp, 1n, 2n), entries: [{ term: 1, index: 1, type: 0, data: new Uint8Array(64 * 1024) }] };
      for (let i = 0; i < 400; i++) {
        a.t.send([big]);
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      const st = a.t.stats();
      assert.ok(st.dropped > 0, `some messages dropped (${JSON.stringify(st)})`);
      assert.ok(a.unreachable.length > 0);
      assert.ok(st.sent + st.dropped <= 400);
      await a.t.close();
      for (const s of held) s.destroy();
      await new Promise<void>((r) => sink.close(() => r()));
    });

    test("a snapshot is streamed in chunks over its own connection, spooled to disk, delivered intact and acknowledged", async () => {
      const a = await ep(1n, { snapshotChunkBytes: 64 * 1024 });
      const b = await ep(2n);
      link(a, 1n, b, 2n);
      const data = new Uint8Array(3 * 1024 * 1024 + 17);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
      const m: Message = { ...msg(MessageType.MsgSnap, 1n, 2n), snapshot: { data, metadata: { index: 42, term: 3, confState } } };
      a.t.send([m, msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await until("snapshot acknowledged", () => a.snaps.length === 1);
      assert.deepEqual(a.snaps, ["2:finish"]);
      const got = b.got.find((x) => x.type === MessageType.MsgSnap)!;
      assert.equal(got.snapshot!.metadata.index, 42);
      assert.deepEqual(got.snapshot!.metadata.confState.voters, [1n, 2n]);
      assert.equal(Buffer.compare(Buffer.from(got.snapshot!.data!), Buffer.from(data)), 0);
      assert.ok(b.got.some((x) => x.type === MessageType.MsgHeartbeat));
      assert.equal(b.t.stats().snapshotsReceived, 1);
      assert.equal(a.t.stats().snapshotsSent, 1);
      await a.t.close();
      await b.t.close();
    });

    test("a snapshot without data and one with empty data are delivered as such", async () => {
      const a = await ep(1n);
      const b = await ep(2n);
      link(a, 1n, b, 2n);
      a.t.send([{ ...msg(MessageType.MsgSnap, 1n, 2n), snapshot: { metadata: { index: 5, term: 1, confState } } }]);
      await until("first acknowledged", () => a.snaps.length === 1);
      a.t.send([{ ...msg(MessageType.MsgSnap, 1n, 2n), snapshot: { data: new Uint8Array(0), metadata: { index: 6, term: 1, confState } } }]);
      await until("second acknowledged", () => a.snaps.length === 2);
      assert.deepEqual(a.snaps, ["2:finish", "2:finish"]);
      const snaps = b.got.filter((x) => x.type === MessageType.MsgSnap);
      assert.equal(snaps[0]!.snapshot!.data, undefined);
      assert.equal(snaps[1]!.snapshot!.data!.length, 0);
      await a.t.close();
      await b.t.close();
    });

    test("a snapshot to a dead peer reports failure", async () => {
      const a = await ep(1n);
      const b = await ep(2n);
      const addr = b.t.address;
      await b.t.close();
      a.t.setPeer(2n, addr);
      a.t.send([{ ...msg(MessageType.MsgSnap, 1n, 2n), snapshot: { data: new Uint8Array(10), metadata: { index: 1, term: 1, confState } } }]);
      await until("failure reported", () => a.snaps.length === 1);
      assert.deepEqual(a.snaps, ["2:failure"]);
      await a.t.close();
    });

    test("a process on the address that is not the addressed node refuses the stream", async () => {
      const a = await ep(1n);
      const c = await ep(3n);
      a.t.setPeer(2n, c.t.address); // stale address: node 3 lives there now
      c.t.setPeer(1n, a.t.address);
      for (let i = 0; i < 10; i++) {
        a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(c.got.length, 0);
      await until("the dialer saw the refusal", () => a.t.stats().dialHandshakeFailures > 0);
      await a.t.close();
      await c.t.close();
    });

    test("setBlocked partitions both directions until healed", async () => {
      const a = await ep(1n);
      const b = await ep(2n);
      link(a, 1n, b, 2n);
      a.t.setBlocked([2n]);
      for (let i = 0; i < 10; i++) {
        a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
        b.t.send([msg(MessageType.MsgHeartbeatResp, 2n, 1n)]);
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.equal(a.got.length, 0, "a refuses b's connection");
      assert.equal(b.got.length, 0, "a sends nothing to b");
      a.t.setBlocked([]);
      for (let i = 0; i < 100 && (a.got.length === 0 || b.got.length === 0); i++) {
        a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
        b.t.send([msg(MessageType.MsgHeartbeatResp, 2n, 1n)]);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(a.got.length > 0 && b.got.length > 0, "healed");
      await a.t.close();
      await b.t.close();
    });

    test("removePeer closes the peer's inbound stream and refuses it afterwards", async () => {
      const a = await ep(1n);
      const b = await ep(2n);
      link(a, 1n, b, 2n);
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await until("delivered", () => b.got.length === 1);
      b.t.removePeer(1n);
      await until("a's stream closed", () => b.t.stats().inboundOpen === 0);
      for (let i = 0; i < 10; i++) {
        a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
        await new Promise((r) => setTimeout(r, 15));
      }
      assert.equal(b.got.length, 1);
      assert.ok(b.t.stats().refusedUnknownPeer > 0);
      await a.t.close();
      await b.t.close();
    });
  });
}
