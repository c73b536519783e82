/**
 * What authentication costs the transport: messages/s one way, round-trip latency, and the
 * time to open a connection (connect + handshake + first message), for auth `none`, `hmac` and
 * `tls`, two TcpTransports in one process on 127.0.0.1.
 *
 *   node --conditions=@tsraft/source --import tsx packages/node/scripts/transport-bench.ts [seconds-per-figure] [modes]
 *
 * `modes` is a comma-separated list (default `none,hmac,tls`); each mode runs after a short
 * warm-up of the codec and the transport, so that the first mode does not pay for the JIT.
 *
 * Figures include both transports' work and the event loop they share (one process), so they
 * are a comparison between modes, not a network benchmark.
 */
import { performance } from "node:perf_hooks";
import { MessageType } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { TcpTransport } from "@tsraft/node";
import type { TransportAuth } from "@tsraft/node";
import { makeCerts } from "../../../scripts/test-helpers/certs.js";

const SECONDS = Number(process.argv[2] ?? 3);
const MODES = (process.argv[3] ?? "none,hmac,tls").split(",") as ("none" | "hmac" | "tls")[];
const certs = makeCerts("bench");

function auth(mode: "none" | "hmac" | "tls", id: NodeId): TransportAuth {
  if (mode === "none") return { mode };
  if (mode === "hmac") return { mode, secret: "the benchmark cluster's shared secret" };
  const m = certs.member(id);
  return { mode, cert: m.cert, key: m.key, ca: certs.ca.cert };
}

function msg(type: MessageType, from: NodeId, to: NodeId, payload: number): Message {
  return {
    type,
    from,
    to,
    term: 5,
    logTerm: 5,
    index: 1000,
    commit: 990,
    reject: false,
    rejectHint: 0,
    entries: payload === 0 ? [] : [{ term: 5, index: 1001, type: 0, data: new Uint8Array(payload) }],
  };
}

interface Pair {
  a: TcpTransport;
  b: TcpTransport;
  onB: (m: Message) => void;
  onA: (m: Message) => void;
}

async function pair(mode: "none" | "hmac" | "tls"): Promise<Pair> {
  const p = { onA: (_m: Message) => {}, onB: (_m: Message) => {} } as Pair;
  p.a = new TcpTransport({
    id: 1n,
    port: 0,
    auth: auth(mode, 1n),
    clusterId: "bench",
    onMessage: (m) => p.onA(m),
    maxQueueMessages: 1 << 16,
    maxQueueBytes: 256 << 20,
  });
  p.b = new TcpTransport({
    id: 2n,
    port: 0,
    auth: auth(mode, 2n),
    clusterId: "bench",
    onMessage: (m) => p.onB(m),
    maxQueueMessages: 1 << 16,
    maxQueueBytes: 256 << 20,
  });
  await p.a.start();
  await p.b.start();
  p.a.setPeer(2n, p.b.address);
  p.b.setPeer(1n, p.a.address);
  return p;
}

/** Messages/s a -> b for `payload`-byte entries, at most `window` in flight. */
async function throughput(p: Pair, payload: number, window = 4096, seconds = SECONDS): Promise<number> {
  const m = msg(MessageType.MsgApp, 1n, 2n, payload);
  let received = 0;
  let sent = 0;
  let wake: () => void = () => {};
  p.onB = () => {
    received++;
    if (sent - received < window / 2) wake();
  };
  // warm up (and connect)
  p.a.send([m]);
  while (received === 0) await new Promise((r) => setTimeout(r, 1));
  received = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    while (sent - received < window) {
      const batch = Array.from({ length: 256 }, () => m);
      p.a.send(batch);
      sent += batch.length;
    }
    await new Promise<void>((r) => (wake = r));
  }
  const target = sent;
  while (received < target) await new Promise((r) => setTimeout(r, 1));
  return received / ((performance.now() - t0) / 1000);
}

/** Round-trip times (ms) of a heartbeat and its answer, one at a time. */
async function latency(p: Pair): Promise<{ p50: number; p99: number }> {
  const ping = msg(MessageType.MsgHeartbeat, 1n, 2n, 0);
  const pong = msg(MessageType.MsgHeartbeatResp, 2n, 1n, 0);
  p.onB = () => p.b.send([pong]);
  const rtts: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  for (let i = 0; performance.now() < end || i < 100; i++) {
    const t0 = performance.now();
    await new Promise<void>((r) => {
      p.onA = () => r();
      p.a.send([ping]);
    });
    if (i >= 20) rtts.push(performance.now() - t0);
  }
  rtts.sort((x, y) => x - y);
  return { p50: rtts[Math.floor(rtts.length * 0.5)]!, p99: rtts[Math.floor(rtts.length * 0.99)]! };
}

/** Time (ms) from a new peer address to the first message delivered over a fresh connection. */
async function connectTime(p: Pair, n = 50): Promise<number> {
  const times: number[] = [];
  const addr = p.b.address;
  for (let i = 0; i < n; i++) {
    p.a.removePeer(2n);
    await new Promise((r) => setTimeout(r, 2));
    const t0 = performance.now();
    await new Promise<void>((r) => {
      p.onB = () => r();
      p.a.setPeer(2n, addr);
      p.a.send([msg(MessageType.MsgHeartbeat, 1n, 2n, 0)]);
    });
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  return times[Math.floor(n / 2)]!;
}

const rows: Record<string, string | number>[] = [];
{
  const w = await pair("none");
  await throughput(w, 0, 4096, 1);
  await throughput(w, 1024, 4096, 1);
  await w.a.close();
  await w.b.close();
}
for (const mode of MODES) {
  const p = await pair(mode);
  const small = await throughput(p, 0);
  const kib = await throughput(p, 1024);
  const lat = await latency(p);
  const conn = await connectTime(p);
  rows.push({
    mode,
    "heartbeat msg/s": Math.round(small),
    "1 KiB MsgApp msg/s": Math.round(kib),
    "1 KiB MB/s": +((kib * 1024) / 1e6).toFixed(1),
    "RTT p50 ms": +lat.p50.toFixed(3),
    "RTT p99 ms": +lat.p99.toFixed(3),
    "connect+handshake ms": +conn.toFixed(2),
  });
  await p.a.close();
  await p.b.close();
}
console.table(rows);
console.log(JSON.stringify({ bench: "transport-auth", seconds: SECONDS, node: process.version, rows }));
certs.remove();
