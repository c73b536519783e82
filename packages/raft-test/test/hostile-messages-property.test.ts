// Property: any message the decoder can produce, stepped into a node in any role, is refused
// with a RaftError (changing nothing), or leaves the node able to go on: it ticks through
// elections, campaigns, wins (its peers, played by the driver, cooperate), proposes, reads,
// persists, applies and advances, with no exception but RaftErrors, and its term and commit
// stay within the bounds. HOSTILE_RUNS (default 300 per role) and HOSTILE_SEED change the run.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ConfChangeType,
  EntryType,
  LOCAL_APPEND_THREAD,
  LOCAL_APPLY_THREAD,
  MessageType,
  decodeMessage,
  encodeConfChange,
  encodeConfChangeV2,
  encodeHardState,
  encodeMessage,
  type Entry,
  type Message,
  type Snapshot,
} from "@tsraft/raftpb";
import { MAX_INDEX, MAX_TERM, RaftError, type RawNode } from "@tsraft/raft";
import { LoneNode } from "./harness/lone-node.js";
import { Network } from "./harness/network.js";

/** What a message looks like after a trip through the wire (the transport's codec). */
function wire(m: Message): Message {
  return decodeMessage(encodeMessage(m));
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Terms and indexes: small ones (near the nodes' own), at the bounds, and anything decodable. */
const arbNum = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 14 }) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_SAFE - 4, max: MAX_SAFE }) },
  { weight: 1, arbitrary: fc.constantFrom(MAX_TERM - 1, MAX_TERM, MAX_TERM + 1, 2 ** 32, 2 ** 31) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: MAX_SAFE }) },
);
const arbId = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(0n, 1n, 2n, 3n, 4n) },
  { weight: 1, arbitrary: fc.constantFrom(LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
);
const arbIds = fc.uniqueArray(fc.constantFrom(0n, 1n, 2n, 3n, 4n), { maxLength: 4 });
const arbConfChangeType = fc.constantFrom(
  ConfChangeType.ConfChangeAddNode,
  ConfChangeType.ConfChangeRemoveNode,
  ConfChangeType.ConfChangeUpdateNode,
  ConfChangeType.ConfChangeAddLearnerNode,
);
/** An entry's payload: none, random bytes, or an encoded conf change (V1 or V2). */
const arbData = fc.oneof(
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 6 }),
  fc.record({ type: arbConfChangeType, nodeId: arbId }).map(({ type, nodeId }) => encodeConfChange({ type, nodeId, id: 0n, context: undefined })),
  fc
    .record({
      transition: fc.constantFrom(0, 1, 2),
      changes: fc.array(fc.record({ type: arbConfChangeType, nodeId: arbId }), { maxLength: 3 }),
    })
    .map((cc) => encodeConfChangeV2({ ...cc, context: undefined })),
);
const arbEntry: fc.Arbitrary<Entry> = fc.record({
  term: arbNum,
  index: arbNum,
  type: fc.constantFrom(EntryType.EntryNormal, EntryType.EntryConfChange, EntryType.EntryConfChangeV2),
  data: arbData,
});
const arbSnapshot: fc.Arbitrary<Snapshot> = fc.record({
  data: fc.option(fc.uint8Array({ maxLength: 4 }), { nil: undefined }),
  metadata: fc.record({
    index: arbNum,
    term: arbNum,
    confState: fc.record({ voters: arbIds, learners: arbIds, votersOutgoing: arbIds, learnersNext: arbIds, autoLeave: fc.boolean() }),
  }),
});
/** The types peers send (most often those that carry log positions), and any type at all. */
const arbType = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom(
      MessageType.MsgApp,
      MessageType.MsgAppResp,
      MessageType.MsgHeartbeat,
      MessageType.MsgSnap,
      MessageType.MsgVote,
      MessageType.MsgVoteResp,
      MessageType.MsgPreVote,
      MessageType.MsgPreVoteResp,
    ),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      MessageType.MsgProp,
      MessageType.MsgHeartbeatResp,
      MessageType.MsgTransferLeader,
      MessageType.MsgTimeoutNow,
      MessageType.MsgReadIndex,
      MessageType.MsgReadIndexResp,
      MessageType.MsgForgetLeader,
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 23 }) },
);
const arbMessage: fc.Arbitrary<Message> = fc
  .record({
    type: arbType,
    to: arbId,
    from: arbId,
    term: arbNum,
    logTerm: arbNum,
    index: arbNum,
    commit: arbNum,
    vote: fc.option(arbId, { nil: undefined }),
    entries: fc.array(arbEntry, { maxLength: 4 }),
    snapshot: fc.option(arbSnapshot, { nil: undefined }),
    reject: fc.boolean(),
    rejectHint: arbNum,
    context: fc.option(fc.uint8Array({ maxLength: 3 }), { nil: undefined }),
    // Give the message the shape its type has (so that more of them get past the gate).
    plausible: fc.boolean(),
  })
  .map(({ plausible, ...m }) => {
    if (!plausible) return m as Message;
    if (m.type === MessageType.MsgApp) {
      // Entries that follow the index, with terms in [logTerm, term], within what the codec carries.
      if (m.index + m.entries.length > MAX_SAFE) m.index = MAX_SAFE - m.entries.length;
      m.entries = m.entries.map((e, i) => ({ ...e, index: m.index + 1 + i, term: Math.min(m.term, Math.max(e.term, m.logTerm)) }));
    } else if (m.type === MessageType.MsgProp || m.type === MessageType.MsgReadIndex) {
      m.term = 0;
      if (m.type === MessageType.MsgReadIndex) m.entries = [{ term: 0, index: 0, type: EntryType.EntryNormal, data: m.context }];
    }
    return m as Message;
  });

type Role = "follower" | "candidate" | "pre-candidate" | "leader" | "learner" | "async follower" | "async leader";

const ELECTION_TICK = 4;

/** A node of a 3-voter cluster (plus learner 4) in `role`, with a few entries committed. */
function nodeInRole(role: Role): LoneNode {
  const asyncWrites = role.startsWith("async");
  const net = new Network([1n, 2n, 3n], { electionTick: ELECTION_TICK, preVote: role === "pre-candidate", asyncStorageWrites: asyncWrites });
  net.stabilize();
  net.elect(1n);
  net.changeConf(1n, { type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 4n, id: 0n, context: undefined });
  net.addNode(4n, [], false);
  for (let i = 0; i < 3; i++) net.get(1n).node.propose(new Uint8Array([i]));
  net.tickStabilize(2); // the learner catches up at a heartbeat
  const id = role === "leader" || role === "async leader" ? 1n : role === "learner" ? 4n : 2n;
  const tn = net.get(id);
  const lone = new LoneNode(id, tn.node, tn.storage, asyncWrites);
  if (role === "candidate" || role === "pre-candidate") {
    tn.node.campaign();
    // Persist the campaign, but give it no answers: it stays a (pre-)candidate.
    const rd = tn.node.ready();
    tn.storage.append(rd.entries);
    if (rd.hardState !== undefined) tn.storage.setHardState(rd.hardState);
    tn.node.advance(rd);
  }
  return lone;
}

/** Everything a refused message must leave as it was. */
function stateKey(n: RawNode): string {
  const r = n.raft;
  const st = {
    ...n.status(),
    lastIndex: r.raftLog.lastIndex(),
    committed: r.raftLog.committed,
    unstable: r.raftLog.unstable.entries.length,
    msgs: r.msgs.length,
    after: r.msgsAfterAppend.length,
    readStates: r.readStates.length,
    electionElapsed: r.electionElapsed,
    hasReady: n.hasReady(),
  };
  return JSON.stringify(st, (_, v) => (typeof v === "bigint" ? v.toString() : v instanceof Map ? [...v] : v));
}

const ROLES: Role[] = ["follower", "candidate", "pre-candidate", "leader", "learner", "async follower", "async leader"];
const RUNS = Number(process.env.HOSTILE_RUNS ?? 300);

describe("any decodable message: refused with a RaftError and nothing changed, or the node goes on", () => {
  for (const role of ROLES) {
    test(role, () => {
      const outcomes = new Map<string, number>();
      fc.assert(
        fc.property(arbMessage, (raw) => {
          const m = wire(raw);
          const lone = nodeInRole(role);
          assert.equal(lone.node.basicStatus().softState.raftState, role.replace("async ", "").replace("learner", "follower"));
          const before = stateKey(lone.node);
          let outcome = "stepped";
          try {
            lone.node.step({ ...m, to: lone.id });
          } catch (err) {
            if (!(err instanceof RaftError)) throw err;
            outcome = err.code;
            assert.equal(stateKey(lone.node), before, `${err.code} changed the node: ${err.message}`);
          }
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
          lone.pump();
          lone.goOn(3, ELECTION_TICK);
          // It still works: its term and log stay where the codec can carry them.
          const hs = lone.node.basicStatus().hardState;
          assert.ok(hs.term <= MAX_TERM && hs.commit <= MAX_INDEX, `term ${hs.term}, commit ${hs.commit}`);
          encodeHardState(hs);
        }),
        { numRuns: RUNS, seed: Number(process.env.HOSTILE_SEED ?? 20261201) },
      );
      // The generator reaches past the gate as well as into it.
      assert.ok((outcomes.get("stepped") ?? 0) > RUNS / 5, JSON.stringify([...outcomes]));
      assert.ok((outcomes.get("TSRAFT_INVALID_MESSAGE") ?? 0) > RUNS / 5, JSON.stringify([...outcomes]));
    });
  }
});
