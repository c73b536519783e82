/**
 * The tsraft side of the e2e workload: a 3-member examples/kv cluster as a user runs it,
 * three separate `node` processes started through the KV's command line (`--id`, `--cluster`,
 * `--data-dir`, `--exit-with-parent`, `--log-level`, `--peer-secret-file`), each with
 * DiskStorage in a fresh directory, talking raft over TCP authenticated with a shared secret
 * (HMAC: a random secret in a file of the cluster's directory; the KV refuses to start without
 * a choice of authentication, and the steady state of HMAC is the same code as plain TCP, so
 * the figures stay comparable with etcd's plain-HTTP peers), serving the HTTP API; every other
 * setting is the KV's default (tick 100 ms, election 10 ticks, snapshot every 1000 entries).
 *
 * The built `examples/kv/dist/main.js` is run when the bench runs from its own dist (`pnpm
 * bench` builds both first); when the bench runs from sources (the tests, through tsx), the
 * KV runs from its sources too (`--conditions=@tsraft/source --import tsx src/main.ts`), so
 * src and dist are never mixed. Members are SIGKILLed if the bench exits without stopping
 * them (cleanup.ts), and exit by themselves if the bench dies (their stdin closes).
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchError } from "../errors.js";
import { killPid, onCleanup } from "./cleanup.js";
import { httpJson, sleep } from "./http-json.js";
import { freePorts, waitExit } from "./proc.js";
import { kvRequests, type Op, type RequestSet } from "./requests.js";
import { endpointOf, type E2eSystem, type Endpoint } from "./system.js";

/** The repository root (this file is bench/src/e2e/ or bench/dist/e2e/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const fromSource = import.meta.url.endsWith(".ts");

/** The node arguments that run one KV member (see the module comment). */
export function kvCommand(): string[] {
  if (fromSource) return ["--conditions=@tsraft/source", "--import", "tsx", join(repoRoot, "examples/kv/src/main.ts")];
  return [join(repoRoot, "examples/kv/dist/main.js")];
}

/** The options of {@link startKvCluster}. */
export interface KvClusterOptions {
  /** A fresh directory: data directories node-1..3 and their logs go there. */
  dir: string;
  /** Extra flags for every member (none by default: the KV's defaults are what users run). */
  extraArgs?: readonly string[];
  /** How long a member may take to print its ready line. */
  startTimeoutMs?: number;
}

interface KvMember {
  id: number;
  http: string;
  proc: ChildProcess;
  logFile: string;
}

/** The start and the end of a member's log (its first lines name a startup error, the last a crash). */
function tail(file: string): string {
  try {
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    return lines.length <= 20 ? lines.join("\n") : [...lines.slice(0, 5), "...", ...lines.slice(-12)].join("\n");
  } catch {
    return "(no log)";
  }
}

function startMember(
  id: number,
  cluster: string,
  http: string,
  dir: string,
  extra: readonly string[],
  timeoutMs: number,
  procs: ChildProcess[],
): Promise<KvMember> {
  const logFile = join(dir, `node-${id}.log`);
  const logFd = openSync(logFile, "a");
  const args = [
    ...kvCommand(),
    "--id",
    String(id),
    "--cluster",
    cluster,
    "--data-dir",
    join(dir, `node-${id}`),
    "--exit-with-parent",
    "--log-level",
    "warn",
    "--peer-secret-file",
    join(dir, "peer-secret"),
    ...extra,
  ];
  const proc = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["pipe", "pipe", logFd] });
  closeSync(logFd);
  procs.push(proc);
  const member: KvMember = { id, http, proc, logFile };
  return new Promise((resolvePromise, reject) => {
    let out = "";
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === undefined) resolvePromise(member);
      else reject(err);
    };
    const timer = setTimeout(
      () =>
        settle(new BenchError("TSRAFT_BENCH_CLUSTER_START", `KV member ${id} printed no KV_READY line in ${timeoutMs} ms; log ${logFile}:\n${tail(logFile)}`)),
      timeoutMs,
    );
    proc.stdout!.on("data", (c: Buffer) => {
      if (settled) return; // keep draining stdout, ignore it
      out += c.toString("utf8");
      if (/^KV_READY /m.test(out)) settle(undefined);
    });
    proc.once("exit", (code, sig) =>
      settle(new BenchError("TSRAFT_BENCH_CLUSTER_START", `KV member ${id} exited (${code ?? sig}) before it was ready; log ${logFile}:\n${tail(logFile)}`)),
    );
    proc.once("error", (e) => settle(new BenchError("TSRAFT_BENCH_CLUSTER_START", `cannot run KV member ${id}: ${e.message}`, { cause: e })));
  });
}

/**
 * Starts the 3 members in parallel and resolves once each serves (a leader is found later,
 * by {@link E2eSystem.leader}).
 * @throws {@link BenchError} `TSRAFT_BENCH_CLUSTER_START` (every member started is killed).
 */
export async function startKvCluster(o: KvClusterOptions): Promise<E2eSystem> {
  if (!fromSource && !existsSync(kvCommand()[0]!)) {
    throw new BenchError("TSRAFT_BENCH_CLUSTER_START", `${kvCommand()[0]} is missing: build first (pnpm run build; pnpm bench builds by itself)`);
  }
  mkdirSync(o.dir, { recursive: true });
  writeFileSync(join(o.dir, "peer-secret"), randomBytes(32).toString("hex"), { mode: 0o600 });
  const ports = await freePorts(6);
  const addrs = [1, 2, 3].map((id, i) => ({ id, raft: `127.0.0.1:${ports[2 * i]}`, http: `127.0.0.1:${ports[2 * i + 1]}` }));
  const cluster = addrs.map((a) => `${a.id}=${a.raft}/${a.http}`).join(",");
  const procs: ChildProcess[] = [];
  const unregister = onCleanup(() => {
    for (const p of procs) if (p.pid !== undefined) killPid(p.pid);
    rmSync(o.dir, { recursive: true, force: true });
  });
  // Every process is in `procs` from its spawn on, so a failure or a signal kills them all.
  const settled = await Promise.allSettled(addrs.map((a) => startMember(a.id, cluster, a.http, o.dir, o.extraArgs ?? [], o.startTimeoutMs ?? 60_000, procs)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed !== undefined) {
    for (const p of procs) if (p.pid !== undefined) killPid(p.pid);
    unregister();
    rmSync(o.dir, { recursive: true, force: true });
    throw failed.reason;
  }
  const members = settled.map((s) => (s as PromiseFulfilledResult<KvMember>).value);
  return new KvSystem(o.dir, members, unregister);
}

class KvSystem implements E2eSystem {
  readonly impl = "tsraft";
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly members: KvMember[],
    private readonly unregister: () => void,
  ) {}

  pids(): number[] {
    return this.members.map((m) => m.proc.pid).filter((p): p is number => p !== undefined);
  }

  async leader(timeoutMs: number): Promise<Endpoint & { id: string }> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const answers = await Promise.all(this.members.map((m) => httpJson("GET", `http://${m.http}/status`, undefined, 2000)));
      for (const [i, a] of answers.entries()) {
        const st = a.body as { raftState?: unknown; id?: unknown } | undefined;
        if (a.status === 200 && typeof st?.raftState === "string" && /^(state)?leader$/i.test(st.raftState)) {
          return { ...endpointOf(this.members[i]!.http), id: String(st.id ?? this.members[i]!.id) };
        }
        last = `member ${this.members[i]!.id}: ${a.status === 0 ? "no answer" : `${a.status} ${String(st?.raftState)}`}`;
      }
      await sleep(100);
    }
    throw new BenchError("TSRAFT_BENCH_NO_LEADER", `no KV member reported itself leader in ${timeoutMs} ms (last: ${last}); logs in ${this.dir}`);
  }

  requests(op: Op, keys: number, valueBytes: number): RequestSet {
    return kvRequests(op, "127.0.0.1", keys, valueBytes);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // A clean shutdown (SIGTERM) first, as a user stops a member; SIGKILL after 5 s.
    await Promise.all(
      this.members.map(async (m) => {
        m.proc.kill("SIGTERM");
        if (!(await waitExit(m.proc, 5000)) && m.proc.pid !== undefined) {
          killPid(m.proc.pid);
          await waitExit(m.proc, 5000);
        }
      }),
    );
    this.unregister();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
