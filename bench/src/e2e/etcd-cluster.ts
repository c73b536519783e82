/**
 * The etcd side of the e2e workload: a real 3-member etcd cluster (Debian's etcd-server,
 * 3.4.23 on the development machine) started and stopped by
 * `../shared/etcd-baseline/etcd-cluster.sh` (see its header: etcd's defaults, fsync on, the
 * JSON gateway on HTTP/1.1), on free ports, with its data directories under the bench's
 * --tmpdir. The script path can be overridden with TSRAFT_ETCD_CLUSTER_SH.
 * @module
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { BenchError } from "../errors.js";
import { killPid, onCleanup } from "./cleanup.js";
import { httpJson, sleep } from "./http-json.js";
import { repoRoot } from "./kv-cluster.js";
import { freeBasePort, waitForPids } from "./proc.js";
import { etcdRequests, type Op, type RequestSet } from "./requests.js";
import { endpointOf, type E2eSystem, type Endpoint } from "./system.js";

/** Where etcd-cluster.sh is: $TSRAFT_ETCD_CLUSTER_SH, else ../shared/etcd-baseline/ beside the repository. */
export function etcdClusterScript(): string {
  return process.env.TSRAFT_ETCD_CLUSTER_SH ?? resolve(repoRoot, "../shared/etcd-baseline/etcd-cluster.sh");
}

function runScript(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile("bash", [etcdClusterScript(), ...args], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null)
        reject(new BenchError("TSRAFT_BENCH_ETCD_SCRIPT", `etcd-cluster.sh ${args.join(" ")} failed: ${err.message}\n${stderr.trim()}`, { cause: err }));
      else resolvePromise(stdout);
    });
  });
}

interface StartLine {
  endpoints: string[];
  pids: number[];
  version: string;
}

function parseStartLine(stdout: string): StartLine {
  const line = stdout.split("\n").find((l) => l.trim().startsWith("{"));
  try {
    const j = JSON.parse(line ?? "") as Partial<StartLine>;
    if (Array.isArray(j.endpoints) && Array.isArray(j.pids) && typeof j.version === "string") return j as StartLine;
  } catch {
    // reported below
  }
  throw new BenchError("TSRAFT_BENCH_ETCD_SCRIPT", `etcd-cluster.sh start printed no cluster line: ${JSON.stringify(stdout.slice(0, 300))}`);
}

/**
 * Starts 3 etcd members with data under `dir` (created; removed by stop).
 * @throws {@link BenchError} `TSRAFT_BENCH_ETCD_SCRIPT` (the members started are stopped).
 */
export async function startEtcdCluster(dir: string): Promise<E2eSystem> {
  const script = etcdClusterScript();
  if (!existsSync(script)) throw new BenchError("TSRAFT_BENCH_ETCD_SCRIPT", `${script} is missing (set TSRAFT_ETCD_CLUSTER_SH to its path)`);
  mkdirSync(resolve(dir, ".."), { recursive: true });
  // Client ports base+1..3, peer ports base+11..13 (the script's layout).
  const base = await freeBasePort([1, 2, 3, 11, 12, 13]);
  const killFromPidFile = (): void => {
    try {
      for (const p of readFileSync(join(dir, "pids"), "utf8").split("\n")) if (/^\d+$/.test(p.trim())) killPid(Number(p.trim()));
    } catch {
      // no pid file: nothing started
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onCleanup(killFromPidFile);
  let line: StartLine;
  try {
    line = parseStartLine(await runScript(["start", dir, "3", String(base)], 120_000));
  } catch (e) {
    killFromPidFile();
    unregister();
    throw e;
  }
  return new EtcdSystem(dir, line, unregister);
}

class EtcdSystem implements E2eSystem {
  readonly impl: string;
  private stopped = false;

  constructor(
    readonly dir: string,
    private readonly line: StartLine,
    private readonly unregister: () => void,
  ) {
    this.impl = `etcd-${line.version}`;
  }

  pids(): number[] {
    return this.line.pids;
  }

  async leader(timeoutMs: number): Promise<Endpoint & { id: string }> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      const answers = await Promise.all(this.line.endpoints.map((e) => httpJson("POST", `${e}/v3/maintenance/status`, {}, 2000)));
      for (const [i, a] of answers.entries()) {
        const st = a.body as { leader?: unknown; header?: { member_id?: unknown } } | undefined;
        const self = st?.header?.member_id;
        if (a.status === 200 && st?.leader !== undefined && String(st.leader) !== "0" && String(st.leader) === String(self)) {
          return { ...endpointOf(this.line.endpoints[i]!), id: String(self) };
        }
        last = `${this.line.endpoints[i]}: ${a.status === 0 ? "no answer" : `${a.status} leader=${String(st?.leader)}`}`;
      }
      await sleep(100);
    }
    throw new BenchError("TSRAFT_BENCH_NO_LEADER", `no etcd member reported itself leader in ${timeoutMs} ms (last: ${last}); logs in ${this.dir}`);
  }

  requests(op: Op, keys: number, valueBytes: number): RequestSet {
    return etcdRequests(op, "127.0.0.1", keys, valueBytes);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    let stopped = false;
    try {
      await runScript(["stop", this.dir], 60_000);
      stopped = true;
    } finally {
      // Only if the script failed: after a clean stop the pids may already belong to others.
      if (!stopped) {
        for (const p of this.line.pids) killPid(p);
        await waitForPids(this.line.pids, 5000);
      }
      rmSync(this.dir, { recursive: true, force: true });
      this.unregister();
    }
  }
}
