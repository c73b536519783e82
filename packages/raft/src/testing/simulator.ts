/**
 * The deterministic cluster simulator. A {@link Simulator} runs one {@link Schedule}: N nodes
 * (RawNodes over storages you provide), a simulated network and clock, one seeded random
 * source for every choice the schedule does not fix, the schedule's fault operations at their
 * steps, and the safety invariants checked after every event. At the end all faults heal and
 * liveness is checked: a new proposal must be applied by every live member within a bound.
 *
 * Time: the simulation advances in *steps*. In each step, the due operations run, a client
 * proposal may arrive, every running node ticks according to its clock rate (1 tick per step by
 * default, 0.25 to 2 with `rate` operations), and then due events run one at a time in random
 * order until none is left: deliveries of messages whose delay has passed, and each node's
 * application loop (take a Ready; persist it, send, apply, advance — see sim-node.ts).
 * @module
 */
import { MessageType, newMessage } from "@tsraft/raftpb";
import type { ConfState, Message, NodeId } from "@tsraft/raftpb";
import { errorCode } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { InvariantChecker, InvariantViolation } from "./invariants.js";
import { defaultLivenessBound, type SimOptions, type SimResult, type SimStats } from "./options.js";
import { members, membershipChange } from "./membership.js";
import { describeNode } from "./report.js";
import { CALM, SimNetwork, copyMessage, type Flight } from "./network.js";
import { carryFaults } from "../internal/faults.js";
import { Prng } from "./random.js";
import { encodeSchedule, opKindCode, opTraceArgs, type ConfKind, type Op, type Schedule } from "./schedule.js";
import { SimNode, type NodeHost } from "./sim-node.js";
import { ListStateMachine, type StateMachine } from "./state-machine.js";
import { EventKind, Trace } from "./trace.js";

/** The kinds of a node's application-loop events. */
const Action = {
  ready: 0,
  persist: 1,
  storageAppend: 2,
  storageApply: 3,
} as const;

function digits(n: number): Uint8Array {
  const s = String(n);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function fnvHex(b: Uint8Array): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x1234567;
  for (let i = 0; i < b.length; i++) {
    h1 = Math.imul(h1 ^ b[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ b[i]! ^ (i & 0xff), 0x01000193);
  }
  return (h1 >>> 0).toString(16) + ":" + (h2 >>> 0).toString(16) + ":" + b.length;
}

/** Runs one schedule. */
export class Simulator<S extends StateMachine = StateMachine> {
  readonly schedule: Schedule;
  /** The nodes by slot (id - 1): the initial voters, then the spare nodes. */
  readonly nodes: readonly SimNode<S>[];
  /** The messages in flight, the network's cuts and its fault settings. */
  readonly network: SimNetwork;
  /** The hash of the run so far and its most recent events. */
  readonly trace = new Trace();
  /** The invariant checker (its hooks are public for tests of the checkers themselves). */
  readonly checker: InvariantChecker;
  /** Counters of the run so far. */
  readonly stats: SimStats = {
    steps: 0,
    events: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
    faults: 0,
    crashes: 0,
    proposals: 0,
    confChanges: 0,
    snapshots: 0,
    reads: 0,
    readsAnswered: 0,
  };
  /** The current step. */
  now = 0;
  readonly #opts: SimOptions<S>;
  readonly #rng: Prng;
  readonly #host: NodeHost<S>;
  readonly #slots: number[];
  #opIndex = 0;
  #proposalSeq = 0;
  #healed = false;
  /** Slots that have been in some configuration (never added again once removed). */
  readonly #everMember = new Set<number>();
  readonly #probes = new Set<Uint8Array>();
  /** The index of the first liveness probe applied (0: none yet). */
  #probeIndex = 0;
  /** Sender feedback (unreachable peers, snapshot outcomes) to give after the current event. */
  readonly #feedback: { slot: number; to: NodeId; snap: "finish" | "failure" | undefined }[] = [];
  readonly #flights: Flight[] = [];
  readonly #actions: number[] = [];
  #recovery: number | undefined = undefined;
  readonly #leaderTerms = new Set<number>();
  /** ReadIndex requests by context: the highest committed index when each was asked. */
  readonly #reads = new Map<string, number>();
  readonly #ignored: ReadonlySet<string>;

  /** @throws `Error` on a schedule that cannot run (fewer than one voter, too many nodes). */
  constructor(schedule: Schedule, options: SimOptions<S>) {
    const total = schedule.voters + schedule.spare;
    if (schedule.voters < 1 || total > 30) throw new Error(`simulator: need 1 to 30 nodes, got ${schedule.voters} voters and ${schedule.spare} spares`);
    this.schedule = schedule;
    this.#opts = options;
    this.#ignored = new Set(options.ignoreInvariants ?? []);
    this.#rng = new Prng(schedule.seed);
    this.network = new SimNetwork(this.#rng);
    const o = schedule.options;
    const electionTick = Math.max(2, o.electionTick);
    const raftConfig = {
      electionTick,
      heartbeatTick: Math.min(Math.max(1, o.heartbeatTick), electionTick - 1),
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      asyncStorageWrites: o.asyncStorageWrites,
      maxSizePerMsg: o.maxSizePerMsg,
      maxInflightMsgs: Math.max(1, o.maxInflightMsgs),
      ...options.raft,
    };
    if (options.raft !== undefined) carryFaults(options.raft, raftConfig);
    const makeSm = options.makeStateMachine ?? ((() => new ListStateMachine()) as unknown as (id: NodeId) => S);
    const trace = options.trace;
    if (trace !== undefined) this.trace.sink = trace;
    this.checker = new InvariantChecker(
      (name, detail, slots) => this.#fail(name, detail, slots),
      schedule.voters,
      options.checkStateMachines === true ? (n) => fnvHex(n.stateMachine.snapshot()) : undefined,
    );
    const sim = this;
    this.#host = {
      get now() {
        return sim.now;
      },
      trace: this.trace,
      checker: this.checker,
      raftConfig,
      makeStateMachine: makeSm,
      forkRandom: () => this.#rng.fork(),
      logger: (id) => (trace === undefined ? silentLogger : lineLogger(id, trace)),
      send: (from, m) => this.#send(from, m),
      configChanged: (_n, prev, cs) => this.#configChanged(prev, cs),
      appliedPayload: (_n, e) => {
        if (this.#probeIndex === 0 && this.#probes.has(e.data!)) this.#probeIndex = e.index;
      },
      fail: (name, detail, slots) => this.#fail(name, detail, slots),
      readStates: (n, rs) => this.#checkReads(n, rs),
      crashAfterPersist: (n) => {
        const down = n.crashAfterPersistDown ?? 0;
        this.#crash(n);
        n.restartAt = down > 0 ? this.now + down : 0;
      },
    };
    const peers: NodeId[] = [];
    for (let s = 0; s < schedule.voters; s++) peers.push(BigInt(s + 1));
    const nodes: SimNode<S>[] = [];
    this.#slots = [];
    for (let s = 0; s < total; s++) {
      const id = BigInt(s + 1);
      nodes.push(new SimNode(s, options.makeStorage(id), s < schedule.voters ? peers : undefined, makeSm(id)));
      this.#slots.push(s);
      if (s < schedule.voters) this.#everMember.add(s);
    }
    this.nodes = nodes;
    this.#guard(() => {
      for (const n of nodes) {
        n.tickRate = 0.75 + this.#rng.int(3) * 0.25;
        n.start(this.#host);
      }
    });
  }

  /** The node with id `id`. @throws `Error` if there is none. */
  node(id: NodeId): SimNode<S> {
    const n = this.nodes[Number(id) - 1];
    if (n === undefined) throw new Error(`simulator: no node ${id}`);
    return n;
  }

  /** The running leader with the highest term, if any. */
  leader(): SimNode<S> | undefined {
    let best: SimNode<S> | undefined;
    for (const n of this.nodes) {
      const r = n.node?.raft;
      if (r === undefined || n.removed || r.state !== "leader") continue;
      if (best === undefined || r.term > best.node!.raft.term) best = n;
    }
    return best;
  }

  /**
   * Runs the whole schedule, then (unless disabled) heals every fault and checks liveness.
   * @throws {@link InvariantViolation} on the first violation.
   */
  run(): SimResult {
    while (this.now < this.schedule.steps) this.step();
    if (this.#opts.checkLiveness !== false) this.checkLiveness();
    return this.result();
  }

  /** Runs `n` steps. @throws {@link InvariantViolation} */
  runSteps(n: number): void {
    for (let i = 0; i < n; i++) this.step();
  }

  /**
   * Runs steps until `done(this)` holds (checked before each step), at most `maxSteps` of them.
   * Returns whether `done` held. @throws {@link InvariantViolation}
   */
  runUntil(done: (sim: this) => boolean, maxSteps: number): boolean {
    for (let i = 0; i < maxSteps; i++) {
      if (done(this)) return true;
      this.step();
    }
    return done(this);
  }

  /**
   * Proposes `data` at node `id` (forwarded to the leader by a follower). Returns false if raft
   * dropped it (no leader known, a leader transfer under way) or the node is down.
   * @throws {@link InvariantViolation}
   */
  propose(id: NodeId, data: Uint8Array): boolean {
    const n = this.node(id);
    if (n.node === undefined) return false;
    let ok = false;
    this.#guard(() => {
      ok = n.propose(data);
      this.stats.proposals++;
      this.#observe(n);
    });
    return ok;
  }

  /** Crashes node `id` (everything it has not persisted is lost); it restarts after `downSteps` (0: only on {@link restart}). */
  crash(id: NodeId, downSteps = 0): void {
    this.applyOp({ t: "crash", n: Number(id) - 1, down: downSteps });
  }

  /** Restarts node `id` from what it persisted, if it is down (and not removed). */
  restart(id: NodeId): void {
    this.applyOp({ t: "restart", n: Number(id) - 1 });
  }

  /** The result so far. */
  result(): SimResult {
    return {
      traceHash: this.trace.hash(),
      stats: { ...this.stats, events: this.trace.count },
      leaderTerms: this.#leaderTerms.size,
      committed: this.checker.maxCommitted,
      recoverySteps: this.#recovery,
    };
  }

  /**
   * Runs one step: the operations due, maybe a client proposal, the ticks, and every due
   * event. @throws {@link InvariantViolation}
   */
  step(): void {
    this.#guard(() => this.#step());
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof InvariantViolation) throw err;
      const e = err as Error;
      this.#raise("panic", `${e?.name ?? "Error"}: ${e?.message ?? String(err)}\n${(e?.stack ?? "").split("\n").slice(1, 8).join("\n")}`, []);
    }
  }

  #step(): void {
    const step = this.now;
    this.stats.steps++;
    for (const n of this.nodes) {
      if (!n.up && !n.removed && n.restartAt !== 0 && n.restartAt <= step) this.#restart(n);
    }
    const ops = this.schedule.ops;
    if (!this.#healed) {
      while (this.#opIndex < ops.length && opStep(ops[this.#opIndex]!.at, this.schedule.steps) <= step) this.#applyOp(ops[this.#opIndex++]!.op);
      if (this.#rng.chance(this.schedule.options.proposePercent / 100)) {
        const up = this.nodes.filter((n) => n.up && !n.removed);
        if (up.length > 0) this.#propose(this.#rng.pick(up), 1);
      }
    }
    for (const n of this.nodes) {
      if (n.node === undefined) continue;
      n.tickCredit += n.tickRate;
      while (n.tickCredit >= 1 && n.node !== undefined) {
        n.tickCredit -= 1;
        n.node.tick();
        this.trace.record(step, EventKind.tick, n.slot + 1);
        this.#observe(n);
      }
    }
    for (let k = 0; k < 2000 && this.#microEvent(); k++);
    for (const n of this.nodes) if (n.node !== undefined) this.checker.observe(n, true);
    for (const inv of this.#opts.invariants ?? []) {
      const msg = inv.check(this);
      if (msg !== undefined) this.#fail(inv.name, msg, []);
    }
    this.now++;
  }

  #observe(n: SimNode<S>): void {
    if (n.node !== undefined) {
      this.checker.observe(n);
      if (n.node.raft.state === "leader") this.#leaderTerms.add(n.node.raft.term);
    }
    if (this.#feedback.length > 0) this.#giveFeedback();
    while (this.#removeLater.length > 0) this.#crash(this.#removeLater.pop()!);
  }

  #giveFeedback(): void {
    while (this.#feedback.length > 0) {
      const fb = this.#feedback.shift()!;
      const n = this.nodes[fb.slot]!;
      if (n.node === undefined) continue;
      if (fb.snap !== undefined) n.node.reportSnapshot(fb.to, fb.snap);
      else n.node.reportUnreachable(fb.to);
      this.checker.observe(n);
    }
  }

  /** Runs one due event, chosen at random; false if none is due. */
  #microEvent(): boolean {
    const flights = this.#flights;
    const actions = this.#actions;
    flights.length = 0;
    actions.length = 0;
    this.network.deliverable(this.now, flights);
    for (const n of this.nodes) {
      if (n.node === undefined) continue;
      const s = n.slot * 4;
      if (n.pending !== undefined) {
        if (n.pending.at <= this.now) actions.push(s + Action.persist);
      } else if (n.node.hasReady()) {
        actions.push(s + Action.ready);
      }
      if (n.appendQueue.length > 0 && n.appendQueue[0]!.at <= this.now) actions.push(s + Action.storageAppend);
      if (n.applyQueue.length > 0 && n.applyQueue[0]!.at <= this.now) actions.push(s + Action.storageApply);
    }
    const total = flights.length + actions.length;
    if (total === 0) return false;
    const k = this.#rng.int(total);
    if (k < flights.length) {
      this.#deliver(flights[k]!);
      return true;
    }
    const a = actions[k - flights.length]!;
    const n = this.nodes[a >> 2]!;
    switch (a & 3) {
      case Action.ready:
        n.takeReady(this.#host);
        break;
      case Action.persist:
        n.persist(this.#host);
        break;
      case Action.storageAppend:
        n.storageAppend(this.#host);
        break;
      default:
        n.storageApply(this.#host);
    }
    this.#observe(n);
    return true;
  }

  #send(from: SimNode<S>, m: Message): void {
    this.stats.messagesSent++;
    if (m.type === MessageType.MsgSnap && m.snapshot !== undefined && !members(m.snapshot.metadata.confState).includes(m.to)) {
      // The recipient joined after the last snapshot and would ignore it: like etcd's server,
      // the application sends a fresh snapshot of its applied state instead.
      if (from.snapshotAndCompact(this.#host, Infinity)) this.stats.snapshots++;
      const fresh = from.storage.snapshot();
      if (fresh.metadata.index > m.snapshot.metadata.index) m = { ...m, snapshot: fresh };
    }
    const to = Number(m.to) - 1;
    if (to < 0 || to >= this.nodes.length) {
      this.#drop(m, 4);
      return;
    }
    if (this.network.isCut(from.slot, to)) {
      this.#drop(m, 1);
      this.#feedback.push({ slot: from.slot, to: m.to, snap: m.type === MessageType.MsgSnap ? "failure" : undefined });
      return;
    }
    const res = this.network.send(m, from.slot, to, this.now);
    if (res === "dropped") {
      this.#drop(m, 0);
      this.stats.faults++;
      // A snapshot goes over a stream whose failure the sender learns of.
      if (m.type === MessageType.MsgSnap) this.#feedback.push({ slot: from.slot, to: m.to, snap: "failure" });
    } else if (res === "duplicated") {
      this.stats.messagesDuplicated++;
      this.stats.faults++;
      this.trace.recordMessage(this.now, EventKind.duplicate, m);
    }
  }

  #drop(m: Message, reason: number): void {
    this.stats.messagesDropped++;
    this.trace.recordMessage(this.now, EventKind.drop, m, reason);
  }

  #deliver(f: Flight): void {
    this.network.remove(f);
    const to = this.nodes[f.to]!;
    const m = f.m;
    let reason = -1;
    if (to.removed) reason = 3;
    else if (to.node === undefined) reason = 2;
    else if (this.network.isCut(f.from, f.to)) reason = 1;
    if (reason >= 0) {
      this.#drop(m, reason);
      if (reason !== 3) this.#feedback.push({ slot: f.from, to: m.to, snap: m.type === MessageType.MsgSnap ? "failure" : undefined });
      if (this.#feedback.length > 0) this.#giveFeedback();
      return;
    }
    this.stats.messagesDelivered++;
    this.trace.recordMessage(this.now, EventKind.deliver, m);
    try {
      to.node!.step(copyMessage(m));
    } catch (err) {
      // A forwarded proposal the leader cannot take, or a response from a peer that left the
      // configuration: an application logs and goes on.
      const code = errorCode(err);
      if (code !== "TSRAFT_PROPOSAL_DROPPED" && code !== "TSRAFT_STEP_PEER_NOT_FOUND") throw err;
    }
    if (m.type === MessageType.MsgSnap) this.#feedback.push({ slot: f.from, to: m.to, snap: "finish" });
    this.#observe(to);
  }

  #propose(n: SimNode<S>, count: number): void {
    for (let i = 0; i < count && n.node !== undefined; i++) {
      const seq = ++this.#proposalSeq;
      const data = this.#opts.makeProposal === undefined ? digits(seq) : this.#opts.makeProposal(seq, () => this.#rng.float());
      const ok = n.propose(data);
      this.stats.proposals++;
      this.trace.record(this.now, EventKind.propose, n.slot + 1, ok ? 1 : 0, seq);
      this.#observe(n);
    }
  }

  #restart(n: SimNode<S>): void {
    n.restartAt = 0;
    n.start(this.#host);
    this.trace.record(this.now, EventKind.restart, n.slot + 1, n.incarnation);
    this.#observe(n);
  }

  #crash(n: SimNode<S>): void {
    if (n.node === undefined) return;
    n.crash();
    this.stats.crashes++;
    this.trace.record(this.now, EventKind.crash, n.slot + 1);
    // Connections to the node break: what was in flight to it is lost.
    for (const f of this.network.removeWhere((f) => f.to === n.slot)) {
      this.#drop(f.m, 2);
      this.#feedback.push({ slot: f.from, to: f.m.to, snap: f.m.type === MessageType.MsgSnap ? "failure" : undefined });
    }
    this.#giveFeedback();
  }

  /** Applies one operation now. @throws {@link InvariantViolation} */
  applyOp(op: Op): void {
    this.#guard(() => this.#applyOp(op));
  }

  #applyOp(op: Op): void {
    const nodes = this.nodes;
    const count = nodes.length;
    const slot = (x: number): SimNode<S> => nodes[x % count]!;
    const a = opTraceArgs(op);
    this.trace.record(this.now, EventKind.op, 0, opKindCode(op.t), a[0] ?? 0, a[1] ?? 0, a[2] ?? 0);
    this.stats.faults++;
    switch (op.t) {
      case "partition": {
        const side = new Set(this.#slots.filter((s) => (op.mask & (1 << s)) !== 0));
        this.network.partition(side, this.#slots);
        return;
      }
      case "isolate":
        this.network.partition(new Set([op.n % count]), this.#slots);
        return;
      case "oneway":
        this.network.cutOneWay(op.from % count, op.to % count);
        return;
      case "heal":
        this.network.heal();
        return;
      case "crash": {
        const n = slot(op.n);
        if (n.node === undefined) return;
        this.#crash(n);
        n.restartAt = op.down > 0 ? this.now + op.down : 0;
        return;
      }
      case "crash-leader": {
        const l = this.leader();
        if (l === undefined) return;
        this.#crash(l);
        l.restartAt = op.down > 0 ? this.now + op.down : 0;
        return;
      }
      case "isolate-leader": {
        const l = this.leader();
        if (l !== undefined) this.network.partition(new Set([l.slot]), this.#slots);
        return;
      }
      case "restart": {
        const n = slot(op.n);
        if (n.node === undefined && !n.removed) this.#restart(n);
        return;
      }
      case "net":
        this.network.settings = { drop: op.drop / 100, duplicate: op.dup / 100, maxDelay: op.delay, reorder: op.reorder };
        return;
      case "rate":
        slot(op.n).tickRate = Math.min(8, Math.max(1, op.quarters)) / 4;
        return;
      case "disk":
        slot(op.n).diskDelay = op.delay;
        return;
      case "snapshot": {
        const n = slot(op.n);
        if (n.node !== undefined && n.snapshotAndCompact(this.#host, op.keep)) this.stats.snapshots++;
        return;
      }
      case "conf":
        this.#proposeConfChange(op.kind, op.a, op.b);
        return;
      case "transfer": {
        const l = this.leader();
        if (l === undefined) return;
        l.node!.transferLeader(slot(op.n).id);
        this.#observe(l);
        return;
      }
      case "campaign": {
        const n = slot(op.n);
        if (n.node === undefined) return;
        n.node.campaign();
        this.#observe(n);
        return;
      }
      case "propose": {
        const n = slot(op.n);
        if (n.node !== undefined && !n.removed) this.#propose(n, op.count);
        return;
      }
      case "read":
        this.#read(slot(op.n));
        return;
      case "campaign-learner":
        this.#campaignLearner(op.n);
        return;
      case "crash-after-persist": {
        const n = slot(op.n);
        if (n.node !== undefined) n.crashAfterPersistDown = op.down;
        return;
      }
    }
  }

  /** Node `n` asks for a linearizable read; its context remembers what was committed by then. */
  #read(n: SimNode<S>): void {
    if (n.node === undefined || n.removed) return;
    const ctx = `read:${++this.stats.reads}`;
    this.#reads.set(ctx, this.checker.maxCommitted);
    n.node.readIndex(utf8(ctx));
    this.#observe(n);
  }

  /**
   * ReadStates handed out by `n`: each answers a read we asked (a duplicated request may be
   * answered twice), at a committed index no lower than what was committed when it was asked.
   */
  #checkReads(n: SimNode<S>, rs: readonly { index: number; requestCtx: Uint8Array }[]): void {
    for (const r of rs) {
      this.stats.readsAnswered++;
      const ctx = latin1(r.requestCtx);
      const asked = this.#reads.get(ctx);
      if (asked === undefined) {
        this.#fail("read-linearizable", `node ${n.id} answered a read nobody asked (${JSON.stringify(ctx)})`, [n.slot]);
        continue;
      }
      if (r.index < asked) {
        this.#fail("read-linearizable", `node ${n.id} answered ${ctx} at index ${r.index}, but ${asked} was committed before it was asked (a stale read)`, [
          n.slot,
        ]);
      }
      if (r.index > this.checker.maxCommitted) {
        this.#fail("read-linearizable", `node ${n.id} answered ${ctx} at index ${r.index}, beyond every committed index (${this.checker.maxCommitted})`, [
          n.slot,
        ]);
      }
    }
  }

  /**
   * A follower that knows it is a learner campaigns and is told to time out now: it must stay a
   * follower. (A leader demoted to learner may lead on until it steps down; it is not picked.)
   */
  #campaignLearner(k: number): void {
    const learners = this.nodes.filter((n) => n.node !== undefined && !n.removed && n.node.raft.isLearner && n.node.raft.state === "follower");
    if (learners.length === 0) return;
    const n = learners[k % learners.length]!;
    const l = this.leader();
    n.node!.campaign();
    if (l !== undefined && l !== n) {
      n.node!.step(newMessage(MessageType.MsgTimeoutNow, n.id, l.id, l.node!.raft.term));
    }
    const st = n.node!.raft.state;
    if (st !== "follower") this.#fail("learner-never-campaigns", `learner ${n.id} became ${st} at term ${n.node!.raft.term}`, [n.slot]);
    this.#observe(n);
  }

  /** The leader proposes a membership change of `kind`, if one makes sense now (see membership.ts). */
  #proposeConfChange(kind: ConfKind, a: number, b: number): void {
    const l = this.leader();
    if (l === undefined) return;
    const fresh = this.nodes.filter((n) => !this.#everMember.has(n.slot) && !n.removed).map((n) => n.id);
    const preVote = this.#opts.raft?.preVote ?? this.schedule.options.preVote;
    const cc = membershipChange(kind, l.node!.raft.trk.confState(), fresh, a, b, preVote, BigInt(this.stats.confChanges + 1));
    if (cc === undefined) return;
    this.stats.confChanges++;
    try {
      l.node!.proposeConfChange(cc);
    } catch (err) {
      if (errorCode(err) !== "TSRAFT_PROPOSAL_DROPPED") throw err;
    }
    this.#observe(l);
  }

  #configChanged(prev: ConfState, cs: ConfState): void {
    const now = new Set(members(cs));
    for (const id of now) this.#everMember.add(Number(id) - 1);
    for (const id of members(prev)) {
      if (now.has(id)) continue;
      // The id left the configuration for good: stop its node, as a service stops a removed
      // member (its peers would reject its messages anyway).
      const gone = this.nodes[Number(id) - 1];
      if (gone === undefined || gone.removed) continue;
      gone.removed = true;
      // Stopped after the current event (which may be `n` applying the change).
      this.#removeLater.push(gone);
    }
  }

  readonly #removeLater: SimNode<S>[] = [];

  /** Heals every fault: network cuts, drops, delays, slow clocks and disks; restarts crashed nodes. */
  healAll(): void {
    this.#healed = true;
    this.network.heal();
    this.network.settings = { ...CALM };
    for (const n of this.nodes) {
      n.tickRate = 1;
      n.diskDelay = 0;
      n.crashAfterPersistDown = undefined;
      if (n.node === undefined && !n.removed) this.#guard(() => this.#restart(n));
    }
  }

  /**
   * Heals every fault, then runs until a client proposal made through the leader is applied on
   * every live member of its configuration. Returns the steps it took.
   * @throws {@link InvariantViolation} ("liveness") if that takes longer than the bound.
   */
  checkLiveness(): number {
    this.healAll();
    const start = this.now;
    let lag = 0;
    for (const n of this.nodes) if (!n.removed) lag = Math.max(lag, this.checker.maxCommitted - n.applied);
    const bound = this.#opts.livenessBound ?? defaultLivenessBound(this.schedule, lag);
    const retry = 2 * this.schedule.options.electionTick;
    let probedAt = -Infinity;
    while (this.now - start < bound) {
      this.step();
      const l = this.leader();
      if (l === undefined) continue;
      if (this.#probeIndex === 0 && this.now - probedAt >= retry) {
        const seq = ++this.#proposalSeq;
        const data = this.#opts.makeProposal === undefined ? digits(seq) : this.#opts.makeProposal(seq, () => this.#rng.float());
        this.#probes.add(data);
        probedAt = this.now;
        this.#guard(() => {
          l.propose(data);
          this.#observe(l);
        });
      }
      const cs = l.node!.raft.trk.confState();
      const p = this.#probeIndex;
      if (p > 0 && members(cs).every((id) => this.node(id).up && this.node(id).applied >= p)) {
        this.#recovery = this.now - start;
        return this.#recovery;
      }
    }
    const l = this.leader();
    this.#fail("liveness", `no proposal was applied by every live member within ${bound} steps of healing (leader: ${l === undefined ? "none" : l.id})`, []);
    return -1;
  }

  #fail(name: string, detail: string, slots: readonly number[]): void {
    if (this.#ignored.has(name)) return;
    this.#raise(name, detail, slots);
  }

  #raise(name: string, detail: string, slots: readonly number[]): never {
    const code = encodeSchedule(this.schedule);
    const replay = this.#opts.replayCommand === undefined ? `schedule ${code}` : this.#opts.replayCommand(code);
    const order = [...new Set([...slots, ...this.#slots])];
    const lines = [
      this.checker.describeLeaders(),
      this.checker.describeCommitted(),
      ...order.map((s) => describeNode(this.nodes[s]!)),
      "recent events:",
      ...this.trace.recent(40).map((l) => `  ${l}`),
    ];
    throw new InvariantViolation(name, detail, { seed: this.schedule.seed, step: this.now, event: this.trace.count, replay }, lines.join("\n"));
  }
}

/** The step at which an operation at `at` thousandths of a `steps`-step schedule runs. */
function opStep(at: number, steps: number): number {
  return Math.floor((Math.min(at, 999) * steps) / 1000);
}

/** Runs `schedule` with `options`. @throws {@link InvariantViolation} on the first violation. */
export function runSchedule<S extends StateMachine>(schedule: Schedule, options: SimOptions<S>): SimResult {
  return new Simulator(schedule, options).run();
}

function utf8(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0x7f;
  return out;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function lineLogger(id: NodeId, sink: (line: string) => void): Logger {
  const at = (level: string) => (msg: string) => sink(`    [${id}] ${level}: ${msg}`);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
