/**
 * The state machine a simulated node applies committed entries to, and the default one: an
 * append-only list of the payloads applied.
 * @module
 */
import type { Entry } from "@tsraft/raftpb";

/**
 * An application state machine, as the simulator drives it. Implement it over your own
 * service to run that service inside the simulation.
 *
 * - `apply(entry)` gets every committed `EntryNormal` entry with a non-empty payload, in log
 *   order, exactly once per incarnation of the node (a restarted node starts over from its
 *   last snapshot). Conf change entries and the empty entries new leaders append are handled
 *   by the simulator and not passed on.
 * - `snapshot()` serializes the whole state; `restore(data)` replaces the whole state with a
 *   serialized one (from this node or another). `restore(new Uint8Array(0))` never happens:
 *   a node with no snapshot starts from a fresh state machine.
 *
 * The state machine must be deterministic: two instances that applied the same entries must
 * produce the same `snapshot()` bytes (the simulator can check this, see
 * `SimOptions.checkStateMachines`).
 */
export interface StateMachine {
  apply(entry: Entry): void;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

/**
 * The default state machine: the list of payloads applied, in order. Its snapshot is the
 * payloads, each prefixed by its length as a 4-byte big-endian integer.
 */
export class ListStateMachine implements StateMachine {
  /** The payloads applied, oldest first. */
  readonly items: Uint8Array[] = [];

  apply(entry: Entry): void {
    this.items.push(entry.data!);
  }

  snapshot(): Uint8Array {
    let n = 0;
    for (const it of this.items) n += 4 + it.length;
    const out = new Uint8Array(n);
    const dv = new DataView(out.buffer);
    let p = 0;
    for (const it of this.items) {
      dv.setUint32(p, it.length);
      out.set(it, p + 4);
      p += 4 + it.length;
    }
    return out;
  }

  /** @throws `Error` if `data` is not a snapshot of a ListStateMachine. */
  restore(data: Uint8Array): void {
    this.items.length = 0;
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let p = 0;
    while (p < data.length) {
      if (p + 4 > data.length) throw new Error("ListStateMachine: truncated snapshot");
      const len = dv.getUint32(p);
      if (p + 4 + len > data.length) throw new Error("ListStateMachine: truncated snapshot");
      this.items.push(data.slice(p + 4, p + 4 + len));
      p += 4 + len;
    }
  }
}
