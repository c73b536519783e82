/**
 * The record of a whole-stack run: one line per thing that happened (messages sent, delivered
 * and dropped, crashes and what they lost, restarts, fsyncs, leader changes, client requests
 * and their outcomes), in the order the event loop ran them, with the virtual time. Its hash is
 * the run's fingerprint (two runs of one seed have the same), and the HTML timeline is drawn
 * from it.
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";

/** One recorded happening. `node`: where it happened; `to` for messages. */
export interface TraceEvent {
  /** Virtual milliseconds. */
  t: number;
  kind: "send" | "deliver" | "drop" | "crash" | "restart" | "refused" | "fsync" | "leader" | "propose" | "ack" | "fail" | "partition" | "heal";
  node: number;
  to?: number;
  /** A message's type and term, a crash's losses, a request's outcome. */
  what: string;
  /** A message's number (its send, delivery and drop share it). */
  id?: number;
}

/** See the module comment. */
export class Trace {
  readonly events: TraceEvent[] = [];
  private h = 0x811c9dc5;

  /** Records an event (and folds it into the hash). */
  add(t: number, kind: TraceEvent["kind"], node: NodeId | number, what: string, to?: NodeId | number, id?: number): void {
    const e: TraceEvent = { t, kind, node: Number(node), what };
    if (to !== undefined) e.to = Number(to);
    if (id !== undefined) e.id = id;
    this.events.push(e);
    this.fold(`${t}|${kind}|${e.node}|${e.to ?? ""}|${what}|${id ?? ""}`);
  }

  /** Folds something into the hash without recording it (e.g. every applied entry). */
  fold(s: string): void {
    let h = this.h;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.h = h >>> 0;
  }

  /** The run's fingerprint: equal for two runs that did the same things in the same order. */
  hash(): string {
    return this.h.toString(16).padStart(8, "0");
  }
}
