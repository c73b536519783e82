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
import { readFileSync } from "node:fs";

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

/** [ns on a CPU, ns waiting for one] of the calling thread, or undefined where unavailable. */
function schedstat(): [number, number] | undefined {
  try {
    const f = readFileSync(SCHEDSTAT, "latin1").split(" ");
    return [Number(f[0]), Number(f[1])];
  } catch {
    return undefined;
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

  start(): void {
    if (this.timer !== undefined) return;
    this.last = performance.now();
    this.lastSched = schedstat();
    this.timer = setInterval(() => this.probe(), PROBE_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private probe(): void {
    const now = performance.now();
    const lag = Math.max(0, now - this.last - PROBE_MS);
    this.last = now;
    const sched = this.lastSched === undefined ? undefined : schedstat();
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
