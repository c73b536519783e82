/**
 * Small process helpers of the e2e workload: free TCP ports on 127.0.0.1, the CPU time a
 * process has used (from /proc, Linux only), and waiting for a process to exit.
 * @module
 */
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { BenchError } from "../errors.js";

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(undefined));
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}

async function closeAll(servers: (Server | undefined)[]): Promise<void> {
  await Promise.all(servers.map((s) => (s === undefined ? undefined : new Promise<void>((r) => s.close(() => r())))));
}

/** `n` ports free on 127.0.0.1 right now (bound together on port 0, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => listen(0)));
  const ports = servers.map((s) => (s === undefined ? 0 : (s.address() as AddressInfo).port));
  await closeAll(servers);
  if (ports.includes(0)) throw new BenchError("TSRAFT_BENCH_PORTS", "cannot bind a port on 127.0.0.1");
  return ports;
}

/**
 * A base port B such that B + each offset is free on 127.0.0.1 (for etcd-cluster.sh, which
 * takes a base port). Tries random bases in [20000, 60000).
 * @throws {@link BenchError} `TSRAFT_BENCH_PORTS` after 50 tries.
 */
export async function freeBasePort(offsets: readonly number[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 100 * Math.floor(Math.random() * 400);
    const servers = await Promise.all(offsets.map((o) => listen(base + o)));
    await closeAll(servers);
    if (servers.every((s) => s !== undefined)) return base;
  }
  throw new BenchError("TSRAFT_BENCH_PORTS", `no free base port for offsets ${offsets.join(",")}`);
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/PID/stat (getconf CLK_TCK; 100 if that fails). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system, all threads) used so far by process `pid`, from /proc/PID/stat;
 * undefined where /proc cannot be read (not Linux, or the process is gone).
 */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / ticksPerSecond();
}

/** Resolves true when `p` has exited, false if it is still running after `ms`. */
export function waitExit(p: ChildProcess, ms: number): Promise<boolean> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Whether process `pid` exists (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Resolves once none of `pids` exists, or after `ms` (polling every 50 ms). */
export async function waitForPids(pids: readonly number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (pids.some(pidAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
