// RawNode's contract: config validation, the Ready/advance protocol (hasReady, mustSync, no
// empty HardState or snapshot, nothing handed out twice), step()'s typed errors that leave the
// node unchanged, dropped proposals, bootstrap, status and restart.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType, EntryType, LOCAL_APPEND_THREAD, MessageType, NONE } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { ConfigError, ProposalDroppedError, RaftError, RawNode, StepLocalMsgError, StepPeerNotFoundError, type Config, type Ready } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { Network, cc, drain, drainMessages, enc, entsOfTerms, msg, newStorage, statusKey } from "./harness/network.js";

function node(id: NodeId, storage: MemoryStorage, cfg: Partial<Config> = {}): RawNode {
  return new RawNode({ id, electionTick: 10, heartbeatTick: 1, storage, ...cfg });
}

/** Node 1 of {1,2,3}, elected by stepping node 2's vote, with its Readies drained. */
function leaderOf3(cfg: Partial<Config> = {}): { n: RawNode; s: MemoryStorage } {
  const s = newStorage({ voters: [1n, 2n, 3n] });
  const n = node(1n, s, cfg);
  n.campaign();
  drain(n, s);
  n.step(msg({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
  drainMessages(n, s);
  assert.equal(n.basicStatus().softState.raftState, "leader");
  return { n, s };
}

describe("invalid configs throw ConfigError naming the field", () => {
  const s = new MemoryStorage();
  const cases: Array<{ name: string; cfg: Partial<Config>; field: string; storage?: MemoryStorage }> = [
    { name: "id 0", cfg: { id: 0n }, field: "id" },
    { name: "id is a local storage thread", cfg: { id: LOCAL_APPEND_THREAD }, field: "id" },
    { name: "heartbeatTick 0", cfg: { heartbeatTick: 0 }, field: "heartbeatTick" },
    { name: "heartbeatTick negative", cfg: { heartbeatTick: -1 }, field: "heartbeatTick" },
    { name: "heartbeatTick not an integer", cfg: { heartbeatTick: 1.5 }, field: "heartbeatTick" },
    { name: "heartbeatTick NaN", cfg: { heartbeatTick: Number.NaN }, field: "heartbeatTick" },
    { name: "heartbeatTick a string", cfg: { heartbeatTick: "1" as never }, field: "heartbeatTick" },
    { name: "heartbeatTick null", cfg: { heartbeatTick: null as never }, field: "heartbeatTick" },
    { name: "heartbeatTick omitted (1) with electionTick 1", cfg: { heartbeatTick: undefined as never, electionTick: 1 }, field: "electionTick" },
    { name: "logger a number", cfg: { logger: 5 as never }, field: "logger" },
    { name: "logger null", cfg: { logger: null as never }, field: "logger" },
    { name: "logger a function", cfg: { logger: (() => {}) as never }, field: "logger" },
    { name: "logger without warn", cfg: { logger: { debug() {}, info() {}, error() {} } as never }, field: "logger" },
    { name: "logger whose debug is not a function", cfg: { logger: { debug: true, info() {}, warn() {}, error() {} } as never }, field: "logger" },
    { name: "heartbeatTick == electionTick", cfg: { heartbeatTick: 10, electionTick: 10 }, field: "electionTick" },
    { name: "heartbeatTick > electionTick", cfg: { heartbeatTick: 11, electionTick: 10 }, field: "electionTick" },
    { name: "maxInflightMsgs 0", cfg: { maxInflightMsgs: 0 }, field: "maxInflightMsgs" },
    { name: "maxInflightMsgs negative", cfg: { maxInflightMsgs: -1 }, field: "maxInflightMsgs" },
    { name: "maxInflightBytes below maxSizePerMsg", cfg: { maxInflightBytes: 10, maxSizePerMsg: 100 }, field: "maxInflightBytes" },
    { name: "negative maxSizePerMsg", cfg: { maxSizePerMsg: -1 }, field: "maxSizePerMsg" },
    { name: "lease-based reads without checkQuorum", cfg: { readOnlyOption: "lease-based" }, field: "readOnlyOption" },
    { name: "unknown readOnlyOption", cfg: { readOnlyOption: "fast" as never }, field: "readOnlyOption" },
    {
      name: "applied beyond the committed index",
      cfg: { applied: 3 },
      field: "applied",
      storage: newStorage({ voters: [1n], entries: entsOfTerms(1, [1, 1, 1]), hardState: { term: 1, vote: 1n, commit: 2 } }),
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: c.storage ?? s, ...c.cfg }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.ok(err instanceof RaftError);
          assert.equal(err.field, c.field);
          assert.equal(err.code, "TSRAFT_CONFIG");
          assert.match(err.message, new RegExp(c.field));
          return true;
        },
      );
    });
  }
  test("a valid config with every option set is accepted", () => {
    const n = node(1n, newStorage({ voters: [1n] }), {
      maxSizePerMsg: 100,
      maxInflightBytes: 1000,
      maxInflightMsgs: 4,
      maxUncommittedEntriesSize: 1000,
      maxCommittedSizePerReady: 100,
      checkQuorum: true,
      preVote: true,
      readOnlyOption: "lease-based",
      disableProposalForwarding: true,
    });
    assert.equal(n.basicStatus().softState.raftState, "follower");
  });
});

describe("heartbeatTick may be omitted: default 1 (DESIGN)", () => {
  /** A leader of {1,2,3} built from `cfg`: how many heartbeats it sends on each of `ticks` ticks. */
  function heartbeatsPerTick(cfg: Config, ticks: number): number[] {
    const s = cfg.storage as MemoryStorage;
    const n = new RawNode(cfg);
    n.campaign();
    drain(n, s);
    n.step(msg({ type: MessageType.MsgVoteResp, from: 2n, to: 1n, term: 1 }));
    drainMessages(n, s);
    assert.equal(n.basicStatus().softState.raftState, "leader");
    const out: number[] = [];
    for (let i = 0; i < ticks; i++) {
      n.tick();
      out.push(drainMessages(n, s).filter((m) => m.type === MessageType.MsgHeartbeat).length);
    }
    return out;
  }
  test("omitted: a heartbeat to each follower on every tick", () => {
    assert.deepEqual(heartbeatsPerTick({ id: 1n, electionTick: 10, storage: newStorage({ voters: [1n, 2n, 3n] }) }, 3), [2, 2, 2]);
  });
  test("given (2): every other tick", () => {
    assert.deepEqual(heartbeatsPerTick({ id: 1n, electionTick: 10, heartbeatTick: 2, storage: newStorage({ voters: [1n, 2n, 3n] }) }, 4), [0, 2, 0, 2]);
  });
  test("omitted with electionTick 2: accepted (2 > the default 1)", () => {
    const n = new RawNode({ id: 1n, electionTick: 2, storage: new MemoryStorage() });
    assert.equal(n.basicStatus().softState.raftState, "follower");
  });
});

describe("Ready semantics", () => {
  test("a fresh node with an empty storage has nothing ready (no all-zero HardState)", () => {
    const n = node(1n, new MemoryStorage());
    assert.equal(n.hasReady(), false);
    const rd = n.ready();
    assert.equal(rd.hardState, undefined);
    assert.equal(rd.snapshot, undefined);
    assert.equal(rd.softState, undefined);
    assert.deepEqual([rd.entries, rd.committedEntries, rd.messages, rd.readStates], [[], [], [], []]);
    assert.equal(rd.mustSync, false);
  });

  test("a restarted node with nothing new has nothing ready (its stored HardState is not repeated)", () => {
    const s = newStorage({ voters: [1n, 2n, 3n], entries: entsOfTerms(1, [1, 2]), hardState: { term: 2, vote: 2n, commit: 2 } });
    const n = node(1n, s, { applied: 2 });
    assert.equal(n.hasReady(), false);
    assert.equal(n.ready().hardState, undefined);
  });

  test("bootstrap: one Ready with the HardState, the entries (to persist and to apply), then nothing", () => {
    const s = new MemoryStorage();
    const n = node(1n, s);
    n.bootstrap([{ id: 1n }, { id: 2n }]);
    assert.equal(n.hasReady(), true);
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: NONE, commit: 2 });
    assert.deepEqual(
      rd.entries.map((e) => [e.index, e.term, e.type]),
      [
        [1, 1, EntryType.EntryConfChange],
        [2, 1, EntryType.EntryConfChange],
      ],
    );
    assert.equal(rd.committedEntries.length, 2);
    assert.equal(rd.mustSync, true);
    assert.equal(rd.snapshot, undefined, "no empty snapshot");
    s.append(rd.entries);
    s.setHardState(rd.hardState!);
    n.advance(rd);
    assert.equal(n.hasReady(), false);
    const again = n.ready();
    assert.deepEqual([again.entries, again.committedEntries, again.messages], [[], [], []]);
    assert.equal(again.hardState, undefined);
  });

  test("a single node needs a Ready/advance cycle to become leader (its self-vote waits for the write)", () => {
    const s = newStorage({ voters: [1n] });
    const n = node(1n, s);
    n.campaign();
    assert.equal(n.basicStatus().softState.raftState, "candidate");
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 1n, commit: 0 });
    assert.equal(rd.mustSync, true);
    assert.equal(n.basicStatus().softState.raftState, "candidate", "not before the vote is durable");
    s.setHardState(rd.hardState!);
    n.advance(rd);
    assert.equal(n.basicStatus().softState.raftState, "leader");
    // Its empty entry commits after another cycle (its own append ack waits for the write).
    const rd2 = n.ready();
    assert.deepEqual(rd2.softState, { lead: 1n, raftState: "leader" });
    assert.equal(rd2.entries.length, 1);
    assert.equal(rd2.committedEntries.length, 0);
    s.append(rd2.entries);
    n.advance(rd2);
    const rd3 = n.ready();
    assert.equal(rd3.hardState?.commit, 1);
    assert.equal(rd3.committedEntries.length, 1);
    assert.equal(rd3.mustSync, false, "a commit-only change needs no sync");
  });

  test("after advance, the same items never come back", () => {
    const { n, s } = leaderOf3();
    n.propose(enc("a"));
    n.readIndex(enc("ctx")); // held until the leader commits its first entry
    const seen = { entries: new Set<unknown>(), committedEntries: new Set<unknown>(), messages: new Set<unknown>(), readStates: new Set<unknown>() };
    const readies: Ready[] = [];
    const peerAck = (index: number) => {
      for (const from of [2n, 3n]) n.step(msg({ type: MessageType.MsgAppResp, from, to: 1n, term: 1, index }));
    };
    for (let round = 0; round < 6; round++) {
      if (round === 1) peerAck(2);
      if (round === 3) {
        for (const from of [2n, 3n]) n.step(msg({ type: MessageType.MsgHeartbeatResp, from, to: 1n, term: 1, context: enc("ctx") }));
      }
      const rd = drain(n, s);
      if (rd === undefined) continue;
      readies.push(rd);
      for (const k of ["entries", "committedEntries", "messages", "readStates"] as const) {
        for (const item of rd[k]) {
          assert.ok(!seen[k].has(item), `an item of ${k} was handed out twice`);
          seen[k].add(item);
        }
      }
    }
    const entries = readies.flatMap((r) => r.entries.map((e) => e.index));
    const committed = readies.flatMap((r) => r.committedEntries.map((e) => e.index));
    assert.deepEqual(entries, [2], "the proposal once (the empty entry was drained before)");
    assert.deepEqual(committed, [1, 2]);
    assert.equal(readies.flatMap((r) => r.readStates).length, 1);
    assert.equal(n.hasReady(), false);
  });

  describe("mustSync: true when entries or the term or vote change, not for commit or messages alone", () => {
    // Follower 2 of {1,2,3} at term 1 with entries 1..2 of term 1, commit 1, leader 1 known.
    function follower(): { n: RawNode; s: MemoryStorage } {
      const s = newStorage({ voters: [1n, 2n, 3n], entries: entsOfTerms(1, [1, 1]), hardState: { term: 1, vote: NONE, commit: 1 } });
      const n = node(2n, s, { applied: 1 });
      return { n, s };
    }
    const cases: Array<{ name: string; m: Message; want: boolean; wHardState: boolean }> = [
      {
        name: "new entries",
        m: msg({ type: MessageType.MsgApp, from: 1n, to: 2n, term: 1, index: 2, logTerm: 1, commit: 1, entries: entsOfTerms(3, [1]) }),
        want: true,
        wHardState: false,
      },
      { name: "a new term", m: msg({ type: MessageType.MsgHeartbeat, from: 3n, to: 2n, term: 2, commit: 1 }), want: true, wHardState: true },
      {
        name: "a new vote in the same term",
        m: msg({ type: MessageType.MsgVote, from: 3n, to: 2n, term: 1, index: 2, logTerm: 1 }),
        want: true,
        wHardState: true,
      },
      { name: "only the commit index", m: msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1, commit: 2 }), want: false, wHardState: true },
      { name: "only a message to send", m: msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1, commit: 1 }), want: false, wHardState: false },
    ];
    for (const c of cases) {
      test(c.name, () => {
        const { n } = follower();
        n.step(c.m);
        const rd = n.ready();
        assert.equal(rd.mustSync, c.want);
        assert.equal(rd.hardState !== undefined, c.wHardState);
      });
    }
  });

  test("softState is reported only when it changed", () => {
    const s = newStorage({ voters: [1n, 2n, 3n] });
    const n = node(2n, s);
    n.step(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1 }));
    const rd = drain(n, s)!;
    assert.deepEqual(rd.softState, { lead: 1n, raftState: "follower" });
    n.step(msg({ type: MessageType.MsgHeartbeat, from: 1n, to: 2n, term: 1 }));
    assert.equal(drain(n, s)!.softState, undefined);
  });
});

describe("step() rejects local message types with StepLocalMsgError", () => {
  const local = [
    MessageType.MsgHup,
    MessageType.MsgBeat,
    MessageType.MsgUnreachable,
    MessageType.MsgSnapStatus,
    MessageType.MsgCheckQuorum,
    MessageType.MsgStorageAppend,
    MessageType.MsgStorageAppendResp,
    MessageType.MsgStorageApply,
    MessageType.MsgStorageApplyResp,
  ];
  for (const t of local) {
    test(MessageType[t], () => {
      const { n } = leaderOf3();
      const before = statusKey(n);
      assert.throws(() => n.step(msg({ type: t, from: 2n, to: 1n, term: 1 })), StepLocalMsgError);
      assert.equal(statusKey(n), before);
      assert.equal(n.hasReady(), false);
    });
  }
});

describe("a response from a peer not in the configuration throws StepPeerNotFoundError and changes nothing", () => {
  const responses = [MessageType.MsgAppResp, MessageType.MsgVoteResp, MessageType.MsgPreVoteResp, MessageType.MsgHeartbeatResp, MessageType.MsgReadIndexResp];
  for (const role of ["leader", "follower"] as const) {
    for (const t of responses) {
      for (const term of [1, 5]) {
        test(`${role}: ${MessageType[t]} at ${term === 1 ? "the same" : "a higher"} term`, () => {
          let n: RawNode;
          if (role === "leader") n = leaderOf3().n;
          else {
            const s = newStorage({ voters: [1n, 2n, 3n] });
            n = node(1n, s);
            n.step(msg({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: 1 }));
            drain(n, s);
          }
          const before = statusKey(n);
          const m = msg({ type: t, from: 9n, to: 1n, term, index: 5, reject: t === MessageType.MsgAppResp });
          if (t === MessageType.MsgReadIndexResp) m.entries = [{ index: 0, term: 0, type: EntryType.EntryNormal, data: enc("x") }];
          assert.throws(() => n.step(m), StepPeerNotFoundError);
          assert.equal(statusKey(n), before);
          assert.equal(n.hasReady(), false);
        });
      }
    }
  }

  test("a removed peer's responses are refused like a stranger's", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.changeConf(1n, cc(ConfChangeType.ConfChangeRemoveNode, 3n));
    const n1 = net.get(1n).node;
    assert.deepEqual(n1.status().config.voters, [1n, 2n]);
    const before = statusKey(n1);
    const term = net.term(1n);
    assert.throws(() => n1.step(msg({ type: MessageType.MsgAppResp, from: 3n, to: 1n, term, index: 100 })), StepPeerNotFoundError);
    assert.throws(() => n1.step(msg({ type: MessageType.MsgHeartbeatResp, from: 3n, to: 1n, term: term + 3 })), StepPeerNotFoundError);
    assert.equal(statusKey(n1), before);
  });
});

describe("proposals with no leader throw ProposalDroppedError and leave the node healthy", () => {
  const cases: Array<{ name: string; setup: (n: RawNode, s: MemoryStorage) => void; cfg?: Partial<Config> }> = [
    { name: "follower without a leader", setup: () => {} },
    { name: "candidate", setup: (n) => n.campaign() },
    { name: "pre-candidate", setup: (n) => n.campaign(), cfg: { preVote: true } },
    {
      name: "follower with forwarding disabled",
      setup: (n, s) => {
        n.step(msg({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: 1 }));
        drain(n, s);
      },
      cfg: { disableProposalForwarding: true },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = newStorage({ voters: [1n, 2n, 3n] });
      const n = node(1n, s, c.cfg);
      c.setup(n, s);
      const before = statusKey(n);
      const hadReady = n.hasReady();
      assert.throws(() => n.propose(enc("x")), ProposalDroppedError);
      assert.throws(() => n.proposeConfChange(cc(ConfChangeType.ConfChangeAddNode, 4n)), ProposalDroppedError);
      assert.throws(() => n.proposeBatch([enc("x1"), enc("x2")]), ProposalDroppedError);
      assert.equal(statusKey(n), before);
      assert.equal(n.hasReady(), hadReady);
      drainMessages(n, s);
      // Still healthy: it can become leader (or learn one) and take proposals afterwards.
      const term = n.basicStatus().hardState.term;
      n.step(msg({ type: MessageType.MsgHeartbeat, from: 2n, to: 1n, term: term + 1 }));
      drain(n, s);
      if (c.cfg?.disableProposalForwarding) return;
      n.propose(enc("y"));
      const rd = drain(n, s)!;
      assert.equal(rd.messages[0]!.type, MessageType.MsgProp);
      assert.equal(rd.messages[0]!.to, 2n);
    });
  }

  test("in a network: propose with no leader, then elect and propose", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    assert.throws(() => net.get(2n).node.propose(enc("early")), ProposalDroppedError);
    net.elect(2n);
    net.get(2n).node.propose(enc("late"));
    net.stabilize();
    for (const id of [1n, 2n, 3n]) assert.deepEqual(net.appliedData(id), ["late"]);
  });
});

describe("proposeBatch", () => {
  test("on the leader: the entries in order, applied everywhere", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    const n = net.get(1n).node;
    const last = net.get(1n).storage.lastIndex();
    n.proposeBatch([]); // nothing
    assert.equal(n.hasReady(), false);
    n.proposeBatch([enc("a"), enc("b"), enc("c")]);
    net.stabilize();
    const st = net.get(1n).storage;
    assert.deepEqual(
      st.entries(last + 1, st.lastIndex() + 1, Infinity).map((e) => [e.index, new TextDecoder().decode(e.data)]),
      [
        [last + 1, "a"],
        [last + 2, "b"],
        [last + 3, "c"],
      ],
    );
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["a", "b", "c"]);
  });

  test("from a follower: one MsgProp with every entry, in order", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.tickStabilize();
    net.get(2n).node.proposeBatch([enc("x"), enc("y")]);
    net.processReady(2n);
    const props = net.take((m) => m.type === MessageType.MsgProp);
    assert.equal(props.length, 1);
    assert.deepEqual(
      props[0]!.entries.map((e) => new TextDecoder().decode(e.data)),
      ["x", "y"],
    );
    net.deliver(props[0]!);
    net.stabilize();
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["x", "y"]);
  });

  test("all or none: a batch over maxUncommittedEntriesSize appends nothing", () => {
    const { n, s } = leaderOf3({ maxUncommittedEntriesSize: 10 });
    n.propose(enc("12345")); // uncommitted now (a first proposal is taken whatever its size)
    drain(n, s);
    const last = s.lastIndex();
    assert.throws(() => n.proposeBatch([enc("12345"), enc("67890"), enc("abcde")]), ProposalDroppedError);
    assert.equal(n.hasReady(), false);
    n.proposeBatch([enc("1")]);
    const rd = n.ready();
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [last + 1],
    );
  });
});

describe("bootstrap", () => {
  test("refuses a non-empty storage", () => {
    const s = newStorage({ voters: [1n], entries: entsOfTerms(1, [1]) });
    assert.throws(
      () => node(1n, s).bootstrap([{ id: 1n }]),
      (e: unknown) => e instanceof RaftError && e.code === "TSRAFT_BOOTSTRAP",
    );
  });
  test("refuses an empty peer list", () => {
    assert.throws(
      () => node(1n, new MemoryStorage()).bootstrap([]),
      (e: unknown) => e instanceof RaftError && e.code === "TSRAFT_BOOTSTRAP",
    );
  });
  test("campaign() right after bootstrap() waits until the bootstrap entries are applied", () => {
    const s = new MemoryStorage();
    const n = node(1n, s);
    n.bootstrap([{ id: 1n }]);
    n.campaign();
    assert.equal(n.basicStatus().softState.raftState, "follower");
    drain(n, s);
    n.campaign();
    drainMessages(n, s);
    assert.equal(n.basicStatus().softState.raftState, "leader");
  });
});

describe("status", () => {
  test("the leader reports every peer's progress; a follower none", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.get(1n).node.propose(enc("a"));
    net.stabilize();
    const st = net.get(1n).node.status();
    assert.equal(st.id, 1n);
    assert.equal(st.softState.raftState, "leader");
    assert.equal(st.softState.lead, 1n);
    assert.deepEqual(st.hardState, { term: 2, vote: 1n, commit: 5 });
    assert.equal(st.applied, 5);
    assert.deepEqual([...st.progress!.keys()], [1n, 2n, 3n]);
    for (const [, pr] of st.progress!) {
      assert.equal(pr.match, 5);
      assert.equal(pr.next, 6);
      assert.equal(pr.state, "replicate");
      assert.equal(pr.paused, false);
      assert.equal(pr.isLearner, false);
    }
    assert.deepEqual(st.config.voters, [1n, 2n, 3n]);
    const fs = net.get(2n).node.status();
    assert.equal(fs.progress, undefined);
    assert.equal(fs.softState.lead, 1n);
    assert.equal(fs.leadTransferee, NONE);
    const bs = net.get(1n).node.basicStatus();
    assert.equal((bs as { progress?: unknown }).progress, undefined);
  });
});

describe("restart", () => {
  test("a restarted node keeps its term, vote and commit, and does not re-apply entries up to `applied`", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    for (const d of ["a", "b", "c"]) net.get(1n).node.propose(enc(d));
    net.stabilize();
    const before = net.get(2n).node.basicStatus().hardState;
    const tn = net.restart(2n);
    assert.deepEqual(tn.node.basicStatus().hardState, before);
    assert.equal(tn.node.basicStatus().applied, tn.appliedIndex);
    assert.equal(tn.node.hasReady(), false);
    net.get(1n).node.propose(enc("d"));
    net.stabilize(); // applyEntry throws on a re-applied entry
    assert.deepEqual(net.appliedData(2n), ["a", "b", "c", "d"]);
  });
  test("restarting with applied below commit hands out the rest once", () => {
    const s = newStorage({ voters: [1n], entries: entsOfTerms(1, [1, 1, 1, 1]), hardState: { term: 1, vote: 1n, commit: 4 } });
    const n = node(1n, s, { applied: 2 });
    const rd = drain(n, s)!;
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [3, 4],
    );
    assert.equal(n.hasReady(), false);
  });
});

describe("step() does not mutate the messages it is given", () => {
  test("a forwarded MsgProp delivered twice (the same object) appends two intact entries", () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    net.tickStabilize();
    net.get(2n).node.propose(enc("dup"));
    net.processReady(2n);
    const [prop] = net.take((m) => m.type === MessageType.MsgProp);
    assert.ok(prop !== undefined);
    const before = JSON.stringify(prop.entries);
    net.deliver(prop);
    net.deliver(prop);
    assert.equal(JSON.stringify(prop.entries), before, "the message's entries were changed");
    net.stabilize();
    for (const id of net.ids()) assert.deepEqual(net.appliedData(id), ["dup", "dup"]);
    const s = net.get(1n).storage;
    const ents = s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity);
    ents.forEach((e, i) => assert.equal(e.index, s.firstIndex() + i));
  });
});
