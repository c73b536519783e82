/**
 * TcpTransport: raft messages between processes over TCP (or TLS), from Node's built-ins only.
 *
 * - Every connection opens with a handshake (handshake.ts) in which the dialer names itself,
 *   the node it means to reach and the cluster, and proves its identity in the configured
 *   `auth` mode (mutual TLS with member certificates, or an HMAC challenge-response over a
 *   shared secret); the acceptor proves its own in return. Only ids given to
 *   {@link TcpTransport.setPeer} are accepted, and only after that proof (acceptor.ts).
 * - One outbound connection per peer carries this node's messages to it, as length-prefixed
 *   frames holding `encodeMessage` bytes (frames.ts); the peer's own outbound connection
 *   carries its messages back. Addresses come from `setPeer` only, never from a caller.
 * - Bounded send queues: at most `maxQueueMessages` messages / `maxQueueBytes` bytes wait for a
 *   peer; past that, while the peer is unreachable, and while reconnecting after a failure,
 *   messages are dropped and `onUnreachable` is called (raft then probes the peer again), as
 *   etcd's rafthttp does. Inbound, every connection, frame and snapshot is capped too.
 * - Reconnect with exponential backoff (with jitter), reset by a successful connection.
 * - Snapshots (MsgSnap) go over a connection of their own (snapshot-send.ts), streamed in
 *   chunks with backpressure, so they never block heartbeats and are never copied into one
 *   frame; the receiver spools them to disk (snapshot-spool.ts), steps the message and
 *   acknowledges; the sender reports `onSnapshotStatus('finish' | 'failure')`.
 * - Fault injection for tests: {@link TcpTransport.setBlocked} drops all traffic to and from
 *   the given peers (closes their connections, refuses new ones), as a network partition would.
 * @module
 */
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { AddressInfo, Server, Socket } from "node:net";
import { MessageType, encodeMessage } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import type { SnapshotStatus } from "@tsraft/raft";
import { Acceptor } from "./acceptor.js";
import { dialPeer } from "./dial.js";
import { FrameKind, frame } from "./frames.js";
import { parsePeerAddress } from "./peer-address.js";
import type { PeerAddress } from "./peer-address.js";
import { sendSnapshot } from "./snapshot-send.js";
import type { SnapshotSendConfig } from "./snapshot-send.js";
import { removeStaleSpools } from "./snapshot-spool.js";
import type { AuthMode } from "./transport-auth.js";
import { TransportListenError, TransportPeerError } from "./transport-errors.js";
import { sendFailedChannel } from "./diagnostics.js";
import { resolveOptions, zeroStats } from "./transport-options.js";
import type { ResolvedOptions, TcpTransportOptions, TransportStats } from "./transport-options.js";

type PeerState = "idle" | "connecting" | "open" | "backoff";

/** The outbound side of one peer. */
class PeerStream {
  addr: string;
  parsed: PeerAddress;
  state: PeerState = "idle";
  socket: Socket | undefined;
  queue: Buffer[] = [];
  queueBytes = 0;
  waitingDrain = false;
  backoffMs: number;
  retryTimer: NodeJS.Timeout | undefined;
  constructor(addr: string, parsed: PeerAddress, backoffMs: number) {
    this.addr = addr;
    this.parsed = parsed;
    this.backoffMs = backoffMs;
  }
}

const WRITE_BATCH_BYTES = 256 * 1024;

/** See the module comment. */
export class TcpTransport {
  private readonly opts: ResolvedOptions;
  private readonly onMessage: (m: Message) => void;
  private readonly onUnreachable: ((id: NodeId) => void) | undefined;
  private readonly onSnapshotStatus: ((id: NodeId, status: SnapshotStatus) => void) | undefined;
  private readonly acceptor: Acceptor;
  private readonly dialConfig: SnapshotSendConfig;
  private server: Server | undefined;
  private listenAddr = "";
  private snapDir: string | undefined;
  private closed = false;
  private readonly peers = new Map<NodeId, PeerStream>();
  private readonly snapSockets = new Map<NodeId, Socket>();
  private blocked = new Set<NodeId>();
  /** Scratch set of the peers {@link send} queued for; empty between calls. */
  private readonly touched = new Set<PeerStream>();
  private readonly counters: TransportStats = zeroStats();

  /**
   * Checks the options and loads the certificates (nothing listens yet).
   * @throws {@link TransportConfigError} for an invalid option or unusable credentials.
   */
  constructor(options: TcpTransportOptions) {
    this.opts = resolveOptions(options);
    this.onMessage = options.onMessage;
    this.onUnreachable = options.onUnreachable;
    this.onSnapshotStatus = options.onSnapshotStatus;
    const o = this.opts;
    this.dialConfig = {
      self: o.id,
      clusterId: o.clusterId,
      auth: o.auth,
      dialTimeoutMs: o.dialTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      snapshotChunkBytes: o.snapshotChunkBytes,
      snapshotTimeoutMs: o.snapshotTimeoutMs,
    };
    this.acceptor = new Acceptor({
      opts: o,
      counters: this.counters,
      isPeer: (id) => this.peers.has(id),
      isBlocked: (id) => this.blocked.has(id),
      snapshotDir: () => this.snapDir!,
      deliver: (m) => {
        this.counters.received++;
        this.onMessage(m);
      },
    });
  }

  /**
   * Prepares the snapshot directory and starts listening.
   * @throws (rejects) {@link TransportListenError}, e.g. for a port in use; or the file system
   *   error of creating `snapshotDir`.
   */
  async start(): Promise<void> {
    const o = this.opts;
    if (o.snapshotDir === undefined) {
      // No directory of our own: a killed process would leave it behind on every start.
      this.snapDir = tmpdir();
    } else {
      await mkdir(o.snapshotDir, { recursive: true });
      const n = await removeStaleSpools(o.snapshotDir);
      if (n > 0) o.logger.info(`transport: removed ${n} partial snapshot files in ${o.snapshotDir}`);
      this.snapDir = o.snapshotDir;
    }
    const server = this.acceptor.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(o.port, o.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      throw new TransportListenError(`${o.host}:${o.port}`, err);
    }
    server.on("error", (err) => o.logger.error(`transport: server error: ${err.message}`));
    const a = server.address() as AddressInfo;
    this.listenAddr = `${a.address}:${a.port}`;
    this.server = server;
  }

  /** The address this transport listens on (`host:port`), once started. */
  get address(): string {
    return this.listenAddr;
  }

  /** The authentication mode in use. */
  get authMode(): AuthMode {
    return this.opts.auth.mode;
  }

  /**
   * Sets (or changes) the address of a peer. Only peers set here may connect to this node.
   * Validate addresses before proposing them in a conf change: this runs when it is applied.
   * @throws {@link TransportAddressError} unless `addr` is `host:port` (port 1..65535).
   * @throws {@link TransportPeerError} for id 0 or this node's own id.
   */
  setPeer(id: NodeId, addr: string): void {
    const parsed = parsePeerAddress(addr);
    if (typeof id !== "bigint" || id <= 0n) throw new TransportPeerError(id, "not a node id");
    if (id === this.opts.id) throw new TransportPeerError(id, "it is this node's own id");
    const p = this.peers.get(id);
    if (p === undefined) {
      this.peers.set(id, new PeerStream(addr, parsed, this.opts.backoffInitialMs));
    } else if (p.addr !== addr) {
      p.addr = addr;
      p.parsed = parsed;
      this.disconnect(p);
    }
  }

  /** Forgets a peer, closes its connections and refuses new ones from it. */
  removePeer(id: NodeId): void {
    const p = this.peers.get(id);
    if (p === undefined) return;
    this.disconnect(p);
    this.peers.delete(id);
    this.snapSockets.get(id)?.destroy();
    this.acceptor.closeFrom(id);
  }

  /** The configured peers and their addresses. */
  peerAddresses(): Map<NodeId, string> {
    return new Map([...this.peers].map(([id, p]) => [id, p.addr]));
  }

  /** Counters since construction, and the inbound connection gauges. */
  stats(): TransportStats {
    const { open, pending } = this.acceptor.counts();
    return { ...this.counters, inboundOpen: open, inboundPending: pending };
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
      this.acceptor.closeFrom(id);
    }
  }

  /** The peers currently blocked by {@link setBlocked}. */
  blockedPeers(): NodeId[] {
    return [...this.blocked];
  }

  /** Queues messages for their peers; never throws, never blocks (see the module comment). */
  send(messages: readonly Message[]): void {
    if (this.closed) return;
    const touched = this.touched;
    for (const m of messages) {
      if (m.to === this.opts.id) continue;
      if (this.blocked.has(m.to)) {
        this.drop(m.to);
        continue;
      }
      const p = this.peers.get(m.to);
      if (p === undefined) {
        this.opts.logger.debug(`transport: no address for ${m.to}; dropping ${MessageType[m.type]}`);
        this.drop(m.to);
        continue;
      }
      if (m.type === MessageType.MsgSnap) {
        this.sendSnapshot(m, p.parsed);
        continue;
      }
      if (this.enqueue(m.to, p, frame(FrameKind.Msg, encodeMessage(m)))) touched.add(p);
    }
    // One write per peer and call (batches of up to WRITE_BATCH_BYTES), not one per message.
    for (const p of touched) this.flush(p);
    touched.clear();
  }

  /** Stops listening and closes every connection (removing the files of snapshots being received). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers.values()) this.disconnect(p);
    for (const s of this.snapSockets.values()) s.destroy();
    this.acceptor.closeAll();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---------------------------------------------------------------------------------------------
  // outbound

  private drop(id: NodeId): void {
    this.counters.dropped++;
    if (sendFailedChannel.hasSubscribers) sendFailedChannel.publish({ node: this.opts.id, peer: id, messages: 1 });
    this.onUnreachable?.(id);
  }

  /** Queues `buf` for `p` (dialling if idle); returns whether it was queued on an open stream (to flush). */
  private enqueue(id: NodeId, p: PeerStream, buf: Buffer): boolean {
    if (p.state === "backoff" || p.queue.length >= this.opts.maxQueueMessages || p.queueBytes + buf.length > this.opts.maxQueueBytes) {
      this.drop(id);
      return false;
    }
    p.queue.push(buf);
    p.queueBytes += buf.length;
    if (p.state === "idle") this.dial(id, p);
    return p.state === "open";
  }

  private dial(id: NodeId, p: PeerStream): void {
    p.state = "connecting";
    const s = dialPeer(this.dialConfig, id, p.parsed, "msg", {
      ready: () => {
        if (p.socket !== s) return;
        p.state = "open";
        p.backoffMs = this.opts.backoffInitialMs;
        this.counters.connects++;
        this.flush(p);
      },
      frame: () => {}, // the acceptor never writes on a message stream after the handshake
      closed: (why, stage) => {
        if (stage === "handshake") this.counters.dialHandshakeFailures++;
        this.opts.logger.debug(`transport: connection to ${id} (${p.addr}) closed in stage ${stage}: ${why}`);
        this.onStreamClosed(id, p, s);
      },
    });
    p.socket = s;
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
    if (lost > 0) {
      this.counters.dropped += lost;
      if (sendFailedChannel.hasSubscribers) sendFailedChannel.publish({ node: this.opts.id, peer: id, messages: lost });
    }
    if (this.closed || this.peers.get(id) !== p) {
      p.state = "idle";
      return;
    }
    this.onUnreachable?.(id);
    // Back off, then let the next message dial again.
    p.state = "backoff";
    const delay = p.backoffMs * (0.5 + Math.random() * 0.5);
    p.backoffMs = Math.min(p.backoffMs * 2, this.opts.backoffMaxMs);
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

  /** Streams a MsgSnap over a connection of its own; reports the outcome. */
  private sendSnapshot(m: Message, addr: PeerAddress): void {
    const id = m.to;
    if (this.snapSockets.has(id)) {
      this.opts.logger.info(`transport: a snapshot to ${id} is already being sent; dropping another`);
      return;
    }
    const s = sendSnapshot(this.dialConfig, m, addr, (ok, why) => {
      if (this.snapSockets.get(id) === s) this.snapSockets.delete(id);
      if (ok) this.counters.snapshotsSent++;
      else this.opts.logger.warn(`transport: snapshot to ${id} failed: ${why}`);
      this.onSnapshotStatus?.(id, ok ? "finish" : "failure");
    });
    this.snapSockets.set(id, s);
  }
}
