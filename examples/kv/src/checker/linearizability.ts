/**
 * A linearizability checker: Wing & Gong's search with Lowe's memoisation, as Porcupine
 * (Athalye) implements it, for any sequential {@link Model}.
 *
 * A history is a set of operations, each with an invocation time, a return time and an
 * output. An operation whose outcome is unknown (the client timed out, the connection broke)
 * has return time `Infinity` and output `undefined`: it may take effect at any point after it
 * was invoked, or never (linearized after everything else, which nothing observes).
 *
 * The search walks the events in time order, tries to linearize each pending call (the model
 * accepts its output in the current state), and backtracks when it meets the return of an
 * operation it could not linearize; a cache of (set of linearized operations, state) pairs
 * already explored prunes the search (Lowe, "Testing for linearizability", 2017). Histories
 * are split by the model's `partition` (P-compositionality: per key for a KV store) and each
 * part is checked on its own. Every search is bounded by a step budget: exceeding it gives the
 * verdict `unknown`, never a silent pass.
 * @module
 */

/** One operation of a history. */
export interface Operation<I, O> {
  /** Who ran it (for reports). */
  client: number;
  input: I;
  /** `undefined`: the outcome is unknown (any output is accepted). */
  output: O | undefined;
  /** Invocation time. */
  call: number;
  /**
   * Return time. `Infinity` when the outcome is unknown (the operation may take effect at any
   * time after `call`, or never); a model's `prune` may bound it when the history proves that
   * the operation took effect before some time.
   */
  ret: number;
}

/** A sequential specification. */
export interface Model<S, I, O> {
  /** The initial state. */
  init(): S;
  /**
   * Applies `input` to `state` and checks the output: returns the next state, or `NOT_ALLOWED`
   * if the output is impossible there. `output` is `undefined` for an unknown outcome (any
   * output is allowed). Must not mutate `state`.
   */
  step(state: S, input: I, output: O | undefined): S | typeof NOT_ALLOWED;
  /** A string identifying a state (equal states, equal strings). */
  stateKey(state: S): string;
  /** Splits a history into independent parts (default: one part). */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /**
   * Drops operations that cannot change the verdict (e.g. unknown writes nobody observed); must
   * keep the verdict exactly.
   */
  prune?(ops: readonly Operation<I, O>[]): Operation<I, O>[];
  /** A one-line description of an operation, for reports. */
  describe?(op: Operation<I, O>): string;
}

/** What `step` returns for an impossible output. */
export const NOT_ALLOWED: unique symbol = Symbol("NOT_ALLOWED");

/** The verdict for one part. */
export interface PartResult {
  /** `ok`: linearizable; `illegal`: not; `unknown`: the step budget ran out. */
  verdict: "ok" | "illegal" | "unknown";
  /** Operations checked (after pruning) and pruned. */
  ops: number;
  pruned: number;
  /** Search steps taken. */
  steps: number;
  /** For `illegal`: the longest sequence of operations that could be linearized, and the operation that could not follow it. */
  longestPrefix?: string[];
  stuckAt?: string;
}

/** The verdict for a whole history. */
export interface CheckResult {
  verdict: "ok" | "illegal" | "unknown";
  parts: PartResult[];
  /** Milliseconds spent. */
  ms: number;
}

/** Options of {@link checkHistory}. */
export interface CheckOptions {
  /** Search steps allowed per part. Default 20 million. */
  maxSteps?: number;
}

interface Node<I, O> {
  op: number; // index in ops, -1 for the head
  call: boolean;
  match: Node<I, O> | undefined; // for a call: its return
  prev: Node<I, O> | undefined;
  next: Node<I, O> | undefined;
  ref: Operation<I, O> | undefined;
}

/** Checks a history against a model. See the module comment. */
export function checkHistory<S, I, O>(model: Model<S, I, O>, history: readonly Operation<I, O>[], opts: CheckOptions = {}): CheckResult {
  const t0 = performance.now();
  const parts = model.partition !== undefined ? model.partition(history) : [history.slice()];
  const results: PartResult[] = [];
  for (const p of parts) {
    const kept = model.prune !== undefined ? model.prune(p) : p.slice();
    results.push({ ...checkPart(model, kept, opts.maxSteps ?? 20_000_000), pruned: p.length - kept.length });
  }
  const verdict = results.some((r) => r.verdict === "illegal") ? "illegal" : results.some((r) => r.verdict === "unknown") ? "unknown" : "ok";
  return { verdict, parts: results, ms: performance.now() - t0 };
}

function describeOp<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  if (model.describe !== undefined) return model.describe(op);
  return `client ${op.client}: ${JSON.stringify(op.input)} -> ${op.output === undefined ? "?" : JSON.stringify(op.output)} [${op.call}, ${op.ret}]`;
}

/** A set of operation indexes, hashed with the state for the cache. */
class Bits {
  readonly w: Uint32Array;
  constructor(n: number) {
    this.w = new Uint32Array((n + 31) >>> 5);
  }
  set(i: number): void {
    this.w[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.w[i >>> 5]! &= ~(1 << (i & 31));
  }
  hash(): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < this.w.length; i++) h = Math.imul(h ^ this.w[i]!, 0x01000193);
    return h >>> 0;
  }
  equals(o: Uint32Array): boolean {
    for (let i = 0; i < this.w.length; i++) if (this.w[i] !== o[i]) return false;
    return true;
  }
}

function checkPart<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], maxSteps: number): Omit<PartResult, "pruned"> {
  const n = ops.length;
  if (n === 0) return { verdict: "ok", ops: 0, steps: 0 };
  // Events in time order; at equal times calls first (touching operations count as concurrent).
  const events: { t: number; call: boolean; op: number }[] = [];
  for (let i = 0; i < n; i++) {
    const o = ops[i]!;
    if (!(o.ret >= o.call)) throw new Error(`checker: operation ${i} returns before it is invoked`);
    events.push({ t: o.call, call: true, op: i }, { t: o.ret, call: false, op: i });
  }
  events.sort((a, b) => a.t - b.t || (a.call === b.call ? a.op - b.op : a.call ? -1 : 1));
  const head: Node<I, O> = { op: -1, call: false, match: undefined, prev: undefined, next: undefined, ref: undefined };
  const calls: Node<I, O>[] = new Array(n);
  const rets: Node<I, O>[] = new Array(n);
  let tail = head;
  for (const e of events) {
    const node: Node<I, O> = { op: e.op, call: e.call, match: undefined, prev: tail, next: undefined, ref: ops[e.op] };
    tail.next = node;
    tail = node;
    if (e.call) calls[e.op] = node;
    else rets[e.op] = node;
  }
  for (let i = 0; i < n; i++) calls[i]!.match = rets[i];

  const lift = (c: Node<I, O>): void => {
    c.prev!.next = c.next;
    if (c.next !== undefined) c.next.prev = c.prev;
    const r = c.match!;
    r.prev!.next = r.next;
    if (r.next !== undefined) r.next.prev = r.prev;
  };
  const unlift = (c: Node<I, O>): void => {
    const r = c.match!;
    r.prev!.next = r;
    if (r.next !== undefined) r.next.prev = r;
    c.prev!.next = c;
    if (c.next !== undefined) c.next.prev = c;
  };

  const cache = new Map<number, { w: Uint32Array; s: string }[]>();
  const seen = (bits: Bits, s: string): boolean => {
    const h = (bits.hash() ^ hashString(s)) >>> 0;
    const bucket = cache.get(h);
    if (bucket !== undefined) {
      for (const b of bucket) if (b.s === s && bits.equals(b.w)) return true;
      bucket.push({ w: bits.w.slice(), s });
    } else cache.set(h, [{ w: bits.w.slice(), s }]);
    return false;
  };

  const bits = new Bits(n);
  const stack: { node: Node<I, O>; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  let best: number[] = [];
  let stuck = -1;
  while (head.next !== undefined) {
    if (++steps > maxSteps) return { verdict: "unknown", ops: n, steps };
    const e = entry!;
    if (e.call) {
      const op = e.ref!;
      const next = model.step(state, op.input, op.output);
      if (next !== NOT_ALLOWED) {
        bits.set(e.op);
        if (!seen(bits, model.stateKey(next))) {
          stack.push({ node: e, state });
          state = next;
          lift(e);
          entry = head.next;
          continue;
        }
        bits.clear(e.op);
      }
      entry = e.next;
    } else {
      // The return of an operation not yet linearized: backtrack.
      if (stack.length >= best.length) {
        best = stack.map((x) => x.node.op);
        stuck = e.op;
      }
      const top = stack.pop();
      if (top === undefined) {
        return {
          verdict: "illegal",
          ops: n,
          steps,
          longestPrefix: best.map((i) => describeOp(model, ops[i]!)),
          stuckAt: stuck >= 0 ? describeOp(model, ops[stuck]!) : "?",
        };
      }
      state = top.state;
      bits.clear(top.node.op);
      unlift(top.node);
      entry = top.node.next;
    }
  }
  return { verdict: "ok", ops: n, steps };
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
