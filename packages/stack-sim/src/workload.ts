/**
 * The clients of a whole-stack run: each issues one request at a time to a member that is up
 * (a write is `propose`, a read is `readIndex` then a read of that member's state machine),
 * and records it in the history with its virtual call and return times. A request to a member
 * that crashes, or that fails in any way, has an unknown outcome (return time `Infinity`).
 * @module
 */
import type { Prng } from "@tsraft/raft/testing";
import type { StackStateMachine } from "./state-machine.js";

/** One operation of the client history (the shape of the KV example's linearizability checker). */
export interface HistoryOp<I, O> {
  client: number;
  input: I;
  /** `undefined`: the outcome is unknown. */
  output: O | undefined;
  call: number;
  ret: number;
}

/** A request a client makes: a write (proposed command) or a read. */
export type Request<I> = { input: I; write: Uint8Array } | { input: I; write?: undefined };

/**
 * What the application brings to a run: its state machine, the requests its clients make, how
 * a read is answered from the state machine, and (optionally) a checker of the history.
 */
export interface StackWorkload<SM extends StackStateMachine<O>, I, O> {
  /** A new, empty state machine (one per member incarnation). */
  createStateMachine(): SM;
  /** The next request of `client`. Writes must carry unique data (a request id), so an acknowledged write can be recognised. */
  nextRequest(r: Prng, client: number): Request<I>;
  /**
   * The command proposed once the faults healed (the liveness check), carrying `tag` (unique in
   * the run). Default: `tag`'s UTF-8 bytes (a state machine that refuses those must set this).
   */
  finalWrite?(tag: string): Uint8Array;
  /** Answers a read on a member's state machine, once the read index is applied there. */
  read(sm: SM, input: I): O;
  /**
   * Planted bug, to prove a history checker bites: reads are answered from the member's state
   * at once, without ReadIndex (a deposed leader then serves stale values). Default false.
   */
  unsafeLocalReads?: boolean;
  /** Checks the client history; returns why it is wrong, or undefined. */
  checkHistory?(history: readonly HistoryOp<I, O>[]): string | undefined;
}
