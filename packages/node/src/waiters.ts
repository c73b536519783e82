/**
 * The pending promises of a RaftNode: a {@link Waiter} is a promise's settle functions with a
 * deadline, kept in maps that {@link Deadlines} sweeps on the node's ticks (no timer per
 * promise: a proposal costs no timer); {@link ReadBatcher} batches linearizable reads into
 * ReadIndex requests, as etcd's `linearizableReadLoop` does.
 * @module
 */
import { RequestTimeoutError } from "./errors.js";
import { ProposalWaiters } from "./proposal-waiters.js";
import type { Scheduler, TimerHandle } from "./scheduler.js";

/** A promise's settle functions, settled at most once, rejected once its deadline passed. */
export interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
  readonly settled: boolean;
}

/**
 * The unsettled waiters of one kind, by key. A Map iterates in insertion order, and every
 * waiter of a {@link Deadlines} has the same timeout, so the order is also the order of their
 * deadlines: a sweep stops at the first waiter whose deadline is still ahead.
 */
export class WaiterMap<T> extends Map<number, Waiter<T>> {
  /** Waiters of this map that were rejected (for any reason) since it was made: counted here, not by a wrapper per request. */
  rejected = 0;
}

/**
 * Deadlines of pending requests without a timer per request (a proposal costs no timer): each
 * waiter records its deadline, and the node calls {@link sweep} on every tick. The clock is the
 * time of the last sweep (the scheduler's `now()` once per tick, not per request), so a request
 * times out between `timeoutMs` and `timeoutMs` plus one tick after it was made.
 */
export class Deadlines {
  private clock: number;
  private readonly maps: WaiterMap<never>[] = [];
  private readonly proposalRings: ProposalWaiters<never>[] = [];
  /** Waiters that are not keyed by the caller (reads, transfers): keyed here by a counter. */
  private readonly misc = new WaiterMap<unknown>();
  private nextMiscKey = 0;

  /**
   * @param timeoutMs the timeout of every waiter made here
   * @param now the clock's reading now (the scheduler's `now()`)
   */
  constructor(
    readonly timeoutMs: number,
    now: number,
  ) {
    this.clock = now;
    this.maps.push(this.misc as WaiterMap<never>);
  }

  /** A new map of waiters kept by key (a proposal's sequence number), swept with the others. */
  newMap<T>(): WaiterMap<T> {
    const m = new WaiterMap<T>();
    this.maps.push(m as unknown as WaiterMap<never>);
    return m;
  }

  /** A new ring of pending proposals (see proposal-waiters.ts), swept with the others. */
  newProposals<T>(): ProposalWaiters<T> {
    const p = new ProposalWaiters<T>(this.timeoutMs);
    this.proposalRings.push(p as unknown as ProposalWaiters<never>);
    return p;
  }

  /** The deadline of a request made now. */
  deadline(): number {
    return this.clock + this.timeoutMs;
  }

  /**
   * A waiter kept in `map` under `key` until it settles; it rejects with
   * {@link RequestTimeoutError} once `timeoutMs` passed.
   */
  add<T>(map: WaiterMap<T>, key: number, op: string, resolve: (v: T) => void, reject: (e: unknown) => void): Waiter<T> {
    const w = new PendingWaiter<T>(op, this.clock + this.timeoutMs, resolve, reject, map, key);
    map.set(key, w);
    return w;
  }

  /** A waiter with no key of the caller's (reads, transfers); `cleanup` runs once it settles. */
  make<T>(op: string, resolve: (v: T) => void, reject: (e: unknown) => void, cleanup?: () => void): Waiter<T> {
    const key = this.nextMiscKey++;
    const misc = this.misc as WaiterMap<T>;
    if (cleanup === undefined) return this.add(misc, key, op, resolve, reject);
    return this.add(misc, key, op, resolve, (e) => {
      cleanup();
      reject(e);
    });
  }

  /** Rejects every waiter whose deadline passed; `now` is a reading of the scheduler's `now()`. */
  sweep(now: number): void {
    this.clock = now;
    for (const p of this.proposalRings) p.sweep(now);
    for (const m of this.maps) {
      for (const w of m.values()) {
        const p = w as PendingWaiter<never>;
        if (p.deadline > now) break;
        p.reject(new RequestTimeoutError(p.op, this.timeoutMs));
      }
    }
  }

  /** Rejects every waiter with `reason`. */
  rejectAll(reason: unknown): void {
    for (const p of this.proposalRings) p.rejectAll(reason);
    for (const m of this.maps) for (const w of [...m.values()]) w.reject(reason);
  }
}

class PendingWaiter<T> implements Waiter<T> {
  settled = false;
  constructor(
    readonly op: string,
    readonly deadline: number,
    private readonly res: (v: T) => void,
    private readonly rej: (e: unknown) => void,
    private readonly map: WaiterMap<T>,
    private readonly key: number,
  ) {}

  resolve(v: T): void {
    if (this.settled) return;
    this.settled = true;
    this.map.delete(this.key);
    this.res(v);
  }

  reject(e: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.map.delete(this.key);
    this.map.rejected++;
    this.rej(e);
  }
}

/** What a {@link ReadBatcher} needs from its node. */
export interface ReadBatcherHost {
  /** Whether a leader is known now. */
  hasLeader(): boolean;
  /** Sends a ReadIndex request identified by `seq`. */
  requestReadIndex(seq: number): void;
  /** A new request sequence number. */
  nextSeq(): number;
}

/**
 * Linearizable reads, batched: callers queue; one ReadIndex request at a time carries every
 * caller queued before it was issued (so each request is issued after its callers arrived:
 * the read index it returns is safe for all of them). A request with no answer after
 * `retryMs` is issued again (raft drops ReadIndex requests during leader changes).
 *
 * Invariant: every unsettled waiter is in exactly one of `queue`, `inFlight.waiters`,
 * `applying`.
 */
export class ReadBatcher {
  private queue: Waiter<number>[] = [];
  private inFlight: { seq: number; waiters: Waiter<number>[]; retry: TimerHandle } | undefined;
  private applying: { index: number; w: Waiter<number> }[] = [];

  constructor(
    private readonly host: ReadBatcherHost,
    private readonly retryMs: number,
    private readonly scheduler: Scheduler,
  ) {}

  /** Whether a ReadIndex request is in flight (its answer is awaited). */
  pending(): boolean {
    return this.inFlight !== undefined;
  }

  /** Queues a reader and issues a request if none is in flight. */
  add(w: Waiter<number>): void {
    this.queue.push(w);
    this.issue();
  }

  /** Queues a waiter for `index` to be applied (no ReadIndex request). */
  waitApplied(index: number, w: Waiter<number>): void {
    this.applying.push({ index, w });
  }

  /** Issues a request for the queued readers, if none is in flight and a leader is known. */
  issue(): void {
    if (this.inFlight !== undefined) return;
    const waiters = this.queue.filter((w) => !w.settled);
    this.queue = [];
    if (waiters.length === 0) return;
    if (!this.host.hasLeader()) {
      // Issued again when a leader is known, or the waiters time out.
      this.queue = waiters;
      return;
    }
    const seq = this.host.nextSeq();
    const retry = this.scheduler.setTimeout(() => {
      if (this.inFlight?.seq !== seq) return;
      this.inFlight = undefined;
      this.queue = [...waiters, ...this.queue];
      this.issue();
    }, this.retryMs);
    this.inFlight = { seq, waiters, retry };
    this.host.requestReadIndex(seq);
  }

  /** Raft answered request `seq` with `index`: its readers wait for `index` to be applied. */
  answered(seq: number, index: number): void {
    const f = this.inFlight;
    if (f === undefined || f.seq !== seq) return; // a late answer to a request asked again
    this.scheduler.clearTimeout(f.retry);
    this.inFlight = undefined;
    for (const w of f.waiters) if (!w.settled) this.applying.push({ index, w });
    this.issue();
  }

  /** Resolves the readers whose index is applied. */
  applied(applied: number): void {
    if (this.applying.length === 0) return;
    const keep: { index: number; w: Waiter<number> }[] = [];
    for (const a of this.applying) {
      if (a.w.settled) continue;
      if (a.index <= applied) a.w.resolve(a.index);
      else keep.push(a);
    }
    this.applying = keep;
  }

  /** Rejects every reader. */
  halt(reason: Error): void {
    for (const w of this.queue) w.reject(reason);
    this.queue = [];
    if (this.inFlight !== undefined) {
      this.scheduler.clearTimeout(this.inFlight.retry);
      for (const w of this.inFlight.waiters) w.reject(reason);
      this.inFlight = undefined;
    }
    for (const a of this.applying) a.w.reject(reason);
    this.applying = [];
  }
}
