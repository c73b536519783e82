/**
 * One member of the replicated KV service: a {@link RaftNode} over a `DiskStorage` (WAL +
 * snapshots in the data directory, which the WAL locks), a {@link TcpTransport} to the other
 * members, the {@link KvStateMachine}, the learner promoter, and the HTTP (or HTTPS) API
 * (http-api.ts).
 *
 * Replicated data never stops a member: `apply` returns refusals as results, the conf change
 * hook validates the addresses it is handed and never throws, and only "this member cannot go
 * on" (persist failed, a snapshot that cannot be read) reaches `onFatal`.
 *
 * Everything the service does with raft goes through the public API of `@tsraft/node`,
 * `@tsraft/wal` and `@tsraft/raft`; this file is the template for building another service.
 * @module
 */
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { errorCode } from "@tsraft/raft";
import type { Logger } from "@tsraft/raft";
import { ConfChangeType } from "@tsraft/raftpb";
import type { ConfChange, ConfState, HardState, NodeId } from "@tsraft/raftpb";
import { RaftNode, TcpTransport } from "@tsraft/node";
import type { AppliedConfChange, TransportAuth } from "@tsraft/node";
import { DiskStorage, Snapshotter, WAL } from "@tsraft/wal";
import { bindMetrics } from "@tsraft/prometheus";
import type { TsraftMetrics } from "@tsraft/prometheus";
import { parseHostPort } from "./addr.js";
import { checkDataIdentity, computeClusterId, encodeDataIdentity, formatClusterId } from "./cluster-id.js";
import type { DataIdentity } from "./cluster-id.js";
import { decodeMemberContext, encodeCommand, encodeMemberContext } from "./command.js";
import type { Command } from "./command.js";
import type { KvConfig } from "./config.js";
import { ConfigError } from "./errors.js";
import { handleHttp } from "./http-api.js";
import { raftLogger } from "./logger.js";
import { LoopMonitor } from "./loop-monitor.js";
import { AutoPromoter } from "./membership.js";
import { loadPeerAuth } from "./peer-auth.js";
import { KvStateMachine } from "./state-machine.js";
import type { CommandResult, MemberRecord } from "./state-machine.js";

const ZERO_HS: HardState = { term: 0, vote: 0n, commit: 0 };

/**
 * Where the transport spools snapshots being received, inside the data directory: partial
 * files a killed member left are removed at its next start.
 */
export const INCOMING_SNAPSHOT_DIR = "snap-incoming";

async function walSegments(dataDir: string): Promise<number> {
  return (await readdir(join(dataDir, "wal"))).filter((n) => n.endsWith(".wal")).length;
}

/** Options of {@link KvServer.start} beyond the configuration. */
export interface KvServerOptions {
  /**
   * Called once if the raft node fails (persist rejected, a snapshot that cannot be restored);
   * the node is stopped by then. Default: log the error and exit the process with code 1.
   */
  onFatal?: (err: unknown) => void;
}

/** A member as GET /members shows it. */
export interface MemberView {
  id: string;
  raft: string | null;
  http: string | null;
  role: "voter" | "learner";
  /** A learner that the leader promotes once it has caught up. */
  promote: boolean;
}

/** Counters shown by GET /status. */
export interface KvCounters {
  snapshotsTaken: number;
  snapshotsInstalled: number;
  snapFilesPurged: number;
  walCompactions: number;
  walSegmentsPurged: number;
  /** Committed entries that were not commands (refused at apply, logged). */
  applyRefused: number;
  /** Writes refused at apply for space. */
  noSpaceRefusals: number;
  /** Committed conf changes whose context had no valid address, and peers the transport refused. */
  confChangeProblems: number;
  /** Requests answered 500 (bugs; logged). */
  internalErrors: number;
}

async function readPem(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ConfigError(`--${flag}: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The cluster id written into a new data directory: the one `--cluster-id` names for a member
 * joining, else the one computed from `--cluster-token` and the initial members.
 * @throws {@link ConfigError} for `--join` without `--cluster-id`.
 */
function newClusterId(cfg: KvConfig): bigint {
  if (!cfg.join) return computeClusterId(cfg.clusterToken, cfg.cluster);
  if (cfg.clusterId === undefined) {
    throw new ConfigError(
      `--join with an empty data directory (${cfg.dataDir}) needs --cluster-id: the id of the cluster to join, as GET /status of a member shows it`,
    );
  }
  return cfg.clusterId;
}

/** A running member (see the module comment). */
export class KvServer {
  readonly cfg: KvConfig;
  readonly log: Logger;
  readonly sm = new KvStateMachine();
  readonly storage: DiskStorage;
  readonly transport: TcpTransport;
  readonly node: RaftNode<CommandResult>;
  /** Promotes caught-up learners while this member leads. */
  readonly promoter: AutoPromoter;
  /** How late timers fire: the event loop's stalls (GET /status `eventLoop`). */
  readonly loop = new LoopMonitor();
  /** The member's Prometheus metrics (GET /metrics). */
  readonly metrics: TsraftMetrics;
  private readonly snapshotter: Snapshotter;
  private http: Server | undefined;
  private stopped = false;
  /** How long the last `take` took (logged with the save that follows). */
  private lastTakeMs = 0;
  readonly counters: KvCounters = {
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    snapFilesPurged: 0,
    walCompactions: 0,
    walSegmentsPurged: 0,
    applyRefused: 0,
    noSpaceRefusals: 0,
    confChangeProblems: 0,
    internalErrors: 0,
  };
  /**
   * `sm.changes()` when this member last refused a write for space before proposing it (the
   * early check): the alarm shows in /status until the state changes. -1: never.
   */
  earlyNoSpaceAt = -1;
  /** Called once this member was removed from the cluster (the process should exit). */
  onRemoved: () => void = () => {};
  /** The cluster this member's data belongs to (from its data directory), as 16 hex digits. */
  readonly clusterId: string;

  private constructor(cfg: KvConfig, log: Logger, storage: DiskStorage, identity: DataIdentity, auth: TransportAuth, options: KvServerOptions) {
    this.cfg = cfg;
    this.log = log;
    this.storage = storage;
    this.clusterId = formatClusterId(identity.clusterId);
    this.snapshotter = new Snapshotter(join(cfg.dataDir, "snap"));
    const self = parseHostPort(cfg.raftAddr);
    if (self === undefined) throw new ConfigError(`bad raft address ${JSON.stringify(cfg.raftAddr)}`);
    this.transport = new TcpTransport({
      id: cfg.id,
      host: self.host,
      port: self.port,
      auth,
      clusterId: this.clusterId,
      snapshotDir: join(cfg.dataDir, INCOMING_SNAPSHOT_DIR),
      onMessage: (m) => this.node.step(m),
      onUnreachable: (id) => this.node.reportUnreachable(id),
      onSnapshotStatus: (id, st) => this.node.reportSnapshot(id, st),
      logger: log,
    });
    const onFatal =
      options.onFatal ??
      ((err: unknown) => {
        log.error("raft node failed; exiting", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        process.exit(1);
      });
    this.node = new RaftNode<CommandResult>({
      raft: {
        id: cfg.id,
        electionTick: cfg.electionTicks,
        heartbeatTick: cfg.heartbeatTicks,
        storage,
        preVote: true,
        checkQuorum: true,
        maxSizePerMsg: 1024 * 1024,
        maxInflightMsgs: 256,
        logger: raftLogger(log),
      },
      tickMs: cfg.tickMs,
      requestTimeoutMs: cfg.requestTimeoutMs,
      // 1. persist: DiskStorage writes the snapshot, then entries + HardState with one fdatasync.
      persist: (p) => storage.save(p.hardState ?? ZERO_HS, p.entries, p.snapshot),
      // 2. send: the transport never blocks; what it cannot send it drops and reports unreachable.
      send: (msgs) => this.transport.send(msgs),
      // 3. apply: a result for every entry, refusals included; never throws.
      apply: (e) => this.applyEntry(e.index, e.data),
      restore: async (snap) => {
        const t0 = performance.now();
        await this.sm.restore(snap.data);
        this.syncPeers();
        if (snap.metadata.index > 0) this.counters.snapshotsInstalled++;
        this.log.info("state restored from a snapshot", {
          index: snap.metadata.index,
          keys: this.sm.size(),
          bytes: snap.data?.length ?? 0,
          restoreMs: Math.round(performance.now() - t0),
        });
      },
      applyConfChange: (c) => this.onConfChange(c),
      // Snapshots every N entries, written in pieces (the event loop turns meanwhile); the log
      // is compacted behind them, old files purged.
      snapshot: {
        entries: cfg.snapshotEntries,
        take: () => this.takeSnapshot(),
        save: (s) => this.saveSnapshot(s.index, s.confState, s.data),
      },
      onLeaderChange: (lead, state, term) => this.log.info("leader changed", { lead, state, term }),
      onFatal,
      logger: log,
    });
    this.promoter = new AutoPromoter(this);
    this.metrics = bindMetrics({ node: { node: this.node, id: cfg.id }, walDir: join(cfg.dataDir, "wal"), snapDir: join(cfg.dataDir, "snap") });
  }

  /**
   * Checks the raft port's credentials, opens the data directory (taking its lock; a new one
   * gets this member's id and the cluster id in its WAL metadata), checks that it is this
   * member's, starts the transport, the raft node, the learner promoter and the HTTP(S)
   * server.
   * @throws `WalLockedError` if another process holds the data directory; {@link ConfigError}
   * for unreadable or unusable TLS files or secret, a data directory of another member or
   * cluster, `--join` into an empty data directory without `--cluster-id`; listen errors.
   */
  static async start(cfg: KvConfig, log: Logger, options: KvServerOptions = {}): Promise<KvServer> {
    const auth = await loadPeerAuth(cfg.id, cfg.peerAuth);
    const tls =
      cfg.clientTls === undefined
        ? undefined
        : {
            cert: await readPem("client-cert", cfg.clientTls.certFile),
            key: await readPem("client-key", cfg.clientTls.keyFile),
            ...(cfg.clientTls.caFile === undefined ? {} : { ca: await readPem("client-ca", cfg.clientTls.caFile) }),
          };
    const metadata = (await WAL.exists(join(cfg.dataDir, "wal"))) ? undefined : encodeDataIdentity({ memberId: cfg.id, clusterId: newClusterId(cfg) });
    const storage = await DiskStorage.open(cfg.dataDir, {
      segmentSizeBytes: cfg.walSegmentBytes,
      maxCachedBytes: cfg.walCacheBytes,
      inlineWrites: cfg.walInlineWrites,
      ...(metadata === undefined ? {} : { metadata }),
    });
    if (storage.repairedTail !== undefined) {
      const t = storage.repairedTail;
      log.warn("cut a torn WAL tail (a write that never completed)", { file: t.file, offset: t.offset, brokenCopy: t.brokenCopy });
    }
    let s: KvServer;
    try {
      const identity = checkDataIdentity(cfg.dataDir, storage.metadata(), cfg.id, cfg.clusterId);
      s = new KvServer(cfg, log, storage, identity, auth, options);
    } catch (err) {
      await storage.close();
      if (errorCode(err) === "TSRAFT_TRANSPORT_CONFIG") throw new ConfigError(`raft port: ${(err as Error).message}`);
      throw err;
    }
    try {
      for (const [id, a] of cfg.cluster) if (id !== cfg.id) s.setPeer(id, a.raft);
      await s.transport.start();
      const bootstrap = cfg.join ? undefined : [...cfg.cluster].map(([id, a]) => ({ id, context: encodeMemberContext(a) }));
      const fresh = await s.node.start(bootstrap === undefined ? {} : { bootstrap });
      s.syncPeers();
      s.promoter.start();
      s.loop.start();
      log.info(fresh ? "bootstrapped a new member" : "restarted", {
        dataDir: cfg.dataDir,
        clusterId: s.clusterId,
        peerAuth: s.transport.authMode,
        firstIndex: storage.firstIndex(),
        lastIndex: storage.lastIndex(),
        snapshotIndex: storage.snapshot().metadata.index,
      });
      s.http = await s.listen(tls);
      return s;
    } catch (err) {
      await s.stop();
      throw err;
    }
  }

  private async listen(tls: { cert: Buffer; key: Buffer; ca?: Buffer } | undefined): Promise<Server> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      handleHttp(this, req, res).catch((err: unknown) => {
        // handleHttp never rejects; if it ever did, that is a bug worth seeing, not a crash.
        this.counters.internalErrors++;
        this.log.error("request handler failed", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        res.destroy();
      });
    };
    // Node enforces requestTimeout and headersTimeout only when it checks the connections, every
    // 30 s by default: a client that never finishes its request would hold its socket 30 s.
    const requestTimeout = this.cfg.requestTimeoutMs + 5000;
    const limits = { requestTimeout, headersTimeout: Math.min(10_000, requestTimeout), connectionsCheckingInterval: 1000 };
    const http: Server =
      tls === undefined
        ? createServer(limits, handler)
        : createHttpsServer(
            {
              ...limits,
              cert: tls.cert,
              key: tls.key,
              minVersion: "TLSv1.2",
              ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true, rejectUnauthorized: true }),
            },
            handler,
          );
    http.on("tlsClientError", (err: Error) => this.log.debug("TLS handshake refused", { error: err.message }));
    const addr = parseHostPort(this.cfg.httpAddr);
    if (addr === undefined) throw new ConfigError(`bad http address ${JSON.stringify(this.cfg.httpAddr)}`);
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(addr.port, addr.host, () => {
        http.off("error", reject);
        resolve();
      });
    });
    http.on("error", (err: Error) => this.log.error("HTTP server error", { error: err.message }));
    return http;
  }

  /** Stops HTTP, the promoter, raft and the transport, and closes the storage (releasing the lock). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.promoter.stop();
    this.loop.stop();
    const http = this.http;
    if (http !== undefined) {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
    await this.node.stop();
    this.metrics.close();
    await this.transport.close();
    await this.storage.close();
  }

  /**
   * Proposes a write and resolves with its result as applied on this member.
   * @throws (rejects) the errors of `RaftNode.propose`.
   */
  propose(cmd: Command): Promise<CommandResult> {
    return this.node.propose(encodeCommand(cmd));
  }

  /** A member's HTTP address, from the replicated membership or the configuration. */
  httpAddrOf(id: NodeId): string | undefined {
    return this.sm.memberRecord(id.toString())?.addr?.http ?? this.cfg.cluster.get(id)?.http;
  }

  /** The members as the replicated state records them. */
  memberRecords(): Map<string, MemberRecord> {
    return this.sm.memberRecords();
  }

  /** The members, with raft's view of voters and learners. */
  members(): MemberView[] {
    const cs = this.node.status().config;
    const recs = this.sm.memberRecords();
    const ids = [...new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return ids.map((id) => {
      const rec = recs.get(id.toString());
      const a = rec?.addr ?? this.cfg.cluster.get(id) ?? null;
      const learner = cs.learners.includes(id) || cs.learnersNext.includes(id);
      return {
        id: id.toString(),
        raft: a?.raft ?? null,
        http: a?.http ?? null,
        role: learner ? "learner" : "voter",
        promote: learner && rec?.promote === true,
      };
    });
  }

  private applyEntry(index: number, data: Uint8Array): CommandResult {
    const r = this.sm.apply(index, data);
    if (r.code === "bad_command") {
      this.counters.applyRefused++;
      this.log.warn("refused a committed entry that is not a command", { index, reason: r.reason, bytes: data.length });
    } else if (r.code === "no_space") {
      this.counters.noSpaceRefusals++;
      this.log.warn("refused a write over the quota", { index, usedBytes: r.usedBytes, quota: r.quota });
    }
    return r;
  }

  /** Tells the transport where a peer is; an address it refuses is logged and counted, never thrown. */
  private setPeer(id: NodeId, raftAddr: string): void {
    try {
      this.transport.setPeer(id, raftAddr);
    } catch (err) {
      this.counters.confChangeProblems++;
      this.log.error("the transport refused a peer address; the peer stays unreachable", {
        id,
        raftAddr,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  private syncPeers(): void {
    for (const [id, rec] of this.sm.memberRecords()) if (rec.addr !== null && BigInt(id) !== this.cfg.id) this.setPeer(BigInt(id), rec.addr.raft);
  }

  /** The conf change hook: records the member and its address; never throws (see the module comment). */
  private onConfChange(c: AppliedConfChange): void {
    try {
      this.applyMembership(c);
    } catch (err) {
      this.counters.confChangeProblems++;
      this.log.error("conf change hook failed; the change itself is applied", {
        index: c.index,
        error: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
  }

  private applyMembership(c: AppliedConfChange): void {
    if (!("type" in c.change)) {
      this.log.warn("a ConfChangeV2 was applied; this service records V1 changes only", { index: c.index, voters: c.confState.voters });
      return;
    }
    const cc: ConfChange = c.change;
    switch (cc.type) {
      case ConfChangeType.ConfChangeAddNode:
      case ConfChangeType.ConfChangeAddLearnerNode:
      case ConfChangeType.ConfChangeUpdateNode: {
        const ctx = decodeMemberContext(cc.context);
        if (ctx.problem !== undefined) {
          this.counters.confChangeProblems++;
          this.log.warn("a committed conf change carries no valid address; the member is recorded without one", {
            id: cc.nodeId,
            index: c.index,
            problem: ctx.problem,
          });
        }
        this.sm.addMember(c.index, cc.nodeId, ctx);
        const addr = this.sm.memberRecords().get(cc.nodeId.toString())?.addr ?? null;
        if (addr !== null && cc.nodeId !== this.cfg.id) this.setPeer(cc.nodeId, addr.raft);
        this.log.info(cc.type === ConfChangeType.ConfChangeAddLearnerNode ? "learner added" : "member added", {
          id: cc.nodeId,
          addr,
          index: c.index,
          voters: c.confState.voters,
          learners: c.confState.learners,
        });
        return;
      }
      case ConfChangeType.ConfChangeRemoveNode:
        this.sm.removeMember(c.index, cc.nodeId);
        this.log.info("member removed", { id: cc.nodeId, index: c.index, voters: c.confState.voters });
        if (cc.nodeId === this.cfg.id) {
          this.log.warn("this member was removed from the cluster; shutting down");
          // Let the answer to the request that removed us go out first.
          setTimeout(() => this.onRemoved(), 300).unref();
        } else {
          this.transport.removePeer(cc.nodeId);
        }
        return;
    }
  }

  /** The state machine's snapshot, timed (the time is logged with the save). */
  private async takeSnapshot(): Promise<Uint8Array> {
    const t0 = performance.now();
    const data = await this.sm.snapshot();
    this.lastTakeMs = Math.round(performance.now() - t0);
    this.log.info("state serialised for a snapshot", { bytes: data.length, takeMs: this.lastTakeMs });
    return data;
  }

  private async saveSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<void> {
    const t0 = performance.now();
    await this.storage.createSnapshot(index, confState, data);
    const t1 = performance.now();
    this.counters.snapshotsTaken++;
    const compactTo = index - this.cfg.catchUpEntries;
    if (compactTo >= this.storage.firstIndex()) {
      const before = await walSegments(this.cfg.dataDir);
      await this.storage.compact(compactTo);
      this.counters.walCompactions++;
      this.counters.walSegmentsPurged += Math.max(0, before - (await walSegments(this.cfg.dataDir)));
    }
    const t2 = performance.now();
    const purged = await this.snapshotter.purge(2);
    this.counters.snapFilesPurged += purged.length;
    this.log.info("snapshot taken", {
      index,
      bytes: data.length,
      compactedTo: compactTo,
      purgedSnapFiles: purged.length,
      takeMs: this.lastTakeMs,
      saveMs: Math.round(t1 - t0),
      compactMs: Math.round(t2 - t1),
      purgeMs: Math.round(performance.now() - t2),
    });
  }
}
