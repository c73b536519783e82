/**
 * LocalCluster: starts KV members as separate processes on 127.0.0.1 with free ports and
 * temporary data directories, and controls them: SIGKILL, SIGTERM, SIGSTOP/SIGCONT,
 * partitions (through each member's fault-injection endpoint), restarts, joins. Used by the
 * demo, the fault-injection test and the soak.
 *
 * Cleanup is guaranteed as far as a process can guarantee it: every child is registered and
 * SIGKILLed when this process exits (normally, on an uncaught error, on SIGINT/SIGTERM); each
 * child is started with `--exit-with-parent`, so it exits when its stdin (held by this
 * process) closes, even if this process is SIGKILLed. (A child that is SIGSTOPped at that
 * moment stays stopped: only a SIGKILL from outside ends it then.)
 *
 * The raft port is authenticated: by default with mutual TLS, from a throwaway CA and member
 * certificates made with openssl (@tsraft/test-helpers/certs) in `BASE/peer-certs`; without
 * openssl, with a random shared secret in `BASE/peer-secret` (see {@link ClusterOptions.peerAuth}).
 * @module
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { WriteStream } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeCerts, opensslAvailable } from "@tsraft/test-helpers/certs";
import type { TestCerts } from "@tsraft/test-helpers/certs";
import { kvRequest } from "./client.js";
import { freePorts } from "@tsraft/test-helpers/ports";
import type { KvResponse } from "./client.js";
import type { MemberAddr } from "./command.js";
import { formatCluster } from "./config.js";
import { UNHANDLED_MARKER } from "./crash.js";

/** The options of {@link LocalCluster.create}. */
export interface ClusterOptions {
  /** Members of the initial cluster (ids 1..size). */
  size: number;
  /** Where data directories and logs go; default a new temporary directory (removed by cleanup). */
  baseDir?: string;
  /** Extra server flags for every member, e.g. `['--snapshot-entries', '100']`. */
  serverArgs?: string[];
  /** Start members with `--fault-injection`. */
  faultInjection?: boolean;
  /** Milliseconds to wait for a member to print its ready line. Default 60 s. */
  startTimeoutMs?: number;
  /**
   * How members authenticate each other on the raft port: `tls` (a throwaway CA and member
   * certificates, made with openssl), `hmac` (a random shared secret in a file), `none`
   * (`--insecure-peers`), or `auto` (default): `tls` if openssl can be run, else `hmac`.
   */
  peerAuth?: "tls" | "hmac" | "none" | "auto";
}

/** One member as the launcher knows it. */
export interface Member {
  id: bigint;
  addr: MemberAddr;
  dataDir: string;
  logFile: string;
  proc: ChildProcess | undefined;
  paused: boolean;
  /** Resolves with the exit code (or the signal name) when the current process exits. */
  exited: Promise<number | string> | undefined;
}

/** A status as GET /status answers it (the fields the launcher uses). */
export interface MemberStatus {
  id: string;
  clusterId: string;
  /** The raft port's authentication: `tls`, `hmac` or `none`. */
  peerAuth: string;
  raftState: string;
  term: number;
  commit: number;
  applied: number;
  snapshotIndex: number;
  firstIndex: number;
  lastIndex: number;
  keys: number;
  members: { id: string; raft: string | null; http: string | null; role: "voter" | "learner"; promote: boolean }[];
  leader: { id: string; http: string | null } | null;
  counters: Record<string, number>;
}

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => killAllChildren());
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAllChildren();
      process.exit(130);
    });
  }
}

/** SIGKILLs every member process this process started (synchronous; safe in an exit handler). */
export function killAllChildren(): void {
  for (const p of live) {
    try {
      p.kill("SIGCONT");
      p.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

/** This module's directory (the server is spawned with it as working directory). */
export const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith(".ts");

/** The node arguments that run the server (`main.ts` through tsx from sources, else `main.js`). */
export function serverCommand(): string[] {
  return fromSource ? ["--conditions=@tsraft/source", "--import", "tsx", join(here, "main.ts")] : [join(here, "main.js")];
}

/** See the module comment. */
export class LocalCluster {
  readonly baseDir: string;
  readonly members = new Map<bigint, Member>();
  private readonly opts: ClusterOptions;
  private readonly ownsDir: boolean;
  private readonly initial = new Map<bigint, MemberAddr>();
  private logs = new Map<bigint, WriteStream>();
  /** How the members authenticate each other on the raft port. */
  readonly peerAuth: "tls" | "hmac" | "none";
  /** The throwaway CA and member certificates (`tls`). */
  private certs: TestCerts | undefined;
  /** The file of the shared secret (`hmac`). */
  private secretFile: string | undefined;
  /** The cluster id, once a member told it (for members that join). */
  private clusterIdText: string | undefined;
  /** This cluster's `--cluster-token`: its own, so that two local clusters on reused ports never share a cluster id. */
  readonly clusterToken = `kv-local-${randomBytes(8).toString("hex")}`;

  private constructor(opts: ClusterOptions, baseDir: string, ownsDir: boolean) {
    this.opts = opts;
    this.baseDir = baseDir;
    this.ownsDir = ownsDir;
    const mode = opts.peerAuth ?? "auto";
    this.peerAuth = mode === "auto" ? (opensslAvailable() ? "tls" : "hmac") : mode;
    if (this.peerAuth === "tls") {
      this.certs = makeCerts("kv-local", { dir: join(baseDir, "peer-certs"), days: 30 });
    } else if (this.peerAuth === "hmac") {
      this.secretFile = join(baseDir, "peer-secret");
      writeFileSync(this.secretFile, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    }
  }

  /** Allocates ports and directories for `size` members (not started yet). */
  static async create(opts: ClusterOptions): Promise<LocalCluster> {
    installExitHooks();
    const ownsDir = opts.baseDir === undefined;
    const baseDir = opts.baseDir ?? mkdtempSync(join(tmpdir(), "tsraft-kv-"));
    mkdirSync(baseDir, { recursive: true });
    const c = new LocalCluster(opts, baseDir, ownsDir);
    for (let i = 1; i <= opts.size; i++) {
      const m = await c.addSlot(BigInt(i));
      c.initial.set(m.id, m.addr);
    }
    return c;
  }

  /** Allocates ports and a directory for a member that will join later. */
  async addSlot(id: bigint): Promise<Member> {
    const [raft, http] = await freePorts(2);
    const m: Member = {
      id,
      addr: { raft: `127.0.0.1:${raft}`, http: `127.0.0.1:${http}` },
      dataDir: join(this.baseDir, `node-${id}`),
      logFile: join(this.baseDir, `node-${id}.log`),
      proc: undefined,
      paused: false,
      exited: undefined,
    };
    this.members.set(id, m);
    return m;
  }

  /**
   * The raft port flags of member `id` (its certificate is made on first use): what the
   * launcher passes, for starting a member by other means.
   */
  peerArgs(id: bigint): string[] {
    if (this.certs !== undefined) {
      const m = this.certs.member(id);
      return ["--peer-cert", m.certPath, "--peer-key", m.keyPath, "--peer-ca", this.certs.ca.certPath];
    }
    if (this.secretFile !== undefined) return ["--peer-secret-file", this.secretFile];
    return ["--insecure-peers"];
  }

  /** A description of the raft port's authentication, for people. */
  describePeerAuth(): string {
    if (this.certs !== undefined) return `mutual TLS, throwaway CA and member certificates in ${this.certs.dir}`;
    if (this.secretFile !== undefined) return `HMAC, throwaway shared secret in ${this.secretFile}`;
    return "none (--insecure-peers)";
  }

  /**
   * The cluster's id, as GET /status of a running member shows it (asked once, then kept).
   * @throws Error if no member answers within `timeoutMs`.
   */
  async clusterId(timeoutMs = 10_000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (this.clusterIdText === undefined) {
      for (const id of this.ids()) {
        const st = await this.status(id, 1000);
        if (st !== undefined) {
          this.clusterIdText = st.clusterId;
          break;
        }
      }
      if (this.clusterIdText !== undefined) break;
      if (Date.now() > end) throw new Error(`cluster: no member told the cluster id within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.clusterIdText;
  }

  /** Every member id with a slot. */
  ids(): bigint[] {
    return [...this.members.keys()];
  }

  /** The member `id`. @throws Error if there is no such slot. */
  member(id: bigint): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`cluster: no member ${id}`);
    return m;
  }

  /** Whether member `id`'s process is running (possibly paused). */
  isRunning(id: bigint): boolean {
    const p = this.member(id).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Starts every initial member, in parallel. */
  async startAll(): Promise<void> {
    await Promise.all([...this.initial.keys()].map((id) => this.start(id)));
  }

  /**
   * Starts (or restarts) member `id` and resolves once it serves. `join`: a member added
   * with POST /members, starting with an empty data directory.
   * @throws Error if it exits or does not get ready in time (with the end of its log).
   */
  async start(id: bigint, opts: { join?: boolean; extraArgs?: string[] } = {}): Promise<void> {
    const m = this.member(id);
    if (this.isRunning(id)) throw new Error(`cluster: member ${id} is already running`);
    const cluster = new Map(this.initial);
    cluster.set(id, m.addr);
    const joinArgs = opts.join === true ? ["--join", "--cluster-id", await this.clusterId()] : [];
    const args = [
      ...serverCommand(),
      "--id",
      String(id),
      "--cluster",
      formatCluster(opts.join === true ? cluster : this.initial),
      "--raft-addr",
      m.addr.raft,
      "--http-addr",
      m.addr.http,
      "--data-dir",
      m.dataDir,
      "--exit-with-parent",
      "--cluster-token",
      this.clusterToken,
      ...this.peerArgs(id),
      ...joinArgs,
      ...(this.opts.faultInjection === true ? ["--fault-injection"] : []),
      ...(this.opts.serverArgs ?? []),
      ...(opts.extraArgs ?? []),
    ];
    let log = this.logs.get(id);
    if (log === undefined) {
      log = createWriteStream(m.logFile, { flags: "a" });
      this.logs.set(id, log);
    }
    log.write(`\n==== ${new Date().toISOString()} launcher: starting member ${id}\n`);
    const proc = spawn(process.execPath, args, { cwd: here, stdio: ["pipe", "pipe", "pipe"] });
    live.add(proc);
    m.proc = proc;
    m.paused = false;
    const logStream = log;
    proc.stderr!.on("data", (c: Buffer) => logStream.write(c));
    m.exited = new Promise<number | string>((resolve) => {
      proc.once("exit", (code, signal) => {
        live.delete(proc);
        logStream.write(`==== launcher: member ${id} exited (${code ?? signal})\n`);
        resolve(code ?? signal ?? "?");
      });
    });
    await new Promise<void>((resolve, reject) => {
      let buf = "";
      let ready = false;
      const timer = setTimeout(
        () => fail(new Error(`member ${id} not ready after ${this.opts.startTimeoutMs ?? 60_000} ms`)),
        this.opts.startTimeoutMs ?? 60_000,
      );
      const fail = (err: Error): void => {
        clearTimeout(timer);
        reject(new Error(`${err.message}\n--- end of ${m.logFile}:\n${this.logTail(id, 20)}`));
      };
      proc.stdout!.on("data", (c: Buffer) => {
        logStream.write(c);
        if (ready) return;
        buf += c.toString("utf8");
        if (buf.includes("KV_READY")) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      void m.exited!.then((code) => {
        if (!ready) setTimeout(() => fail(new Error(`member ${id} exited before it was ready (${code})`)), 50);
      });
    });
  }

  /** The last `n` lines of member `id`'s log. */
  logTail(id: bigint, n: number): string {
    try {
      return readFileSync(this.member(id).logFile, "utf8").trimEnd().split("\n").slice(-n).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** Sends `signal` to member `id` (SIGKILL by default) and, unless it is SIGSTOP/SIGCONT, waits for the exit. */
  async kill(id: bigint, signal: NodeJS.Signals = "SIGKILL"): Promise<number | string | undefined> {
    const m = this.member(id);
    if (!this.isRunning(id)) return undefined;
    if (m.paused && signal !== "SIGKILL") m.proc!.kill("SIGCONT");
    m.paused = false;
    m.proc!.kill(signal);
    return m.exited;
  }

  /**
   * Stops member `id` with SIGTERM (a clean shutdown) and resolves with its exit code;
   * SIGKILLs it if it takes over `ms`.
   */
  async stop(id: bigint, ms = 10_000): Promise<number | string | undefined> {
    const m = this.member(id);
    if (!this.isRunning(id)) return undefined;
    if (m.paused) this.resume(id);
    m.proc!.kill("SIGTERM");
    const t = setTimeout(() => m.proc?.kill("SIGKILL"), ms);
    const code = await m.exited;
    clearTimeout(t);
    return code;
  }

  /** SIGSTOPs member `id`. */
  pause(id: bigint): void {
    const m = this.member(id);
    if (!this.isRunning(id)) return;
    m.proc!.kill("SIGSTOP");
    m.paused = true;
  }

  /** SIGCONTs member `id`. */
  resume(id: bigint): void {
    const m = this.member(id);
    if (!this.isRunning(id)) return;
    m.proc!.kill("SIGCONT");
    m.paused = false;
  }

  /**
   * Cuts member `id` off from the others: it drops their traffic and they drop its (needs
   * `faultInjection`). Members that do not answer are skipped.
   */
  async isolate(id: bigint): Promise<void> {
    const others = this.ids().filter((x) => x !== id);
    await Promise.all([this.admin(id, others.map(String)), ...others.map((o) => this.admin(o, [String(id)]))]);
  }

  /** Heals every partition. */
  async heal(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.admin(id, [])));
  }

  private async admin(id: bigint, block: string[]): Promise<void> {
    if (!this.isRunning(id) || this.member(id).paused) return;
    await kvRequest(this.member(id).addr.http, "POST", "/admin/partition", { block }, 2000);
  }

  /** GET /status of member `id`, or undefined if it does not answer within `timeoutMs`. */
  async status(id: bigint, timeoutMs = 1000): Promise<MemberStatus | undefined> {
    if (!this.isRunning(id) || this.member(id).paused) return undefined;
    const r = await kvRequest(this.member(id).addr.http, "GET", "/status", undefined, timeoutMs);
    return r.status === 200 ? (r.body as unknown as MemberStatus) : undefined;
  }

  /**
   * Waits until every running, unpaused member among `ids` reports the same leader, which is
   * one of them and says it leads. Resolves with the leader's id.
   * @throws Error after `timeoutMs`.
   */
  async waitForLeader(timeoutMs = 20_000, ids: bigint[] = this.ids()): Promise<bigint> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const up = ids.filter((id) => this.isRunning(id) && !this.member(id).paused);
      const sts = await Promise.all(up.map((id) => this.status(id, 500)));
      const leads = new Set(sts.map((s) => s?.leader?.id ?? "none"));
      if (up.length > 0 && sts.every((s) => s !== undefined) && leads.size === 1 && !leads.has("none")) {
        const lead = BigInt([...leads][0]!);
        const ls = sts[up.indexOf(lead)];
        if (ls !== undefined && ls.raftState === "leader") return lead;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`cluster: no leader agreed on within ${timeoutMs} ms`);
  }

  /** Waits until member `id` has applied at least `index`. @throws Error after `timeoutMs`. */
  async waitApplied(id: bigint, index: number, timeoutMs = 20_000): Promise<MemberStatus> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const s = await this.status(id, 500);
      if (s !== undefined && s.applied >= index) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`cluster: member ${id} did not apply ${index} within ${timeoutMs} ms`);
  }

  /**
   * Sends a membership request (POST /members, POST /members/:id/promote, DELETE
   * /members/:id) to the leader: to a running member first, then wherever its 421
   * `not_leader` answer points, retrying while no leader is known. Bounded: at most 20
   * attempts, each with a timeout.
   */
  async membership(method: string, path: string, body: unknown, timeoutMs = 10_000): Promise<KvResponse> {
    const up = (): bigint[] => this.ids().filter((id) => this.isRunning(id) && !this.member(id).paused);
    let target = this.member(up()[0] ?? this.ids()[0]!).addr.http;
    let last: KvResponse = { status: 0, body: {}, error: "no attempt" };
    for (let attempt = 0; attempt < 20; attempt++) {
      last = await kvRequest(target, method, path, body, timeoutMs);
      const lead = last.body["leader"] as { http?: string | null } | null | undefined;
      if (last.status === 421 && typeof lead?.http === "string") {
        target = lead.http;
        continue;
      }
      if (last.status === 421 || (last.status === 503 && last.body["outcome"] === "not_applied") || last.status === 0) {
        await new Promise((r) => setTimeout(r, 200));
        const ids = up();
        if (ids.length > 0) target = this.member(ids[attempt % ids.length]!).addr.http;
        continue;
      }
      return last;
    }
    return last;
  }

  /** Waits until member `id` is a voter (promoted), as `via`'s GET /members says. @throws Error after `timeoutMs`. */
  async waitForVoter(id: bigint, timeoutMs = 20_000, via?: bigint): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const from = via ?? this.ids().find((x) => x !== id && this.isRunning(x) && !this.member(x).paused);
      if (from !== undefined) {
        const s = await this.status(from, 1000);
        if (s?.members.some((m) => m.id === id.toString() && m.role === "voter") === true) return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`cluster: member ${id} was not promoted to voter within ${timeoutMs} ms`);
  }

  /**
   * The members whose log holds the {@link UNHANDLED_MARKER} (an unhandled rejection or an
   * uncaught exception: a bug), with the line.
   */
  unhandledInLogs(): { id: bigint; line: string }[] {
    const out: { id: bigint; line: string }[] = [];
    for (const id of this.ids()) {
      let text = "";
      try {
        text = readFileSync(this.member(id).logFile, "utf8");
      } catch {
        continue;
      }
      const line = text.split("\n").find((l) => l.startsWith(UNHANDLED_MARKER));
      if (line !== undefined) out.push({ id, line: line.slice(0, 500) });
    }
    return out;
  }

  /** SIGKILLs every member and removes the temporary directory (unless `keepDir`). */
  async cleanup(keepDir = false): Promise<void> {
    await Promise.all(this.ids().map((id) => this.kill(id, "SIGKILL")));
    for (const l of this.logs.values()) l.end();
    this.logs.clear();
    if (this.ownsDir && !keepDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
