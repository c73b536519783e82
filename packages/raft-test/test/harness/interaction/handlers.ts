/**
 * The commands of interaction scripts, in etcd-io/raft's command language. `handle(env, tc)`
 * runs one stanza and returns its output: everything the nodes logged and the harness rendered,
 * `ok` when that is nothing, or the error text when the command failed.
 *
 * Commands (node arguments are 1-based ids):
 *
 *   add-nodes N [voters=(..) learners=(..) index=I content=S inflight=K async-storage-writes=b
 *               prevote=b checkquorum=b max-committed-size-per-ready=K
 *               disable-conf-change-validation=b read-only=safe|lease-based
 *               step-down-on-removal=b max-inflight-bytes=K max-size-per-msg=K
 *               max-uncommitted-size=K election-tick=K heartbeat-tick=K]
 *   campaign ID | propose ID DATA | propose-conf-change ID [v1=b transition=auto|implicit|explicit]
 *   (input: v1 l2 r3 u4) | read-index ID CTX | transfer-leadership from=ID to=ID
 *   forget-leader ID | report-unreachable ID PEER | report-snapshot ID PEER [status=finish|failure]
 *   tick-heartbeat ID | tick-election ID | tick ID [N] | set-randomized-election-timeout ID timeout=K
 *   process-ready ID... | process-append-thread ID... | process-apply-thread ID...
 *   deliver-msgs [ID...] [drop=(ID..)] [type=MsgX] | stabilize [ID...] [log-level=L]
 *   send-snapshot FROM TO | compact ID NEW_FIRST_INDEX | raft-log ID | raft-state | status ID
 *   log-level L | _breakpoint
 */
import { readFileSync } from "node:fs";
import { ConfChangeTransition, MessageType } from "@tsraft/raftpb";
import type { ConfChange, ConfChangeV2, Message, Snapshot } from "@tsraft/raftpb";
import { describeEntries, describeMessage, emptyConfState } from "@tsraft/raftpb";
import { RawNode, type Config } from "@tsraft/raft";
import { confChangesFromString } from "../../../../raft/src/confchange/index.js";
import { stateName } from "../../../../raft/src/raft.js";
import { describeProgressMap } from "../../../../raft/src/tracker/index.js";
import type { TestCase } from "../datadriven.js";
import { HistoryStorage, InteractionEnv, errorText, type Node, type Recipient } from "./env.js";
import { LEVEL_NONE, parseLevel } from "./logger.js";

/** A script error: the stanza itself is wrong (not a raft outcome). */
class ScriptError extends Error {}

function fail(tc: TestCase, msg: string): never {
  throw new ScriptError(`${tc.pos}: ${tc.cmd}: ${msg}`);
}

/** The positional arguments (those without `=`), as integers. */
function positionalInts(tc: TestCase): number[] {
  return tc.args
    .filter((a) => a.vals.length === 0)
    .map((a) => {
      const n = Number(a.key);
      if (!Number.isSafeInteger(n)) fail(tc, `not an integer: ${a.key}`);
      return n;
    });
}

/** The nodes named by the positional arguments. */
function nodesOf(env: InteractionEnv, tc: TestCase): Node[] {
  return positionalInts(tc).map((id) => nodeOf(env, tc, id));
}

function nodeOf(env: InteractionEnv, tc: TestCase, id: number): Node {
  const n = env.nodes[id - 1];
  if (n === undefined) fail(tc, `no node ${id}`);
  return n;
}

/** The one node named by the first positional argument. */
function firstNode(env: InteractionEnv, tc: TestCase): Node {
  const a = tc.args[0];
  if (a === undefined || a.vals.length > 0) fail(tc, "needs a node id first");
  const id = Number(a.key);
  if (!Number.isSafeInteger(id)) fail(tc, `not a node id: ${a.key}`);
  return nodeOf(env, tc, id);
}

function parseBool(tc: TestCase, key: string, v: string): boolean {
  if (v === "true" || v === "1" || v === "t" || v === "T" || v === "TRUE" || v === "True") return true;
  if (v === "false" || v === "0" || v === "f" || v === "F" || v === "FALSE" || v === "False") return false;
  fail(tc, `${key}: not a bool: ${v}`);
}

function parseInt_(tc: TestCase, key: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) fail(tc, `${key}: not a non-negative integer: ${v}`);
  return n;
}

/** The single value of `key=v`, or undefined. */
function argVal(tc: TestCase, key: string): string | undefined {
  const a = tc.args.find((x) => x.key === key);
  if (a === undefined) return undefined;
  if (a.vals.length !== 1) fail(tc, `${key} needs one value`);
  return a.vals[0];
}

const fileLines = new Map<string, string[]>();

/**
 * Word `k` of the directive line as written. cockroachdb's datadriven keeps the quotes of a
 * quoted argument in its key (`propose 1 "foo"` proposes the five bytes `"foo"`), while our
 * parser unquotes; the payload of `propose` is taken from the raw line to stay faithful.
 */
function rawWord(tc: TestCase, k: number): string {
  let lines = fileLines.get(tc.file);
  if (lines === undefined) {
    lines = readFileSync(tc.file, "utf8").split("\n");
    fileLines.set(tc.file, lines);
  }
  const words = (lines[tc.line - 1] ?? "").trim().split(/\s+/);
  const w = words[k];
  if (w === undefined) fail(tc, `no word ${k} in the directive`);
  return w;
}

function encodeText(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

// ---------------------------------------------------------------------------------------------
// add-nodes

/** etcd's harness defaults: no size limits, ElectionTick 3, HeartbeatTick 1. */
function configStub(): Omit<Config, "id" | "storage"> & { heartbeatTick: number } {
  return {
    electionTick: 3,
    heartbeatTick: 1,
    maxSizePerMsg: Number.MAX_SAFE_INTEGER,
    maxInflightMsgs: 2 ** 31 - 1,
    // etcd's Config defaults to false (tsraft's to true); the scripts set it when they want it.
    stepDownOnRemoval: false,
    // etcd broadcasts every proposal at once; tsraft batches them per Ready by default. The
    // scripts' expected output is etcd's message pattern; `batch-proposals=true` opts in.
    batchProposals: false,
    // etcd steps a removed leader down at once; tsraft hands leadership over first by default.
    handOverOnRemoval: false,
  };
}

function handleAddNodes(env: InteractionEnv, tc: TestCase): void {
  const ints = positionalInts(tc);
  if (ints.length !== 1) fail(tc, "needs the number of nodes");
  const count = ints[0]!;
  const cfg = configStub();
  const cs = emptyConfState();
  let index = 0;
  let content: Uint8Array | undefined;
  for (const a of tc.args) {
    for (const v of a.vals) {
      switch (a.key) {
        case "voters":
          cs.voters.push(BigInt(v));
          break;
        case "learners":
          cs.learners.push(BigInt(v));
          break;
        case "inflight":
          cfg.maxInflightMsgs = parseInt_(tc, a.key, v);
          break;
        case "max-inflight-bytes":
          cfg.maxInflightBytes = parseInt_(tc, a.key, v);
          break;
        case "max-size-per-msg":
          cfg.maxSizePerMsg = parseInt_(tc, a.key, v);
          break;
        case "max-uncommitted-size":
          cfg.maxUncommittedEntriesSize = parseInt_(tc, a.key, v);
          break;
        case "election-tick":
          cfg.electionTick = parseInt_(tc, a.key, v);
          break;
        case "heartbeat-tick":
          cfg.heartbeatTick = parseInt_(tc, a.key, v);
          break;
        case "index":
          index = parseInt_(tc, a.key, v);
          cfg.applied = index;
          break;
        case "content":
          content = encodeText(v);
          break;
        case "async-storage-writes":
          cfg.asyncStorageWrites = parseBool(tc, a.key, v);
          break;
        case "prevote":
          cfg.preVote = parseBool(tc, a.key, v);
          break;
        case "checkquorum":
          cfg.checkQuorum = parseBool(tc, a.key, v);
          break;
        case "max-committed-size-per-ready":
          cfg.maxCommittedSizePerReady = parseInt_(tc, a.key, v);
          break;
        case "disable-conf-change-validation":
          cfg.disableConfChangeValidation = parseBool(tc, a.key, v);
          break;
        case "disable-proposal-forwarding":
          cfg.disableProposalForwarding = parseBool(tc, a.key, v);
          break;
        case "read-only":
          if (v !== "safe" && v !== "lease-based") throw new Error(`invalid read-only option "${v}"`);
          cfg.readOnlyOption = v;
          break;
        case "step-down-on-removal":
          cfg.stepDownOnRemoval = parseBool(tc, a.key, v);
          break;
        case "hand-over-on-removal":
          cfg.handOverOnRemoval = parseBool(tc, a.key, v);
          break;
        case "batch-proposals":
          cfg.batchProposals = parseBool(tc, a.key, v);
          break;
        default:
          fail(tc, `unknown argument ${a.key}`);
      }
    }
  }
  const bootstrap = cs.voters.length > 0 || cs.learners.length > 0 || index > 0 || content !== undefined;
  for (let i = 0; i < count; i++) {
    const id = BigInt(env.nodes.length + 1);
    const initial: Snapshot = { metadata: { index, term: bootstrap ? 1 : 0, confState: cs } };
    if (content !== undefined) initial.data = content;
    const history: Snapshot[] = [initial];
    const storage = new HistoryStorage(() => history[history.length - 1]!);
    if (bootstrap) {
      // As etcd's harness: the group starts from a snapshot at `index` (> 1, which MemoryStorage
      // needs to tell it from the empty snapshot) holding the configuration.
      if (index <= 1) throw new Error("index must be specified as > 1 due to bootstrap");
      storage.mem.applySnapshot(initial);
      if (storage.mem.firstIndex() !== index + 1) {
        throw new Error(`failed to establish first index ${index + 1}; got ${storage.mem.firstIndex()}`);
      }
    }
    // The stub is shared by value per node (etcd's `cfg := cfg`), with its own storage and id.
    const config: Node["config"] = { ...cfg, id, storage, logger: env.output };
    const rn = new RawNode(config);
    env.nodes.push({ id, rn, storage, config, history, appendWork: [], applyWork: [] });
  }
}

// ---------------------------------------------------------------------------------------------
// proposals and local inputs

function handleProposeConfChange(env: InteractionEnv, tc: TestCase): void {
  const n = firstNode(env, tc);
  let v1 = false;
  let transition = ConfChangeTransition.ConfChangeTransitionAuto;
  for (const a of tc.args) {
    if (a.vals.length === 0) continue;
    for (const v of a.vals) {
      switch (a.key) {
        case "v1":
          v1 = parseBool(tc, a.key, v);
          break;
        case "transition":
          if (v === "auto") transition = ConfChangeTransition.ConfChangeTransitionAuto;
          else if (v === "implicit") transition = ConfChangeTransition.ConfChangeTransitionJointImplicit;
          else if (v === "explicit") transition = ConfChangeTransition.ConfChangeTransitionJointExplicit;
          else throw new Error(`unknown transition ${v}`);
          break;
        default:
          throw new Error(`unknown command ${a.key}`);
      }
    }
  }
  const ccs = confChangesFromString(tc.input);
  let cc: ConfChange | ConfChangeV2;
  if (v1) {
    if (ccs.length > 1 || transition !== ConfChangeTransition.ConfChangeTransitionAuto) {
      throw new Error("v1 conf change can only have one operation and no transition");
    }
    cc = { type: ccs[0]!.type, nodeId: ccs[0]!.nodeId, id: 0n, context: undefined };
  } else {
    cc = { transition, changes: ccs, context: undefined };
  }
  n.rn.proposeConfChange(cc);
}

function handleTick(env: InteractionEnv, tc: TestCase, ticks: (n: Node) => number): void {
  const n = firstNode(env, tc);
  const k = ticks(n);
  for (let i = 0; i < k; i++) n.rn.tick();
}

function handleTransferLeadership(env: InteractionEnv, tc: TestCase): void {
  const from = Number(argVal(tc, "from") ?? "0");
  const to = Number(argVal(tc, "to") ?? "0");
  if (!(from >= 1 && from <= env.nodes.length)) fail(tc, `expected valid "from" argument`);
  if (!(to >= 1 && to <= env.nodes.length)) fail(tc, `expected valid "to" argument`);
  nodeOf(env, tc, from).rn.transferLeader(BigInt(to));
}

function handleReportUnreachable(env: InteractionEnv, tc: TestCase): void {
  const ns = nodesOf(env, tc);
  if (ns.length !== 2) throw new Error("must specify exactly two node indexes: node on which to report, and reported node");
  ns[0]!.rn.reportUnreachable(ns[1]!.id);
}

function handleReportSnapshot(env: InteractionEnv, tc: TestCase): void {
  const ns = nodesOf(env, tc);
  if (ns.length !== 2) fail(tc, "must specify exactly two node ids: node on which to report, and reported node");
  const status = argVal(tc, "status") ?? "finish";
  if (status !== "finish" && status !== "failure") fail(tc, `status must be finish or failure, got ${status}`);
  ns[0]!.rn.reportSnapshot(ns[1]!.id, status);
}

function handleSetRandomizedElectionTimeout(env: InteractionEnv, tc: TestCase): void {
  const n = firstNode(env, tc);
  const timeout = parseInt_(tc, "timeout", argVal(tc, "timeout") ?? "");
  if (timeout <= 0) fail(tc, "timeout must be positive");
  n.rn.raft.randomizedElectionTimeout = timeout;
}

// ---------------------------------------------------------------------------------------------
// Ready handling, storage threads, message delivery

/** Runs `f` on each node, under a `> id header` when there are several. */
function forEachNode(env: InteractionEnv, ns: readonly Node[], header: string, f: (n: Node) => void): void {
  for (const n of ns) {
    if (ns.length > 1) {
      env.output.write(`> ${n.id} ${header}\n`);
      env.output.withIndent(() => f(n));
    } else {
      f(n);
    }
  }
}

function handleDeliverMsgs(env: InteractionEnv, tc: TestCase): void {
  let type: MessageType | undefined;
  const rs: Recipient[] = [];
  for (const a of tc.args) {
    if (a.vals.length === 0) {
      rs.push({ id: BigInt(parseInt_(tc, "id", a.key)), drop: false });
      continue;
    }
    for (const v of a.vals) {
      if (a.key === "drop") {
        const id = BigInt(parseInt_(tc, a.key, v));
        if (rs.some((r) => r.id === id)) fail(tc, `can't both deliver and drop msgs to ${id}`);
        rs.push({ id, drop: true });
      } else if (a.key === "type") {
        const t = (MessageType as unknown as Record<string, MessageType | undefined>)[v];
        if (typeof t !== "number") fail(tc, `unknown message type ${v}`);
        type = t;
      } else {
        fail(tc, `unknown argument ${a.key}`);
      }
    }
  }
  if (env.deliverMsgs(type, rs) === 0) env.output.write("no messages\n");
}

function handleStabilize(env: InteractionEnv, tc: TestCase): void {
  const ns = nodesOf(env, tc);
  const level = argVal(tc, "log-level");
  const old = env.output.level;
  if (level !== undefined) env.output.level = parseLevel(level);
  try {
    env.stabilize(ns.length > 0 ? ns : env.nodes);
  } finally {
    env.output.level = old;
  }
}

function handleSendSnapshot(env: InteractionEnv, tc: TestCase): void {
  const ns = nodesOf(env, tc);
  if (ns.length !== 2) fail(tc, "needs two node ids: from and to");
  const [from, to] = ns as [Node, Node];
  const snap = from.storage.snapshot();
  const st = from.rn.basicStatus();
  const m: Message = {
    type: MessageType.MsgSnap,
    to: to.id,
    from: st.id,
    term: st.hardState.term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: snap,
    reject: false,
    rejectHint: 0,
  };
  env.messages.push(m);
  env.output.write(describeMessage(m));
}

// ---------------------------------------------------------------------------------------------
// inspection

function raftLog(env: InteractionEnv, n: Node): void {
  const s = n.storage.mem;
  const fi = s.firstIndex();
  const li = s.lastIndex();
  if (li < fi) {
    env.output.write(`log is empty: first index=${fi}, last index=${li}`);
    return;
  }
  env.output.write(describeEntries(s.entries(fi, li + 1, Number.MAX_SAFE_INTEGER)));
}

function handleRaftState(env: InteractionEnv): void {
  for (const n of env.nodes) {
    const st = n.rn.basicStatus();
    const voter = n.rn.raft.trk.config.voters.has(st.id) ? "(Voter)" : "(Non-Voter)";
    env.output.write(`${st.id}: ${stateName(st.softState.raftState)} ${voter} Term:${st.hardState.term} Lead:${st.softState.lead}\n`);
  }
}

function handleStatus(env: InteractionEnv, tc: TestCase): void {
  const n = firstNode(env, tc);
  const r = n.rn.raft;
  // The leader's progress map, as etcd's Status() copies it (other roles have none).
  if (r.state === "leader") env.output.write(describeProgressMap(r.trk.progress));
}

// ---------------------------------------------------------------------------------------------

/** Runs one stanza on `env` and returns its output. */
export function handle(env: InteractionEnv, tc: TestCase): string {
  env.output.take();
  let err: unknown;
  try {
    dispatch(env, tc);
  } catch (e) {
    if (e instanceof ScriptError) throw e;
    err = e;
    env.output.write(errorText(e));
  }
  const out = env.output.take();
  if (out === "") return err !== undefined && env.output.level === LEVEL_NONE ? errorText(err) : "ok";
  return out;
}

function dispatch(env: InteractionEnv, tc: TestCase): void {
  switch (tc.cmd) {
    case "_breakpoint":
      return;
    case "add-nodes":
      return handleAddNodes(env, tc);
    case "campaign":
      return firstNode(env, tc).rn.campaign();
    case "propose": {
      const n = firstNode(env, tc);
      const data = tc.args[1];
      if (tc.args.length !== 2 || data === undefined || data.vals.length > 0) fail(tc, "expected exactly one key with no vals");
      return n.rn.propose(encodeText(rawWord(tc, 2)));
    }
    case "propose-conf-change":
      return handleProposeConfChange(env, tc);
    case "read-index": {
      const n = firstNode(env, tc);
      const ctx = tc.args[1];
      if (ctx === undefined) fail(tc, "needs a request context");
      return n.rn.readIndex(encodeText(ctx.key));
    }
    case "tick-heartbeat":
      return handleTick(env, tc, (n) => n.config.heartbeatTick);
    case "tick-election":
      return handleTick(env, tc, (n) => n.config.electionTick);
    case "tick": {
      const ints = positionalInts(tc);
      return handleTick(env, tc, () => ints[1] ?? 1);
    }
    case "transfer-leadership":
      return handleTransferLeadership(env, tc);
    case "forget-leader":
      return firstNode(env, tc).rn.forgetLeader();
    case "report-unreachable":
      return handleReportUnreachable(env, tc);
    case "report-snapshot":
      return handleReportSnapshot(env, tc);
    case "set-randomized-election-timeout":
      return handleSetRandomizedElectionTimeout(env, tc);
    case "process-ready":
      return forEachNode(env, nodesOf(env, tc), "handling Ready", (n) => env.processReady(n));
    case "process-append-thread":
      return forEachNode(env, nodesOf(env, tc), "processing append thread", (n) => env.processAppendThread(n));
    case "process-apply-thread":
      return forEachNode(env, nodesOf(env, tc), "processing apply thread", (n) => env.processApplyThread(n));
    case "deliver-msgs":
      return handleDeliverMsgs(env, tc);
    case "stabilize":
      return handleStabilize(env, tc);
    case "send-snapshot":
      return handleSendSnapshot(env, tc);
    case "compact": {
      const n = firstNode(env, tc);
      const ints = positionalInts(tc);
      if (ints.length !== 2) fail(tc, "needs a node id and the new first index");
      n.storage.mem.compact(ints[1]!);
      return raftLog(env, n);
    }
    case "raft-log":
      return raftLog(env, firstNode(env, tc));
    case "raft-state":
      return handleRaftState(env);
    case "status":
      return handleStatus(env, tc);
    case "log-level":
      env.output.level = parseLevel(tc.args[0]?.key ?? "");
      return;
    default:
      throw new Error("unknown command");
  }
}

export { InteractionEnv };
