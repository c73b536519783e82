#!/usr/bin/env node
/**
 * `pnpm --filter @tsraft/example-kv snapshot-stall [--mb 200] [--value-kb 1000] [--keep]`:
 * measures how long a snapshot of a large state holds the members' event loops.
 *
 * Three member processes; one follower is SIGKILLed; the state is filled to `--mb` MB with
 * values of `--value-kb` KB; a few more writes make the leader and the other follower take a
 * snapshot (take + save + compaction); then the killed follower restarts and, the log being
 * compacted, gets the snapshot from the leader (the leader takes a fresh one and sends it; the
 * follower saves it and restores its state from it). Each member's own monitor (GET /status
 * `eventLoop`: a 20 ms timer, how late it fires) gives the stalls; the members' logs give how
 * long each part took. Prints, per phase and per member, the longest stall, and the parts.
 * @module
 */
import { readFileSync } from "node:fs";
import { kvRequest } from "./client.js";
import { LocalCluster } from "./cluster.js";
import type { MemberStatus } from "./cluster.js";
import type { LoopReport } from "./loop-monitor.js";

interface Args {
  mb: number;
  valueKb: number;
  keep: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { mb: 200, valueKb: 1000, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === "--mb") a.mb = Number(argv[++i]);
    else if (f === "--value-kb") a.valueKb = Number(argv[++i]);
    else if (f === "--keep") a.keep = true;
    else throw new Error(`unknown argument ${f} (flags: --mb N, --value-kb N, --keep)`);
  }
  if (!(a.mb > 0) || !(a.valueKb > 0) || a.valueKb > 1048) throw new Error("--mb must be positive, --value-kb (1000 bytes) in (0, 1048]");
  return a;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const out = (s: string): void => void process.stdout.write(`${s}\n`);

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await f();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * The stalls of `r` between `from` and `to` (ms since the epoch): the longest (wall), the most
 * the main thread ran on a CPU within one of them (what this process's code held the loop for;
 * the rest was waiting for a CPU on the shared machine), and how many.
 */
function worst(r: LoopReport, from: number, to: number): string {
  const w = r.stalls.filter((s) => s.at >= from && s.at <= to + 1000);
  if (w.length === 0) return "<50".padStart(18);
  const ms = Math.max(...w.map((s) => s.ms));
  const run = Math.max(...w.map((s) => s.runMs ?? -1));
  return `${ms} (cpu ${run < 0 ? "?" : run}, n=${w.length})`.padStart(18);
}

/** The JSON fields of the log lines of `file` containing `marker`. */
function logFields(file: string, marker: string): Record<string, number>[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.includes(marker))
    .map((l) => {
      try {
        return JSON.parse(l.slice(l.indexOf("{"))) as Record<string, number>;
      } catch {
        return {};
      }
    });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const n = Math.ceil((args.mb * 1000) / args.valueKb);
  const cluster = await LocalCluster.create({
    size: 3,
    serverArgs: [
      "--snapshot-entries",
      String(n + 20),
      "--catch-up-entries",
      "5",
      "--request-timeout-ms",
      "60000",
      "--quota-bytes",
      String(args.mb * 2 * 1024 * 1024),
    ],
  });
  let ok = false;
  try {
    await cluster.startAll();
    const lead = await cluster.waitForLeader(30_000);
    const [other, victim] = cluster.ids().filter((id) => id !== lead) as [bigint, bigint];
    await cluster.kill(victim, "SIGKILL");
    out(`3 members; leader ${lead}; member ${victim} killed; filling ${n} values of ${args.valueKb} KB (${((n * args.valueKb) / 1000).toFixed(0)} MB)`);
    const http = cluster.member(lead).addr.http;
    const base = "v".repeat(args.valueKb * 1000 - 16);
    const tFill = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = next++; i < n; i = next++) {
          const r = await kvRequest(http, "PUT", `/kv/big/${String(i).padStart(6, "0")}`, { value: `${String(i).padStart(16, "0")}${base}` }, 120_000);
          if (r.status !== 200) throw new Error(`write ${i}: ${r.status} ${JSON.stringify(r.body)}`);
        }
      }),
    );
    const filled = Date.now();
    out(`filled in ${((filled - tFill) / 1000).toFixed(1)} s`);

    // Phase 1: the leader and the live follower take, save and compact.
    const t0 = Date.now();
    for (let i = 0; i < 30; i++) await kvRequest(http, "PUT", `/kv/small/${i}`, { value: "x" }, 60_000);
    await until("snapshots on the leader and the live follower", 300_000, async () => {
      const sts = await Promise.all([lead, other].map((id) => cluster.status(id, 5000)));
      return sts.every((s) => (s?.counters["snapshotsTaken"] ?? 0) >= 1) ? true : undefined;
    });
    const t1 = Date.now();
    out(`snapshot taken and saved on members ${lead} and ${other} in ${((t1 - t0) / 1000).toFixed(1)} s`);

    // Phase 2: the killed follower restarts and gets the snapshot from the leader.
    await sleep(1000);
    const t2 = Date.now();
    await cluster.start(victim);
    const commit = (await cluster.status(lead, 5000))!.commit;
    await until(`member ${victim} to install the snapshot`, 600_000, async () => {
      const s = await cluster.status(victim, 5000);
      return s !== undefined && s.applied >= commit && (s.counters["snapshotsInstalled"] ?? 0) >= 1 ? true : undefined;
    });
    const t3 = Date.now();
    out(`member ${victim} restarted and installed the snapshot in ${((t3 - t2) / 1000).toFixed(1)} s`);

    const sts = new Map<bigint, MemberStatus & { eventLoop: LoopReport; rssBytes: number }>();
    for (const id of cluster.ids()) sts.set(id, (await cluster.status(id, 10_000)) as MemberStatus & { eventLoop: LoopReport; rssBytes: number });
    out("");
    out(
      `longest event-loop stall per phase, ms: wall (the most the main thread ran on a CPU within one stall; stalls counted) [load average ${readFileSync("/proc/loadavg", "latin1").split(" ").slice(0, 3).join(" ")}]`,
    );
    out(`  member  role                        ${"fill".padStart(18)}  ${"take+save+compact".padStart(18)}  ${"send/recv+restore".padStart(18)}  RSS now`);
    for (const id of cluster.ids()) {
      const s = sts.get(id)!;
      const role = id === lead ? "leader" : id === other ? "follower" : "follower (restarted)";
      const f = id === victim ? "-".padStart(18) : worst(s.eventLoop, tFill, filled);
      const a = id === victim ? "-".padStart(18) : worst(s.eventLoop, t0, t1);
      const b = worst(s.eventLoop, t2, t3);
      out(`  ${String(id).padStart(6)}  ${role.padEnd(26)}  ${f}  ${a}  ${b}  ${(s.rssBytes / 1e6).toFixed(0)} MB`);
    }
    out("");
    out("the parts, from the members' logs (ms)");
    for (const id of cluster.ids()) {
      const file = cluster.member(id).logFile;
      for (const f of logFields(file, "snapshot taken"))
        out(
          `  member ${id}: snapshot at ${f["index"]}: ${(f["bytes"]! / 1e6).toFixed(0)} MB, take ${f["takeMs"]}, save ${f["saveMs"]}, compact ${f["compactMs"]}, purge ${f["purgeMs"]}`,
        );
      for (const f of logFields(file, "state serialised for a snapshot"))
        out(`  member ${id}: state serialised: ${(f["bytes"]! / 1e6).toFixed(0)} MB in ${f["takeMs"]}`);
      for (const f of logFields(file, "state restored from a snapshot"))
        if ((f["bytes"] ?? 0) > 0) out(`  member ${id}: state restored: ${(f["bytes"]! / 1e6).toFixed(0)} MB in ${f["restoreMs"]}`);
    }
    for (const id of cluster.ids()) {
      const stalls = sts.get(id)!.eventLoop.stalls.filter((x) => x.at >= t0);
      if (stalls.length > 0)
        out(
          `  member ${id} stalls since the snapshot phase (time wall/cpu/wait): ${stalls.map((x) => `${new Date(x.at).toISOString().slice(11, 23)} ${x.ms}/${x.runMs ?? "?"}/${x.waitMs ?? "?"}`).join(", ")}`,
        );
    }
    const unhandled = cluster.unhandledInLogs();
    if (unhandled.length > 0) throw new Error(`UNHANDLED in logs: ${unhandled.map((u) => u.line).join("; ")}`);
    const codes = await Promise.all(cluster.ids().map((id) => cluster.stop(id)));
    if (codes.some((c) => c !== 0)) throw new Error(`members exited with ${codes.join(", ")}`);
    ok = true;
  } finally {
    if (!ok || args.keep) out(`logs and data kept in ${cluster.baseDir}`);
    await cluster.cleanup(!ok || args.keep);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
