/**
 * Schedules: what one simulated run does. A schedule fixes the cluster (size, raft options),
 * the seed of every "background" random choice (delays, drops, event order, election
 * timeouts), and a list of timed fault operations. fast-check generates schedules with
 * {@link scheduleArbitrary}, and shrinks a failing one by removing and simplifying operations;
 * {@link encodeSchedule} turns one into a short string for a one-line replay command.
 * @module
 */
import type { Arbitrary } from "fast-check";
import { OP_NAMES } from "./trace.js";

/** Kinds of membership change a `conf` operation proposes (at the leader). */
export const CONF_KINDS = [
  "add-voter", // ConfChange V1: a new node joins as a voter
  "add-learner", // V1: a new node joins as a learner
  "promote", // V1: a learner becomes a voter
  "demote", // V1: a voter becomes a learner
  "remove", // V1: a voter or learner leaves
  "replace-auto", // V2 joint (auto leave): a new voter joins and a voter leaves
  "replace-explicit", // V2 joint (explicit leave): the same; left by a later `leave-joint`
  "add-learner-v2", // V2 simple (one change, transition auto)
  "leave-joint", // V2 empty: leave an explicit joint configuration
] as const;
/** One of {@link CONF_KINDS}. */
export type ConfKind = (typeof CONF_KINDS)[number];

/**
 * A fault or client operation. Node arguments (`n`, `from`, `to`) are slot numbers, taken
 * modulo the number of nodes, so every operation is valid in every cluster (shrinking never
 * produces an invalid schedule). Percentages are integers 0-100.
 */
export type Op =
  /** Cut the network between the nodes whose bit is set in `mask` and the others, both ways. */
  | { t: "partition"; mask: number }
  /** Cut one node from every other node, both ways. */
  | { t: "isolate"; n: number }
  /** Drop every message from `from` to `to` (one way). */
  | { t: "oneway"; from: number; to: number }
  /** Remove every partition and one-way cut. */
  | { t: "heal" }
  /** Crash node `n`: whatever it has not persisted is lost. It restarts after `down` steps (0: at the next `restart` or at the end). */
  | { t: "crash"; n: number; down: number }
  /** Crash the current leader (if there is one), for `down` steps (0: until a restart or the end). */
  | { t: "crash-leader"; down: number }
  /** Cut the current leader (if there is one) from every other node, both ways. */
  | { t: "isolate-leader" }
  /** Restart node `n` from its persisted state, if it is down. */
  | { t: "restart"; n: number }
  /** Set the network faults: drop and duplicate percentages, the maximum delay in steps, and whether messages between two nodes may be reordered. */
  | { t: "net"; drop: number; dup: number; delay: number; reorder: boolean }
  /** Set node `n`'s clock rate to `quarters / 4` ticks per step (1-8: 0.25 to 2). */
  | { t: "rate"; n: number; quarters: number }
  /** Set node `n`'s disk latency: Readies are persisted `delay` steps after they are taken. */
  | { t: "disk"; n: number; delay: number }
  /** Node `n` snapshots its state machine at its applied index and compacts its log, keeping `keep` entries. */
  | { t: "snapshot"; n: number; keep: number }
  /** The leader proposes a membership change; `a` and `b` choose the nodes involved. */
  | { t: "conf"; kind: ConfKind; a: number; b: number }
  /** The leader is asked to transfer leadership to node `n`. */
  | { t: "transfer"; n: number }
  /** Node `n` campaigns now. */
  | { t: "campaign"; n: number }
  /** Node `n` receives `count` client proposals. */
  | { t: "propose"; n: number; count: number }
  /** Node `n` is asked for a linearizable read (ReadIndex); the answer is checked against the committed log. */
  | { t: "read"; n: number }
  /**
   * A learner (the `n`-th of the current configuration's, if any) tries to become leader: it
   * campaigns, and is sent a MsgTimeoutNow by the leader (as a transfer target demoted meanwhile
   * would be). It must stay a learner.
   */
  | { t: "campaign-learner"; n: number }
  /**
   * Node `n` crashes at its next persist, after the write and before the Ready's messages are
   * sent (or, with asyncStorageWrites, before the write's responses are delivered); it restarts
   * after `down` steps (0: at the next `restart` or at the end).
   */
  | { t: "crash-after-persist"; n: number; down: number };

/** The kind of an operation. */
export type OpKind = Op["t"];

/**
 * An operation and when it runs: at the start of step `floor(at * steps / 1000)` (0-based), so
 * `at` is in thousandths of the schedule, and shortening a schedule keeps its operations spread
 * the same way.
 */
export interface TimedOp {
  at: number;
  op: Op;
}

/** The raft options of the simulated cluster (the same on every node). */
export interface ClusterOptions {
  preVote: boolean;
  checkQuorum: boolean;
  asyncStorageWrites: boolean;
  /** Bytes of entries per MsgApp; 0 means one entry per message. */
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  electionTick: number;
  heartbeatTick: number;
  /** Chance, in percent, that a client proposal arrives at a random node in a step. */
  proposePercent: number;
}

/** One simulated run. */
export interface Schedule {
  /** The seed of every random choice not written in `ops`. */
  seed: number;
  /** The initial voters (ids 1..voters). */
  voters: number;
  /** Further nodes (ids voters+1..voters+spare), idle until a membership change adds them. */
  spare: number;
  /** Steps to run; then faults are healed and liveness is checked. */
  steps: number;
  options: ClusterOptions;
  /** Operations, by `at` (ties in array order). */
  ops: TimedOp[];
}

const OP_CODES: Record<OpKind, string> = {
  partition: "P",
  isolate: "I",
  oneway: "O",
  heal: "H",
  crash: "C",
  "crash-leader": "K",
  "isolate-leader": "J",
  restart: "R",
  net: "N",
  rate: "T",
  disk: "D",
  snapshot: "S",
  conf: "M",
  transfer: "L",
  campaign: "E",
  propose: "X",
  read: "Q",
  "campaign-learner": "G",
  "crash-after-persist": "Y",
};
const OP_KINDS = Object.keys(OP_CODES) as OpKind[];
OP_KINDS.forEach((k, i) => (OP_NAMES[i] = k));

/** The number of an operation kind, as traced. */
export function opKindCode(t: OpKind): number {
  return OP_KINDS.indexOf(t);
}

/** The numeric arguments of an operation, in encoding order. */
function opArgs(op: Op): number[] {
  switch (op.t) {
    case "partition":
      return [op.mask];
    case "isolate":
    case "restart":
    case "transfer":
    case "campaign":
    case "read":
    case "campaign-learner":
      return [op.n];
    case "oneway":
      return [op.from, op.to];
    case "heal":
    case "isolate-leader":
      return [];
    case "crash":
    case "crash-after-persist":
      return [op.n, op.down];
    case "crash-leader":
      return [op.down];
    case "net":
      return [op.drop, op.dup, op.delay, op.reorder ? 1 : 0];
    case "rate":
      return [op.n, op.quarters];
    case "disk":
      return [op.n, op.delay];
    case "snapshot":
      return [op.n, op.keep];
    case "conf":
      return [CONF_KINDS.indexOf(op.kind), op.a, op.b];
    case "propose":
      return [op.n, op.count];
  }
}

/** The operation of `kind` with numeric arguments `a` (the inverse of {@link opArgs}). */
function opOf(kind: OpKind, a: number[]): Op {
  const n = a[0] ?? 0;
  switch (kind) {
    case "partition":
      return { t: kind, mask: n };
    case "isolate":
    case "restart":
    case "transfer":
    case "campaign":
    case "read":
    case "campaign-learner":
      return { t: kind, n };
    case "oneway":
      return { t: kind, from: n, to: a[1] ?? 0 };
    case "heal":
    case "isolate-leader":
      return { t: kind };
    case "crash":
    case "crash-after-persist":
      return { t: kind, n, down: a[1] ?? 0 };
    case "crash-leader":
      return { t: kind, down: n };
    case "net":
      return { t: kind, drop: n, dup: a[1] ?? 0, delay: a[2] ?? 0, reorder: a[3] === 1 };
    case "rate":
      return { t: kind, n, quarters: a[1] ?? 4 };
    case "disk":
      return { t: kind, n, delay: a[1] ?? 0 };
    case "snapshot":
      return { t: kind, n, keep: a[1] ?? 0 };
    case "conf": {
      const k = CONF_KINDS[n];
      if (k === undefined) throw new Error(`schedule: unknown conf kind ${n}`);
      return { t: kind, kind: k, a: a[1] ?? 0, b: a[2] ?? 0 };
    }
    case "propose":
      return { t: kind, n, count: a[1] ?? 1 };
  }
}

/** The numeric arguments of an operation (for the trace). */
export function opTraceArgs(op: Op): number[] {
  return opArgs(op);
}

/** The cluster options {@link basicSchedule} uses: etcd's defaults where it has them. */
export const DEFAULT_CLUSTER_OPTIONS: Readonly<ClusterOptions> = Object.freeze({
  preVote: false,
  checkQuorum: false,
  asyncStorageWrites: false,
  maxSizePerMsg: 1024 * 1024,
  maxInflightMsgs: 256,
  electionTick: 10,
  heartbeatTick: 1,
  proposePercent: 0,
});

/**
 * A schedule without faults, for scenarios you drive yourself (`sim.propose`, `sim.applyOp`,
 * `sim.runUntil`): `voters` nodes, no spare, `steps` steps (default 0), seed 1, no client
 * proposals of its own.
 */
export function basicSchedule(voters: number, overrides: Partial<Omit<Schedule, "options">> & { options?: Partial<ClusterOptions> } = {}): Schedule {
  return {
    seed: overrides.seed ?? 1,
    voters,
    spare: overrides.spare ?? 0,
    steps: overrides.steps ?? 0,
    options: { ...DEFAULT_CLUSTER_OPTIONS, ...overrides.options },
    ops: overrides.ops ?? [],
  };
}

const FORMAT = "1";

/**
 * A compact, shell-safe text form of a schedule (digits, letters, `_`, `.`, `-`), for replay
 * commands: `1_seed_voters_spare_steps_flags_maxSizePerMsg_maxInflight_election_heartbeat_propose`
 * then one `-at.CODE.args` per operation.
 */
export function encodeSchedule(s: Schedule): string {
  const o = s.options;
  const flags = (o.preVote ? 1 : 0) | (o.checkQuorum ? 2 : 0) | (o.asyncStorageWrites ? 4 : 0);
  const head = [FORMAT, s.seed, s.voters, s.spare, s.steps, flags, o.maxSizePerMsg, o.maxInflightMsgs, o.electionTick, o.heartbeatTick, o.proposePercent].join(
    "_",
  );
  return head + s.ops.map(({ at, op }) => `-${[at, OP_CODES[op.t], ...opArgs(op)].join(".")}`).join("");
}

/**
 * Parses the output of {@link encodeSchedule}.
 * @throws `Error` naming the bad part on malformed input.
 */
export function decodeSchedule(text: string): Schedule {
  const parts = text.trim().split("-");
  const head = parts[0]!.split("_").map((x) => parseNonNegativeInt(x, "header"));
  if (head.length !== 11 || head[0] !== 1) throw new Error(`schedule: bad header ${JSON.stringify(parts[0])}`);
  const [, seed, voters, spare, steps, flags, maxSizePerMsg, maxInflightMsgs, electionTick, heartbeatTick, proposePercent] = head as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ops: TimedOp[] = [];
  for (const p of parts.slice(1)) {
    const f = p.split(".");
    const kind = OP_KINDS.find((k) => OP_CODES[k] === f[1]);
    if (kind === undefined || f.length < 2) throw new Error(`schedule: bad operation ${JSON.stringify(p)}`);
    ops.push({
      at: parseNonNegativeInt(f[0]!, p),
      op: opOf(
        kind,
        f.slice(2).map((x) => parseNonNegativeInt(x, p)),
      ),
    });
  }
  return {
    seed,
    voters,
    spare,
    steps,
    options: {
      preVote: (flags & 1) !== 0,
      checkQuorum: (flags & 2) !== 0,
      asyncStorageWrites: (flags & 4) !== 0,
      maxSizePerMsg,
      maxInflightMsgs,
      electionTick,
      heartbeatTick,
      proposePercent,
    },
    ops,
  };
}

function parseNonNegativeInt(x: string, where: string): number {
  if (!/^\d+$/.test(x)) throw new Error(`schedule: bad number ${JSON.stringify(x)} in ${JSON.stringify(where)}`);
  return Number(x);
}

/**
 * The fast-check functions {@link scheduleArbitrary} uses: pass `fc` from
 * `import fc from "fast-check"` (or `import * as fc`).
 */
export type FastCheckApi = Pick<typeof import("fast-check"), "nat" | "integer" | "record" | "constant" | "constantFrom" | "oneof" | "boolean" | "array">;

/** The shape of the schedules {@link scheduleArbitrary} generates. Every field is optional. */
export interface ScheduleParams {
  /** Cluster sizes to choose from. Default `[3, 5]`. */
  voters?: readonly number[];
  /** The most spare nodes (for membership changes). Default 2. */
  maxSpare?: number;
  /** Steps per schedule: from `minSteps` (default 30) to `maxSteps` (default 300). */
  minSteps?: number;
  maxSteps?: number;
  /** The most operations per schedule. Default 40. */
  maxOps?: number;
  /** Relative weights of the operation kinds; 0 disables a kind. Defaults: see {@link DEFAULT_OP_WEIGHTS}. */
  weights?: Partial<Record<OpKind, number>>;
  /** Fix asyncStorageWrites (default: chosen at random). */
  asyncStorageWrites?: boolean;
  /** Fix preVote (default: random). */
  preVote?: boolean;
  /** Fix checkQuorum (default: random). */
  checkQuorum?: boolean;
  /** Election ticks to choose from. Default `[5, 10]`. */
  electionTicks?: readonly number[];
  /** Values of maxSizePerMsg to choose from. Default `[1 MiB, 0, 64]` (0: one entry per message). */
  maxSizePerMsg?: readonly number[];
  /** The most steps a crash keeps a node down before it restarts by itself (0: until a restart); default 40. */
  maxDown?: number;
}

/**
 * How often each operation kind is drawn by default. The kinds added after the fault-switch
 * budgets were measured (`read`, `campaign-learner`, `crash-after-persist`) are 0 here, so that
 * pinned seeds keep generating the same schedules; {@link COVERAGE_OP_WEIGHTS} turns them on.
 */
export const DEFAULT_OP_WEIGHTS: Readonly<Record<OpKind, number>> = {
  partition: 3,
  isolate: 3,
  oneway: 2,
  heal: 4,
  crash: 4,
  "crash-leader": 3,
  "isolate-leader": 3,
  restart: 2,
  net: 4,
  rate: 2,
  disk: 2,
  snapshot: 4,
  conf: 5,
  transfer: 2,
  campaign: 2,
  propose: 3,
  read: 0,
  "campaign-learner": 0,
  "crash-after-persist": 0,
};

/** Weights that also draw reads, learners campaigning and crashes between a persist and its sends. */
export const COVERAGE_OP_WEIGHTS: Readonly<Partial<Record<OpKind, number>>> = {
  read: 4,
  "campaign-learner": 2,
  "crash-after-persist": 3,
};

/**
 * A fast-check arbitrary of schedules. Pass your fast-check module (the testing entry point
 * does not depend on fast-check at run time):
 * ```ts
 * import fc from "fast-check";
 * fc.assert(fc.property(scheduleArbitrary(fc, { voters: [3] }), (s) => { runSchedule(s, opts); }));
 * ```
 */
export function scheduleArbitrary(fc: FastCheckApi, params: ScheduleParams = {}): Arbitrary<Schedule> {
  const maxSteps = params.maxSteps ?? 300;
  const minSteps = Math.min(params.minSteps ?? 30, maxSteps);
  const maxDown = params.maxDown ?? 40;
  const node = fc.nat(7);
  const w = { ...DEFAULT_OP_WEIGHTS, ...params.weights };
  const kinds: Record<OpKind, Arbitrary<Op>> = {
    partition: fc.record({ t: fc.constant("partition" as const), mask: fc.integer({ min: 1, max: 30 }) }),
    isolate: fc.record({ t: fc.constant("isolate" as const), n: node }),
    oneway: fc.record({ t: fc.constant("oneway" as const), from: node, to: node }),
    heal: fc.constant({ t: "heal" as const }),
    crash: fc.record({ t: fc.constant("crash" as const), n: node, down: fc.nat(maxDown) }),
    "crash-leader": fc.record({ t: fc.constant("crash-leader" as const), down: fc.nat(maxDown) }),
    "isolate-leader": fc.constant({ t: "isolate-leader" as const }),
    restart: fc.record({ t: fc.constant("restart" as const), n: node }),
    net: fc.record({
      t: fc.constant("net" as const),
      drop: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 30 })),
      dup: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
      delay: fc.nat(6),
      reorder: fc.boolean(),
    }),
    rate: fc.record({ t: fc.constant("rate" as const), n: node, quarters: fc.integer({ min: 1, max: 8 }) }),
    disk: fc.record({ t: fc.constant("disk" as const), n: node, delay: fc.nat(4) }),
    snapshot: fc.record({ t: fc.constant("snapshot" as const), n: node, keep: fc.nat(5) }),
    conf: fc.record({ t: fc.constant("conf" as const), kind: fc.constantFrom(...CONF_KINDS), a: fc.nat(7), b: fc.nat(7) }),
    transfer: fc.record({ t: fc.constant("transfer" as const), n: node }),
    campaign: fc.record({ t: fc.constant("campaign" as const), n: node }),
    propose: fc.record({ t: fc.constant("propose" as const), n: node, count: fc.integer({ min: 1, max: 8 }) }),
    read: fc.record({ t: fc.constant("read" as const), n: node }),
    "campaign-learner": fc.record({ t: fc.constant("campaign-learner" as const), n: node }),
    "crash-after-persist": fc.record({ t: fc.constant("crash-after-persist" as const), n: node, down: fc.nat(maxDown) }),
  };
  const weighted = OP_KINDS.filter((k) => w[k] > 0).map((k) => ({ arbitrary: kinds[k], weight: w[k] }));
  const op = fc.oneof(...weighted);
  const pickBool = (fixed: boolean | undefined) => (fixed === undefined ? fc.boolean() : fc.constant(fixed));
  const options = fc.record({
    preVote: pickBool(params.preVote),
    checkQuorum: pickBool(params.checkQuorum),
    asyncStorageWrites: pickBool(params.asyncStorageWrites),
    maxSizePerMsg: fc.constantFrom(...(params.maxSizePerMsg ?? [1024 * 1024, 0, 64])),
    maxInflightMsgs: fc.constantFrom(256, 1, 4),
    electionTick: fc.constantFrom(...(params.electionTicks ?? [5, 10])),
    heartbeatTick: fc.constantFrom(1, 2),
    proposePercent: fc.integer({ min: 0, max: 60 }),
  });
  return fc
    .record({
      seed: fc.nat(0xffff_ffff),
      voters: fc.constantFrom(...(params.voters ?? [3, 5])),
      spare: fc.nat(params.maxSpare ?? 2),
      steps: fc.integer({ min: minSteps, max: maxSteps }),
      options,
      ops: fc.array(fc.record({ at: fc.nat(999), op }), { maxLength: params.maxOps ?? 40, size: "max" }),
    })
    .map((s) => ({ ...s, ops: [...s.ops].sort((x, y) => x.at - y.at) }));
}
