/**
 * The fault-injection run shared by the test and the soak: a local cluster of KV processes,
 * concurrent clients doing reads, writes, compare-and-set and (rarely) deletes on a few keys,
 * and a nemesis that SIGKILLs and restarts members, SIGSTOPs and SIGCONTs them, and partitions
 * them. The history is recorded (invoke and completion times, outcome ok / fail / unknown) and
 * checked for linearizability; then every acknowledged write to a key of its own is looked
 * for (no acknowledged write lost, no refused write applied), and the members' states are
 * compared once the cluster has settled.
 *
 * Every loop is bounded by the run's deadline or a count; every request has a timeout; the
 * cluster is killed in a `finally`.
 * @module
 */
import { Prng } from "@tsraft/raft/testing";
import { kvRequest, listAll, writeOutcome } from "./client.js";
import type { KvResponse } from "./client.js";
import { LocalCluster } from "./cluster.js";
import { checkHistory } from "./checker/linearizability.js";
import type { CheckResult } from "./checker/linearizability.js";
import { kvModel } from "./checker/kv-model.js";
import type { KvInput, KvOperation, KvOutput } from "./checker/kv-model.js";

/** The options of {@link runFaultTest}. */
export interface FaultRunOptions {
  /** Seconds of workload under faults. */
  seconds: number;
  /** Concurrent clients. Default 6. */
  clients?: number;
  /** Keys of the register workload. Default 4. */
  keys?: number;
  /** Cluster size. Default 3. */
  nodes?: number;
  /** Seed of the random choices (timing is not reproducible). Default: from the clock. */
  seed?: number;
  /** Fault kinds. Default all. */
  faults?: ("kill" | "pause" | "partition")[];
  /** A client request's timeout. Default 4000 ms (the server's own is 3000 ms). */
  clientTimeoutMs?: number;
  /** Extra server flags. */
  serverArgs?: string[];
  /** Progress lines. */
  log?: (line: string) => void;
  /** Keep the data directories and logs (printed) even on success. */
  keepDir?: boolean;
  /**
   * Read with `?serializable` (a member's local state, possibly stale) instead of ReadIndex.
   * Not linearizable: for showing that the checker catches stale reads.
   */
  serializableReads?: boolean;
}

/** One recorded operation. */
export interface HistoryEntry {
  client: number;
  node: string;
  input: KvInput;
  output: KvOutput | undefined;
  /** `ok`: definite answer; `fail`: definitely not applied (or a read that failed); `info`: unknown. */
  outcome: "ok" | "fail" | "info";
  call: number;
  ret: number;
  /** Status and error of the answer, for reports. */
  status: number;
  error?: string;
}

/** A fault the nemesis injected. */
export interface FaultEvent {
  kind: "kill" | "pause" | "partition";
  target: string;
  wasLeader: boolean;
  at: number;
  ms: number;
}

/** What {@link runFaultTest} found. */
export interface FaultRunResult {
  seed: number;
  baseDir: string;
  /** Milliseconds of workload. */
  ms: number;
  history: HistoryEntry[];
  faults: FaultEvent[];
  checker: CheckResult;
  /** Writes to keys of their own: acknowledged, found; lost (acknowledged, missing or wrong); refused yet present. */
  durability: { acked: number; lost: string[]; refusedButApplied: string[]; unknownApplied: number; unknownMissing: number };
  /** Whether every member ended with the same applied state. */
  converged: boolean;
  convergence: string;
  /** The raft port's authentication as the members report it at the end (GET /status `peerAuth`): `["tls"]`. */
  peerAuth: string[];
  /** Verdict of the whole run. */
  pass: boolean;
  failures: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs the fault test (see the module comment). Never throws for a failed check: see `pass`. */
export async function runFaultTest(o: FaultRunOptions): Promise<FaultRunResult> {
  const seed = o.seed ?? Date.now() % 2 ** 31;
  const prng = new Prng(seed);
  const rnd = (): number => prng.float();
  const log = o.log ?? (() => {});
  const nClients = o.clients ?? 6;
  const nKeys = o.keys ?? 4;
  const timeoutMs = o.clientTimeoutMs ?? 4000;
  const kinds = o.faults ?? ["kill", "pause", "partition"];
  const cluster = await LocalCluster.create({
    size: o.nodes ?? 3,
    faultInjection: true,
    // Mutual TLS on the raft port, as a production cluster would run (certificates made with openssl).
    peerAuth: "tls",
    serverArgs: [
      "--request-timeout-ms",
      "3000",
      "--snapshot-entries",
      "200",
      "--catch-up-entries",
      "50",
      "--wal-segment-bytes",
      String(256 * 1024),
      ...(o.serverArgs ?? []),
    ],
  });
  log(`seed ${seed}; data and logs in ${cluster.baseDir}; raft port: ${cluster.describePeerAuth()}`);
  const history: HistoryEntry[] = [];
  const faults: FaultEvent[] = [];
  const failures: string[] = [];
  let keep = o.keepDir === true;
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  try {
    await cluster.startAll();
    await cluster.waitForLeader(30_000);
    log(`cluster of ${cluster.ids().length} up after ${now().toFixed(0)} ms`);
    const ids = cluster.ids();
    const addrOf = (id: bigint): string => cluster.member(id).addr.http;
    const start = now();
    const end = start + o.seconds * 1000;

    // ------------------------------------------------------------------ clients
    const uniqueWrites: { key: string; value: string; outcome: "ok" | "fail" | "info" }[] = [];
    const client = async (c: number): Promise<void> => {
      let node = ids[c % ids.length]!;
      let seq = 0;
      const lastSeen = new Map<string, string | null>();
      // Bounded: by the deadline, and each request by its timeout.
      while (now() < end) {
        const key = `k${Math.floor(rnd() * nKeys)}`;
        const r = rnd();
        const value = `c${c}.${seq++}`;
        const call = now();
        let input: KvInput;
        let resp: KvResponse;
        if (r < 0.45) {
          input = { key, type: "read" };
          resp = await kvRequest(addrOf(node), "GET", `/kv/${key}${o.serializableReads === true ? "?serializable" : ""}`, undefined, timeoutMs);
        } else if (r < 0.72) {
          input = { key, type: "write", value };
          resp = await kvRequest(addrOf(node), "PUT", `/kv/${key}`, { value }, timeoutMs);
        } else if (r < 0.91) {
          const expect = lastSeen.get(key) ?? null;
          input = { key, type: "cas", expect, value };
          resp = await kvRequest(addrOf(node), "PUT", `/kv/${key}`, { value, prev: expect }, timeoutMs);
        } else if (r < 0.92) {
          input = { key, type: "write", value: null };
          resp = await kvRequest(addrOf(node), "DELETE", `/kv/${key}`, undefined, timeoutMs);
        } else {
          const ukey = `u-${value}`;
          const w = await kvRequest(addrOf(node), "PUT", `/kv/${ukey}`, { value }, timeoutMs);
          const oc = writeOutcome(w);
          uniqueWrites.push({ key: ukey, value, outcome: oc === "ok" ? "ok" : oc === "not_applied" ? "fail" : "info" });
          if (w.status === 0 || w.status >= 500) node = ids[Math.floor(rnd() * ids.length)]!;
          continue;
        }
        const ret = now();
        const e = record(c, node, input, resp, call, ret);
        history.push(e);
        if (e.outcome === "ok" && input.type === "read") lastSeen.set(key, (e.output as { value: string | null }).value);
        if (e.outcome === "ok" && input.type === "cas") {
          const out = e.output as { ok: boolean; current?: string | null };
          lastSeen.set(key, out.ok ? value : (out.current ?? null));
        }
        if (e.outcome === "ok" && input.type === "write") lastSeen.set(key, input.value);
        // On trouble, try another member next time (a client that knows nothing of the cluster).
        if (resp.status === 0 || resp.status >= 500) {
          node = ids[Math.floor(rnd() * ids.length)]!;
          if (resp.status === 503) await sleep(50);
        }
      }
    };

    // ------------------------------------------------------------------ nemesis
    const nemesis = async (): Promise<void> => {
      await sleep(1500);
      for (let round = 0; round < 10_000 && now() < end - 3000; round++) {
        const kind = kinds[Math.floor(rnd() * kinds.length)]!;
        let leader: bigint | undefined;
        try {
          leader = await cluster.waitForLeader(3000);
        } catch {
          leader = undefined;
        }
        const target = leader !== undefined && rnd() < 0.5 ? leader : ids[Math.floor(rnd() * ids.length)]!;
        const at = now();
        const hold = 600 + rnd() * 2400;
        if (kind === "kill") {
          await cluster.kill(target, "SIGKILL");
          await sleep(hold);
          await cluster.start(target);
        } else if (kind === "pause") {
          cluster.pause(target);
          await sleep(hold);
          cluster.resume(target);
        } else {
          await cluster.isolate(target);
          await sleep(hold);
          await cluster.heal();
        }
        faults.push({ kind, target: target.toString(), wasLeader: target === leader, at, ms: now() - at });
        log(
          `  ${(at / 1000).toFixed(1).padStart(6)} s  ${kind.padEnd(9)} member ${target}${target === leader ? " (leader)" : ""} for ${(now() - at).toFixed(0)} ms`,
        );
        await sleep(800 + rnd() * 1500);
      }
    };

    await Promise.all([nemesis(), ...Array.from({ length: nClients }, (_, c) => client(c))]);
    const workMs = now() - start;
    log(`workload done: ${history.length} register operations, ${uniqueWrites.length} unique-key writes, ${faults.length} faults`);

    // ------------------------------------------------------------------ settle
    for (const id of ids) if (!cluster.isRunning(id)) await cluster.start(id);
    for (const id of ids) cluster.resume(id);
    await cluster.heal();
    const leader = await cluster.waitForLeader(30_000);
    // Final linearizable reads of every key, recorded like any other operation.
    for (let k = 0; k < nKeys; k++) {
      const key = `k${k}`;
      for (let attempt = 0; attempt < 20; attempt++) {
        const call = now();
        const resp = await kvRequest(addrOf(leader), "GET", `/kv/${key}`, undefined, timeoutMs);
        const e = record(-1, leader, { key, type: "read" }, resp, call, now());
        history.push(e);
        if (e.outcome === "ok") break;
        await sleep(200);
      }
    }

    // ------------------------------------------------------------------ durability
    let all: Map<string, string> | undefined;
    for (let attempt = 0; attempt < 20 && all === undefined; attempt++) {
      all = (await listAll(addrOf(leader), "u-", { timeoutMs }))?.kvs;
      if (all === undefined) await sleep(200);
    }
    const durability = { acked: 0, lost: [] as string[], refusedButApplied: [] as string[], unknownApplied: 0, unknownMissing: 0 };
    if (all === undefined) failures.push("could not read the unique-key writes back");
    else {
      for (const w of uniqueWrites) {
        const got = all.get(w.key);
        if (w.outcome === "ok") {
          durability.acked++;
          if (got !== w.value) durability.lost.push(`${w.key}=${w.value} (found ${got ?? "nothing"})`);
        } else if (w.outcome === "fail") {
          if (got !== undefined) durability.refusedButApplied.push(`${w.key}=${got}`);
        } else if (got !== undefined) durability.unknownApplied++;
        else durability.unknownMissing++;
      }
      if (durability.lost.length > 0) failures.push(`acknowledged writes lost: ${durability.lost.slice(0, 5).join(", ")}`);
      if (durability.refusedButApplied.length > 0)
        failures.push(`writes refused as not applied were applied: ${durability.refusedButApplied.slice(0, 5).join(", ")}`);
    }

    // ------------------------------------------------------------------ convergence
    const conv = await converge(cluster, ids);
    if (!conv.ok) failures.push(`members did not converge: ${conv.detail}`);
    const peerAuth = [...new Set((await Promise.all(ids.map((id) => cluster.status(id, 2000)))).map((s) => s?.peerAuth ?? "no answer"))].sort();
    for (const u of cluster.unhandledInLogs()) failures.push(`member ${u.id} logged ${u.line}`);

    // ------------------------------------------------------------------ linearizability
    const ops: KvOperation[] = history
      .filter((e) => e.outcome !== "fail")
      .map((e) => ({
        client: e.client,
        input: e.input,
        output: e.outcome === "ok" ? e.output : undefined,
        call: e.call,
        ret: e.outcome === "ok" ? e.ret : Infinity,
      }));
    const checker = checkHistory(kvModel, ops);
    if (checker.verdict !== "ok") failures.push(`linearizability: ${checker.verdict}`);
    const okOps = history.filter((e) => e.outcome === "ok").length;
    if (okOps < 20) failures.push(`too few successful operations (${okOps})`);
    const pass = failures.length === 0;
    if (!pass) keep = true;
    return {
      seed,
      baseDir: cluster.baseDir,
      ms: workMs,
      history,
      faults,
      checker,
      durability,
      converged: conv.ok,
      convergence: conv.detail,
      peerAuth,
      pass,
      failures,
    };
  } catch (err) {
    keep = true;
    throw err;
  } finally {
    await cluster.cleanup(keep);
  }
}

/** Turns an answer into a history entry. */
function record(client: number, node: bigint, input: KvInput, r: KvResponse, call: number, ret: number): HistoryEntry {
  const base = { client, node: node.toString(), input, call, ret, status: r.status, ...(r.error === undefined ? {} : { error: r.error }) };
  if (input.type === "read") {
    if (r.status === 200) return { ...base, output: { value: r.body["value"] as string }, outcome: "ok" };
    if (r.status === 404 && r.body["code"] === "not_found") return { ...base, output: { value: null }, outcome: "ok" };
    return { ...base, output: undefined, outcome: "fail" }; // a read that failed has no effect
  }
  const oc = writeOutcome(r);
  if (oc === "not_applied") return { ...base, output: undefined, outcome: "fail" };
  if (oc === "unknown") return { ...base, output: undefined, outcome: "info" };
  if (input.type === "cas") {
    return { ...base, output: r.status === 200 ? { ok: true } : { ok: false, current: (r.body["current"] as string | null) ?? null }, outcome: "ok" };
  }
  return { ...base, output: {}, outcome: "ok" };
}

/** Waits until every member applied the same index and holds the same data. */
async function converge(cluster: LocalCluster, ids: bigint[]): Promise<{ ok: boolean; detail: string }> {
  let detail = "";
  for (let attempt = 0; attempt < 100; attempt++) {
    const sts = await Promise.all(ids.map((id) => cluster.status(id, 1000)));
    if (sts.every((s) => s !== undefined)) {
      const applied = new Set(sts.map((s) => s!.applied));
      if (applied.size === 1) {
        const dumps = await Promise.all(ids.map((id) => listAll(cluster.member(id).addr.http, "", { serializable: true, timeoutMs: 2000 })));
        const texts = dumps.map((d) => (d === undefined ? "?" : JSON.stringify([...d.kvs])));
        const idx = dumps.map((d) => d?.index);
        if (new Set(texts).size === 1 && new Set(idx).size === 1 && dumps.every((d) => d !== undefined)) {
          return { ok: true, detail: `all ${ids.length} members at index ${String(idx[0])} with ${dumps[0]!.kvs.size} keys` };
        }
        detail = `same applied index but different data`;
      } else detail = `applied indexes ${[...applied].join(", ")}`;
    } else detail = "a member does not answer";
    await sleep(200);
  }
  return { ok: false, detail };
}

/** The p-th percentile (0..100) of sorted numbers. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** A human summary of a run: operations, faults, latency percentiles, verdict. */
export function summarize(r: FaultRunResult): string {
  const lines: string[] = [];
  const types = ["read", "write", "cas"] as const;
  lines.push(`operations (register keys): ${r.history.length} in ${(r.ms / 1000).toFixed(1)} s`);
  lines.push(`  ${"type".padEnd(8)} ${"ok".padStart(7)} ${"fail".padStart(7)} ${"unknown".padStart(8)}   latency of ok ms: p50    p90    p99    max`);
  for (const t of types) {
    const es = r.history.filter((e) => e.input.type === t && (t !== "write" || (e.input as { value: string | null }).value !== null));
    const lat = es
      .filter((e) => e.outcome === "ok")
      .map((e) => e.ret - e.call)
      .sort((a, b) => a - b);
    const n = (oc: string): string => String(es.filter((e) => e.outcome === oc).length).padStart(oc === "info" ? 8 : 7);
    const f = (p: number): string => (lat.length === 0 ? "-" : percentile(lat, p).toFixed(1)).padStart(6);
    lines.push(
      `  ${t.padEnd(8)} ${n("ok")} ${n("fail")} ${n("info")}   ${" ".repeat(16)}${f(50)} ${f(90)} ${f(99)} ${lat.length === 0 ? "-" : lat[lat.length - 1]!.toFixed(0).padStart(6)}`,
    );
  }
  const dels = r.history.filter((e) => e.input.type === "write" && (e.input as { value: string | null }).value === null);
  lines.push(`  deletes: ${dels.length} (${dels.filter((e) => e.outcome === "ok").length} ok)`);
  const byKind = new Map<string, number>();
  for (const f of r.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  lines.push(
    `faults: ${r.faults.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(", ")}; ${r.faults.filter((f) => f.wasLeader).length} on the leader)`,
  );
  const parts = r.checker.parts;
  lines.push(
    `linearizability: ${r.checker.verdict.toUpperCase()} (${parts.length} keys, ${parts.reduce((a, p) => a + p.ops, 0)} ops checked, ${parts.reduce((a, p) => a + p.pruned, 0)} unknown ops pruned, ${parts.reduce((a, p) => a + p.steps, 0)} search steps, ${r.checker.ms.toFixed(0)} ms)`,
  );
  for (const p of parts) {
    if (p.verdict === "illegal") lines.push(`  illegal: could not linearize ${p.stuckAt} after:\n    ${(p.longestPrefix ?? []).slice(-10).join("\n    ")}`);
  }
  const d = r.durability;
  lines.push(
    `durability: ${d.acked} acknowledged unique-key writes, ${d.lost.length} lost; ${d.refusedButApplied.length} refused-but-applied; unknown outcomes: ${d.unknownApplied} applied, ${d.unknownMissing} not`,
  );
  lines.push(`convergence: ${r.converged ? "ok" : "FAILED"} (${r.convergence}); raft port authentication: ${r.peerAuth.join(", ")}`);
  lines.push(`verdict: ${r.pass ? "PASS" : `FAIL: ${r.failures.join("; ")}`}  (seed ${r.seed})`);
  return lines.join("\n");
}
