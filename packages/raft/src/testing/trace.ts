/**
 * The run's trace: a running hash of every event (two runs of one schedule give the same hash,
 * or the simulator is not deterministic), and a ring of the most recent events for failure
 * reports. Events are recorded as numbers and formatted only when asked, so tracing costs a
 * few array writes per event.
 * @module
 */
import { MessageType } from "@tsraft/raftpb";
import type { Message } from "@tsraft/raftpb";

/** FNV-1a over the low and high 32-bit halves of a number. */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v >>> 0), 0x01000193);
  return Math.imul(h ^ Math.floor(v / 0x1_0000_0000), 0x01000193) >>> 0;
}

/** The kinds of traced events. */
export const EventKind = {
  tick: 1,
  deliver: 2,
  drop: 3,
  ready: 4,
  persist: 5,
  apply: 6,
  crash: 7,
  restart: 8,
  op: 9,
  send: 10,
  duplicate: 11,
  storageAppend: 12,
  storageApply: 13,
  propose: 14,
  snapshot: 15,
} as const;
/** One of {@link EventKind}'s values. */
export type EventKindValue = (typeof EventKind)[keyof typeof EventKind];

const KIND_NAMES: Record<number, string> = Object.fromEntries(Object.entries(EventKind).map(([k, v]) => [v, k]));

/** Numbers per recorded event: step, kind, node, then up to 10 arguments. */
const WIDTH = 13;
/** Events kept for failure reports. */
const RING = 256;

/** Why a message was dropped (the `drop` event's first argument). */
export const DropReason = ["random", "partition", "crashed", "removed", "unknown-peer"] as const;

/** A deterministic event log: a hash of everything, and the last {@link RING} events. */
export class Trace {
  #h1 = 0x811c9dc5;
  #h2 = 0x01000193;
  #ring = new Float64Array(RING * WIDTH);
  #pos = 0;
  #count = 0;
  /** When set, every event is also formatted and passed here as it happens. */
  sink: ((line: string) => void) | undefined;

  /** Records one event; the arguments are small integers (ids, indexes, terms, counts). */
  record(step: number, kind: EventKindValue, node: number, a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0): void {
    const base = this.#pos * WIDTH;
    const r = this.#ring;
    r[base] = step;
    r[base + 1] = kind;
    r[base + 2] = node;
    r[base + 3] = a0;
    r[base + 4] = a1;
    r[base + 5] = a2;
    r[base + 6] = a3;
    r[base + 7] = a4;
    r[base + 8] = a5;
    r[base + 9] = a6;
    r[base + 10] = a7;
    r[base + 11] = a8;
    r[base + 12] = a9;
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let i = 0; i < WIDTH; i++) {
      const v = r[base + i]!;
      h1 = mix(h1, v);
      h2 = mix(h2, v + i);
    }
    this.#h1 = h1;
    this.#h2 = h2 ^ h1;
    this.#pos = (this.#pos + 1) % RING;
    this.#count++;
    if (this.sink !== undefined) this.sink(this.#format(base));
  }

  /** Records a message event (send, deliver, drop with `reason`, duplicate). */
  recordMessage(step: number, kind: EventKindValue, m: Message, reason = 0): void {
    this.record(
      step,
      kind,
      Number(m.from),
      m.type,
      Number(m.from),
      Number(m.to),
      m.term,
      m.logTerm,
      m.index,
      m.commit,
      m.entries.length,
      m.reject ? 1 : 0,
      reason,
    );
  }

  /** The number of events recorded. */
  get count(): number {
    return this.#count;
  }

  /** The hash of every event so far, as 16 hex digits. */
  hash(): string {
    return (this.#h1 >>> 0).toString(16).padStart(8, "0") + (this.#h2 >>> 0).toString(16).padStart(8, "0");
  }

  /** The last `n` events (at most {@link RING}), oldest first, one line each. */
  recent(n: number): string[] {
    const k = Math.min(n, this.#count, RING);
    const out: string[] = [];
    for (let i = k; i > 0; i--) out.push(this.#format(((this.#pos - i + RING) % RING) * WIDTH));
    return out;
  }

  #format(base: number): string {
    const r = this.#ring;
    const step = r[base]!;
    const kind = r[base + 1]!;
    const node = r[base + 2]!;
    const a = (i: number): number => r[base + 3 + i]!;
    const head = `step ${step} ${KIND_NAMES[kind] ?? kind}`;
    switch (kind) {
      case EventKind.deliver:
      case EventKind.send:
      case EventKind.duplicate:
        return `${head} ${describeMsg(a)}`;
      case EventKind.drop:
        return `${head} (${DropReason[a(9)] ?? a(9)}) ${describeMsg(a)}`;
      case EventKind.ready:
        return `${head} ${node}: entries=${a(0)} committed=${a(1)} msgs=${a(2)} hs=${a(3)}/${a(4)}/${a(5)} snap=${a(6)}`;
      case EventKind.persist:
      case EventKind.storageAppend:
        return `${head} ${node}: entries=${a(0)} last=${a(1)} hs=${a(2)}/${a(3)}/${a(4)} snap=${a(5)}`;
      case EventKind.apply:
      case EventKind.storageApply:
        return `${head} ${node}: ${a(0)}..${a(1)} (applied ${a(2)})`;
      case EventKind.op:
        return `${head} ${OP_NAMES[a(0)] ?? a(0)} node=${node} args=${a(1)},${a(2)},${a(3)}`;
      case EventKind.propose:
        return `${head} ${node}: ${a(0) === 1 ? "accepted" : "dropped"} #${a(1)}`;
      case EventKind.snapshot:
        return `${head} ${node}: snapshot at ${a(0)}, compacted to ${a(1)}`;
      default:
        return `${head} ${node}${a(0) !== 0 ? ` ${a(0)}` : ""}`;
    }
  }
}

/** Names of schedule operations by code, for the trace (kept in sync by schedule.ts). */
export const OP_NAMES: Record<number, string> = {};

function describeMsg(a: (i: number) => number): string {
  const type = MessageType[a(0)] ?? String(a(0));
  const rej = a(8) === 1 ? " Rejected" : "";
  const ents = a(7) > 0 ? ` Entries:${a(7)}` : "";
  return `${a(1)}->${a(2)} ${type} Term:${a(3)} Log:${a(4)}/${a(5)} Commit:${a(6)}${ents}${rej}`;
}
