/**
 * A small state machine and workload for the simulator's own tests (and the TESTING.md
 * example): a log of strings whose fingerprint is a running hash of what was applied.
 */
import type { Prng } from "@tsraft/raft/testing";
import type { StackStateMachine, StackWorkload } from "../src/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Appends each command's text; answers with the count of commands applied. */
export class LogMachine implements StackStateMachine<number> {
  private items: string[] = [];
  private h = 0x811c9dc5;

  apply(_index: number, data: Uint8Array): number {
    const s = dec.decode(data);
    this.items.push(s);
    for (let i = 0; i < s.length; i++) this.h = Math.imul(this.h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ items: this.items, h: this.h }));
  }
  restore(data: Uint8Array): void {
    const s = data.length === 0 ? { items: [], h: 0x811c9dc5 } : (JSON.parse(dec.decode(data)) as { items: string[]; h: number });
    this.items = s.items;
    this.h = s.h;
  }
  fingerprint(): string {
    return `${this.items.length}:${this.h}`;
  }
  count(): number {
    return this.items.length;
  }
}

/** Writes `c<client>-<n>`, reads the count. */
export function logWorkload(): StackWorkload<LogMachine, string, number> {
  let n = 0;
  return {
    createStateMachine: () => new LogMachine(),
    nextRequest: (r: Prng, client: number) => (r.chance(0.7) ? { input: "w", write: enc.encode(`c${client}-${++n}`) } : { input: "r" }),
    read: (sm) => sm.count(),
  };
}
