/**
 * One member of the replicated KV service: a {@link RaftNode} over a `DiskStorage` (WAL +
 * snapshots in the data directory, which the WAL locks), a {@link TcpTransport} to the other
 * members, the {@link KvStateMachine}, and the HTTP API (http-api.ts).
 *
 * Everything the service does with raft goes through the public API of `@tsraft/node`,
 * `@tsraft/wal` and `@tsraft/raft`; this file is the template for building another service.
 * @module
 */
import { createServer } from "node:http";
import type { Server } from "node:http";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "@tsraft/raft";
import { ConfChangeType } from "@tsraft/raftpb";
import type { ConfChange, HardState, NodeId } from "@tsraft/raftpb";
import { RaftNode, TcpTransport } from "@tsraft/node";
import type { AppliedConfChange } from "@tsraft/node";
import { DiskStorage, Snapshotter } from "@tsraft/wal";
import type { KvConfig } from "./config.js";
import { handleHttp } from "./http-api.js";
import { raftLogger } from "./logger.js";
import { KvStateMachine, decodeMemberAddr } from "./state-machine.js";
import type { CommandResult, MemberAddr } from "./state-machine.js";

const ZERO_HS: HardState = { term: 0, vote: 0n, commit: 0 };

async function walSegments(dataDir: string): Promise<number> {
  return (await readdir(join(dataDir, "wal"))).filter((n) => n.endsWith(".wal")).length;
}

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

/** A running member (see the module comment). */
export class KvServer {
  readonly cfg: KvConfig;
  readonly log: Logger;
  readonly sm = new KvStateMachine();
  readonly storage: DiskStorage;
  readonly transport: TcpTransport;
  readonly node: RaftNode<CommandResult>;
  private readonly snapshotter: Snapshotter;
  private http: Server | undefined;
  private stopped = false;
  /** Counters shown by GET /status. */
  readonly counters = { snapshotsTaken: 0, snapshotsInstalled: 0, snapFilesPurged: 0, walCompactions: 0, walSegmentsPurged: 0 };
  /** Called once this member was removed from the cluster (the process should exit). */
  onRemoved: () => void = () => {};

  private constructor(cfg: KvConfig, log: Logger, storage: DiskStorage) {
    this.cfg = cfg;
    this.log = log;
    this.storage = storage;
    this.snapshotter = new Snapshotter(join(cfg.dataDir, "snap"));
    const { host, port } = splitAddr(cfg.raftAddr);
    this.transport = new TcpTransport({
      id: cfg.id,
      host,
      port,
      onMessage: (m) => this.node.step(m),
      onUnreachable: (id) => this.node.reportUnreachable(id),
      onSnapshotStatus: (id, st) => this.node.reportSnapshot(id, st),
      logger: log,
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
      // 3. apply.
      apply: (e) => this.sm.apply(e.index, e.data),
      restore: (snap) => {
        this.sm.restore(snap.data);
        this.syncPeers();
        if (snap.metadata.index > 0) this.counters.snapshotsInstalled++;
        this.log.info("state restored from a snapshot", { index: snap.metadata.index, keys: this.sm.size() });
      },
      applyConfChange: (c) => this.onConfChange(c),
      // Snapshots every N entries; the log is compacted behind them, old files purged.
      snapshot: {
        entries: cfg.snapshotEntries,
        take: () => this.sm.snapshot(),
        save: (s) => this.saveSnapshot(s.index, s.confState, s.data),
      },
      onLeaderChange: (lead, state, term) => this.log.info("leader changed", { lead, state, term }),
      onFatal: (err) => {
        this.log.error("raft node failed; exiting", { error: String(err) });
        process.exit(1);
      },
      logger: log,
    });
  }

  /**
   * Opens the data directory (taking its lock), starts the transport, the raft node and the
   * HTTP server.
   * @throws `WalLockedError` if another process holds the data directory; listen errors.
   */
  static async start(cfg: KvConfig, log: Logger): Promise<KvServer> {
    const storage = await DiskStorage.open(cfg.dataDir, { segmentSizeBytes: cfg.walSegmentBytes });
    const s = new KvServer(cfg, log, storage);
    try {
      for (const [id, a] of cfg.cluster) if (id !== cfg.id) s.transport.setPeer(id, a.raft);
      await s.transport.start();
      const bootstrap = cfg.join
        ? undefined
        : [...cfg.cluster].map(([id, a]) => ({ id, context: new TextEncoder().encode(JSON.stringify({ raft: a.raft, http: a.http })) }));
      const fresh = await s.node.start(bootstrap === undefined ? {} : { bootstrap });
      s.syncPeers();
      log.info(fresh ? "bootstrapped a new member" : "restarted", {
        dataDir: cfg.dataDir,
        firstIndex: storage.firstIndex(),
        lastIndex: storage.lastIndex(),
        snapshotIndex: storage.snapshot().metadata.index,
      });
      const { host, port } = splitAddr(cfg.httpAddr);
      const http = createServer((req, res) => void handleHttp(s, req, res));
      http.requestTimeout = cfg.requestTimeoutMs + 5000;
      http.headersTimeout = 10_000;
      await new Promise<void>((resolve, reject) => {
        http.once("error", reject);
        http.listen(port, host, () => {
          http.off("error", reject);
          resolve();
        });
      });
      s.http = http;
      return s;
    } catch (err) {
      await s.stop();
      throw err;
    }
  }

  /** Stops HTTP, raft and the transport, and closes the storage (releasing the lock). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const http = this.http;
    if (http !== undefined) {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
    await this.node.stop();
    await this.transport.close();
    await this.storage.close();
  }

  /** A member's HTTP address, from the replicated membership or the configuration. */
  httpAddrOf(id: NodeId): string | undefined {
    return this.sm.memberAddrs().get(id.toString())?.http ?? this.cfg.cluster.get(id)?.http;
  }

  /** The members as the state machine records them, with raft's view of voters and learners. */
  members(): { id: string; raft: string; http: string; role: "voter" | "learner" }[] {
    const cs = this.node.status().config;
    const addrs = this.sm.memberAddrs();
    const ids = [...new Set([...cs.voters, ...cs.learners])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return ids.map((id) => {
      const a = addrs.get(id.toString()) ?? this.cfg.cluster.get(id);
      return { id: id.toString(), raft: a?.raft ?? "", http: a?.http ?? "", role: cs.learners.includes(id) ? "learner" : "voter" };
    });
  }

  private syncPeers(): void {
    for (const [id, a] of this.sm.memberAddrs()) if (BigInt(id) !== this.cfg.id) this.transport.setPeer(BigInt(id), a.raft);
  }

  private onConfChange(c: AppliedConfChange): void {
    const cc = c.change as ConfChange;
    if (!("type" in cc)) return; // ConfChangeV2: this service proposes V1 only
    const addr: MemberAddr | undefined = decodeMemberAddr(cc.context);
    switch (cc.type) {
      case ConfChangeType.ConfChangeAddNode:
      case ConfChangeType.ConfChangeAddLearnerNode:
      case ConfChangeType.ConfChangeUpdateNode:
        this.sm.addMember(c.index, cc.nodeId, addr);
        if (addr !== undefined && cc.nodeId !== this.cfg.id) this.transport.setPeer(cc.nodeId, addr.raft);
        this.log.info("member added", { id: cc.nodeId, addr, index: c.index, voters: c.confState.voters });
        return;
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

  private async saveSnapshot(index: number, confState: Parameters<DiskStorage["createSnapshot"]>[1], data: Uint8Array): Promise<void> {
    await this.storage.createSnapshot(index, confState, data);
    this.counters.snapshotsTaken++;
    const compactTo = index - this.cfg.catchUpEntries;
    if (compactTo >= this.storage.firstIndex()) {
      const before = await walSegments(this.cfg.dataDir);
      await this.storage.compact(compactTo);
      this.counters.walCompactions++;
      this.counters.walSegmentsPurged += Math.max(0, before - (await walSegments(this.cfg.dataDir)));
    }
    const purged = await this.snapshotter.purge(2);
    this.counters.snapFilesPurged += purged.length;
    this.log.info("snapshot taken", { index, bytes: data.length, compactedTo: compactTo, purgedSnapFiles: purged.length });
  }
}
