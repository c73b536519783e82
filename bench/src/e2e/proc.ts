/**
 * Small process helpers of the e2e workload: free TCP ports on 127.0.0.1, the CPU time a
 * process has used (from /proc, Linux only), and waiting for a process to exit.
 * @module
 */
import type { ChildProcess } from "node:child_process";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { bindable, portRange, freePorts as sharedFreePorts } from "@tsraft/test-helpers/ports";
import { BenchError } from "../errors.js";

export { ephemeralPortLow } from "@tsraft/test-helpers/ports";

/**
 * `n` distinct ports free on 127.0.0.1 right now, drawn under the kernel's ephemeral range
 * (`@tsraft/test-helpers/ports`: why).
 * @throws {@link BenchError} `TSRAFT_BENCH_PORTS` if they cannot be found.
 */
export async function freePorts(n: number): Promise<number[]> {
  try {
    return await sharedFreePorts(n);
  } catch (e) {
    throw new BenchError("TSRAFT_BENCH_PORTS", (e as Error).message);
  }
}

/**
 * A base port B such that B + each offset is free on 127.0.0.1 (for etcd-cluster.sh, which
 * takes a base port). Tries random bases B = lo + 100 k with every B + offset under the
 * ephemeral range (`portRange` of `@tsraft/test-helpers/ports`).
 * @throws {@link BenchError} `TSRAFT_BENCH_PORTS` after 50 tries.
 */
export async function freeBasePort(offsets: readonly number[]): Promise<number> {
  const { lo, hi } = portRange();
  const bases = Math.max(1, Math.floor((hi - lo - Math.max(0, ...offsets)) / 100));
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = lo + 100 * Math.floor(Math.random() * bases);
    if (await bindable(offsets.map((o) => base + o))) return base;
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
