/**
 * Free TCP ports on 127.0.0.1 for members started next (the KV example's tests, demo and soak;
 * the e2e bench's clusters).
 *
 * The ports are drawn at random below the kernel's ephemeral range (Linux's
 * `ip_local_port_range`, 32768-60999 by default), not taken from port 0: a port the kernel
 * handed out for a listener and that was released again sits inside the range it also gives
 * to outbound connections, and any connection made before the member binds it (a peer's dial
 * at startup, a client, another test file) could take it: `EADDRINUSE` at the member's listen
 * (it happened in CI, 2026-12-03: `snapshot-stall.test.ts`, port 34727). Below the range only
 * an explicit bind can take a port, and each port is checked free by binding it.
 * @module
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";

/** The first port of the kernel's ephemeral range (32768 where it cannot be read). */
export function ephemeralPortLow(): number {
  try {
    const lo = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    if (Number.isSafeInteger(lo) && lo > 1024 && lo <= 65535) return lo;
  } catch {
    // not Linux, or no /proc
  }
  return 32768;
}

/** Where ports are drawn: [lo, hi), the 12,768 ports under the ephemeral range (from 1024 at the lowest). */
export function portRange(): { lo: number; hi: number } {
  const hi = ephemeralPortLow();
  return { lo: Math.max(1024, hi - 12_768), hi };
}

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(undefined));
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}

/** Whether every one of `ports` can be bound on 127.0.0.1 right now (all bound together, then released). */
export async function bindable(ports: readonly number[]): Promise<boolean> {
  const servers = await Promise.all(ports.map(listen));
  await Promise.all(servers.map((s) => (s === undefined ? undefined : new Promise<void>((r) => s.close(() => r())))));
  return servers.every((s) => s !== undefined);
}

/**
 * `n` distinct ports free on 127.0.0.1 right now, below the ephemeral range (drawn from the
 * 12,768 ports under it, or from port 0 where fewer than 1,024 lie between 1024 and it).
 * @throws Error if fewer than `n` could be bound in 100 tries each.
 */
export async function freePorts(n: number): Promise<number[]> {
  const { lo, hi } = portRange();
  const held: Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      let s: Server | undefined;
      for (let attempt = 0; attempt < 100 && s === undefined; attempt++) {
        s = await listen(hi - lo < 1024 ? 0 : lo + Math.floor(Math.random() * (hi - lo)));
      }
      if (s === undefined) throw new Error(`freePorts: no free port on 127.0.0.1 in ${lo}-${hi - 1}`);
      held.push(s);
    }
    return held.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
