/**
 * The options and counters of {@link TcpTransport}, with their defaults and the checks made at
 * construction.
 * @module
 */
import type { Logger, SnapshotStatus } from "@tsraft/raft";
import { silentLogger } from "@tsraft/raft";
import type { Message, NodeId } from "@tsraft/raftpb";
import { isValidClusterId } from "./handshake.js";
import { resolveAuth } from "./transport-auth.js";
import type { ResolvedAuth, TransportAuth } from "./transport-auth.js";
import { TransportConfigError } from "./transport-errors.js";

/** The options of a {@link TcpTransport}. */
export interface TcpTransportOptions {
  /** This node's id (not 0). */
  id: NodeId;
  /** Host to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /**
   * How peers authenticate each other (see the README's "Security"): `{mode: "tls", cert, key,
   * ca}`, `{mode: "hmac", secret}`, or `{mode: "none"}` for tests and trusted networks. Every
   * member of a cluster must use the same mode. Required: no authentication is a choice made
   * explicitly.
   */
  auth: TransportAuth;
  /**
   * The cluster's id, carried in every hello: a peer of another cluster is refused. 0 to 128
   * printable ASCII characters other than the space (0x21-0x7e). Default `""`.
   */
  clusterId?: string;
  /** Called for each message received from an authenticated, configured peer (checked to be from it and to this node). */
  onMessage(m: Message): void;
  /** Called when messages to `id` were dropped (queue full, peer down). Typically `node.reportUnreachable`. */
  onUnreachable?(id: NodeId): void;
  /** Called when a snapshot transfer to `id` ended. Typically `node.reportSnapshot`. */
  onSnapshotStatus?(id: NodeId, status: SnapshotStatus): void;
  /**
   * Directory for snapshots being received (one temporary file per stream, removed once read
   * back, on failure and at close; files a killed process left are removed at start). Default:
   * the OS temporary directory, where nothing is removed at start (other processes' files are
   * there), so a process killed while receiving a snapshot leaves its partial file: set this
   * to a directory of the node's own (e.g. in its data directory) in production.
   */
  snapshotDir?: string;
  /** Messages waiting for one peer before new ones are dropped. Default 4096. */
  maxQueueMessages?: number;
  /** Bytes waiting for one peer before new messages are dropped. Default 16 MiB. */
  maxQueueBytes?: number;
  /** Largest frame accepted from an authenticated peer. Default 64 MiB. (Before the handshake: 4 KiB.) */
  maxFrameBytes?: number;
  /** Largest snapshot accepted from a peer. Default 1 GiB; at most 2 GiB - 1 (what Node reads into one buffer). */
  maxSnapshotBytes?: number;
  /** Snapshot bytes per chunk frame sent. Default 256 KiB. */
  snapshotChunkBytes?: number;
  /** Time for a whole snapshot transfer, acknowledgement included; the receiver cuts slower streams too. Default 60 s. */
  snapshotTimeoutMs?: number;
  /** Time for a TCP connection to be established. Default 1000 ms. */
  dialTimeoutMs?: number;
  /** Time for a connection's handshake (TLS included), on both sides. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Inbound connections open at once, identified or not. Default 128. */
  maxInboundConnections?: number;
  /** Inbound connections still in their handshake at once. Default 32. */
  maxPendingConnections?: number;
  /** Inbound connections in their handshake from one remote address at once. Default 8. */
  maxPendingPerAddress?: number;
  /** First reconnect delay after a failure. Default 50 ms. */
  backoffInitialMs?: number;
  /** Largest reconnect delay. Default 2000 ms. */
  backoffMaxMs?: number;
  /** Connection-level log lines. Default silent. */
  logger?: Logger;
}

/** Counters of a {@link TcpTransport}, since it was made. */
export interface TransportStats {
  /** Messages written to a socket. */
  sent: number;
  /** Messages dropped (queue full, peer unreachable or blocked, no address). */
  dropped: number;
  /** Messages received and handed to `onMessage`. */
  received: number;
  /** Outbound connections established (handshake completed). */
  connects: number;
  /** Outbound connections whose handshake failed: the peer refused this node, or did not prove its identity. */
  dialHandshakeFailures: number;
  /** Snapshot transfers that completed, sent and received. */
  snapshotsSent: number;
  snapshotsReceived: number;
  /** Inbound connections refused: malformed or failed handshake, wrong auth mode, handshake timeout. */
  refusedHandshake: number;
  /** Inbound connections refused because the hello named an id that is not a configured peer. */
  refusedUnknownPeer: number;
  /** Inbound connections refused because the hello named another cluster. */
  refusedWrongCluster: number;
  /** Inbound connections refused or closed by a connection cap or a frame limit. */
  refusedLimit: number;
  /** Inbound snapshot streams refused or cut (second stream from a peer, too large, malformed, too slow, disk error). */
  refusedSnapshot: number;
  /** Authenticated connections closed for an invalid frame or message. */
  refusedProtocol: number;
  /** Inbound connections open now (a gauge). */
  inboundOpen: number;
  /** Inbound connections in their handshake now (a gauge). */
  inboundPending: number;
}

/** The options with every default applied and every value checked. */
export interface ResolvedOptions {
  id: NodeId;
  host: string;
  port: number;
  auth: ResolvedAuth;
  clusterId: string;
  snapshotDir: string | undefined;
  maxQueueMessages: number;
  maxQueueBytes: number;
  maxFrameBytes: number;
  maxSnapshotBytes: number;
  snapshotChunkBytes: number;
  snapshotTimeoutMs: number;
  dialTimeoutMs: number;
  handshakeTimeoutMs: number;
  maxInboundConnections: number;
  maxPendingConnections: number;
  maxPendingPerAddress: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  logger: Logger;
}

/** The largest `maxSnapshotBytes`: Node's limit for reading one file into one buffer. */
export const MAX_SNAPSHOT_BYTES_LIMIT = 2 ** 31 - 1;

type NumericOption =
  | "maxQueueMessages"
  | "maxQueueBytes"
  | "maxFrameBytes"
  | "maxSnapshotBytes"
  | "snapshotChunkBytes"
  | "snapshotTimeoutMs"
  | "dialTimeoutMs"
  | "handshakeTimeoutMs"
  | "maxInboundConnections"
  | "maxPendingConnections"
  | "maxPendingPerAddress"
  | "backoffInitialMs"
  | "backoffMaxMs";

const DEFAULTS: Record<NumericOption, number> = {
  maxQueueMessages: 4096,
  maxQueueBytes: 16 * 1024 * 1024,
  maxFrameBytes: 64 * 1024 * 1024,
  maxSnapshotBytes: 1024 * 1024 * 1024,
  snapshotChunkBytes: 256 * 1024,
  snapshotTimeoutMs: 60_000,
  dialTimeoutMs: 1000,
  handshakeTimeoutMs: 5000,
  maxInboundConnections: 128,
  maxPendingConnections: 32,
  maxPendingPerAddress: 8,
  backoffInitialMs: 50,
  backoffMaxMs: 2000,
};

function positiveInt(o: TcpTransportOptions, name: NumericOption): number {
  const v = o[name] ?? DEFAULTS[name];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) throw new TransportConfigError(name, `want a positive integer, got ${String(v)}`);
  return v;
}

/**
 * Applies the defaults and checks every option, one rule each.
 * @throws {@link TransportConfigError} naming the first option at fault.
 */
export function resolveOptions(o: TcpTransportOptions): ResolvedOptions {
  if (typeof o.id !== "bigint" || o.id <= 0n || o.id >= 1n << 64n) throw new TransportConfigError("id", "want a non-zero uint64 bigint");
  if (o.host !== undefined && (typeof o.host !== "string" || o.host === "")) throw new TransportConfigError("host", "want a host name or address");
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new TransportConfigError("port", `want 0..65535, got ${String(o.port)}`);
  if (typeof o.onMessage !== "function") throw new TransportConfigError("onMessage", "want a function");
  if (o.auth === undefined) throw new TransportConfigError("auth", 'required: {mode: "tls", cert, key, ca}, {mode: "hmac", secret} or {mode: "none"}');
  const clusterId = o.clusterId ?? "";
  if (!isValidClusterId(clusterId)) throw new TransportConfigError("clusterId", "want 0 to 128 printable ASCII characters without spaces");
  const n = Object.fromEntries((Object.keys(DEFAULTS) as NumericOption[]).map((k) => [k, positiveInt(o, k)])) as Record<NumericOption, number>;
  if (n.maxSnapshotBytes > MAX_SNAPSHOT_BYTES_LIMIT) throw new TransportConfigError("maxSnapshotBytes", `at most ${MAX_SNAPSHOT_BYTES_LIMIT}`);
  if (n.snapshotChunkBytes > n.maxFrameBytes)
    throw new TransportConfigError("snapshotChunkBytes", "must not exceed maxFrameBytes (the peer would refuse the frames)");
  if (n.maxPendingConnections > n.maxInboundConnections) throw new TransportConfigError("maxPendingConnections", "must not exceed maxInboundConnections");
  if (n.maxPendingPerAddress > n.maxPendingConnections) throw new TransportConfigError("maxPendingPerAddress", "must not exceed maxPendingConnections");
  if (n.backoffMaxMs < n.backoffInitialMs) throw new TransportConfigError("backoffMaxMs", "must not be below backoffInitialMs");
  if (o.snapshotDir !== undefined && (typeof o.snapshotDir !== "string" || o.snapshotDir === ""))
    throw new TransportConfigError("snapshotDir", "want a directory path");
  return {
    id: o.id,
    host: o.host ?? "127.0.0.1",
    port: o.port,
    auth: resolveAuth(o.auth, o.id),
    clusterId,
    snapshotDir: o.snapshotDir,
    ...n,
    logger: o.logger ?? silentLogger,
  };
}

/** A fresh set of counters. */
export function zeroStats(): TransportStats {
  return {
    sent: 0,
    dropped: 0,
    received: 0,
    connects: 0,
    dialHandshakeFailures: 0,
    snapshotsSent: 0,
    snapshotsReceived: 0,
    refusedHandshake: 0,
    refusedUnknownPeer: 0,
    refusedWrongCluster: 0,
    refusedLimit: 0,
    refusedSnapshot: 0,
    refusedProtocol: 0,
    inboundOpen: 0,
    inboundPending: 0,
  };
}
