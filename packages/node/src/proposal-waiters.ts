/**
 * The pending `propose()` promises of a RaftNode, by sequence number, in a ring of parallel
 * arrays (each promise's resolve and reject functions and its deadline) instead of a Map of
 * waiter objects: a proposal costs its promise and nothing else on the heap. Sequence numbers
 * only grow, and proposals mostly settle in the order they were made (the order of the log),
 * so the ring's live span stays near the number pending. Measured with `pnpm bench
 * driver-3node` at C = 4,096 (bench/README.md): the Map and a waiter object per proposal cost
 * about 180 bytes per proposal.
 *
 * A proposal that stays pending while many later ones settle (its MsgProp was lost; it waits
 * for its timeout) would stretch the ring: once the span would need more slots than
 * four times the number pending, the oldest pending proposals move to a Map of
 * stragglers, so memory stays proportional to what is pending.
 * @module
 */
import { RequestTimeoutError } from "./errors.js";

/** Slots of a new ring; it doubles as needed. */
const MIN_RING = 64;

/**
 * A promise's resolve or reject function. Typed with `unknown` (the values are `R` or errors)
 * so that a `ProposalWaiters<number>` is a `ProposalWaiters<unknown>`, as a `RaftNode<R>` is a
 * `RaftNode<unknown>`.
 */
type Settle = (v: unknown) => void;

/** A proposal moved out of the ring (see the module comment). */
interface Straggler {
  resolve: Settle;
  reject: Settle;
  deadline: number;
}

/**
 * Pending proposals keyed by sequence number (see the module comment).
 *
 * Invariant: the ring holds sequence numbers `[head, tail)`; the slot of `seq` is
 * `seq & mask`; a slot is live iff its resolve function is set; `tail - head <= res.length`;
 * the slot of `head` is live unless the ring is empty. Every straggler's sequence number is
 * below `head`. `size` counts the live slots plus the stragglers.
 */
export class ProposalWaiters<R> {
  /** Proposals pending now. */
  size = 0;
  /** Proposals rejected (for any reason) since this was made. */
  rejected = 0;
  private res: (Settle | undefined)[] = new Array(MIN_RING).fill(undefined);
  private rej: (Settle | undefined)[] = new Array(MIN_RING).fill(undefined);
  private deadlines = new Float64Array(MIN_RING);
  private mask = MIN_RING - 1;
  private head = 0;
  private tail = 0;
  /** Insertion order = sequence order = deadline order. */
  private readonly stragglers = new Map<number, Straggler>();

  /** @param timeoutMs the timeout of every proposal (for its {@link RequestTimeoutError}) */
  constructor(private readonly timeoutMs: number) {}

  /**
   * The promise of proposal `seq`, which must be above every sequence number added before (not
   * checked), settled by {@link resolve}/{@link reject}, rejected by {@link sweep} after
   * `deadline`.
   */
  add(seq: number, deadline: number): Promise<R> {
    // One executor for every promise (no closure per call): it leaves the settle functions here.
    const p = new Promise<R>(this.capture);
    this.put(seq, this.captured!, this.capturedReject!, deadline);
    this.captured = undefined;
    this.capturedReject = undefined;
    return p;
  }

  private captured: Settle | undefined;
  private capturedReject: Settle | undefined;
  private readonly capture = (resolve: (v: R) => void, reject: Settle): void => {
    this.captured = resolve as Settle;
    this.capturedReject = reject;
  };

  /** Adds `seq` with its settle functions (see {@link add}). */
  private put(seq: number, resolve: Settle, reject: Settle, deadline: number): void {
    if (this.head === this.tail) this.head = this.tail = seq;
    if (seq + 1 - this.head > this.res.length) this.makeRoom(seq);
    const k = seq & this.mask;
    this.res[k] = resolve;
    this.rej[k] = reject;
    this.deadlines[k] = deadline;
    this.tail = seq + 1;
    this.size++;
  }

  /** Resolves proposal `seq` with `v` if it is pending. */
  resolve(seq: number, v: R): void {
    if (seq >= this.head) {
      if (seq >= this.tail) return;
      const k = seq & this.mask;
      const f = this.res[k];
      if (f === undefined) return;
      this.clear(seq, k);
      f(v);
      return;
    }
    const s = this.stragglers.get(seq);
    if (s === undefined) return;
    this.stragglers.delete(seq);
    this.size--;
    s.resolve(v);
  }

  /** Rejects proposal `seq` with `e` if it is pending. */
  reject(seq: number, e: unknown): void {
    if (seq >= this.head) {
      if (seq >= this.tail) return;
      const k = seq & this.mask;
      const f = this.rej[k];
      if (f === undefined) return;
      this.clear(seq, k);
      this.rejected++;
      f(e);
      return;
    }
    const s = this.stragglers.get(seq);
    if (s === undefined) return;
    this.stragglers.delete(seq);
    this.size--;
    this.rejected++;
    s.reject(e);
  }

  /** Rejects with {@link RequestTimeoutError} every proposal whose deadline is at or before `now`. */
  sweep(now: number): void {
    for (const [seq, s] of this.stragglers) {
      if (s.deadline > now) return; // every ring slot is younger
      this.reject(seq, new RequestTimeoutError("propose", this.timeoutMs));
    }
    while (this.head < this.tail) {
      const seq = this.head;
      if (this.deadlines[seq & this.mask]! > now) return;
      this.reject(seq, new RequestTimeoutError("propose", this.timeoutMs)); // moves head on
    }
  }

  /** Rejects every pending proposal with `reason`, oldest first. */
  rejectAll(reason: unknown): void {
    for (const seq of [...this.stragglers.keys()]) this.reject(seq, reason);
    while (this.head < this.tail) this.reject(this.head, reason);
  }

  /** Empties slot `k` (of `seq`, live) and moves `head` past empty slots. */
  private clear(seq: number, k: number): void {
    this.res[k] = undefined;
    this.rej[k] = undefined;
    this.size--;
    if (seq !== this.head) return;
    let h = seq + 1;
    while (h < this.tail && this.res[h & this.mask] === undefined) h++;
    this.head = h; // = tail when the ring is empty: every straggler stays below it
  }

  /**
   * Makes room for `seq` (`seq + 1 - head` slots): a sparse ring (under a quarter live) moves
   * its oldest proposals to the stragglers until `seq` fits; a dense one doubles.
   */
  private makeRoom(seq: number): void {
    const cap = this.res.length;
    if (4 * (this.size - this.stragglers.size) >= cap) {
      this.grow(seq + 1 - this.head);
      return;
    }
    let h = this.head;
    for (; h < this.tail && seq + 1 - h > cap; h++) this.evict(h);
    while (h < this.tail && this.res[h & this.mask] === undefined) h++;
    this.head = h < this.tail ? h : seq;
  }

  /** Moves slot `seq` (if live) to the stragglers. */
  private evict(seq: number): void {
    const k = seq & this.mask;
    const resolve = this.res[k];
    if (resolve === undefined) return;
    this.stragglers.set(seq, { resolve, reject: this.rej[k]!, deadline: this.deadlines[k]! });
    this.res[k] = undefined;
    this.rej[k] = undefined;
  }

  /** Grows the ring to at least `span` slots (a power of two), keeping every slot's contents. */
  private grow(span: number): void {
    let cap = this.res.length;
    while (cap < span) cap *= 2;
    const res: (Settle | undefined)[] = new Array(cap).fill(undefined);
    const rej: (Settle | undefined)[] = new Array(cap).fill(undefined);
    const deadlines = new Float64Array(cap);
    const mask = cap - 1;
    for (let s = this.head; s < this.tail; s++) {
      const from = s & this.mask;
      res[s & mask] = this.res[from];
      rej[s & mask] = this.rej[from];
      deadlines[s & mask] = this.deadlines[from]!;
    }
    this.res = res;
    this.rej = rej;
    this.deadlines = deadlines;
    this.mask = mask;
  }
}
