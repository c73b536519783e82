// Messages from the network that raft cannot handle are refused at the gate: RawNode.step
// throws InvalidMessageError before anything changes. A forged message must never be able to
// push a term or an index where the next increment no longer fits, nor make a node panic.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  EntryType,
  LOCAL_APPEND_THREAD,
  LOCAL_APPLY_THREAD,
  MessageType,
  decodeMessage,
  encodeHardState,
  encodeMessage,
  type Message,
  type Snapshot,
} from "@tsraft/raftpb";
import * as raft from "@tsraft/raft";
import { InvalidMessageError, StepLocalMsgError, type RawNode } from "@tsraft/raft";
import { Network, msg } from "./harness/network.js";

/** The bounds, spelled out (README, bounds.ts): 2^53-1 - 2^32. */
const MAX = Number.MAX_SAFE_INTEGER - 2 ** 32;

/** What a message looks like after a trip through the wire (the transport's codec). */
function wire(m: Message): Message {
  return decodeMessage(encodeMessage(m));
}

/** A cluster whose messages all go through the codec and whose HardStates are all encoded, as a real node's do. */
function wiredNetwork(): Network {
  const net = new Network([1n, 2n, 3n]);
  net.rewriters.push(wire);
  net.recordReadies = true;
  return net;
}

/** Encodes every HardState the nodes handed out to persist (a WAL would). */
function persistEncoded(net: Network): void {
  for (const id of net.ids()) {
    const tn = net.get(id);
    for (const rd of tn.readies) if (rd.hardState !== undefined) encodeHardState(rd.hardState);
    tn.readies = [];
  }
}

test("a forged MsgHeartbeat at term 2^53-1 is refused and does not spread; the cluster elects on", () => {
  const net = wiredNetwork();
  net.stabilize();
  net.elect(1n);
  persistEncoded(net);
  const n2 = net.get(2n).node;
  const before = n2.basicStatus();
  const forged = wire(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: Number.MAX_SAFE_INTEGER, commit: 0 }));
  let refused: unknown;
  try {
    n2.step(forged);
  } catch (err) {
    refused = err;
  }
  // Whatever happened, the cluster runs on: every member campaigns in turn, every message goes
  // through the codec and every HardState is encoded. Before the gate, the forged term spread
  // to every member with the heartbeat responses, and the next campaign (term + 1 = 2^53)
  // threw EncodeError on every one of them, at every restart too.
  for (const id of [2n, 3n, 1n]) {
    net.get(id).node.campaign();
    net.stabilize();
    persistEncoded(net);
    assert.equal(net.leader()?.id, id);
  }
  assert.ok(refused instanceof InvalidMessageError, `the forged heartbeat was not refused (${String(refused)})`);
  assert.deepEqual(before.hardState.term < 10, true);
  for (const id of net.ids()) assert.ok(net.term(id) < 10, `node ${id} is at term ${net.term(id)}`);
});

test("a forged MsgHeartbeat whose commit is beyond the follower's log is refused and changes nothing", () => {
  const net = wiredNetwork();
  net.stabilize();
  net.elect(1n);
  const tn = net.get(2n);
  const before = JSON.stringify(tn.node.status(), (_, v) => (typeof v === "bigint" ? v.toString() : v));
  const last = tn.storage.lastIndex();
  const term = net.term(2n);
  // From the leader, at its term: only the commit is wrong.
  const forged = wire(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term, commit: last + 1 }));
  assert.throws(() => tn.node.step(forged), InvalidMessageError);
  assert.equal(
    JSON.stringify(tn.node.status(), (_, v) => (typeof v === "bigint" ? v.toString() : v)),
    before,
  );
  assert.equal(tn.node.hasReady(), false);
  // The real leader's heartbeats still work.
  net.get(1n).node.propose(new Uint8Array([1]));
  net.stabilize();
  assert.equal(net.commit(2n), last + 1);
});

test("the bounds are 2^53-1 - 2^32, and exported", () => {
  assert.equal(raft.MAX_TERM, MAX);
  assert.equal(raft.MAX_INDEX, MAX);
});

/** Where a row's message goes, and what the cluster looks like there. */
interface Ctx {
  /** The cluster's term. */
  term: number;
  /** The nodes' last index. */
  last: number;
}

interface Row {
  name: string;
  /** The node that receives it: follower 2 or leader 1, of a cluster with or without async storage writes. */
  to: "follower" | "leader" | "async follower" | "async leader";
  m: (c: Ctx) => Message;
  /** The error class expected (default InvalidMessageError). */
  error?: typeof InvalidMessageError | typeof StepLocalMsgError;
}

const heartbeat = (c: Ctx, p: Partial<Message> = {}): Message => msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: c.term, commit: c.last, ...p });
const append = (c: Ctx, p: Partial<Message> = {}): Message =>
  msg({
    type: MessageType.MsgApp,
    from: 1n,
    to: 2n,
    term: c.term,
    logTerm: c.term,
    index: c.last,
    commit: c.last,
    entries: [{ index: c.last + 1, term: c.term, type: EntryType.EntryNormal, data: undefined }],
    ...p,
  });
const vote = (c: Ctx, p: Partial<Message> = {}): Message =>
  msg({ type: MessageType.MsgVote, from: 3n, to: 2n, term: c.term + 1, logTerm: c.term, index: c.last, ...p });
const appResp = (c: Ctx, p: Partial<Message> = {}): Message => msg({ type: MessageType.MsgAppResp, from: 2n, to: 1n, term: c.term, index: c.last, ...p });
const snapshot = (c: Ctx, meta: Partial<Snapshot["metadata"]> = {}): Snapshot => ({
  data: undefined,
  metadata: {
    index: c.last + 5,
    term: c.term,
    confState: { voters: [1n, 2n, 3n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    ...meta,
  },
});
const snap = (c: Ctx, meta: Partial<Snapshot["metadata"]> = {}): Message =>
  msg({ type: MessageType.MsgSnap, from: 1n, to: 2n, term: c.term, snapshot: snapshot(c, meta) });
const prop = (p: Partial<Message>): Message =>
  msg({ type: MessageType.MsgProp, from: 2n, to: 1n, entries: [{ index: 0, term: 0, type: EntryType.EntryNormal, data: new Uint8Array([1]) }], ...p });
const garbage = new Uint8Array([0xff, 0xff, 0xff]);

const rows: Row[] = [
  // Out of range, field by field: just past the bound.
  { name: "term above MAX_TERM", to: "follower", m: (c) => heartbeat(c, { term: MAX + 1 }) },
  { name: "term 2^53-1 (the decoder's largest)", to: "follower", m: (c) => heartbeat(c, { term: Number.MAX_SAFE_INTEGER }) },
  { name: "vote term above MAX_TERM", to: "follower", m: (c) => vote(c, { term: MAX + 1 }) },
  { name: "logTerm above MAX_TERM", to: "follower", m: (c) => vote(c, { logTerm: MAX + 1 }) },
  { name: "index above MAX_INDEX", to: "follower", m: (c) => vote(c, { index: MAX + 1 }) },
  { name: "commit above MAX_INDEX", to: "follower", m: (c) => append(c, { commit: MAX + 1 }) },
  { name: "rejectHint above MAX_INDEX", to: "leader", m: (c) => appResp(c, { reject: true, rejectHint: MAX + 1 }) },
  {
    name: "entry index above MAX_INDEX",
    to: "follower",
    m: (c) => append(c, { index: MAX, entries: [{ index: MAX + 1, term: c.term, type: EntryType.EntryNormal, data: undefined }] }),
  },
  // (In a MsgApp an entry term above MAX_TERM is above the message's term too; in a proposal it is only out of range.)
  { name: "entry term above MAX_TERM", to: "leader", m: () => prop({ entries: [{ index: 0, term: MAX + 1, type: EntryType.EntryNormal, data: undefined }] }) },
  {
    name: "entry index above MAX_INDEX in a proposal",
    to: "leader",
    m: () => prop({ entries: [{ index: MAX + 1, term: 0, type: EntryType.EntryNormal, data: undefined }] }),
  },
  { name: "snapshot index above MAX_INDEX", to: "follower", m: (c) => snap(c, { index: MAX + 1 }) },
  // (In a MsgSnap a snapshot term above MAX_TERM is above the message's term too; in a storage thread's answer it is only out of range.)
  {
    name: "snapshot term above MAX_TERM",
    to: "async follower",
    m: (c) =>
      msg({ type: MessageType.MsgStorageAppendResp, from: LOCAL_APPEND_THREAD, to: 2n, term: c.term, snapshot: snapshot(c, { index: c.last, term: MAX + 1 }) }),
  },
  { name: "index not an integer", to: "follower", m: (c) => vote(c, { index: 1.5 }) },
  {
    name: "an appended entry's term not an integer",
    to: "follower",
    m: (c) => append(c, { logTerm: c.term - 1, entries: [{ index: c.last + 1, term: c.term - 0.5, type: EntryType.EntryNormal, data: undefined }] }),
  },
  { name: "commit negative", to: "follower", m: (c) => heartbeat(c, { commit: -1 }) },
  // What the node cannot hold.
  { name: "heartbeat commit beyond the follower's log", to: "follower", m: (c) => heartbeat(c, { commit: c.last + 1 }) },
  { name: "MsgAppResp acknowledging beyond the leader's log", to: "leader", m: (c) => appResp(c, { index: c.last + 1 }) },
  // Shapes raft never sends.
  { name: "a peer's message without a term", to: "follower", m: (c) => heartbeat(c, { term: 0 }) },
  {
    name: "a local message type from a peer",
    to: "follower",
    error: StepLocalMsgError,
    m: (c) => msg({ type: MessageType.MsgHup, from: 3n, to: 2n, term: c.term }),
  },
  { name: "a forwarded proposal with a term", to: "leader", m: (c) => prop({ term: c.term + 1 }) },
  {
    name: "a forwarded read request with a term",
    to: "leader",
    m: (c) =>
      msg({
        type: MessageType.MsgReadIndex,
        from: 2n,
        to: 1n,
        term: c.term + 1,
        entries: [{ index: 0, term: 0, type: EntryType.EntryNormal, data: new Uint8Array([7]) }],
      }),
  },
  { name: "a proposal without entries", to: "leader", m: () => prop({ entries: [] }) },
  { name: "a read request without its context entry", to: "leader", m: () => msg({ type: MessageType.MsgReadIndex, from: 2n, to: 1n, entries: [] }) },
  {
    name: "an appended conf change that does not decode",
    to: "follower",
    m: (c) => append(c, { entries: [{ index: c.last + 1, term: c.term, type: EntryType.EntryConfChange, data: garbage }] }),
  },
  {
    name: "a proposed conf change that does not decode",
    to: "leader",
    m: () => prop({ entries: [{ index: 0, term: 0, type: EntryType.EntryConfChangeV2, data: garbage }] }),
  },
  // A v1 conf change always carries its encoded ConfChange (proto2: its fields are always
  // written); without data it would decode as an empty change, and the WAL's reader refuses
  // such an entry as corrupt (a HardState record with its type bit flipped reads as one).
  {
    name: "an appended conf change (v1) without data",
    to: "follower",
    m: (c) => append(c, { entries: [{ index: c.last + 1, term: c.term, type: EntryType.EntryConfChange, data: undefined }] }),
  },
  {
    name: "a proposed conf change (v1) without data",
    to: "leader",
    m: () => prop({ entries: [{ index: 0, term: 0, type: EntryType.EntryConfChange, data: undefined }] }),
  },
  { name: "a snapshot of term 0", to: "follower", m: (c) => snap(c, { term: 0 }) },
  { name: "a snapshot of a term above the message's", to: "follower", m: (c) => snap(c, { term: c.term + 1 }) },
  {
    name: "a snapshot whose ConfState has a voter that is also a learner",
    to: "follower",
    m: (c) => snap(c, { confState: { voters: [1n, 2n, 3n], learners: [3n], votersOutgoing: [], learnersNext: [], autoLeave: false } }),
  },
  {
    name: "a snapshot whose ConfState has learners but no voters",
    to: "follower",
    m: (c) => snap(c, { confState: { voters: [], learners: [2n], votersOutgoing: [], learnersNext: [], autoLeave: false } }),
  },
  {
    name: "a snapshot whose ConfState has a duplicate voter",
    to: "follower",
    m: (c) => snap(c, { confState: { voters: [1n, 2n, 2n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } }),
  },
  { name: "a heartbeat from the node itself", to: "follower", m: (c) => heartbeat(c, { from: 2n }) },
  { name: "a self-acknowledgement from outside (sync mode)", to: "leader", m: (c) => appResp(c, { from: 1n }) },
  { name: "a rejection from the node itself (async mode: only its acks and votes are)", to: "async leader", m: (c) => appResp(c, { from: 1n, reject: true }) },
  // The local storage threads.
  {
    name: "a storage answer without asyncStorageWrites",
    to: "follower",
    error: StepLocalMsgError,
    m: (c) => msg({ type: MessageType.MsgStorageAppendResp, from: LOCAL_APPEND_THREAD, to: 2n, term: c.term }),
  },
  {
    name: "a storage answer from a peer",
    to: "async follower",
    error: StepLocalMsgError,
    m: (c) =>
      msg({
        type: MessageType.MsgStorageApplyResp,
        from: 3n,
        to: 2n,
        entries: [{ index: c.last, term: c.term, type: EntryType.EntryNormal, data: undefined }],
      }),
  },
  {
    name: "a storage answer from the wrong thread",
    to: "async follower",
    error: StepLocalMsgError,
    m: () => msg({ type: MessageType.MsgStorageApplyResp, from: LOCAL_APPEND_THREAD, to: 2n }),
  },
  {
    name: "another local type from a storage thread",
    to: "async follower",
    error: StepLocalMsgError,
    m: () => msg({ type: MessageType.MsgHup, from: LOCAL_APPLY_THREAD, to: 2n }),
  },
  {
    name: "an apply answer beyond the commit index",
    to: "async follower",
    m: (c) =>
      msg({
        type: MessageType.MsgStorageApplyResp,
        from: LOCAL_APPLY_THREAD,
        to: 2n,
        entries: [{ index: c.last + 1, term: c.term, type: EntryType.EntryNormal, data: undefined }],
      }),
  },
  {
    name: "an append answer for a snapshot beyond the commit index",
    to: "async follower",
    m: (c) => msg({ type: MessageType.MsgStorageAppendResp, from: LOCAL_APPEND_THREAD, to: 2n, term: c.term, snapshot: snapshot(c) }),
  },
];

/** A 3-node cluster with leader 1 and a few entries, and the context rows are written against. */
function cluster(async: boolean, logger?: raft.Logger): { net: Network; c: Ctx } {
  const net = new Network([1n, 2n, 3n], { asyncStorageWrites: async, ...(logger === undefined ? {} : { logger }) });
  net.stabilize();
  net.elect(1n);
  net.get(1n).node.propose(new Uint8Array([1]));
  net.stabilize();
  return { net, c: { term: net.term(2n), last: net.get(2n).node.raft.raftLog.lastIndex() } };
}

function stateKey(n: RawNode): string {
  const r = n.raft;
  const st = {
    ...n.status(),
    lastIndex: r.raftLog.lastIndex(),
    msgs: r.msgs.length,
    after: r.msgsAfterAppend.length,
    electionElapsed: r.electionElapsed,
    hasReady: n.hasReady(),
  };
  return JSON.stringify(st, (_, v) => (typeof v === "bigint" ? v.toString() : v instanceof Map ? [...v] : v));
}

describe("step refuses, changing nothing", () => {
  for (const row of rows) {
    test(row.name, () => {
      const { net, c } = cluster(row.to.startsWith("async"));
      const node = net.get(row.to.endsWith("leader") ? 1n : 2n).node;
      const m = row.m(c);
      const before = stateKey(node);
      assert.throws(() => node.step(m), row.error ?? InvalidMessageError);
      assert.equal(stateKey(node), before);
      // And the cluster is as good as before.
      net.get(1n).node.propose(new Uint8Array([2]));
      net.stabilize();
      assert.equal(net.commit(2n), c.last + 1);
    });
  }
});

test("at the bounds: a heartbeat at term MAX_TERM is taken, and the node then never campaigns nor throws", () => {
  const errors: string[] = [];
  const { net, c } = cluster(false, { debug() {}, info() {}, warn() {}, error: (s: string) => void errors.push(s) });
  const tn = net.get(2n);
  net.recordReadies = true;
  tn.node.step(heartbeat(c, { term: MAX }));
  net.isolate(2n); // its answers would depose the leader; this is about node 2
  net.stabilize();
  assert.equal(net.term(2n), MAX);
  assert.doesNotThrow(() => tn.node.campaign());
  for (let i = 0; i < 50; i++) {
    assert.doesNotThrow(() => tn.node.tick());
    net.stabilize();
  }
  assert.equal(tn.node.basicStatus().softState.raftState, "follower");
  assert.equal(net.term(2n), MAX);
  assert.ok(
    errors.some((e) => e.includes("cannot campaign at term")),
    errors.join("; "),
  );
  for (const rd of tn.readies) if (rd.hardState !== undefined) encodeHardState(rd.hardState);
});

test("a MsgApp whose commit reaches beyond its entries commits only what they prove (min(commit, last new))", () => {
  const { net, c } = cluster(false);
  const tn = net.get(2n);
  tn.node.step(append(c, { commit: c.last + 100 }));
  assert.equal(tn.node.basicStatus().hardState.commit, c.last + 1);
});
