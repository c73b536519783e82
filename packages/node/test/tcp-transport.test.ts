import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";
import { MessageType } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { TcpTransport } from "@tsraft/node";

function msg(type: MessageType, from: NodeId, to: NodeId, index = 0): Message {
  return { type, from, to, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Ep {
  t: TcpTransport;
  got: Message[];
  unreachable: NodeId[];
  snaps: string[];
}

async function endpoint(id: NodeId, port = 0, opts: Partial<ConstructorParameters<typeof TcpTransport>[0]> = {}): Promise<Ep> {
  const ep: Ep = { t: undefined as unknown as TcpTransport, got: [], unreachable: [], snaps: [] };
  ep.t = new TcpTransport({
    id,
    port,
    onMessage: (m) => ep.got.push(m),
    onUnreachable: (p) => ep.unreachable.push(p),
    onSnapshotStatus: (p, s) => ep.snaps.push(`${p}:${s}`),
    backoffInitialMs: 10,
    backoffMaxMs: 50,
    ...opts,
  });
  await ep.t.start();
  return ep;
}

describe("TcpTransport", () => {
  test("delivers messages both ways, in order, and learns the caller's address from its hello", async () => {
    const a = await endpoint(1n);
    const b = await endpoint(2n);
    a.t.setPeer(2n, b.t.address);
    a.t.send(Array.from({ length: 100 }, (_, i) => msg(MessageType.MsgApp, 1n, 2n, i)));
    await until("b got 100", () => b.got.length === 100);
    assert.deepEqual(b.got.map((m) => m.index), Array.from({ length: 100 }, (_, i) => i));
    // b never had a's address configured: it learned it from the hello.
    b.t.send([msg(MessageType.MsgAppResp, 2n, 1n, 7)]);
    await until("a got the answer", () => a.got.length === 1);
    assert.equal(a.got[0]!.index, 7);
    await a.t.close();
    await b.t.close();
  });

  test("reconnects after the peer restarts on the same port; drops and reports unreachable meanwhile", async () => {
    const a = await endpoint(1n);
    let b = await endpoint(2n);
    const port = Number(b.t.address.split(":")[1]);
    a.t.setPeer(2n, b.t.address);
    a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
    await until("first", () => b.got.length === 1);
    await b.t.close();
    for (let i = 0; i < 20 && a.unreachable.length === 0; i++) {
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(a.unreachable.includes(2n), "unreachable reported while the peer is down");
    b = await endpoint(2n, port);
    for (let i = 0; i < 200 && b.got.length === 0; i++) {
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(b.got.length > 0, "messages flow again after the restart");
    assert.ok(a.t.stats().connects >= 2);
    await a.t.close();
    await b.t.close();
  });

  test("the send queue is bounded: a peer that stops reading makes new messages drop with unreachable", async () => {
    const held: Socket[] = [];
    const sink = createServer((s) => {
      held.push(s);
      s.pause(); // never read: the kernel buffers fill up, then the socket stops draining
    });
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
    const a = await endpoint(1n, 0, { maxQueueMessages: 50, maxQueueBytes: 1 << 20 });
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

  test("a snapshot is streamed in chunks over its own connection and acknowledged", async () => {
    const a = await endpoint(1n, 0, { snapshotChunkBytes: 64 * 1024 });
    const b = await endpoint(2n);
    a.t.setPeer(2n, b.t.address);
    const data = new Uint8Array(3 * 1024 * 1024 + 17);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const m: Message = {
      ...msg(MessageType.MsgSnap, 1n, 2n),
      snapshot: { data, metadata: { index: 42, term: 3, confState: { voters: [1n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } },
    };
    a.t.send([m, msg(MessageType.MsgHeartbeat, 1n, 2n)]);
    await until("snapshot acknowledged", () => a.snaps.length === 1);
    assert.deepEqual(a.snaps, ["2:finish"]);
    const got = b.got.find((x) => x.type === MessageType.MsgSnap)!;
    assert.equal(got.snapshot!.metadata.index, 42);
    assert.deepEqual(got.snapshot!.metadata.confState.voters, [1n, 2n]);
    assert.equal(Buffer.compare(Buffer.from(got.snapshot!.data!), Buffer.from(data)), 0);
    assert.ok(b.got.some((x) => x.type === MessageType.MsgHeartbeat));
    await a.t.close();
    await b.t.close();
  });

  test("a snapshot to a dead peer reports failure", async () => {
    const a = await endpoint(1n);
    const b = await endpoint(2n);
    const addr = b.t.address;
    await b.t.close();
    a.t.setPeer(2n, addr);
    a.t.send([{ ...msg(MessageType.MsgSnap, 1n, 2n), snapshot: { data: new Uint8Array(10), metadata: { index: 1, term: 1, confState: { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } } } }]);
    await until("failure reported", () => a.snaps.length === 1);
    assert.deepEqual(a.snaps, ["2:failure"]);
    await a.t.close();
  });

  test("a process on the address that is not the addressed node refuses the stream", async () => {
    const a = await endpoint(1n);
    const c = await endpoint(3n);
    a.t.setPeer(2n, c.t.address); // stale address: node 3 lives there now
    for (let i = 0; i < 10; i++) {
      a.t.send([msg(MessageType.MsgHeartbeat, 1n, 2n)]);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(c.got.length, 0);
    await a.t.close();
    await c.t.close();
  });

  test("setBlocked partitions both directions until healed", async () => {
    const a = await endpoint(1n);
    const b = await endpoint(2n);
    a.t.setPeer(2n, b.t.address);
    b.t.setPeer(1n, a.t.address);
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
});
