/**
 * The KV model for the checker: independent registers, one per key, with read, write
 * (a delete writes `null`) and compare-and-set. A failed compare-and-set reports the value it
 * found, so it is an exact observation, like a read.
 * @module
 */
import { NOT_ALLOWED } from "./linearizability.js";
import type { Model, Operation } from "./linearizability.js";

/** What a client asked. */
export type KvInput =
  | { key: string; type: "read" }
  | { key: string; type: "write"; value: string | null }
  | { key: string; type: "cas"; expect: string | null; value: string };

/** What it was told (for a read: the value; for a write: nothing; for a CAS: whether it applied and, if not, the value found). */
export type KvOutput = { value: string | null } | { ok: true } | { ok: false; current: string | null } | Record<string, never>;

/** An operation of a KV history. */
export type KvOperation = Operation<KvInput, KvOutput>;

type State = string | null;

function step(state: State, input: KvInput, output: KvOutput | undefined): State | typeof NOT_ALLOWED {
  switch (input.type) {
    case "read":
      if (output === undefined) return state;
      return (output as { value: string | null }).value === state ? state : NOT_ALLOWED;
    case "write":
      return input.value;
    case "cas": {
      if (output === undefined) return state === input.expect ? input.value : state;
      const o = output as { ok: boolean; current?: string | null };
      if (o.ok) return state === input.expect ? input.value : NOT_ALLOWED;
      return state !== input.expect && state === (o.current ?? null) ? state : NOT_ALLOWED;
    }
  }
}

/**
 * Simplifies unknown-outcome operations without changing the verdict (the argument is in the
 * README), to a fixpoint:
 * - unknown reads are dropped (a read changes nothing);
 * - an unknown write or CAS whose new value `v` (not null) is written by no other operation,
 *   and that no definite operation observed (no read returned it, no failed CAS reported it, no
 *   successful CAS expected it) and no unknown CAS expected, is dropped: had it taken effect,
 *   nothing could have seen it before the next write;
 * - an unknown write or CAS whose unique value `v` was observed by definite operations gets
 *   the earliest return time among those observers: it must have taken effect before the
 *   first of them returned. (This bounds the search, which would otherwise keep it pending to
 *   the end of the history.)
 */
export function pruneKv(ops: readonly KvOperation[]): KvOperation[] {
  let cur = ops.filter((o) => !(o.input.type === "read" && o.output === undefined));
  for (;;) {
    const writers = new Map<string, number>();
    const observedBy = new Map<string, number>(); // value -> earliest return of a definite observer
    const expectedByUnknown = new Set<string>();
    const observe = (v: string | null, ret: number): void => {
      if (v !== null) observedBy.set(v, Math.min(observedBy.get(v) ?? Infinity, ret));
    };
    for (const o of cur) {
      const i = o.input;
      if (i.type === "write" || i.type === "cas") {
        if (i.value !== null) writers.set(i.value, (writers.get(i.value) ?? 0) + 1);
      }
      if (o.output === undefined) {
        if (i.type === "cas" && i.expect !== null) expectedByUnknown.add(i.expect);
        continue;
      }
      if (i.type === "read") observe((o.output as { value: string | null }).value, o.ret);
      if (i.type === "cas") {
        const out = o.output as { ok: boolean; current: string | null };
        observe(out.ok ? i.expect : out.current, o.ret);
      }
    }
    let changed = false;
    const next: KvOperation[] = [];
    for (const o of cur) {
      if (o.output !== undefined || o.input.type === "read" || o.input.value === null || writers.get(o.input.value) !== 1) {
        next.push(o);
        continue;
      }
      const seenAt = observedBy.get(o.input.value);
      if (seenAt !== undefined) {
        const bound = Math.max(seenAt, o.call);
        if (bound < o.ret) {
          next.push({ ...o, ret: bound });
          changed = true;
        } else next.push(o);
      } else if (expectedByUnknown.has(o.input.value)) {
        next.push(o);
      } else changed = true; // dropped
    }
    if (!changed) return next;
    cur = next;
  }
}

/** Partitions by key. */
function byKey(ops: readonly KvOperation[]): KvOperation[][] {
  const m = new Map<string, KvOperation[]>();
  for (const o of ops) {
    const l = m.get(o.input.key);
    if (l === undefined) m.set(o.input.key, [o]);
    else l.push(o);
  }
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

function describe(o: KvOperation): string {
  const i = o.input;
  const what =
    i.type === "read"
      ? `read(${i.key})`
      : i.type === "write"
        ? `write(${i.key}, ${JSON.stringify(i.value)})`
        : `cas(${i.key}, ${JSON.stringify(i.expect)} -> ${JSON.stringify(i.value)})`;
  const out = o.output === undefined ? "?" : JSON.stringify(o.output);
  const ret = o.ret === Infinity ? "∞" : o.ret.toFixed(1);
  return `c${o.client} ${what} -> ${out} [${o.call.toFixed(1)}, ${ret}]`;
}

/** The model: registers by key, initially absent (`null`). */
export const kvModel: Model<State, KvInput, KvOutput> = {
  init: () => null,
  step,
  stateKey: (s) => (s === null ? "\u0000" : s),
  partition: byKey,
  prune: pruneKv,
  describe,
};

/** The same model without pruning (for cross-checking the pruning in tests). */
export const kvModelNoPrune: Model<State, KvInput, KvOutput> = { ...kvModel, prune: (ops) => ops.slice() };
