/**
 * The acceptor: the listening side of {@link TcpTransport}. It admits connections under the
 * caps of connection-limits.ts, runs the acceptor's half of the handshake (handshake.ts) with
 * a 4 KiB frame limit and a deadline, and only then reads a peer's messages (a `msg` stream)
 * or its one snapshot (a `snap` stream, spooled to disk by snapshot-spool.ts). Whatever it
 * will not serve it closes, logs (at most one line per reason per second) and counts.
 *
 * Per configured peer it keeps at most one `msg` stream (a new one replaces the old: the peer
 * reconnected) and one `snap` stream (a second is refused while the first runs).
 * @module
 */
import { createServer as createNetServer } from "node:net";
import type { Server, Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { TLSSocket } from "node:tls";
import { isLocalMsg } from "@tsraft/raft";
import { MessageType, decodeMessage } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { ConnectionLimits } from "./connection-limits.js";
import { FrameKind, FrameReader, frame } from "./frames.js";
import { HANDSHAKE_FRAME_BYTES, acceptorMac, dialerMac, encodeWelcome, macEquals, newNonce, parseHello, parseProof } from "./handshake.js";
import type { ParsedHello } from "./handshake.js";
import { SnapshotSpool } from "./snapshot-spool.js";
import { certificateNames, memberUri } from "./transport-auth.js";
import { ConnectionRefusedError } from "./transport-errors.js";
import type { RefusalReason } from "./transport-errors.js";
import type { ResolvedOptions, TransportStats } from "./transport-options.js";

/** What the acceptor needs from its transport. */
export interface AcceptorHost {
  readonly opts: ResolvedOptions;
  readonly counters: TransportStats;
  /** Whether `id` is a configured peer. */
  isPeer(id: NodeId): boolean;
  /** Whether traffic with `id` is blocked (fault injection). */
  isBlocked(id: NodeId): boolean;
  /** Where snapshot spools go (known once started). */
  snapshotDir(): string;
  /** Hands a checked message to the application. */
  deliver(m: Message): void;
}

type Stage = "hello" | "proof" | "open" | "closed";

/** A snapshot being received on a `snap` stream. */
interface InboundSnapshot {
  msg: Message;
  spool: SnapshotSpool | undefined;
  finishing: boolean;
}

/** One inbound connection. */
class Inbound {
  readonly raw: Socket;
  /** The socket frames are read from: `raw`, or the TLS socket over it. */
  stream: Socket | undefined;
  readonly remote: string;
  /** `address|port` of the remote end: the key of {@link Acceptor.awaitingTls}. */
  readonly key: string;
  readonly reader = new FrameReader(HANDSHAKE_FRAME_BYTES);
  stage: Stage = "hello";
  pending = true;
  hello: ParsedHello | undefined;
  acceptorNonce: Buffer | undefined;
  /** The authenticated peer; set when the handshake completes. */
  from: NodeId | undefined;
  snap: InboundSnapshot | undefined;
  timer: NodeJS.Timeout | undefined;
  constructor(raw: Socket, remote: string) {
    this.raw = raw;
    this.remote = remote;
    this.key = `${remote}|${raw.remotePort}`;
  }
}

const REFUSAL_COUNTER: Record<RefusalReason, keyof TransportStats> = {
  handshake: "refusedHandshake",
  "unknown-peer": "refusedUnknownPeer",
  "wrong-cluster": "refusedWrongCluster",
  limit: "refusedLimit",
  snapshot: "refusedSnapshot",
  protocol: "refusedProtocol",
};

/** See the module comment. */
export class Acceptor {
  private readonly host: AcceptorHost;
  private readonly limits: ConnectionLimits;
  private readonly conns = new Set<Inbound>();
  /** TLS mode: connections whose TLS socket is not there yet, by `address|port`. */
  private readonly awaitingTls = new Map<string, Inbound>();
  private readonly msgStreams = new Map<NodeId, Inbound>();
  private readonly snapStreams = new Map<NodeId, Inbound>();
  private readonly lastLog = new Map<RefusalReason, { at: number; suppressed: number }>();
  private closed = false;

  constructor(host: AcceptorHost) {
    this.host = host;
    const o = host.opts;
    this.limits = new ConnectionLimits({
      maxInbound: o.maxInboundConnections,
      maxPending: o.maxPendingConnections,
      maxPendingPerAddress: o.maxPendingPerAddress,
    });
  }

  /** Makes the listening server (not yet listening). */
  createServer(): Server {
    const o = this.host.opts;
    const auth = o.auth;
    if (auth.mode !== "tls") {
      const server = createNetServer((raw) => this.admit(raw));
      return server;
    }
    const server = createTlsServer({
      cert: auth.cert,
      key: auth.key,
      ca: auth.ca,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
      handshakeTimeout: o.handshakeTimeoutMs,
    });
    // tls.Server wraps each raw socket in its own 'connection' listener, which runs first.
    server.on("connection", (raw: Socket) => this.admit(raw));
    server.on("secureConnection", (s: TLSSocket) => {
      const c = this.awaitingTls.get(`${s.remoteAddress}|${s.remotePort}`);
      if (c === undefined || c.stage === "closed") {
        s.destroy();
        return;
      }
      this.awaitingTls.delete(`${s.remoteAddress}|${s.remotePort}`);
      this.attach(c, s);
    });
    // The TLS socket has lost its remote address by then: the raw socket's close counts it
    // as an abandoned handshake.
    server.on("tlsClientError", (err: Error, s: TLSSocket) => {
      o.logger.debug(`transport: TLS handshake failed: ${err.message}`);
      s.destroy();
    });
    return server;
  }

  /** Inbound connections open and in their handshake. */
  counts(): { open: number; pending: number } {
    return this.limits.counts();
  }

  /** Closes every connection from `id` (removed or blocked peer). */
  closeFrom(id: NodeId): void {
    for (const c of this.conns) if (c.from === id) this.close(c);
  }

  /** Closes every connection. */
  closeAll(): void {
    this.closed = true;
    for (const c of this.conns) this.close(c);
  }

  private admit(raw: Socket): void {
    const remote = raw.remoteAddress ?? "unknown";
    if (this.closed) {
      raw.destroy();
      return;
    }
    const why = this.limits.admit(remote);
    if (why !== undefined) {
      raw.destroy();
      this.count("limit", `transport: refused a connection from ${remote}: ${why}`);
      return;
    }
    const c = new Inbound(raw, remote);
    this.conns.add(c);
    raw.on("error", () => {});
    raw.once("close", () => this.closedByPeer(c));
    c.timer = setTimeout(
      () => this.refuse(c, new ConnectionRefusedError("handshake", `transport: no handshake within ${this.host.opts.handshakeTimeoutMs} ms`)),
      this.host.opts.handshakeTimeoutMs,
    );
    if (this.host.opts.auth.mode === "tls") this.awaitingTls.set(c.key, c);
    else this.attach(c, raw);
  }

  private attach(c: Inbound, s: Socket): void {
    c.stream = s;
    s.setNoDelay(true);
    s.on("error", () => {});
    s.once("close", () => this.closedByPeer(c));
    s.on("data", (chunk: Buffer) => {
      try {
        c.reader.push(chunk, (kind, payload) => this.onFrame(c, kind, payload));
      } catch (err) {
        this.refuse(c, err);
      }
    });
  }

  /** @throws {@link ConnectionRefusedError} to close the connection. */
  private onFrame(c: Inbound, kind: number, payload: Buffer): void {
    switch (c.stage) {
      case "hello":
        if (kind !== FrameKind.Hello) throw new ConnectionRefusedError("handshake", `transport: first frame is of kind ${kind}, not a hello`);
        return this.onHello(c, parseHello(payload));
      case "proof": {
        if (kind !== FrameKind.Proof) throw new ConnectionRefusedError("handshake", `transport: frame of kind ${kind} instead of the proof`);
        const auth = this.host.opts.auth;
        if (auth.mode !== "hmac") throw new Error("transport: proof stage outside hmac mode");
        if (!macEquals(parseProof(payload), dialerMac(auth.secret, c.hello!.bytes, c.acceptorNonce!))) {
          throw new ConnectionRefusedError("handshake", `transport: ${c.hello!.from} did not prove it knows the cluster secret`);
        }
        return this.establish(c);
      }
      case "open":
        if (c.hello!.stream === "msg") return this.onMsgFrame(c, kind, payload);
        return this.onSnapFrame(c, kind, payload);
      case "closed":
        return;
    }
  }

  private onHello(c: Inbound, h: ParsedHello): void {
    const o = this.host.opts;
    if (h.auth !== o.auth.mode) throw new ConnectionRefusedError("handshake", `transport: ${h.from} uses auth mode ${h.auth}, this node ${o.auth.mode}`);
    if (h.cluster !== o.clusterId)
      throw new ConnectionRefusedError(
        "wrong-cluster",
        `transport: ${h.from} is of cluster ${JSON.stringify(h.cluster)}, this node of ${JSON.stringify(o.clusterId)}`,
      );
    if (h.to !== o.id) throw new ConnectionRefusedError("handshake", `transport: hello for node ${h.to}, but this is node ${o.id}`);
    if (h.from === o.id || !this.host.isPeer(h.from)) throw new ConnectionRefusedError("unknown-peer", `transport: ${h.from} is not a configured peer`);
    if (this.host.isBlocked(h.from)) {
      this.close(c);
      return;
    }
    if (o.auth.mode === "tls") {
      const cert = (c.stream as TLSSocket).getPeerX509Certificate();
      if (!certificateNames(cert, h.from)) {
        throw new ConnectionRefusedError(
          "handshake",
          `transport: the certificate of the caller claiming ${h.from} does not name ${memberUri(h.from)} (it has ${cert?.subjectAltName ?? "none"})`,
        );
      }
    }
    c.hello = h;
    if (o.auth.mode === "hmac") {
      c.acceptorNonce = newNonce();
      c.stage = "proof";
      c.stream!.write(frame(FrameKind.Welcome, encodeWelcome({ nonce: c.acceptorNonce, mac: acceptorMac(o.auth.secret, h.bytes, c.acceptorNonce) })));
      return;
    }
    c.stream!.write(frame(FrameKind.Welcome, encodeWelcome({ nonce: Buffer.alloc(0), mac: Buffer.alloc(0) })));
    this.establish(c);
  }

  private establish(c: Inbound): void {
    const h = c.hello!;
    const o = this.host.opts;
    clearTimeout(c.timer);
    c.timer = undefined;
    c.pending = false;
    this.limits.identified(c.remote);
    c.from = h.from;
    c.stage = "open";
    if (h.stream === "msg") {
      const old = this.msgStreams.get(h.from);
      this.msgStreams.set(h.from, c);
      if (old !== undefined) this.close(old); // the peer reconnected
    } else {
      if (this.snapStreams.has(h.from))
        throw new ConnectionRefusedError("snapshot", `transport: ${h.from} opened a second snapshot stream while one is running`);
      this.snapStreams.set(h.from, c);
      c.timer = setTimeout(
        () => this.refuse(c, new ConnectionRefusedError("snapshot", `transport: snapshot from ${h.from} not complete within ${o.snapshotTimeoutMs} ms`)),
        o.snapshotTimeoutMs,
      );
    }
    c.reader.setMaxFrameBytes(o.maxFrameBytes);
  }

  private decode(payload: Buffer, reason: RefusalReason): Message {
    try {
      return decodeMessage(payload);
    } catch (err) {
      throw new ConnectionRefusedError(reason, `transport: undecodable message: ${(err as Error).message}`, { cause: err });
    }
  }

  private onMsgFrame(c: Inbound, kind: number, payload: Buffer): void {
    if (kind !== FrameKind.Msg) throw new ConnectionRefusedError("protocol", `transport: frame of kind ${kind} on a message stream`);
    const m = this.decode(payload, "protocol");
    if (m.type === MessageType.MsgSnap) throw new ConnectionRefusedError("protocol", "transport: MsgSnap outside a snapshot stream");
    this.check(c, m, "protocol");
    if (this.host.isBlocked(c.from!)) return this.close(c);
    this.host.deliver(m);
  }

  /** Checks a message is to this node, from the connected peer, and not a local message type. */
  private check(c: Inbound, m: Message, reason: RefusalReason): void {
    const self = this.host.opts.id;
    // A forwarded MsgTransferLeader keeps the transferee as `from` (as in etcd).
    const fromOk = m.from === c.from || (m.type === MessageType.MsgTransferLeader && (m.from === self || this.host.isPeer(m.from)));
    if (m.to !== self || !fromOk) throw new ConnectionRefusedError(reason, `transport: message ${m.from}->${m.to} on a connection from ${c.from}`);
    if (isLocalMsg(m.type)) throw new ConnectionRefusedError(reason, `transport: local message type ${MessageType[m.type] ?? m.type} from ${c.from}`);
  }

  private onSnapFrame(c: Inbound, kind: number, payload: Buffer): void {
    const sn = c.snap;
    if (kind === FrameKind.SnapHeader && sn === undefined) return this.onSnapHeader(c, payload);
    if (kind !== FrameKind.SnapChunk || sn === undefined || sn.spool === undefined || sn.finishing) {
      throw new ConnectionRefusedError("snapshot", `transport: unexpected frame of kind ${kind} in a snapshot stream`);
    }
    sn.spool.write(payload);
    if (sn.spool.complete) this.finishSnapshot(c, sn);
  }

  private onSnapHeader(c: Inbound, payload: Buffer): void {
    const o = this.host.opts;
    if (payload.length < 9 || payload[8]! > 1) throw new ConnectionRefusedError("snapshot", "transport: malformed snapshot header");
    const size = payload.readUInt32BE(0) * 2 ** 32 + payload.readUInt32BE(4);
    const hasData = payload[8] === 1;
    if (size > o.maxSnapshotBytes)
      throw new ConnectionRefusedError("snapshot", `transport: snapshot of ${size} bytes from ${c.from} exceeds the limit of ${o.maxSnapshotBytes}`);
    if (!hasData && size !== 0) throw new ConnectionRefusedError("snapshot", "transport: snapshot header announces data but has none");
    const msg = this.decode(payload.subarray(9), "snapshot");
    if (msg.type !== MessageType.MsgSnap || msg.snapshot === undefined)
      throw new ConnectionRefusedError("snapshot", "transport: snapshot header is not a MsgSnap with a snapshot");
    this.check(c, msg, "snapshot");
    const sn: InboundSnapshot = { msg, spool: undefined, finishing: false };
    c.snap = sn;
    if (!hasData) msg.snapshot.data = undefined;
    if (!hasData || size === 0) {
      if (hasData) msg.snapshot.data = new Uint8Array(0);
      sn.finishing = true;
      this.complete(c, sn.msg);
      return;
    }
    const stream = c.stream!;
    sn.spool = new SnapshotSpool(this.host.snapshotDir(), c.from!, size, {
      pressure: (paused) => (paused ? stream.pause() : stream.resume()),
      failed: (err) =>
        this.refuse(c, new ConnectionRefusedError("snapshot", `transport: cannot spool the snapshot from ${c.from}: ${err.message}`, { cause: err })),
    });
  }

  private finishSnapshot(c: Inbound, sn: InboundSnapshot): void {
    sn.finishing = true;
    sn.spool!.finish().then(
      (data) => {
        if (c.stage !== "open") return;
        sn.msg.snapshot!.data = data;
        try {
          this.complete(c, sn.msg);
        } catch (err) {
          this.refuse(c, err); // onMessage threw
        }
      },
      (err: unknown) => {
        if (c.stage === "open")
          this.refuse(
            c,
            err instanceof ConnectionRefusedError
              ? err
              : new ConnectionRefusedError("snapshot", `transport: cannot read the snapshot from ${c.from} back: ${(err as Error).message}`, { cause: err }),
          );
      },
    );
  }

  private complete(c: Inbound, m: Message): void {
    const from = c.from!;
    if (this.host.isBlocked(from)) return this.close(c);
    // The stream is done: the peer may start another one at once.
    if (this.snapStreams.get(from) === c) this.snapStreams.delete(from);
    clearTimeout(c.timer);
    c.timer = setTimeout(() => this.close(c), this.host.opts.handshakeTimeoutMs);
    this.host.counters.snapshotsReceived++;
    this.host.deliver(m);
    c.stream!.end(frame(FrameKind.SnapAck, new Uint8Array(0)));
  }

  /** Closes `c` for `err`, counting it (a non-refusal error counts as a protocol/handshake error). */
  private refuse(c: Inbound, err: unknown): void {
    if (c.stage === "closed") return;
    let reason: RefusalReason;
    if (err instanceof ConnectionRefusedError) reason = err.reason;
    else reason = c.pending ? "handshake" : "protocol";
    if (c.pending && reason === "protocol") reason = "handshake";
    const who = c.from === undefined ? c.remote : `${c.from} (${c.remote})`;
    this.count(reason, `transport: closing connection from ${who}: ${(err as Error)?.message ?? String(err)}`);
    this.close(c);
  }

  private count(reason: RefusalReason, line: string): void {
    this.host.counters[REFUSAL_COUNTER[reason]]++;
    const now = Date.now();
    const last = this.lastLog.get(reason);
    if (last !== undefined && now - last.at < 1000) {
      last.suppressed++;
      return;
    }
    const more = last !== undefined && last.suppressed > 0 ? ` (and ${last.suppressed} more ${reason} refusals)` : "";
    this.lastLog.set(reason, { at: now, suppressed: 0 });
    this.host.opts.logger.warn(line + more);
  }

  /** The socket closed: a connection still in its handshake counts as a failed one (wrong secret or certificate, a scanner). */
  private closedByPeer(c: Inbound): void {
    if (c.pending && c.stage !== "closed") {
      const tls = this.host.opts.auth.mode === "tls" && c.stream === undefined ? " (TLS handshake failed or abandoned)" : "";
      this.refuse(c, new ConnectionRefusedError("handshake", `transport: connection closed during the handshake${tls}`));
    } else {
      this.close(c);
    }
  }

  private close(c: Inbound): void {
    if (c.stage === "closed") return;
    const wasPending = c.pending;
    c.stage = "closed";
    c.pending = false;
    clearTimeout(c.timer);
    c.reader.stop();
    c.snap?.spool?.abort();
    c.snap = undefined;
    if (c.from !== undefined) {
      if (this.msgStreams.get(c.from) === c) this.msgStreams.delete(c.from);
      if (this.snapStreams.get(c.from) === c) this.snapStreams.delete(c.from);
    }
    if (this.awaitingTls.get(c.key) === c) this.awaitingTls.delete(c.key);
    this.conns.delete(c);
    this.limits.release(c.remote, wasPending);
    c.stream?.destroy();
    c.raw.destroy();
  }
}
