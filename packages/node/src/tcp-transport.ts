/**
 * TcpTransport: raft messages between processes over TCP, from Node's built-ins only.
 *
 * - One outbound connection per peer carries this node's messages to it, as length-prefixed
 *   frames holding `encodeMessage` bytes (see frames.ts); the peer's own outbound connection
 *   carries its messages back. The first frame of a connection says who is calling whom, so
 *   a process that took over a port is never sent another node's traffic.
 * - Bounded send queues: at most `maxQueueMessages` messages / `maxQueueBytes` bytes wait for a
 *   peer; past that, while the peer is unreachable, and while reconnecting after a failure,
 *   messages are dropped and `onUnreachable` is called (raft then probes the peer again), as
 *   etcd's rafthttp does. Nothing grows without bound.
 * - Reconnect with exponential backoff (with jitter), reset by a successful connection.
 * - Snapshots (MsgSnap) go over a connection of their own, streamed in chunks with
 *   backpressure, so they never block heartbeats and are never copied into one frame; the
 *   receiver acknowledges once it stepped the message, and the sender reports
 *   `onSnapshotStatus('finish' | 'failure')`.
 * - Fault injection for tests: {@link TcpTransport.setBlocked} drops all traffic to and from
 *   the given peers (closes their connections, refuses new ones), as a network partition would.
 * @module
 */
import { connect, createServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { silentLogger } from "@tsraft/raft";
import type { Logger } from "@tsraft/raft";
import { MessageType, decodeMessage, encodeMessage } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { FrameKind, FrameReader, frame, frameHeader } from "./frames.js";
import type { Hello } from "./frames.js";

/** The options of a {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** This node's id. */
  id: NodeId;
  /** Host to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Called for each message received from a peer (already checked to be addressed to this node). */
  onMessage(m: Message): void;
  /** Called when messages to `id` were dropped (queue full, peer down). Typically `node.reportUnreachable`. */
  onUnreachable?(id: NodeId): void;
  /** Called when a snapshot transfer to `id` ended. Typically `node.reportSnapshot`. */
  onSnapshotStatus?(id: NodeId, status: "finish" | "failure"): void;
  /** Messages waiting for one peer before new ones are dropped. Default 4096. */
  maxQueueMessages?: number;
  /** Bytes waiting for one peer before new messages are dropped. Default 16 MiB. */
  maxQueueBytes?: number;
  /** Largest frame accepted from a peer. Default 64 MiB. */
  maxFrameBytes?: number;
  /** Largest snapshot accepted from a peer. Default 1 GiB. */
  maxSnapshotBytes?: number;
  /** Snapshot bytes per chunk frame. Default 256 KiB. */
  snapshotChunkBytes?: number;
  /** Time for a whole snapshot transfer, acknowledgement included. Default 60 s. */
  snapshotTimeoutMs?: number;
  /** Time for a TCP connection to be established. Default 1000 ms. */
  dialTimeoutMs?: number;
  /** First reconnect delay after a failure. Default 50 ms. */
  backoffInitialMs?: number;
  /** Largest reconnect delay. Default 2000 ms. */
  backoffMaxMs?: number;
  /** Connection-level log lines. Default silent. */
  logger?: Logger;
}

/** Counters of a {@link TcpTransport}. */
export interface TransportStats {
  /** Messages written to a socket. */
  sent: number;
  /** Messages dropped (queue full, peer unreachable or blocked, no address). */
  dropped: number;
  /** Messages received and handed to `onMessage`. */
  received: number;
  /** Outbound connections established. */
  connects: number;
  /** Snapshot transfers that completed, sent and received. */
  snapshotsSent: number;
  snapshotsReceived: number;
}

type PeerState = "idle" | "connecting" | "open" | "backoff";

/** The outbound side of one peer. */
class PeerStream {
  addr: string;
  state: PeerState = "idle";
  socket: Socket | undefined;
  queue: Buffer[] = [];
  queueBytes = 0;
  waitingDrain = false;
  backoffMs: number;
  retryTimer: NodeJS.Timeout | undefined;
  constructor(addr: string, backoffMs: number) {
    this.addr = addr;
    this.backoffMs = backoffMs;
  }
}

/** One inbound connection. */
interface Inbound {
  socket: Socket;
  reader: FrameReader;
  from: NodeId | undefined;
  snap: { msg: Message; data: Uint8Array | undefined; filled: number } | undefined;
}

const WRITE_BATCH_BYTES = 256 * 1024;

function parseAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const port = Number(addr.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`transport: invalid address ${JSON.stringify(addr)} (want host:port)`);
  return { host: addr.slice(0, i), port };
}

/** See the module comment. */
export class TcpTransport {
  private readonly opts: TcpTransportOptions;
  private readonly logger: Logger;
  private readonly maxQueueMessages: number;
  private readonly maxQueueBytes: number;
  private readonly maxFrameBytes: number;
  private readonly maxSnapshotBytes: number;
  private readonly chunkBytes: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private server: Server | undefined;
  private listenAddr = "";
  private closed = false;
  private readonly peers = new Map<NodeId, PeerStream>();
  private readonly inbound = new Set<Inbound>();
  private readonly snapSockets = new Map<NodeId, Socket>();
  private blocked = new Set<NodeId>();
  private readonly counters: TransportStats = { sent: 0, dropped: 0, received: 0, connects: 0, snapshotsSent: 0, snapshotsReceived: 0 };

  constructor(options: TcpTransportOptions) {
    this.opts = options;
    this.logger = options.logger ?? silentLogger;
    this.maxQueueMessages = options.maxQueueMessages ?? 4096;
    this.maxQueueBytes = options.maxQueueBytes ?? 16 * 1024 * 1024;
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * 1024 * 1024;
    this.maxSnapshotBytes = options.maxSnapshotBytes ?? 1024 * 1024 * 1024;
    this.chunkBytes = options.snapshotChunkBytes ?? 256 * 1024;
    this.backoffInitialMs = options.backoffInitialMs ?? 50;
    this.backoffMaxMs = options.backoffMaxMs ?? 2000;
  }

  /**
   * Starts listening.
   * @throws (rejects) the listen error, e.g. `EADDRINUSE`.
   */
  async start(): Promise<void> {
    const server = createServer((s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host ?? "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => this.logger.error(`transport: server error: ${err.message}`));
    const a = server.address() as AddressInfo;
    this.listenAddr = `${a.address}:${a.port}`;
    this.server = server;
  }

  /** The address this transport listens on (`host:port`), once started. */
  get address(): string {
    return this.listenAddr;
  }

  /** Sets (or changes) the address of a peer. */
  setPeer(id: NodeId, addr: string): void {
    parseAddr(addr);
    const p = this.peers.get(id);
    if (p === undefined) {
      this.peers.set(id, new PeerStream(addr, this.backoffInitialMs));
    } else if (p.addr !== addr) {
      p.addr = addr;
      this.disconnect(p);
    }
  }

  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    this.disconnect(p);
    this.peers.delete(id);
  }

  /** The known peers and their addresses. */
  peerAddresses(): Map<NodeId, string> {
    return new Map([...this.peers].map(([id, p]) => [id, p.addr]));
  }

  /** Counters since start. */
  stats(): TransportStats {
    return { ...this.counters };
  }

  /**
   * Fault injection: drops all traffic to and from `ids` (an empty list heals). Existing
   * connections with them are closed.
   */
  setBlocked(ids: Iterable<NodeId>): void {
    this.blocked = new Set(ids);
    for (const id of this.blocked) {
      const p = this.peers.get(id);
      if (p !== undefined) this.disconnect(p);
      this.snapSockets.get(id)?.destroy();
    }
    for (const c of this.inbound) if (c.from !== undefined && this.blocked.has(c.from)) c.socket.destroy();
  }

  /** The peers currently blocked by {@link setBlocked}. */
  blockedPeers(): NodeId[] {
    return [...this.blocked];
  }

  /** Queues messages for their peers; never throws, never blocks (see the module comment). */
  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      if (m.to === this.opts.id) continue;
      if (this.blocked.has(m.to)) {
        this.drop(m.to);
        continue;
      }
      const p = this.peers.get(m.to);
      if (p === undefined) {
        this.logger.debug(`transport: no address for ${m.to}; dropping ${MessageType[m.type]}`);
        this.drop(m.to);
        continue;
      }
      if (m.type === MessageType.MsgSnap) {
        this.sendSnapshot(m, p.addr);
        continue;
      }
      this.enqueue(m.to, p, frame(FrameKind.Msg, encodeMessage(m)));
    }
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers.values()) this.disconnect(p);
    for (const c of this.inbound) c.socket.destroy();
    for (const s of this.snapSockets.values()) s.destroy();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---------------------------------------------------------------------------------------------
  // outbound

  private drop(id: NodeId): void {
    this.counters.dropped++;
    this.opts.onUnreachable?.(id);
  }

  private enqueue(id: NodeId, p: PeerStream, buf: Buffer): void {
    if (p.state === "backoff" || p.queue.length >= this.maxQueueMessages || p.queueBytes + buf.length > this.maxQueueBytes) {
      this.drop(id);
      return;
    }
    p.queue.push(buf);
    p.queueBytes += buf.length;
    if (p.state === "idle") this.dial(id, p);
    else if (p.state === "open") this.flush(p);
  }

  private dial(id: NodeId, p: PeerStream): void {
    const { host, port } = parseAddr(p.addr);
    p.state = "connecting";
    const s = connect({ host, port });
    p.socket = s;
    s.setNoDelay(true);
    const timer = setTimeout(() => s.destroy(new Error("dial timeout")), this.opts.dialTimeoutMs ?? 1000);
    s.once("connect", () => {
      clearTimeout(timer);
      if (p.socket !== s) return;
      p.state = "open";
      p.backoffMs = this.backoffInitialMs;
      this.counters.connects++;
      s.write(frame(FrameKind.Hello, this.hello(id, "msg")));
      this.flush(p);
    });
    s.on("data", () => {}); // the receiver never writes on a message stream
    s.on("error", (err) => this.logger.debug(`transport: connection to ${id} (${p.addr}): ${err.message}`));
    s.once("close", () => {
      clearTimeout(timer);
      this.onStreamClosed(id, p, s);
    });
  }

  private flush(p: PeerStream): void {
    const s = p.socket;
    if (s === undefined || p.waitingDrain) return;
    while (p.queue.length > 0) {
      let n = 0;
      let bytes = 0;
      while (n < p.queue.length && (n === 0 || bytes + p.queue[n]!.length <= WRITE_BATCH_BYTES)) bytes += p.queue[n++]!.length;
      const batch = p.queue.splice(0, n);
      p.queueBytes -= bytes;
      this.counters.sent += n;
      const ok = s.write(n === 1 ? batch[0]! : Buffer.concat(batch, bytes));
      if (!ok) {
        p.waitingDrain = true;
        s.once("drain", () => {
          p.waitingDrain = false;
          if (p.socket === s) this.flush(p);
        });
        return;
      }
    }
  }

  private onStreamClosed(id: NodeId, p: PeerStream, s: Socket): void {
    if (p.socket !== s) return;
    p.socket = undefined;
    p.waitingDrain = false;
    const lost = p.queue.length;
    p.queue = [];
    p.queueBytes = 0;
    if (lost > 0) this.counters.dropped += lost;
    if (this.closed || !this.peers.has(id)) {
      p.state = "idle";
      return;
    }
    this.opts.onUnreachable?.(id);
    // Back off, then let the next message dial again.
    p.state = "backoff";
    const delay = p.backoffMs * (0.5 + Math.random() * 0.5);
    p.backoffMs = Math.min(p.backoffMs * 2, this.backoffMaxMs);
    p.retryTimer = setTimeout(() => {
      p.retryTimer = undefined;
      if (p.state === "backoff") p.state = "idle";
    }, delay);
  }

  /** Closes a peer's connection on purpose (no backoff). */
  private disconnect(p: PeerStream): void {
    if (p.retryTimer !== undefined) clearTimeout(p.retryTimer);
    p.retryTimer = undefined;
    const s = p.socket;
    p.socket = undefined;
    p.state = "idle";
    p.queue = [];
    p.queueBytes = 0;
    p.waitingDrain = false;
    s?.destroy();
  }

  private hello(to: NodeId, stream: "msg" | "snap"): Buffer {
    const h: Hello = { v: 1, from: this.opts.id.toString(), to: to.toString(), addr: this.listenAddr, stream };
    return Buffer.from(JSON.stringify(h));
  }

  /** Streams a MsgSnap over a connection of its own; reports the outcome. */
  private sendSnapshot(m: Message, addr: string): void {
    const id = m.to;
    if (this.snapSockets.has(id)) {
      this.logger.info(`transport: a snapshot to ${id} is already being sent; dropping another`);
      return;
    }
    const data = m.snapshot?.data;
    const header = encodeMessage({ ...m, snapshot: m.snapshot === undefined ? undefined : { ...m.snapshot, data: undefined } });
    const head = Buffer.allocUnsafe(9 + header.length);
    head.writeUInt32BE(Math.floor((data?.length ?? 0) / 2 ** 32), 0);
    head.writeUInt32BE((data?.length ?? 0) >>> 0, 4);
    head[8] = data === undefined ? 0 : 1;
    head.set(header, 9);
    const { host, port } = parseAddr(addr);
    const s = connect({ host, port });
    this.snapSockets.set(id, s);
    let done = false;
    const finish = (ok: boolean, why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.snapSockets.delete(id);
      s.destroy();
      if (ok) this.counters.snapshotsSent++;
      else this.logger.warn(`transport: snapshot to ${id} failed: ${why}`);
      this.opts.onSnapshotStatus?.(id, ok ? "finish" : "failure");
    };
    const timer = setTimeout(() => finish(false, "timeout"), this.opts.snapshotTimeoutMs ?? 60_000);
    const reader = new FrameReader(1024);
    s.on("error", (err) => finish(false, err.message));
    s.once("close", () => finish(false, "connection closed before the acknowledgement"));
    s.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk, (kind) => {
          if (kind === FrameKind.SnapAck) finish(true, "");
        });
      } catch (err) {
        finish(false, (err as Error).message);
      }
    });
    s.once("connect", () => {
      s.setNoDelay(true);
      void this.writeSnapshot(s, id, head, data).catch((err: unknown) => finish(false, (err as Error).message));
    });
  }

  private async writeSnapshot(s: Socket, id: NodeId, head: Buffer, data: Uint8Array | undefined): Promise<void> {
    const waitDrain = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const onClose = (): void => reject(new Error("connection closed"));
        s.once("close", onClose);
        s.once("drain", () => {
          s.off("close", onClose);
          resolve();
        });
      });
    s.write(frame(FrameKind.Hello, this.hello(id, "snap")));
    let ok = s.write(frame(FrameKind.SnapHeader, head));
    if (data === undefined) return;
    for (let off = 0; off < data.length; off += this.chunkBytes) {
      if (!ok) await waitDrain();
      if (s.destroyed) throw new Error("connection closed");
      const chunk = data.subarray(off, Math.min(off + this.chunkBytes, data.length));
      s.write(frameHeader(FrameKind.SnapChunk, chunk.length));
      ok = s.write(chunk);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // inbound

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const c: Inbound = { socket, reader: new FrameReader(this.maxFrameBytes), from: undefined, snap: undefined };
    this.inbound.add(c);
    socket.on("data", (chunk: Buffer) => {
      try {
        c.reader.push(chunk, (kind, payload) => this.onFrame(c, kind, payload));
      } catch (err) {
        this.logger.warn(`transport: closing connection from ${c.from ?? socket.remoteAddress}: ${(err as Error).message}`);
        socket.destroy();
      }
    });
    socket.on("error", () => {});
    socket.once("close", () => this.inbound.delete(c));
  }

  /** @throws Error for a protocol violation (the connection is closed by the caller). */
  private onFrame(c: Inbound, kind: number, payload: Buffer): void {
    if (c.socket.destroyed) return;
    if (c.from === undefined) {
      if (kind !== FrameKind.Hello) throw new Error("transport: first frame is not a hello");
      const h = JSON.parse(payload.toString("utf8")) as Hello;
      if (h.v !== 1 || typeof h.from !== "string" || typeof h.to !== "string") throw new Error("transport: bad hello");
      if (BigInt(h.to) !== this.opts.id) throw new Error(`transport: hello for node ${h.to}, but this is node ${this.opts.id}`);
      const from = BigInt(h.from);
      if (this.blocked.has(from)) {
        c.socket.destroy();
        return;
      }
      c.from = from;
      if (!this.peers.has(from) && typeof h.addr === "string" && h.addr !== "") this.setPeer(from, h.addr);
      return;
    }
    if (this.blocked.has(c.from)) {
      c.socket.destroy();
      return;
    }
    switch (kind) {
      case FrameKind.Msg:
        this.deliver(c, decodeMessage(payload));
        return;
      case FrameKind.SnapHeader: {
        const len = payload.readUInt32BE(0) * 2 ** 32 + payload.readUInt32BE(4);
        if (len > this.maxSnapshotBytes) throw new Error(`transport: snapshot of ${len} bytes exceeds the limit of ${this.maxSnapshotBytes}`);
        const msg = decodeMessage(payload.subarray(9));
        c.snap = { msg, data: payload[8] === 1 ? new Uint8Array(len) : undefined, filled: 0 };
        if (c.snap.data === undefined || len === 0) this.finishSnapshot(c);
        return;
      }
      case FrameKind.SnapChunk: {
        const sn = c.snap;
        if (sn === undefined || sn.data === undefined || sn.filled + payload.length > sn.data.length) throw new Error("transport: unexpected snapshot chunk");
        sn.data.set(payload, sn.filled);
        sn.filled += payload.length;
        if (sn.filled === sn.data.length) this.finishSnapshot(c);
        return;
      }
      default:
        throw new Error(`transport: unknown frame kind ${kind}`);
    }
  }

  private finishSnapshot(c: Inbound): void {
    const sn = c.snap!;
    c.snap = undefined;
    if (sn.msg.snapshot !== undefined) sn.msg.snapshot.data = sn.data;
    this.counters.snapshotsReceived++;
    this.deliver(c, sn.msg);
    c.socket.end(frame(FrameKind.SnapAck, new Uint8Array(0)));
  }

  private deliver(c: Inbound, m: Message): void {
    // A forwarded MsgTransferLeader keeps the transferee as `from` (as in etcd); every other
    // message comes from the peer that connected.
    if (m.to !== this.opts.id || (m.from !== c.from && m.type !== MessageType.MsgTransferLeader)) {
      throw new Error(`transport: message ${m.from}->${m.to} on a connection from ${c.from}`);
    }
    this.counters.received++;
    this.opts.onMessage(m);
  }
}
