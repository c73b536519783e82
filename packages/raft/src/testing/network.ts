/**
 * The simulated network: messages in flight with a delivery step, random drops, duplicates
 * and delays, per-link FIFO order unless reordering is on, and symmetric or one-way cuts.
 * @module
 */
import type { Message } from "@tsraft/raftpb";
import type { Prng } from "./random.js";

/** The network's fault settings. */
export interface NetSettings {
  /** Chance that a message is lost, 0..1. */
  drop: number;
  /** Chance that a message is delivered twice, 0..1. */
  duplicate: number;
  /** Each message is delivered 0..`maxDelay` steps after it is sent (0: within the same step). */
  maxDelay: number;
  /** Whether messages between the same two nodes may overtake each other. */
  reorder: boolean;
}

/** A message in flight. */
export interface Flight {
  /** The message; delivered as a copy, so duplicates never share entries with the sender. */
  readonly m: Message;
  readonly from: number;
  readonly to: number;
  /** The step at which it may be delivered. */
  readonly at: number;
  /** Send order, for FIFO links and determinism. */
  readonly seq: number;
}

/** The fault-free settings, used once faults are healed. */
export const CALM: Readonly<NetSettings> = Object.freeze({ drop: 0, duplicate: 0, maxDelay: 1, reorder: false });

/** Slots are small integers (node id - 1); a link is `from * 64 + to`. */
function link(from: number, to: number): number {
  return from * 64 + to;
}

/** Messages in flight between the simulated nodes. */
export class SimNetwork {
  settings: NetSettings = { ...CALM };
  #flights: Flight[] = [];
  #seq = 0;
  /** Cut links (`from * 64 + to`). */
  readonly #cut = new Set<number>();
  /** The last delivery step given to each link, to keep links FIFO when not reordering. */
  readonly #lastAt = new Map<number, number>();

  constructor(private readonly rng: Prng) {}

  /** Messages in flight. */
  get inFlight(): number {
    return this.#flights.length;
  }

  /** Whether messages from `from` to `to` are cut. */
  isCut(from: number, to: number): boolean {
    return this.#cut.has(link(from, to));
  }

  /** Cuts the links between `a` and every slot of `all` not in `a`, both ways. */
  partition(a: ReadonlySet<number>, all: readonly number[]): void {
    for (const x of all) {
      if (!a.has(x)) continue;
      for (const y of all) {
        if (a.has(y)) continue;
        this.#cut.add(link(x, y));
        this.#cut.add(link(y, x));
      }
    }
  }

  /** Cuts the link from `from` to `to` only. */
  cutOneWay(from: number, to: number): void {
    if (from !== to) this.#cut.add(link(from, to));
  }

  /** Restores every link. */
  heal(): void {
    this.#cut.clear();
  }

  /**
   * Puts a message on the wire at step `now`. Returns what happened: `"dropped"`, `"sent"`,
   * or `"duplicated"` (two copies in flight).
   */
  send(m: Message, from: number, to: number, now: number): "dropped" | "sent" | "duplicated" {
    const s = this.settings;
    if (this.rng.chance(s.drop)) return "dropped";
    this.#enqueue(m, from, to, now);
    if (this.rng.chance(s.duplicate)) {
      this.#enqueue(m, from, to, now);
      return "duplicated";
    }
    return "sent";
  }

  #enqueue(m: Message, from: number, to: number, now: number): void {
    const s = this.settings;
    let at = now + (s.maxDelay > 0 ? this.rng.int(s.maxDelay + 1) : 0);
    const l = link(from, to);
    if (!s.reorder) at = Math.max(at, this.#lastAt.get(l) ?? 0);
    this.#lastAt.set(l, at);
    this.#flights.push({ m, from, to, at, seq: this.#seq++ });
  }

  /**
   * The messages that may be delivered at step `now`: due ones, and when not reordering only
   * the oldest due one of each link. Appended to `out` in send order.
   */
  deliverable(now: number, out: Flight[]): void {
    const fl = this.#flights;
    if (this.settings.reorder) {
      for (let i = 0; i < fl.length; i++) if (fl[i]!.at <= now) out.push(fl[i]!);
      return;
    }
    const seen = new Set<number>();
    // Flights are kept in send order, so the first due one of a link is its oldest.
    for (let i = 0; i < fl.length; i++) {
      const f = fl[i]!;
      if (f.at > now) continue;
      const l = link(f.from, f.to);
      if (seen.has(l)) continue;
      seen.add(l);
      out.push(f);
    }
  }

  /** Takes `f` off the wire (to deliver or drop it). */
  remove(f: Flight): void {
    const i = this.#flights.indexOf(f);
    if (i >= 0) this.#flights.splice(i, 1);
  }

  /** Removes every message in flight to or from `slot` that `pred` selects, and returns them. */
  removeWhere(pred: (f: Flight) => boolean): Flight[] {
    const gone: Flight[] = [];
    this.#flights = this.#flights.filter((f) => {
      if (!pred(f)) return true;
      gone.push(f);
      return false;
    });
    return gone;
  }
}

/** A copy of a message as the receiver gets it: its own entry objects (payloads are shared, never mutated). */
export function copyMessage(m: Message): Message {
  const c = { ...m };
  if (m.entries.length > 0) c.entries = m.entries.map((e) => ({ ...e }));
  return c;
}
