/**
 * How long the event loop was held: a timer every {@link PROBE_MS} notes how late it fires.
 * A member that holds its event loop for long misses heartbeats and elections start, so the
 * worst lateness is shown in GET /status (`eventLoop`), with the latest stalls over
 * {@link STALL_MS} and when they happened. Bounded memory: the last {@link MAX_STALLS} stalls.
 *
 * On Linux each stall also says how much of it the main thread spent on a CPU (`runMs`) and
 * waiting for one (`waitMs`), from `/proc/thread-self/schedstat`: lateness with little run
 * time is the machine's doing (other processes had the CPUs), not this process's code.
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";

/** The probe's period, in ms. */
export const PROBE_MS = 20;
/** Lateness at or above which a stall is recorded, in ms. */
export const STALL_MS = 50;
/** Stalls kept. */
export const MAX_STALLS = 32;

/** One stall: when the probe fired (ms since the epoch), how late (ms), and the thread's time in that interval. */
export interface Stall {
  at: number;
  ms: number;
  /** Time the main thread ran on a CPU during the interval (ms); absent off Linux. */
  runMs?: number;
  /** Time the main thread waited for a CPU during the interval (ms); absent off Linux. */
  waitMs?: number;
}

/** What {@link LoopMonitor.report} returns. */
export interface LoopReport {
  /** The worst lateness since the monitor started, in ms. */
  maxLagMs: number;
  /** When it happened (ms since the epoch), 0 if never late. */
  maxLagAt: number;
  /** The most the main thread ran in one probe interval (ms): the longest the code itself held the loop. -1 off Linux. */
  maxRunMs: number;
  /** The latest stalls of at least {@link STALL_MS}, oldest first. */
  stalls: Stall[];
}

const SCHEDSTAT = "/proc/thread-self/schedstat";

/**
 * The main thread's `/proc/.../schedstat`, opened once (the link is resolved at open, so the file
 * stays the main thread's) and re-read from offset 0 by each probe: about 2 us a read against
 * 35 for opening, reading and closing it each time (measured 2026-12-02, loaded machine).
 */
class SchedStat {
  private readonly buf = Buffer.alloc(128);
  private constructor(private fd: number | undefined) {}

  /** The calling (main) thread's file, or one that always answers undefined where there is none. */
  static open(): SchedStat {
    try {
      return new SchedStat(openSync(SCHEDSTAT, "r"));
    } catch {
      return new SchedStat(undefined);
    }
  }

  /** [ns on a CPU, ns waiting for one], or undefined where unavailable. */
  read(): [number, number] | undefined {
    if (this.fd === undefined) return undefined;
    try {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
      const text = this.buf.toString("latin1", 0, n);
      const a = text.indexOf(" ");
      const b = text.indexOf(" ", a + 1);
      const run = Number(text.slice(0, a));
      const wait = Number(text.slice(a + 1, b));
      return Number.isFinite(run) && Number.isFinite(wait) && a > 0 && b > a ? [run, wait] : undefined;
    } catch {
      this.close();
      return undefined;
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
  }
}

/** See the module comment. */
export class LoopMonitor {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private lastSched: [number, number] | undefined;
  private maxLag = 0;
  private maxLagAt = 0;
  private maxRun = -1;
  private stalls: Stall[] = [];
  private sched: SchedStat | undefined;

  start(): void {
    if (this.timer !== undefined) return;
    this.last = performance.now();
    this.sched = SchedStat.open();
    this.lastSched = this.sched.read();
    this.timer = setInterval(() => this.probe(), PROBE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.sched?.close();
    this.sched = undefined;
  }

  private probe(): void {
    const now = performance.now();
    const lag = Math.max(0, now - this.last - PROBE_MS);
    this.last = now;
    const sched = this.lastSched === undefined ? undefined : this.sched?.read();
    let runMs: number | undefined;
    let waitMs: number | undefined;
    if (sched !== undefined && this.lastSched !== undefined) {
      runMs = (sched[0] - this.lastSched[0]) / 1e6;
      waitMs = (sched[1] - this.lastSched[1]) / 1e6;
      if (runMs > this.maxRun) this.maxRun = runMs;
    }
    this.lastSched = sched;
    if (lag > this.maxLag) {
      this.maxLag = lag;
      this.maxLagAt = Date.now();
    }
    if (lag >= STALL_MS) {
      const s: Stall = { at: Date.now(), ms: Math.round(lag) };
      if (runMs !== undefined && waitMs !== undefined) {
        s.runMs = Math.round(runMs);
        s.waitMs = Math.round(waitMs);
      }
      this.stalls.push(s);
      if (this.stalls.length > MAX_STALLS) this.stalls.shift();
    }
  }

  report(): LoopReport {
    return { maxLagMs: Math.round(this.maxLag), maxLagAt: this.maxLagAt, maxRunMs: Math.round(this.maxRun), stalls: [...this.stalls] };
  }
}
