// A fast-check property test over 3- and 5-node clusters: random schedules of message
// delivery, drops, duplicates, reorders, partitions, ticks, proposals, restarts, campaigns,
// compactions (and so snapshots), leader transfers and membership changes (learner <-> voter,
// some through joint consensus), with the safety invariants checked after every step:
//
// - election safety: at most one leader per term;
// - log matching: two logs with an entry of the same index and term hold the same entry, and
//   agree on every entry before it;
// - committed entries never change (what any node ever reported committed stays in every log
//   that has the index, and in every later leader's log: leader completeness);
// - state machine safety: every node applies the same entry at each index.
//
// At the end of a schedule the network is healed and must converge: a leader emerges and a
// last proposal is applied everywhere.
//
// Failing schedules found during development are pinned below as regression cases; set
// PROPERTY_REPLAY to a counterexample's JSON to replay one (PROPERTY_TRACE=1 prints raft's
// log, each op and every node's role, term, vote, configuration and log as it runs, and the
// first ticks of the final settling), PROPERTY_STATS=1 to see what the schedules exercised.
// The random schedules come from pinned seeds; PROPERTY_RUNS=k is a soak from a fresh random
// seed, PROPERTY_SEED=n replays one (see the describe block below).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfChangeTransition, ConfChangeType, EntryType, MessageType } from "@tsraft/raftpb";
import type { Entry, NodeId } from "@tsraft/raftpb";
import type { Config } from "@tsraft/raft";
import { Network, enc, type TestNode } from "./harness/network.js";
import { reportingSeed, seededRuns } from "./harness/seeds.js";
import { setFaults, type FaultSwitches } from "../../raft/src/internal/faults.js";

type Op =
  | { t: "ready"; n: number }
  | { t: "readyAll" }
  | { t: "round" }
  | { t: "settle" }
  | { t: "deliverFront"; count: number }
  | { t: "deliver"; k: number }
  | { t: "deliverAll" }
  | { t: "drop"; k: number }
  | { t: "dup"; k: number }
  | { t: "partition"; mask: number }
  | { t: "heal" }
  | { t: "tick"; n: number; times: number }
  | { t: "tickAll"; times: number }
  | { t: "propose"; n: number }
  | { t: "campaign"; n: number }
  | { t: "restart"; n: number; keep: boolean }
  | { t: "compact"; n: number }
  | { t: "transfer"; n: number }
  | { t: "conf"; n: number; joint: boolean }
  | { t: "storage"; n: number };

const opArb = (size: number, async: boolean): fc.Arbitrary<Op> => {
  const node = fc.nat({ max: size - 1 });
  const k = fc.nat({ max: 1000 });
  return fc.oneof(
    { weight: 5, arbitrary: node.map((n) => ({ t: "ready" as const, n })) },
    { weight: 2, arbitrary: fc.constant({ t: "readyAll" as const }) },
    { weight: 8, arbitrary: fc.constant({ t: "round" as const }) },
    { weight: 3, arbitrary: fc.constant({ t: "settle" as const }) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }).map((count) => ({ t: "deliverFront" as const, count })) },
    { weight: 5, arbitrary: k.map((k) => ({ t: "deliver" as const, k })) },
    { weight: 2, arbitrary: fc.constant({ t: "deliverAll" as const }) },
    { weight: 2, arbitrary: k.map((k) => ({ t: "drop" as const, k })) },
    { weight: 1, arbitrary: k.map((k) => ({ t: "dup" as const, k })) },
    { weight: 1, arbitrary: fc.nat({ max: (1 << size) - 1 }).map((mask) => ({ t: "partition" as const, mask })) },
    { weight: 2, arbitrary: fc.constant({ t: "heal" as const }) },
    { weight: 3, arbitrary: fc.record({ n: node, times: fc.integer({ min: 1, max: 15 }) }).map((r) => ({ t: "tick" as const, ...r })) },
    { weight: 4, arbitrary: fc.integer({ min: 1, max: 4 }).map((times) => ({ t: "tickAll" as const, times })) },
    { weight: 8, arbitrary: node.map((n) => ({ t: "propose" as const, n })) },
    { weight: 2, arbitrary: node.map((n) => ({ t: "campaign" as const, n })) },
    { weight: 1, arbitrary: fc.record({ n: node, keep: fc.boolean() }).map((r) => ({ t: "restart" as const, ...r })) },
    { weight: 2, arbitrary: node.map((n) => ({ t: "compact" as const, n })) },
    { weight: 1, arbitrary: node.map((n) => ({ t: "transfer" as const, n })) },
    { weight: 1, arbitrary: fc.record({ n: node, joint: fc.boolean() }).map((r) => ({ t: "conf" as const, ...r })) },
    ...(async ? [{ weight: 6, arbitrary: node.map((n) => ({ t: "storage" as const, n })) }] : []),
  );
};

interface Scenario {
  size: 3 | 5;
  cfg: Partial<Config>;
  ops: Op[];
}

const cfgArb = (async: boolean): fc.Arbitrary<Partial<Config>> =>
  fc.record({
    heartbeatTick: fc.constantFrom(1, 3),
    preVote: fc.boolean(),
    checkQuorum: fc.boolean(),
    maxSizePerMsg: fc.constantFrom(0, 64, 1024 * 1024),
    maxInflightMsgs: fc.constantFrom(1, 2, 256),
    asyncStorageWrites: fc.constant(async),
  });

const scenarioArb = (size: 3 | 5, steps: number, async = false): fc.Arbitrary<Scenario> =>
  fc.record({
    size: fc.constant(size),
    cfg: cfgArb(async),
    ops: fc.array(opArb(size, async), { minLength: Math.floor(steps / 2), maxLength: steps, size: "max" }),
  });

// ---------------------------------------------------------------------------------------------
// The invariant checker.

const dataOf = (e: Entry): string => `${e.type}:${e.data === undefined ? "" : Array.from(e.data).join(",")}`;

class Checker {
  /** term -> the node that was leader in it. */
  readonly leaders = new Map<number, NodeId>();
  /**
   * index -> the committed entry there ("term|data"), and the lowest term of a node seen to
   * hold it committed: it was committed in that term or before, so every leader of that term
   * or later must have it (leader completeness).
   */
  readonly committed = new Map<number, { entry: string; term: number }>();
  /** "index/term" -> the entry's data, as any log ever held it. */
  readonly entries = new Map<string, string>();
  /** index -> the state machine record applied there. */
  readonly applied = new Map<number, string>();
  /** Each node's commit index when last checked (forgotten when it restarts). */
  readonly commits = new Map<NodeId, number>();

  constructor(readonly net: Network) {}

  check(where: string): void {
    const nodes = [...this.net.nodes.values()];
    const logs = new Map<NodeId, { first: number; ents: readonly Entry[] }>();
    for (const tn of nodes) {
      const log = tn.node.raft.raftLog;
      logs.set(tn.id, { first: log.firstIndex(), ents: log.allEntries() });
    }
    for (const tn of nodes) {
      const st = tn.node.basicStatus();
      // Election safety.
      if (st.softState.raftState === "leader") {
        const prev = this.leaders.get(st.hardState.term);
        if (prev !== undefined && prev !== tn.id) fail(where, `two leaders in term ${st.hardState.term}: ${prev} and ${tn.id}`);
        this.leaders.set(st.hardState.term, tn.id);
      }
      const { ents } = logs.get(tn.id)!;
      for (const e of ents) {
        // One entry per (index, term), in every log and at every time.
        const key = `${e.index}/${e.term}`;
        const d = dataOf(e);
        const seen = this.entries.get(key);
        if (seen === undefined) this.entries.set(key, d);
        else if (seen !== d) fail(where, `two different entries at index ${e.index} term ${e.term}`);
      }
      // Committed entries: recorded once, never changed.
      const commit = st.hardState.commit;
      if (commit < (this.commits.get(tn.id) ?? 0)) fail(where, `node ${tn.id}: commit index went back from ${this.commits.get(tn.id)} to ${commit}`);
      this.commits.set(tn.id, commit);
      for (const e of ents) {
        if (e.index > commit) break;
        const c = `${e.term}|${dataOf(e)}`;
        const prev = this.committed.get(e.index);
        if (prev === undefined) this.committed.set(e.index, { entry: c, term: st.hardState.term });
        else if (prev.entry !== c) fail(where, `node ${tn.id}: committed entry ${e.index} changed from ${prev.entry} to ${c}`);
        else if (st.hardState.term < prev.term) prev.term = st.hardState.term;
      }
      // State machine safety.
      for (const r of tn.sm) {
        const rec = `${r.term}|${r.type}|${r.data}`;
        const prev = this.applied.get(r.index);
        if (prev === undefined) this.applied.set(r.index, rec);
        else if (prev !== rec) fail(where, `node ${tn.id}: applied ${rec} at ${r.index}, another node applied ${prev}`);
      }
      if (tn.sm.length !== tn.appliedIndex || (tn.sm.length > 0 && tn.sm[tn.sm.length - 1]!.index !== tn.appliedIndex)) {
        fail(where, `node ${tn.id}: state machine out of step with its applied index`);
      }
    }
    // Log matching: if two logs agree at an index, they agree on everything before it.
    for (let a = 0; a < nodes.length; a++) {
      for (let b = a + 1; b < nodes.length; b++) {
        const la = logs.get(nodes[a]!.id)!;
        const lb = logs.get(nodes[b]!.id)!;
        const lo = Math.max(la.first, lb.first);
        const hi = Math.min(la.first + la.ents.length, lb.first + lb.ents.length) - 1;
        let agreed = false;
        for (let i = hi; i >= lo; i--) {
          const ta = la.ents[i - la.first]!.term;
          const tb = lb.ents[i - lb.first]!.term;
          if (ta === tb) agreed = true;
          else if (agreed) fail(where, `logs of ${nodes[a]!.id} and ${nodes[b]!.id} match at a later index but differ at ${i}`);
        }
      }
    }
    // Leader completeness: the leader of a term holds every entry committed in an earlier or
    // the same term (unless it compacted it). A deposed leader that does not know it yet, of an
    // older term, need not.
    for (const tn of nodes) {
      const st = tn.node.basicStatus();
      if (st.softState.raftState !== "leader") continue;
      const { first, ents } = logs.get(tn.id)!;
      for (const [i, c] of this.committed) {
        if (i < first || c.term > st.hardState.term) continue;
        const e = ents[i - first];
        if (e === undefined || `${e.term}|${dataOf(e)}` !== c.entry) {
          fail(
            where,
            `leader ${tn.id} of term ${st.hardState.term} lacks entry ${i} (${c.entry}), committed by term ${c.term}; it has ${e === undefined ? "nothing" : `${e.term}|${dataOf(e)}`} there (log from ${first})`,
          );
        }
      }
    }
  }
}

class InvariantFailure extends Error {}

function fail(where: string, msg: string): never {
  throw new InvariantFailure(`${msg} (after ${where})`);
}

// ---------------------------------------------------------------------------------------------
// The runner.

/** What the schedules exercised, printed with PROPERTY_STATS=1 (to size and tune the test). */
const stats = new Map<string, number>();
const count = (k: string, n = 1) => stats.set(k, (stats.get(k) ?? 0) + n);
if (process.env["PROPERTY_STATS"] !== undefined) after(() => console.log(Object.fromEntries([...stats].sort())));

/** PROPERTY_TRACE=1 (with PROPERTY_REPLAY): print raft's log, every op and every node's state. */
const tracing = process.env["PROPERTY_TRACE"] !== undefined;
const traceLogger = {
  debug: () => {},
  info: (msg: string) => console.log(`  raft: ${msg}`),
  warn: (msg: string) => console.log(`  raft WARN: ${msg}`),
  error: (msg: string) => console.log(`  raft ERROR: ${msg}`),
};
const num = (_: string, v: unknown): unknown => (typeof v === "bigint" ? Number(v) : v);

function describeNode(tn: TestNode): string {
  const st = tn.node.basicStatus();
  const log = tn.node.raft.raftLog;
  const c = tn.node.status().config;
  const cfg = `${c.voters.join(",")}${c.votersOutgoing.length > 0 ? `&${c.votersOutgoing.join(",")}` : ""}${c.learners.length + c.learnersNext.length > 0 ? ` L${[...c.learners, ...c.learnersNext].join(",")}` : ""}`;
  const terms = log
    .allEntries()
    .map((e) => `${e.term}${e.type === EntryType.EntryNormal ? "" : "c"}`)
    .join(" ");
  return `${tn.id}:${st.softState.raftState}@${st.hardState.term} vote ${st.hardState.vote} lead ${st.softState.lead} commit ${st.hardState.commit} applied ${tn.appliedIndex} cfg [${cfg}] log ${log.firstIndex()}..${log.lastIndex()} [${terms}] stable ${tn.storage.lastIndex()} hs ${JSON.stringify(tn.storage.initialState().hardState, num)}`;
}

/** Runs scenario `sc`, with the fault switches `faults` on in every node (none by default). */
function run(sc: Scenario, faults: Partial<FaultSwitches> = {}): void {
  const ids = Array.from({ length: sc.size }, (_, i) => BigInt(i + 1));
  const cfg = { electionTick: 10, heartbeatTick: 1, ...sc.cfg, ...(tracing ? { logger: traceLogger } : {}) };
  setFaults(cfg, faults);
  const net = new Network(ids, cfg);
  count("runs");
  const async = sc.cfg.asyncStorageWrites === true;
  const checker = new Checker(net);
  let proposal = 0;
  const nodeAt = (n: number): TestNode => net.get(ids[n]!);
  const tryIt = (f: () => void) => {
    try {
      f();
    } catch (err) {
      if ((err as { code?: string }).code !== "TSRAFT_PROPOSAL_DROPPED") throw err;
    }
  };
  const storageWork = (id: NodeId) => {
    while (net.processAppendThread(id));
    while (net.processApplyThread(id));
  };
  checker.check("bootstrap");
  sc.ops.forEach((op, step) => {
    switch (op.t) {
      case "ready":
        net.processReady(ids[op.n]!);
        break;
      case "readyAll":
        for (const id of ids) while (net.processReady(id) !== undefined);
        break;
      case "storage":
        storageWork(ids[op.n]!);
        break;
      case "round":
        net.round();
        break;
      case "settle":
        for (let r = 0; r < 5 && net.round(); r++);
        break;
      case "deliverFront":
        for (let i = 0; i < op.count && net.queue.length > 0; i++) net.deliver(net.queue.shift()!);
        break;
      case "deliver":
        if (net.queue.length > 0) {
          const [m] = net.queue.splice(op.k % net.queue.length, 1);
          net.deliver(m!);
        }
        break;
      case "deliverAll":
        net.deliverAll();
        break;
      case "drop":
        if (net.queue.length > 0) net.drop(net.queue.splice(op.k % net.queue.length, 1)[0]!);
        break;
      case "dup":
        if (net.queue.length > 0) net.queue.push(net.queue[op.k % net.queue.length]!);
        break;
      case "partition": {
        net.heal();
        const side = ids.filter((_, i) => (op.mask >> i) & 1);
        const other = ids.filter((id) => !side.includes(id));
        if (side.length > 0 && other.length > 0) net.partition(side, other);
        break;
      }
      case "heal":
        net.heal();
        break;
      case "tick":
        net.tick(ids[op.n]!, op.times);
        break;
      case "tickAll":
        net.tickAll(op.times);
        break;
      case "propose":
        tryIt(() => {
          nodeAt(op.n).node.propose(enc(`p${proposal++}`));
          count("proposalsTaken");
        });
        break;
      case "campaign":
        nodeAt(op.n).node.campaign();
        break;
      case "restart": {
        // A state machine that survives the restart is safe only with synchronous writes (the
        // apply thread may run ahead of the durable commit index otherwise).
        net.restart(ids[op.n]!, { keepStateMachine: op.keep && !async });
        // What was not persisted is lost: the commit index may come back lower.
        checker.commits.delete(ids[op.n]!);
        break;
      }
      case "compact": {
        const tn = nodeAt(op.n);
        if (tn.appliedIndex > tn.storage.snapshot().metadata.index && tn.appliedIndex <= tn.storage.lastIndex()) net.compact(tn.id);
        break;
      }
      case "transfer": {
        const l = net.leader();
        if (l !== undefined) l.node.transferLeader(ids[op.n]!);
        break;
      }
      case "conf": {
        const l = net.leader();
        if (l === undefined) break;
        const cfg = l.node.status().config;
        if (cfg.votersOutgoing.length > 0) break; // joint: the leader leaves it by itself
        const target = ids[op.n]!;
        const isVoter = cfg.voters.includes(target);
        // The leader may demote itself: it hands leadership over (handOverOnRemoval), and the
        // two pinned "demoted leader" schedules show what happens when that is cut short.
        if (op.joint) {
          // Swap roles of the target and another node in one joint change.
          const other = ids.find((id) => id !== target && id !== l.id && cfg.voters.includes(id) !== isVoter);
          if (other === undefined) break;
          const changes = [target, other].map((id) => ({
            type: cfg.voters.includes(id) ? ConfChangeType.ConfChangeAddLearnerNode : ConfChangeType.ConfChangeAddNode,
            nodeId: id,
          }));
          tryIt(() => l.node.proposeConfChange({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes }));
        } else {
          if (isVoter && cfg.voters.length < 2) break; // never demote the last voter
          const type = isVoter ? ConfChangeType.ConfChangeAddLearnerNode : ConfChangeType.ConfChangeAddNode;
          tryIt(() => l.node.proposeConfChange({ type, nodeId: target, id: 0n }));
        }
        break;
      }
    }
    checker.check(`step ${step}: ${JSON.stringify(op)}`);
    if (tracing) {
      console.log(`step ${step}: ${JSON.stringify(op)}; queue: ${net.queue.map((m) => `${MessageType[m.type]} ${m.from}->${m.to} t${m.term}`).join(", ")}`);
      for (const id of ids) console.log(`  ${describeNode(net.get(id))}`);
    }
    if (net.leader() !== undefined) count("stepsWithLeader");
  });

  count("committedDuringSchedule", checker.committed.size);
  count("snapshotsDuringSchedule", net.delivered.filter((m) => m.type === MessageType.MsgSnap).length);
  // Liveness: heal, let the cluster settle, and require a last proposal to reach everyone.
  net.heal();
  let done = false;
  const settle = (tick: number) => {
    for (let r = 0; r < 100 && net.round(); r++) checker.check(`settling, tick ${tick}, round ${r}`);
  };
  for (let tick = 0; tick < 400 && !done; tick++) {
    net.tickAll();
    settle(tick);
    if (tracing && tick < 60) {
      console.log(`settle tick ${tick}`);
      for (const id of ids) console.log(`  ${describeNode(net.get(id))}`);
    }
    const l = net.leader();
    if (l === undefined || tick % 20 !== 19) continue;
    tryIt(() => l.node.propose(enc("final")));
    settle(tick);
    done = ids.every((id) => net.appliedData(id).includes("final"));
  }
  checker.check("end");
  count("steps", sc.ops.length);
  count("maxTerm", Math.max(...ids.map((id) => net.term(id))));
  count("committed", checker.committed.size);
  for (const m of net.delivered) count(`msg:${MessageType[m.type]}`);
  for (const tn of net.nodes.values()) for (const e of tn.applied) if (e.type !== EntryType.EntryNormal) count("confChangesApplied");
  if (!done) {
    const states = ids.map((id) => `${id}:${net.state(id)}@${net.term(id)} commit ${net.commit(id)} applied ${net.get(id).appliedIndex}`);
    if (process.env["PROPERTY_STATS"] !== undefined) {
      const l = net.leader();
      if (l !== undefined)
        console.log(l.node.raft.trk.progress.toString(), "leader log", l.node.raft.raftLog.toString(), "storage first", l.storage.firstIndex());
      for (const id of ids) {
        const tn = net.get(id);
        console.log(
          id,
          tn.node.raft.raftLog.toString(),
          "storage",
          tn.storage.firstIndex(),
          tn.storage.lastIndex(),
          "queues",
          tn.appendQueue.length,
          tn.applyQueue.length,
          "config",
          JSON.stringify(tn.node.status().config, (_, v: unknown) => (typeof v === "bigint" ? Number(v) : v)),
          "lastTerm",
          tn.node.raft.raftLog.lastTerm(),
          "vote",
          tn.node.basicStatus().hardState.vote,
          "storage conf",
          JSON.stringify(tn.storage.initialState().confState, (_, v: unknown) => (typeof v === "bigint" ? Number(v) : v)),
        );
      }
      console.log(
        net.delivered
          .slice(-12)
          .map(
            (m) =>
              `${MessageType[m.type]} ${m.from}->${m.to} t${m.term} i${m.index} lt${m.logTerm} r${m.reject ? 1 : 0} h${m.rejectHint} n${m.entries.length} c${m.commit} s${m.snapshot?.metadata.index ?? "-"}`,
          )
          .join("\n"),
      );
    }
    throw new InvariantFailure(`the healed cluster did not converge: ${states.join("; ")}`);
  }
  const first = net.get(ids[0]!).sm;
  for (const id of ids) {
    const sm = net.get(id).sm;
    assert.deepEqual(sm.slice(0, Math.min(sm.length, first.length)), first.slice(0, Math.min(sm.length, first.length)));
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Failing schedules found while developing this test (fast-check's shrunk counterexamples),
 * replayed on every run. Each names what it found.
 */
const pinned: Array<{ name: string; scenario: Scenario }> = [
  {
    // A duplicated MsgProp (the same object delivered twice in process) had the leader stamp
    // new indexes on entries already in its log: a MsgApp with a gap, then a corrupt storage.
    // Fixed in RawNode.step (proposals are copied); also raw-node.test.ts.
    name: "duplicated forwarded proposal",
    scenario: JSON.parse(
      '{"size":3,"cfg":{"heartbeatTick":1,"preVote":true,"checkQuorum":false,"maxSizePerMsg":0,"maxInflightMsgs":1,"asyncStorageWrites":false},"ops":[{"t":"propose","n":0},{"t":"compact","n":0},{"t":"deliverFront","count":1},{"t":"deliverAll"},{"t":"ready","n":0},{"t":"tickAll"},{"t":"drop","k":0},{"t":"round"},{"t":"conf","n":0,"joint":false},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"partition","mask":0},{"t":"deliver","k":0},{"t":"campaign","n":0},{"t":"dup","k":0},{"t":"deliver","k":0},{"t":"campaign","n":0},{"t":"readyAll"},{"t":"deliver","k":0},{"t":"deliver","k":0},{"t":"drop","k":0},{"t":"round"},{"t":"deliverFront","count":1},{"t":"compact","n":0},{"t":"round"},{"t":"readyAll"},{"t":"readyAll"},{"t":"propose","n":0},{"t":"tickAll"},{"t":"heal"},{"t":"deliverFront","count":1},{"t":"round"},{"t":"deliver","k":0},{"t":"deliverAll"},{"t":"ready","n":0},{"t":"partition","mask":0},{"t":"deliverFront","count":1},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"ready","n":1},{"t":"campaign","n":1},{"t":"deliver","k":0},{"t":"ready","n":0},{"t":"ready","n":0},{"t":"round"},{"t":"drop","k":0},{"t":"deliverAll"},{"t":"propose","n":1},{"t":"drop","k":0},{"t":"ready","n":2},{"t":"readyAll"},{"t":"dup","k":378},{"t":"deliverAll"},{"t":"ready","n":0},{"t":"campaign","n":0},{"t":"deliver","k":0},{"t":"ready","n":0},{"t":"readyAll"},{"t":"ready","n":0},{"t":"deliver","k":0},{"t":"deliverAll"},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"deliverAll"},{"t":"campaign","n":0},{"t":"deliver","k":0},{"t":"tick","n":0,"times":1},{"t":"drop","k":0},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"campaign","n":0},{"t":"dup","k":0},{"t":"ready","n":0},{"t":"round"},{"t":"round"}]}',
    ) as Scenario,
  },
  {
    // A node restarted before persisting its bootstrap entries came back empty and, learning
    // the log one entry at a time, made itself a single-voter cluster and won an election
    // alone. The harness now bootstraps such a node again, as an application does.
    name: "restart before the bootstrap was persisted",
    scenario: JSON.parse(
      '{"size":5,"cfg":{"heartbeatTick":1,"preVote":false,"checkQuorum":false,"maxSizePerMsg":0,"maxInflightMsgs":1,"asyncStorageWrites":false},"ops":[{"t":"restart","n":0,"keep":false},{"t":"round"},{"t":"tick","n":1,"times":10},{"t":"tickAll"},{"t":"round"},{"t":"deliver","k":0},{"t":"round"},{"t":"ready","n":0},{"t":"deliver","k":0},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"round"},{"t":"deliver","k":0},{"t":"deliver","k":0},{"t":"heal"},{"t":"heal"},{"t":"deliver","k":0},{"t":"restart","n":0,"keep":false},{"t":"deliverAll"},{"t":"deliverFront","count":1},{"t":"ready","n":0},{"t":"conf","n":0,"joint":false},{"t":"deliver","k":0},{"t":"readyAll"},{"t":"readyAll"},{"t":"campaign","n":0},{"t":"round"},{"t":"deliver","k":0},{"t":"ready","n":0},{"t":"round"},{"t":"tick","n":0,"times":1},{"t":"deliver","k":0},{"t":"tickAll"},{"t":"deliverAll"},{"t":"tick","n":0,"times":1},{"t":"tick","n":0,"times":1},{"t":"drop","k":0},{"t":"deliver","k":0},{"t":"propose","n":0},{"t":"tickAll"},{"t":"drop","k":0},{"t":"campaign","n":0},{"t":"propose","n":0},{"t":"deliver","k":0},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"tickAll"},{"t":"partition","mask":0},{"t":"deliverFront","count":1},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"campaign","n":0},{"t":"deliver","k":0},{"t":"compact","n":0},{"t":"deliverAll"},{"t":"partition","mask":0},{"t":"round"},{"t":"tickAll"},{"t":"round"},{"t":"transfer","n":0},{"t":"ready","n":0},{"t":"deliver","k":0},{"t":"drop","k":0},{"t":"round"},{"t":"transfer","n":0},{"t":"ready","n":0},{"t":"drop","k":0},{"t":"deliver","k":0},{"t":"round"},{"t":"deliverAll"},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"round"},{"t":"propose","n":0},{"t":"tickAll"},{"t":"round"},{"t":"ready","n":0},{"t":"round"},{"t":"deliver","k":0},{"t":"ready","n":0}]}',
    ) as Scenario,
  },
  {
    // A MsgSnap dropped without telling the leader left the follower in StateSnapshot for good
    // (as in etcd, the application must report it): the harness now reports lost snapshots.
    name: "a lost snapshot is reported",
    scenario: JSON.parse(
      '{"size":3,"cfg":{"heartbeatTick":1,"preVote":false,"checkQuorum":false,"maxSizePerMsg":0,"maxInflightMsgs":1,"asyncStorageWrites":true},"ops":[{"t":"tick","n":1,"times":4},{"t":"tick","n":1,"times":6},{"t":"partition","mask":6},{"t":"deliverAll"},{"t":"propose","n":0},{"t":"round"},{"t":"compact","n":0},{"t":"deliverAll"},{"t":"deliverAll"},{"t":"deliverFront","count":1},{"t":"deliver","k":0},{"t":"propose","n":0},{"t":"tick","n":1,"times":1},{"t":"propose","n":0},{"t":"deliverFront","count":1},{"t":"storage","n":0},{"t":"restart","n":0,"keep":false},{"t":"deliver","k":0},{"t":"ready","n":0},{"t":"ready","n":0},{"t":"deliverAll"},{"t":"round"},{"t":"propose","n":0},{"t":"readyAll"},{"t":"round"},{"t":"deliver","k":0},{"t":"round"},{"t":"propose","n":0},{"t":"storage","n":0},{"t":"round"},{"t":"conf","n":0,"joint":false},{"t":"round"},{"t":"propose","n":0},{"t":"readyAll"},{"t":"propose","n":0},{"t":"compact","n":1},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"ready","n":0},{"t":"deliver","k":0},{"t":"partition","mask":0},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"deliverAll"},{"t":"deliverFront","count":1},{"t":"heal"},{"t":"ready","n":0},{"t":"tick","n":0,"times":1},{"t":"tick","n":0,"times":1},{"t":"tickAll"},{"t":"propose","n":0},{"t":"ready","n":1},{"t":"deliverAll"},{"t":"ready","n":0},{"t":"deliver","k":0},{"t":"storage","n":0},{"t":"readyAll"},{"t":"storage","n":0},{"t":"ready","n":0},{"t":"readyAll"},{"t":"storage","n":0},{"t":"deliver","k":31},{"t":"storage","n":0},{"t":"storage","n":0},{"t":"tickAll"},{"t":"storage","n":0},{"t":"tickAll"},{"t":"heal"},{"t":"tickAll"},{"t":"storage","n":0},{"t":"compact","n":0},{"t":"drop","k":0},{"t":"ready","n":0},{"t":"storage","n":0},{"t":"storage","n":0},{"t":"ready","n":0},{"t":"drop","k":0}]}',
    ) as Scenario,
  },
  {
    // PROPERTY_SEED=-752965563: leader 3 of the joint configuration {1,2}&&{2,3} left it
    // (demoting itself to learner) while holding an entry the others lacked, and lost its
    // leadership to a higher term before its hand-over finished. Nodes 1 and 2 never learned
    // that the leave-joint entry committed, so they still needed 3's vote, which 3 refused
    // (its log was longer), and 3, a learner in its own configuration, never campaigned: no
    // leader ever again (etcd-io/raft has the same hole). Fixed in election.ts: a non-voter
    // asked for its vote by a candidate with a shorter log campaigns to hand leadership over.
    name: "a demoted leader deposed before its hand-over",
    scenario: JSON.parse(
      '{"size":3,"cfg":{"heartbeatTick":3,"preVote":false,"checkQuorum":true,"maxSizePerMsg":1048576,"maxInflightMsgs":1,"asyncStorageWrites":false},"ops":[{"t":"round"},{"t":"campaign","n":0},{"t":"round"},{"t":"round"},{"t":"transfer","n":1},{"t":"round"},{"t":"settle"},{"t":"round"},{"t":"tick","n":1,"times":15},{"t":"heal"},{"t":"drop","k":0},{"t":"deliverFront","count":1},{"t":"tickAll","times":2},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"deliver","k":0},{"t":"propose","n":0},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"ready","n":0},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"tick","n":0,"times":1},{"t":"ready","n":0},{"t":"conf","n":2,"joint":false},{"t":"propose","n":0},{"t":"settle"},{"t":"compact","n":0},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"heal"},{"t":"ready","n":0},{"t":"heal"},{"t":"tick","n":0,"times":1},{"t":"conf","n":0,"joint":true},{"t":"round"},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"deliverAll"},{"t":"settle"},{"t":"propose","n":0},{"t":"settle"},{"t":"round"},{"t":"ready","n":0},{"t":"ready","n":0},{"t":"deliver","k":0},{"t":"deliverAll"},{"t":"round"},{"t":"readyAll"},{"t":"deliverAll"},{"t":"partition","mask":6},{"t":"settle"},{"t":"deliver","k":0},{"t":"restart","n":0,"keep":false},{"t":"deliverFront","count":1},{"t":"round"},{"t":"tick","n":1,"times":7},{"t":"readyAll"},{"t":"tickAll","times":3},{"t":"compact","n":0},{"t":"deliver","k":0},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"propose","n":1},{"t":"propose","n":0},{"t":"round"},{"t":"round"},{"t":"round"},{"t":"round"},{"t":"heal"},{"t":"ready","n":0},{"t":"tick","n":0,"times":1},{"t":"settle"},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"campaign","n":0},{"t":"propose","n":0},{"t":"compact","n":0},{"t":"campaign","n":0},{"t":"compact","n":0},{"t":"settle"},{"t":"conf","n":0,"joint":true},{"t":"ready","n":0},{"t":"deliver","k":0},{"t":"restart","n":0,"keep":false},{"t":"compact","n":2},{"t":"ready","n":0},{"t":"round"},{"t":"ready","n":0},{"t":"settle"},{"t":"propose","n":0},{"t":"deliverAll"},{"t":"tickAll","times":2},{"t":"tick","n":1,"times":1},{"t":"compact","n":0},{"t":"round"},{"t":"readyAll"},{"t":"conf","n":0,"joint":false},{"t":"round"},{"t":"round"},{"t":"propose","n":0},{"t":"tick","n":0,"times":1},{"t":"heal"},{"t":"campaign","n":2},{"t":"deliverFront","count":1},{"t":"round"},{"t":"tickAll","times":1},{"t":"ready","n":0},{"t":"deliverAll"},{"t":"propose","n":0},{"t":"round"},{"t":"drop","k":0},{"t":"deliver","k":0},{"t":"settle"},{"t":"round"},{"t":"propose","n":2},{"t":"campaign","n":0},{"t":"partition","mask":0},{"t":"partition","mask":2},{"t":"campaign","n":0},{"t":"conf","n":0,"joint":false},{"t":"campaign","n":0},{"t":"round"},{"t":"compact","n":0},{"t":"deliverFront","count":1},{"t":"campaign","n":0},{"t":"settle"},{"t":"tickAll","times":1},{"t":"ready","n":0},{"t":"deliverAll"},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"deliver","k":0},{"t":"round"},{"t":"round"},{"t":"ready","n":0},{"t":"drop","k":0},{"t":"conf","n":0,"joint":false},{"t":"deliverFront","count":1},{"t":"deliverFront","count":1},{"t":"tickAll","times":1},{"t":"campaign","n":0},{"t":"dup","k":0},{"t":"round"},{"t":"drop","k":0},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"tickAll","times":1},{"t":"deliver","k":0},{"t":"tick","n":0,"times":1},{"t":"tickAll","times":1},{"t":"settle"}]}',
    ) as Scenario,
  },
  {
    // Found by a soak (random seed 1703682943, asyncStorageWrites) once the leader could be
    // demoted: leader 2 of voters {1,2} demoted itself to learner ({1}, learners {2,3}) while
    // holding an entry node 1 lacked; node 1, not knowing the change committed, campaigned
    // in {1,2}, which deposed 2 mid hand-over and needed its vote, refused for the longer log.
    // The same fix: 2 campaigns in its own configuration {1} and hands over.
    name: "a demoted leader of two voters deposed by the other's campaign (asyncStorageWrites)",
    scenario: JSON.parse(
      '{"size":3,"cfg":{"heartbeatTick":1,"preVote":false,"checkQuorum":false,"maxSizePerMsg":0,"maxInflightMsgs":1,"asyncStorageWrites":true},"ops":[{"t":"storage","n":0},{"t":"tick","n":0,"times":2},{"t":"storage","n":0},{"t":"round"},{"t":"round"},{"t":"tickAll","times":1},{"t":"deliver","k":0},{"t":"partition","mask":0},{"t":"round"},{"t":"deliverAll"},{"t":"storage","n":0},{"t":"ready","n":0},{"t":"tickAll","times":3},{"t":"ready","n":0},{"t":"ready","n":0},{"t":"compact","n":0},{"t":"ready","n":0},{"t":"partition","mask":0},{"t":"storage","n":0},{"t":"drop","k":0},{"t":"settle"},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"drop","k":0},{"t":"partition","mask":0},{"t":"deliverFront","count":1},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"round"},{"t":"dup","k":0},{"t":"propose","n":0},{"t":"tickAll","times":4},{"t":"readyAll"},{"t":"storage","n":0},{"t":"ready","n":0},{"t":"settle"},{"t":"deliver","k":0},{"t":"deliver","k":0},{"t":"propose","n":1},{"t":"drop","k":0},{"t":"heal"},{"t":"deliver","k":0},{"t":"round"},{"t":"dup","k":0},{"t":"dup","k":0},{"t":"storage","n":0},{"t":"deliverAll"},{"t":"compact","n":0},{"t":"compact","n":0},{"t":"campaign","n":0},{"t":"round"},{"t":"tick","n":0,"times":1},{"t":"round"},{"t":"round"},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"round"},{"t":"deliver","k":0},{"t":"propose","n":0},{"t":"readyAll"},{"t":"tick","n":0,"times":1},{"t":"tickAll","times":1},{"t":"deliverFront","count":1},{"t":"tick","n":1,"times":9},{"t":"deliverFront","count":1},{"t":"deliverFront","count":1},{"t":"heal"},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"round"},{"t":"dup","k":0},{"t":"propose","n":0},{"t":"deliverAll"},{"t":"round"},{"t":"deliver","k":0},{"t":"readyAll"},{"t":"propose","n":0},{"t":"deliver","k":0},{"t":"deliverFront","count":1},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"round"},{"t":"propose","n":0},{"t":"ready","n":0},{"t":"propose","n":0},{"t":"deliver","k":0},{"t":"settle"},{"t":"deliver","k":0},{"t":"deliver","k":0},{"t":"readyAll"},{"t":"storage","n":0},{"t":"conf","n":2,"joint":false},{"t":"deliver","k":0},{"t":"round"},{"t":"tick","n":0,"times":1},{"t":"ready","n":0},{"t":"settle"},{"t":"deliverFront","count":1},{"t":"deliver","k":0},{"t":"round"},{"t":"conf","n":1,"joint":false},{"t":"tickAll","times":1},{"t":"tickAll","times":1},{"t":"round"},{"t":"deliver","k":0},{"t":"readyAll"},{"t":"deliver","k":0},{"t":"transfer","n":1},{"t":"round"},{"t":"propose","n":1},{"t":"storage","n":0},{"t":"partition","mask":1},{"t":"settle"},{"t":"tick","n":0,"times":1},{"t":"deliver","k":0},{"t":"compact","n":0},{"t":"storage","n":0},{"t":"deliverAll"},{"t":"compact","n":0},{"t":"compact","n":0},{"t":"deliver","k":0},{"t":"ready","n":0},{"t":"storage","n":0},{"t":"deliverFront","count":1},{"t":"settle"},{"t":"readyAll"},{"t":"storage","n":0},{"t":"deliverAll"},{"t":"deliverFront","count":1},{"t":"campaign","n":0},{"t":"drop","k":0},{"t":"heal"},{"t":"deliver","k":0},{"t":"tickAll","times":1},{"t":"partition","mask":0},{"t":"storage","n":0},{"t":"conf","n":0,"joint":false},{"t":"tickAll","times":1},{"t":"transfer","n":0},{"t":"readyAll"},{"t":"round"},{"t":"heal"},{"t":"deliverAll"},{"t":"propose","n":0},{"t":"tickAll","times":1},{"t":"tickAll","times":1},{"t":"drop","k":0}]}',
    ) as Scenario,
  },
];

/** Replays a schedule given as JSON in PROPERTY_REPLAY (a counterexample from a failure report). */
const replay = process.env["PROPERTY_REPLAY"];
if (replay !== undefined) {
  test("replay PROPERTY_REPLAY", () => {
    const sc = JSON.parse(replay) as Scenario | [Scenario];
    run(Array.isArray(sc) ? sc[0] : sc);
  });
}

describe("randomized cluster schedules keep Raft's safety properties", () => {
  // `pnpm test` replays the pinned seeds (harness/seeds.ts), sharing `runs` between them, so
  // its verdict never changes between runs. PROPERTY_RUNS=k is a soak: k times the runs from
  // a fresh random seed (in the test name, and printed on failure); PROPERTY_SEED=n replays
  // seed n (PROPERTY_SEED=random draws one), with the full runs of each case.
  const cases: Array<{ name: string; size: 3 | 5; steps: number; runs: number; seeds: number[]; async?: boolean }> = [
    // Sized for ~7 s on an idle 2-core machine (~12 s when loaded), next to the simulator's
    // own schedules (simulator.test.ts).
    { name: "3 nodes", size: 3, steps: 300, runs: 300, seeds: [1, 2, 3] },
    { name: "5 nodes", size: 5, steps: 300, runs: 130, seeds: [4, 5] },
    { name: "3 nodes, asyncStorageWrites", size: 3, steps: 300, runs: 150, seeds: [6, 7], async: true },
  ];
  const scale = Number(process.env["PROPERTY_RUNS"] ?? "1");
  const env = { seed: process.env["PROPERTY_SEED"], soak: process.env["PROPERTY_RUNS"] !== undefined };
  for (const c of cases) {
    for (const r of seededRuns(c.seeds, Math.round(c.runs * scale), env)) {
      test(`${c.name}, ${r.random ? "random " : ""}seed ${r.seed} (${r.runs} schedules)`, () => {
        const runs = env.soak ? ` PROPERTY_RUNS=${scale}` : "";
        const rerun = `PROPERTY_SEED=${r.seed}${runs} pnpm test packages/raft-test/test/property.test.ts --test-name-pattern="^${c.name}, seed"`;
        reportingSeed(r, rerun, () => {
          fc.assert(
            fc.property(scenarioArb(c.size, c.steps, c.async), (sc) => run(sc)),
            { numRuns: r.runs, seed: r.seed },
          );
        });
      });
    }
  }
  for (const p of pinned) test(`pinned: ${p.name}`, () => run(p.scenario));
});

describe("the checker catches broken safety rules (a checker that cannot fail is not a checker)", () => {
  const cases: Array<{ name: string; fault: keyof FaultSwitches; size: 3 | 5 }> = [
    // (The other fault switches need schedules too specific for a few hundred random runs:
    // Figure 8 is checked deterministically in paper.test.ts, heartbeat commits in
    // replication.test.ts.)
    { name: "votes granted without the up-to-date check", fault: "grantVotesWithoutLogCheck", size: 3 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      // Only the checker's own findings count: with a rule broken, raft may also trip over
      // its internal invariants (or stop making progress), which proves nothing here.
      const out = fc.check(
        fc.property(scenarioArb(c.size, 300), (sc) => {
          try {
            run(sc, { [c.fault]: true });
          } catch (err) {
            if (err instanceof InvariantFailure && !err.message.startsWith("the healed cluster")) throw err;
          }
        }),
        { numRuns: Number(process.env["FAULT_RUNS"] ?? "300"), seed: 42, endOnFailure: true },
      );
      if (process.env["PROPERTY_STATS"] !== undefined) console.log(c.fault, out.numRuns, String(out.errorInstance).slice(0, 200));
      assert.equal(out.failed, true, "the broken rule went unnoticed");
      assert.ok(out.errorInstance instanceof InvariantFailure, String(out.errorInstance));
    });
  }
});
