/**
 * What the whole-stack simulator needs of a state machine: the application's own, run by every
 * member (the KV example's, or a user's; see TESTING.md).
 * @module
 */

/**
 * A deterministic state machine. `O` is what applying a command returns (handed to the
 * proposer's promise, and recorded in the client history).
 */
export interface StackStateMachine<O> {
  /** Applies a committed command. Must be deterministic; may throw (a refusal, the same on every member). */
  apply(index: number, data: Uint8Array): O;
  /** The whole state as bytes (a snapshot). */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the state with a snapshot's. */
  restore(data: Uint8Array): void | Promise<void>;
  /**
   * A string that identifies the state: two members that applied the same index must return
   * the same (checked after every apply; keep it cheap, e.g. a hash).
   */
  fingerprint(): string;
}
