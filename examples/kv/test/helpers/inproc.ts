/**
 * KV members in the test's own process (KvServer.start with real DiskStorage, TcpTransport
 * and HTTP on 127.0.0.1, free ports, temporary directories): much faster to start than
 * processes, and the test can reach into a member (propose raw bytes, read counters). A fatal
 * error is recorded (`fatal`), not an exit, and the test checks it is empty.
 *
 * The raft port is authenticated with a shared secret (HMAC: no openssl, a cheap handshake)
 * written into the cluster's directory, unless the flags given choose otherwise (`--peer-*`,
 * `--insecure-peers`).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KvServer, formatCluster, freePorts, kvRequest, lineLogger, parseConfig } from "@tsraft/example-kv";
import type { ClientTls, KvConfig, KvResponse, MemberAddr } from "@tsraft/example-kv";

/** One member slot. */
export interface InProcMember {
  id: bigint;
  addr: MemberAddr;
  dataDir: string;
  server: KvServer | undefined;
  /** Log lines (info and above), all runs. */
  logs: string[];
  /** Errors passed to onFatal. */
  fatal: unknown[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** See the module comment. */
export class InProcCluster {
  readonly baseDir: string;
  readonly members = new Map<bigint, InProcMember>();
  private readonly initial = new Map<bigint, MemberAddr>();
  /** Flags for every member (e.g. `["--quota-bytes", "1000"]`). */
  private readonly args: string[];
  /** HTTPS for requests, when the members serve it. */
  tls: ClientTls | undefined;

  private constructor(baseDir: string, args: string[]) {
    this.baseDir = baseDir;
    this.args = args;
  }

  /**
   * Allocates `size` members (not started). Fast raft timing: ticks of 50 ms, elections after
   * 10. `addrs`: the members' addresses (default: free ports), e.g. another cluster's, to run
   * one after the other on the same ports.
   */
  static async create(size: number, args: string[] = [], addrs?: ReadonlyMap<bigint, MemberAddr>): Promise<InProcCluster> {
    const baseDir = mkdtempSync(join(tmpdir(), "tsraft-kv-inproc-"));
    if (!args.some((a) => a.startsWith("--peer-") || a.startsWith("--insecure-peers"))) {
      const secretFile = join(baseDir, "peer-secret");
      writeFileSync(secretFile, randomBytes(32).toString("hex"), { mode: 0o600 });
      args = [...args, "--peer-secret-file", secretFile];
    }
    const c = new InProcCluster(baseDir, args);
    for (let i = 1; i <= size; i++) {
      const m = await c.addSlot(BigInt(i), addrs?.get(BigInt(i)));
      c.initial.set(m.id, m.addr);
    }
    return c;
  }

  /** Allocates a slot for a member that joins later (on free ports unless `addr` is given). */
  async addSlot(id: bigint, addr?: MemberAddr): Promise<InProcMember> {
    let a = addr;
    if (a === undefined) {
      const [raft, http] = await freePorts(2);
      a = { raft: `127.0.0.1:${raft}`, http: `127.0.0.1:${http}` };
    }
    const m: InProcMember = { id, addr: { ...a }, dataDir: join(this.baseDir, `node-${id}`), server: undefined, logs: [], fatal: [] };
    this.members.set(id, m);
    return m;
  }

  member(id: bigint): InProcMember {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  server(id: bigint): KvServer {
    const s = this.member(id).server;
    if (s === undefined) throw new Error(`member ${id} is not running`);
    return s;
  }

  /** The cluster id, from a running member (as GET /status shows it). */
  clusterId(): string {
    const id = this.running()[0];
    if (id === undefined) throw new Error("no member is running: nobody to ask the cluster id");
    return this.server(id).clusterId;
  }

  /** The configuration of member `id`; a member that joins gets `--cluster-id` from a running one. */
  config(id: bigint, opts: { join?: boolean; extraArgs?: string[] } = {}): KvConfig {
    const m = this.member(id);
    const cluster = new Map(this.initial);
    if (opts.join === true) cluster.set(id, m.addr);
    return parseConfig(
      [
        "--id",
        String(id),
        "--cluster",
        formatCluster(cluster),
        "--raft-addr",
        m.addr.raft,
        "--http-addr",
        m.addr.http,
        "--data-dir",
        m.dataDir,
        "--tick-ms",
        "50",
        "--request-timeout-ms",
        "3000",
        ...(opts.join === true ? ["--join", "--cluster-id", this.clusterId()] : []),
        ...this.args,
        ...(opts.extraArgs ?? []),
      ],
      {},
    );
  }

  /** Starts (or restarts) member `id`. */
  async start(id: bigint, opts: { join?: boolean; extraArgs?: string[] } = {}): Promise<KvServer> {
    const m = this.member(id);
    if (m.server !== undefined) throw new Error(`member ${id} is running`);
    const verbose = process.env["KV_TEST_VERBOSE"] === "1";
    const log = lineLogger(id, "info", (line) => {
      if (m.logs.length < 20_000) m.logs.push(line);
      if (verbose) process.stderr.write(line);
    });
    m.server = await KvServer.start(this.config(id, opts), log, { onFatal: (err) => m.fatal.push(err) });
    return m.server;
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.initial.keys()].map((id) => this.start(id)));
  }

  /** Stops member `id` cleanly (its data stays). */
  async stop(id: bigint): Promise<void> {
    const m = this.member(id);
    const s = m.server;
    m.server = undefined;
    await s?.stop();
  }

  running(): bigint[] {
    return [...this.members.values()].filter((m) => m.server !== undefined).map((m) => m.id);
  }

  /** Waits until the running members agree on a leader among them; returns it. */
  async waitForLeader(timeoutMs = 20_000): Promise<bigint> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const ids = this.running();
      const leads = new Set(ids.map((id) => this.server(id).node.leader()));
      if (leads.size === 1) {
        const lead = [...leads][0]!;
        if (lead !== 0n && ids.includes(lead) && this.server(lead).node.basicStatus().softState.raftState === "leader") return lead;
      }
      await sleep(20);
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  /** Waits until `cond` holds, polling. */
  async until(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  /** One request to member `id` (JSON body when given). */
  req(id: bigint, method: string, path: string, body?: unknown, timeoutMs = 8000): Promise<KvResponse> {
    return kvRequest(this.member(id).addr.http, method, path, body, timeoutMs, this.tls);
  }

  /** The members' addresses. */
  addrs(): Map<bigint, MemberAddr> {
    return new Map([...this.members].map(([id, m]) => [id, m.addr]));
  }

  /** Every fatal error of every member. */
  fatalErrors(): unknown[] {
    return [...this.members.values()].flatMap((m) => m.fatal);
  }

  /** Stops every member and removes the directory. */
  async cleanup(): Promise<void> {
    for (const id of this.running()) await this.stop(id);
    rmSync(this.baseDir, { recursive: true, force: true });
  }
}
