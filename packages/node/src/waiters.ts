/**
 * The pending promises of a RaftNode: a {@link Waiter} is a promise's settle functions with a
 * timeout; {@link ReadBatcher} batches linearizable reads into ReadIndex requests, as etcd's
 * `linearizableReadLoop` does.
 * @module
 */
import { RequestTimeoutError } from "./errors.js";

/** A promise's settle functions, settled at most once, rejected after a timeout. */
export interface Waiter<T> {
  resolve(v: T): void;
  reject(e: unknown): void;
  readonly timer: NodeJS.Timeout;
  settled: boolean;
}

/**
 * Makes a {@link Waiter} that rejects with {@link RequestTimeoutError} after `timeoutMs`;
 * `cleanup` runs once, however it settles. The timer does not keep the process alive.
 */
export function makeWaiter<T>(
  op: string,
  timeoutMs: number,
  resolve: (v: T) => void,
  reject: (e: unknown) => void,
  cleanup: () => void = () => {},
): Waiter<T> {
  const settle = (): boolean => {
    if (w.settled) return false;
    w.settled = true;
    clearTimeout(w.timer);
    cleanup();
    return true;
  };
  const w: Waiter<T> = {
    settled: false,
    resolve: (v) => {
      if (settle()) resolve(v);
    },
    reject: (e) => {
      if (settle()) reject(e);
    },
    timer: setTimeout(() => w.reject(new RequestTimeoutError(op, timeoutMs)), timeoutMs),
  };
  w.timer.unref();
  return w;
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
  private inFlight: { seq: number; waiters: Waiter<number>[]; retry: NodeJS.Timeout } | undefined;
  private applying: { index: number; w: Waiter<number> }[] = [];

  constructor(
    private readonly host: ReadBatcherHost,
    private readonly retryMs: number,
  ) {}

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
    const retry = setTimeout(() => {
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
    clearTimeout(f.retry);
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
      clearTimeout(this.inFlight.retry);
      for (const w of this.inFlight.waiters) w.reject(reason);
      this.inFlight = undefined;
    }
    for (const a of this.applying) a.w.reject(reason);
    this.applying = [];
  }
}
