/**
 * The options of a simulation, what a run reports, and the default liveness bound.
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";
import type { Config } from "../config.js";
import type { InvariantName } from "./invariants.js";
import type { Schedule } from "./schedule.js";
import type { SimStorage } from "./sim-node.js";
import type { Simulator } from "./simulator.js";
import type { StateMachine } from "./state-machine.js";

/** A check of your own, run after every step; return a message to fail the run. */
export interface SimInvariant<S extends StateMachine = StateMachine> {
  name: string;
  check(sim: Simulator<S>): string | undefined;
}

/** How to run schedules. Only `makeStorage` is required (and `makeStateMachine` for your own state machine type). */
export interface SimOptions<S extends StateMachine = StateMachine> {
  /** A new, empty storage for a node (its "disk"; it survives the node's crashes). */
  makeStorage: (id: NodeId) => SimStorage;
  /** A new state machine for a node (at start and at every restart). Default: {@link ListStateMachine}. */
  makeStateMachine?: (id: NodeId) => S;
  /**
   * The payload of the `seq`-th client proposal (numbered from 1), drawn with `random`.
   * Default: the decimal digits of `seq`. Each call must return a new array.
   */
  makeProposal?: (seq: number, random: () => number) => Uint8Array;
  /** More raft options for every node, on top of the schedule's. */
  raft?: Partial<Omit<Config, "id" | "storage" | "applied" | "random" | "logger">>;
  /** Also compare state machine snapshots of nodes that applied the same index. Default false. */
  checkStateMachines?: boolean;
  /** Heal everything after the schedule and check liveness. Default true. */
  checkLiveness?: boolean;
  /** Steps allowed for recovery after healing. Default {@link defaultLivenessBound}. */
  livenessBound?: number;
  /** Checks of your own, run after every step. */
  invariants?: readonly SimInvariant<S>[];
  /**
   * Built-in invariants not to check (to show that another checker catches a bug too, or to
   * live with a known issue while it is being fixed).
   */
  ignoreInvariants?: readonly InvariantName[];
  /** Receives every event and every raft log line as it happens (slow; for replays). */
  trace?: (line: string) => void;
  /** The replay command printed with a violation, given the encoded schedule. */
  replayCommand?: (code: string) => string;
}

/** Counters of a run. */
export interface SimStats {
  steps: number;
  events: number;
  messagesSent: number;
  messagesDelivered: number;
  messagesDropped: number;
  messagesDuplicated: number;
  /** Fault operations applied, plus messages dropped or duplicated at random. */
  faults: number;
  crashes: number;
  proposals: number;
  confChanges: number;
  snapshots: number;
  /** ReadIndex requests made (`read` operations), and ReadStates handed out (each checked). */
  reads: number;
  readsAnswered: number;
}

/** What a run produced. */
export interface SimResult {
  /** The hash of every event: equal for two runs of one schedule. */
  traceHash: string;
  stats: SimStats;
  /** Terms that had a leader. */
  leaderTerms: number;
  /** The highest committed index seen. */
  committed: number;
  /** Steps from healing to the probe being applied on every live member (undefined without the liveness check). */
  recoverySteps: number | undefined;
}

/**
 * The default liveness bound, in steps after healing: `30 * electionTick + 60 + 2 * lag`,
 * where `lag` is how many committed entries the node furthest behind has yet to apply when
 * the faults heal. Healing restarts every node, so this covers restarted nodes' election
 * timeouts (at most `2 * electionTick` ticks each), a few split votes, and catching up one
 * entry per round trip (the slowest flow control: `maxSizePerMsg` 0 and one message in flight;
 * after healing a message takes at most one step).
 */
export function defaultLivenessBound(s: Schedule, lag = 0): number {
  return 30 * s.options.electionTick + 60 + 2 * lag;
}
