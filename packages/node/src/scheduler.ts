/**
 * The time, timers and entropy of a RaftNode, as an interface, so that a simulator can own
 * time and the order of every turn and replay a run event for event from a seed (issue 16).
 * The default, {@link realScheduler}, is Node's own: `performance.now()`, `setTimeout`,
 * `setInterval`, `setImmediate` and `crypto.randomBytes`. RaftNode calls it where it called
 * those directly (one indirect call per Ready turn on the hot path; no allocation).
 *
 * What RaftNode does not route through it: microtasks (promise continuations, `queueMicrotask`),
 * which run in an order fixed by the macrotasks that start them, and the wall-clock `at` of
 * observer events, which is for display only.
 * @module
 */
import { randomBytes } from "node:crypto";

/** A timer made by a {@link Scheduler}; opaque to RaftNode, handed back to cancel it. */
export type TimerHandle = object;

/** See the module comment. Every method is called on the scheduler object itself. */
export interface Scheduler {
  /** Milliseconds on a monotonic clock (any origin). */
  now(): number;
  /**
   * Runs `fn` once, after `ms` milliseconds. The timer must not keep the process alive (RaftNode's
   * one-off timers are a deferred commit write and a read retry; the ticker keeps it alive).
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer of {@link setTimeout} (a no-op if it ran). */
  clearTimeout(h: TimerHandle): void;
  /** Runs `fn` every `ms` milliseconds until cleared: the tick. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer of {@link setInterval}. */
  clearInterval(h: TimerHandle): void;
  /** Runs `fn` on a later turn, after the work of this one (Node: `setImmediate`). */
  setImmediate(fn: () => void): void;
  /** 32 random bits (an unsigned integer): the proposal tag of a node's incarnation is made of two. */
  random32(): number;
}

/** Node's timers and clock: the default {@link Scheduler}. */
export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setImmediate: (fn) => {
    setImmediate(fn);
  },
  random32: () => randomBytes(4).readUInt32BE(0),
};
