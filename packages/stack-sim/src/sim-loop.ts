/**
 * The simulated clock and the one event loop of a whole-stack run: every timer, turn and
 * message delivery of every node is an event here, ordered by (virtual time, order of
 * scheduling). After each event the loop lets the microtasks it started run to completion
 * (promise continuations, SimFS completions, which are microtasks) before the next event, so
 * a run is a function of its seed: it replays event for event.
 *
 * Each node incarnation gets an {@link Owner}; a crash kills the owner, and its pending events
 * never run (the process and its timers are gone).
 * @module
 */
import type { Scheduler, TimerHandle } from "@tsraft/node";
import type { Prng } from "@tsraft/raft/testing";

/** Whose events these are: one node incarnation, or the harness (never killed). */
export class Owner {
  /** False once the incarnation crashed: its events are dropped. */
  alive = true;
  constructor(readonly name: string) {}
}

interface SimEvent {
  at: number;
  seq: number;
  owner: Owner;
  fn: () => void;
  /** Cancelled timers stay in the heap and are skipped. */
  cancelled: boolean;
  /** For intervals: the period. */
  every: number;
}

/** Resolves after the microtasks queued so far (and those they queue) have run. */
const drainMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** See the module comment. */
export class SimLoop {
  /** Virtual milliseconds since the run began. */
  now = 0;
  /** Events run so far. */
  events = 0;
  private seq = 0;
  /** A binary min-heap on (at, seq). */
  private readonly heap: SimEvent[] = [];

  /** @param rand the run's random source (for the nodes' proposal tags) */
  constructor(private readonly rand: Prng) {}

  /** Schedules `fn` of `owner` at `delayMs` from now; returns the event (a timer handle). */
  at(owner: Owner, delayMs: number, fn: () => void, every = 0): TimerHandle {
    const e: SimEvent = { at: this.now + Math.max(0, delayMs), seq: this.seq++, owner, fn, cancelled: false, every };
    this.push(e);
    return e;
  }

  /** A RaftNode {@link Scheduler} whose timers and turns are events of `owner`. */
  schedulerFor(owner: Owner): Scheduler {
    const cancel = (h: TimerHandle): void => {
      (h as SimEvent).cancelled = true;
    };
    return {
      now: () => this.now,
      setTimeout: (fn, ms) => this.at(owner, ms, fn),
      clearTimeout: cancel,
      setInterval: (fn, ms) => this.at(owner, ms, fn, ms),
      clearInterval: cancel,
      setImmediate: (fn) => {
        this.at(owner, 0, fn);
      },
      random32: () => this.rand.next32(),
    };
  }

  /**
   * Runs events in order until the clock would pass `untilMs`, or `stop()` returns true
   * (checked after each event). An exception thrown by an event propagates.
   */
  async runUntil(untilMs: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      const e = this.heap[0];
      if (e === undefined || e.at > untilMs) break;
      this.pop();
      if (e.cancelled || !e.owner.alive) continue;
      this.now = e.at;
      if (e.every > 0) {
        e.at += e.every;
        e.seq = this.seq++;
        this.push(e);
      }
      this.events++;
      e.fn();
      await drainMicrotasks();
      if (stop?.() === true) return;
    }
    if (untilMs > this.now && untilMs !== Infinity) this.now = untilMs;
  }

  private push(e: SimEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
