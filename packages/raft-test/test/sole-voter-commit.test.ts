// Config.soleVoterCommitOnAppend: a leader that is the only voter commits its own entries when
// it appends them, so one Ready both hands them out to persist and to apply (one Ready cycle per
// proposal instead of two). Tables for the shapes (one voter, joint configurations, learners, two
// voters), and properties over random runs of small clusters: that no node ever reveals a commit
// index (HardState, committed entries, a message's commit) covering an entry that a quorum of
// the leader's configuration has not persisted, counting the Ready's own write, which is done
// before the check as the Ready contract requires; that with two or more voters the option
// changes no Ready at all; and that the check catches the shortcut taken with peers (the fault
// switch commitOnAppendWithPeers), the planted bug this option must not have.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfChangeTransition, ConfChangeType, EntryType, MessageType, decodeConfChange, decodeConfChangeV2, newMessage } from "@tsraft/raftpb";
import type { ConfChangeSingle, ConfState, Entry, Message, NodeId } from "@tsraft/raftpb";
import { ConfigError, RawNode, isRaftError, type Config, type Ready } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { setFaults } from "../../raft/src/internal/faults.js";
import { JointConfig } from "../../raft/src/quorum/joint.js";
import { MajorityConfig } from "../../raft/src/quorum/majority.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

interface Member {
  id: NodeId;
  rn: RawNode;
  st: MemoryStorage;
}

type ConfKind = "voter" | "learner" | "remove" | "joint" | "leave";

type Op =
  | { t: "propose"; n: number }
  | { t: "ready"; n: number }
  | { t: "deliver"; k: number }
  | { t: "drop"; k: number }
  | { t: "tick"; n: number }
  | { t: "campaign"; n: number }
  | { t: "conf"; kind: ConfKind; target: number }
  | { t: "drain" };

/** A quorum of each half of `cs` satisfies `holds` (an empty outgoing half is no constraint). */
function hasQuorum(cs: ConfState, holds: (id: NodeId) => boolean): boolean {
  const majority = (ids: readonly NodeId[]): boolean => ids.length === 0 || 2 * ids.filter(holds).length > ids.length;
  return cs.voters.length > 0 && majority(cs.voters) && majority(cs.votersOutgoing);
}

/** Swallows the errors raft raises for a request it refuses (dropped proposal, unknown peer). */
function refused(f: () => void): void {
  try {
    f();
  } catch (err) {
    if (!isRaftError(err)) throw err;
  }
}

const bigintJson = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? Array.from(v) : v);

/**
 * Nodes 1..voters bootstrapped as voters, nodes after them empty (they join by conf changes), in
 * one thread; messages wait in `inflight` until an op delivers or drops them. Every Ready is
 * persisted first, then checked, then its messages are queued, its entries applied, and advanced.
 */
class Cluster {
  readonly members: Member[] = [];
  inflight: Message[] = [];
  /** index -> term, once a leader revealed it committed with a quorum of persisted copies. */
  readonly certified = new Map<number, number>();
  /** Per node: the highest commit index it revealed, and its configuration at its last Ready. */
  readonly revealed = new Map<NodeId, number>();
  readonly lastConf = new Map<NodeId, ConfState>();
  /** Every Ready, in order, as text (to compare two runs). */
  readonly transcript: string[] = [];
  /** Readies of a leader whose committed entries include entries handed out to persist in the same Ready. */
  oneCycleCommits = 0;
  violation: string | undefined;

  constructor(voters: number, extra: number, options: Partial<Config>, faulty = false) {
    const peers: { id: NodeId }[] = [];
    for (let i = 1; i <= voters; i++) peers.push({ id: BigInt(i) });
    for (let i = 1; i <= voters + extra; i++) {
      const st = new MemoryStorage();
      const cfg: Config = { id: BigInt(i), electionTick: 10, heartbeatTick: 1, storage: st, ...options };
      if (faulty) setFaults(cfg, { commitOnAppendWithPeers: true });
      const rn = new RawNode(cfg);
      if (i <= voters) rn.bootstrap(peers);
      this.members.push({ id: BigInt(i), rn, st });
    }
    for (let i = 1; i <= voters; i++) this.certified.set(i, 1); // the bootstrap entries
  }

  member(n: number): Member {
    return this.members[n % this.members.length]!;
  }

  leader(): Member | undefined {
    let best: Member | undefined;
    for (const m of this.members) {
      const s = m.rn.basicStatus();
      if (s.softState.raftState === "leader" && (best === undefined || s.hardState.term > best.rn.basicStatus().hardState.term)) best = m;
    }
    return best;
  }

  /** Takes, persists, checks and acts on one Ready of `m`, if it has one. */
  ready(m: Member): boolean {
    if (!m.rn.hasReady()) return false;
    const rd = m.rn.ready();
    if (rd.snapshot !== undefined) m.st.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) m.st.append(rd.entries);
    if (rd.hardState !== undefined) m.st.setHardState(rd.hardState);
    this.check(m, rd);
    this.transcript.push(`${m.id}: ${JSON.stringify(rd, bigintJson)}`);
    for (const msg of rd.messages) this.inflight.push(msg);
    for (const e of rd.committedEntries) {
      // (A change that cannot apply, such as removing the last voter, is refused and changes nothing.)
      if (e.type === EntryType.EntryConfChange) refused(() => m.rn.applyConfChange(decodeConfChange(e.data ?? new Uint8Array(0))));
      else if (e.type === EntryType.EntryConfChangeV2) refused(() => m.rn.applyConfChange(decodeConfChangeV2(e.data ?? new Uint8Array(0))));
    }
    m.rn.advance(rd);
    return true;
  }

  /** The commit index `rd` reveals must cover only entries a quorum has persisted (see the file comment). */
  check(m: Member, rd: Ready): void {
    let c = rd.hardState?.commit ?? 0;
    const ce = rd.committedEntries;
    if (ce.length > 0) c = Math.max(c, ce[ce.length - 1]!.index);
    for (const msg of rd.messages) {
      if (msg.type === MessageType.MsgApp || msg.type === MessageType.MsgHeartbeat) c = Math.max(c, msg.commit);
    }
    const status = m.rn.status();
    const conf = status.config;
    const before = this.lastConf.get(m.id) ?? conf;
    this.lastConf.set(m.id, conf);
    const from = this.revealed.get(m.id) ?? 0;
    if (c <= from) return;
    this.revealed.set(m.id, c);
    const isLeader = status.softState.raftState === "leader";
    if (isLeader && ce.length > 0 && rd.entries.length > 0 && ce[ce.length - 1]!.index >= rd.entries[0]!.index) this.oneCycleCommits++;
    for (let i = from + 1; i <= c; i++) {
      if (i > m.st.lastIndex()) {
        this.fail(`node ${m.id} reveals commit ${c} but has persisted only up to ${m.st.lastIndex()}`);
        return;
      }
      const t = m.st.term(i);
      if (this.certified.get(i) === t) continue;
      const holds = (id: NodeId): boolean => {
        const o = this.members[Number(id) - 1];
        return o !== undefined && o.st.lastIndex() >= i && o.st.term(i) === t;
      };
      // (Any node may count: a leader that just stepped down reveals the commit it made.)
      if (hasQuorum(conf, holds) || hasQuorum(before, holds)) {
        this.certified.set(i, t);
        continue;
      }
      const who = this.members.filter((o) => holds(o.id)).map((o) => String(o.id));
      this.fail(
        `node ${m.id} (${status.softState.raftState}, term ${status.hardState.term}) reveals commit ${c} covering ${i}/${t}, ` +
          `persisted only by [${who.join(",")}] (voters ${conf.voters.join(",")}${conf.votersOutgoing.length > 0 ? ` && ${conf.votersOutgoing.join(",")}` : ""})`,
      );
      return;
    }
  }

  fail(why: string): void {
    if (this.violation === undefined) this.violation = why;
  }

  deliver(k: number): void {
    if (this.inflight.length === 0) return;
    const msg = this.inflight.splice(k % this.inflight.length, 1)[0]!;
    const to = this.members[Number(msg.to) - 1];
    if (to !== undefined) refused(() => to.rn.step(msg));
  }

  /** Ready cycles and deliveries until nothing moves. */
  drain(): void {
    for (let round = 0; round < 200; round++) {
      let moved = false;
      for (const m of this.members) while (this.ready(m)) moved = true;
      while (this.inflight.length > 0) {
        this.deliver(0);
        moved = true;
      }
      if (!moved) return;
    }
  }

  conf(kind: ConfKind, target: number): void {
    const l = this.leader();
    if (l === undefined) return;
    const id = this.member(target).id;
    let changes: ConfChangeSingle[] = [];
    let transition = ConfChangeTransition.ConfChangeTransitionAuto;
    if (kind === "voter") changes = [{ type: ConfChangeType.ConfChangeAddNode, nodeId: id }];
    else if (kind === "learner") changes = [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id }];
    else if (kind === "remove") changes = [{ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id }];
    else if (kind === "joint") {
      transition = ConfChangeTransition.ConfChangeTransitionJointExplicit;
      changes = [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: id }];
    }
    refused(() => l.rn.proposeConfChange({ transition, changes }));
  }

  run(op: Op): void {
    switch (op.t) {
      case "propose":
        refused(() => this.member(op.n).rn.propose(enc("p")));
        return;
      case "ready":
        this.ready(this.member(op.n));
        return;
      case "deliver":
        this.deliver(op.k);
        return;
      case "drop":
        if (this.inflight.length > 0) this.inflight.splice(op.k % this.inflight.length, 1);
        return;
      case "tick":
        this.member(op.n).rn.tick();
        return;
      case "campaign":
        refused(() => this.member(op.n).rn.campaign());
        return;
      case "conf":
        this.conf(op.kind, op.target);
        return;
      case "drain":
        this.drain();
        return;
    }
  }

  /** Node 1 campaigns (once the bootstrap entries are applied) and everything settles. */
  start(): this {
    this.drain();
    this.members[0]!.rn.campaign();
    this.drain();
    return this;
  }
}

function opArb(conf: boolean): fc.Arbitrary<Op> {
  const n = fc.nat(7);
  const k = fc.nat(31);
  const ops: fc.Arbitrary<Op>[] = [
    n.map((v): Op => ({ t: "propose", n: v })),
    n.map((v): Op => ({ t: "propose", n: v })),
    n.map((v): Op => ({ t: "ready", n: v })),
    n.map((v): Op => ({ t: "ready", n: v })),
    k.map((v): Op => ({ t: "deliver", k: v })),
    k.map((v): Op => ({ t: "deliver", k: v })),
    k.map((v): Op => ({ t: "drop", k: v })),
    n.map((v): Op => ({ t: "tick", n: v })),
    n.map((v): Op => ({ t: "campaign", n: v })),
    fc.constant<Op>({ t: "drain" }),
  ];
  if (conf) {
    ops.push(fc.record({ kind: fc.constantFrom<ConfKind>("voter", "learner", "remove", "joint", "leave"), target: n }).map((c): Op => ({ t: "conf", ...c })));
  }
  return fc.oneof(...ops);
}

/** One Ready cycle of `m` with a MemoryStorage: persist, advance; returns the Ready. */
function cycle(rn: RawNode, st: MemoryStorage): Ready {
  const rd = rn.ready();
  if (rd.entries.length > 0) st.append(rd.entries);
  if (rd.hardState !== undefined) st.setHardState(rd.hardState);
  for (const e of rd.committedEntries) {
    if (e.type === EntryType.EntryConfChange) rn.applyConfChange(decodeConfChange(e.data ?? new Uint8Array(0)));
    else if (e.type === EntryType.EntryConfChangeV2) rn.applyConfChange(decodeConfChangeV2(e.data ?? new Uint8Array(0)));
  }
  rn.advance(rd);
  return rd;
}

/** A bootstrapped single voter (id 1), leader, nothing pending; every Ready of the way in `log`. */
function soleLeader(options: Partial<Config>, log: Ready[] = []): { rn: RawNode; st: MemoryStorage } {
  const st = new MemoryStorage();
  const rn = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: st, ...options });
  rn.bootstrap([{ id: 1n }]);
  while (rn.hasReady()) log.push(cycle(rn, st)); // apply the bootstrap entries first
  rn.campaign();
  for (let i = 0; i < 100 && rn.hasReady(); i++) log.push(cycle(rn, st));
  assert.equal(rn.basicStatus().softState.raftState, "leader");
  assert.equal(rn.hasReady(), false);
  return { rn, st };
}

const dataOf = (es: readonly Entry[]): string[] => es.map((e) => new TextDecoder().decode(e.data ?? new Uint8Array(0)));

describe("soleVoterCommitOnAppend: tables", () => {
  test("one voter: a proposal is persisted and applied in one Ready (two without the option)", () => {
    for (const on of [true, false]) {
      const { rn, st } = soleLeader({ soleVoterCommitOnAppend: on });
      rn.propose(enc("x"));
      const readies: Ready[] = [];
      while (rn.hasReady()) readies.push(cycle(rn, st));
      const last = st.lastIndex();
      if (on) {
        assert.equal(readies.length, 1);
        const rd = readies[0]!;
        assert.deepEqual(dataOf(rd.entries), ["x"]);
        assert.deepEqual(dataOf(rd.committedEntries), ["x"]);
        assert.equal(rd.hardState?.commit, last);
        assert.equal(rd.mustSync, true);
      } else {
        assert.equal(readies.length, 2);
        assert.deepEqual(dataOf(readies[0]!.entries), ["x"]);
        assert.equal(readies[0]!.committedEntries.length, 0);
        assert.equal(readies[0]!.hardState, undefined);
        assert.deepEqual(dataOf(readies[1]!.committedEntries), ["x"]);
        assert.equal(readies[1]!.entries.length, 0);
        assert.equal(readies[1]!.hardState?.commit, last);
      }
      assert.equal(rn.status().progress?.get(1n)?.match, last, "the leader's match follows its persisted log");
    }
  });

  test("one voter: the new leader's empty entry is committed in the Ready that carries it", () => {
    const log: Ready[] = [];
    soleLeader({ soleVoterCommitOnAppend: true }, log);
    const rd = log.find((r) => r.entries.some((e) => e.term === 2));
    assert.ok(rd !== undefined);
    const empty = rd.entries.find((e) => e.term === 2)!;
    assert.ok(rd.committedEntries.some((e) => e.index === empty.index && e.term === 2));
    assert.equal(rd.hardState?.commit, empty.index);
  });

  test("a batch of proposals before one Ready: all of them in the same Ready's committed entries", () => {
    const { rn, st } = soleLeader({ soleVoterCommitOnAppend: true });
    rn.propose(enc("a"));
    rn.proposeBatch([enc("b"), enc("c")]);
    rn.propose(enc("d"));
    const rd = cycle(rn, st);
    assert.deepEqual(dataOf(rd.entries), ["a", "b", "c", "d"]);
    assert.deepEqual(dataOf(rd.committedEntries), ["a", "b", "c", "d"]);
    assert.equal(rn.hasReady(), false);
  });

  test("committed entries handed out with the entries to persist stay as they were when more are proposed before advance()", () => {
    const { rn, st } = soleLeader({ soleVoterCommitOnAppend: true });
    rn.propose(enc("a"));
    const rd = rn.ready();
    assert.deepEqual(dataOf(rd.committedEntries), ["a"]);
    rn.propose(enc("b"));
    rn.proposeBatch([enc("c"), enc("d")]);
    assert.deepEqual(dataOf(rd.entries), ["a"]);
    assert.deepEqual(dataOf(rd.committedEntries), ["a"]);
    st.append(rd.entries);
    if (rd.hardState !== undefined) st.setHardState(rd.hardState);
    rn.advance(rd);
    const next = cycle(rn, st);
    assert.deepEqual(dataOf(next.entries), ["b", "c", "d"]);
    assert.deepEqual(dataOf(next.committedEntries), ["b", "c", "d"]);
    assert.deepEqual(dataOf(rd.committedEntries), ["a"]);
  });

  test("one voter and a learner: the learner's MsgApp carries the commit (sent after the persist)", () => {
    const { rn, st } = soleLeader({ soleVoterCommitOnAppend: true });
    rn.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionAuto,
      changes: [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2n }],
    });
    while (rn.hasReady()) cycle(rn, st);
    assert.deepEqual(rn.status().config.learners, [2n]);
    // Make the learner's progress replicate, as if it had caught up.
    const ack = newMessage(MessageType.MsgAppResp, 1n, 2n, rn.basicStatus().hardState.term);
    ack.index = st.lastIndex();
    rn.step(ack);
    while (rn.hasReady()) cycle(rn, st);
    rn.propose(enc("y"));
    const rd = cycle(rn, st);
    assert.deepEqual(dataOf(rd.committedEntries), ["y"]);
    const app = rd.messages.find((m) => m.type === MessageType.MsgApp && m.to === 2n);
    assert.ok(app !== undefined, "a MsgApp to the learner");
    assert.equal(app.commit, st.lastIndex());
  });

  test("two voters: nothing is committed before the follower persisted it, with or without the option", () => {
    for (const on of [true, false]) {
      const c = new Cluster(2, 0, { soleVoterCommitOnAppend: on }).start();
      const l = c.members[0]!;
      l.rn.propose(enc("z"));
      const rd = cycle(l.rn, l.st);
      assert.deepEqual(dataOf(rd.entries), ["z"]);
      assert.equal(rd.committedEntries.length, 0);
      assert.equal(rd.hardState, undefined);
      assert.equal(l.rn.hasReady(), false);
    }
  });

  test("joint configurations: only when the leader alone is every half", () => {
    // (1)&&(1), learner 2 added explicitly: still the sole voter in both halves.
    const { rn, st } = soleLeader({ soleVoterCommitOnAppend: true });
    rn.proposeConfChange({
      transition: ConfChangeTransition.ConfChangeTransitionJointExplicit,
      changes: [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 2n }],
    });
    while (rn.hasReady()) cycle(rn, st);
    assert.deepEqual(rn.status().config.votersOutgoing, [1n]);
    rn.propose(enc("j"));
    assert.deepEqual(dataOf(cycle(rn, st).committedEntries), ["j"]);
    assert.equal(rn.hasReady(), false);

    // (1 2)&&(1) and (1)&&(1 2): two voters in one half, so no shortcut.
    const joints: [voters: number, extra: number, type: ConfChangeType][] = [
      [1, 1, ConfChangeType.ConfChangeAddNode],
      [2, 0, ConfChangeType.ConfChangeRemoveNode],
    ];
    for (const [voters, extra, type] of joints) {
      const c = new Cluster(voters, extra, { soleVoterCommitOnAppend: true }).start();
      const l = c.members[0]!;
      l.rn.proposeConfChange({ transition: ConfChangeTransition.ConfChangeTransitionJointExplicit, changes: [{ type, nodeId: 2n }] });
      c.drain();
      const cs = l.rn.status().config;
      assert.deepEqual([cs.voters, cs.votersOutgoing], type === ConfChangeType.ConfChangeAddNode ? [[1n, 2n], [1n]] : [[1n], [1n, 2n]]);
      l.rn.propose(enc("k"));
      const rd = cycle(l.rn, l.st);
      assert.deepEqual(dataOf(rd.entries), ["k"]);
      assert.equal(rd.committedEntries.length, 0, `voters ${cs.voters.join(",")} && ${cs.votersOutgoing.join(",")}`);
      c.drain();
      assert.equal(c.violation, undefined, c.violation);
    }
  });

  test("a sole voter that gains a second voter stops committing on append; losing it again resumes", () => {
    const c = new Cluster(1, 1, { soleVoterCommitOnAppend: true }).start();
    const l = c.members[0]!;
    c.conf("voter", 1);
    c.drain();
    assert.deepEqual(l.rn.status().config.voters, [1n, 2n]);
    l.rn.propose(enc("m"));
    assert.equal(cycle(l.rn, l.st).committedEntries.length, 0);
    c.drain();
    c.conf("remove", 1);
    c.drain();
    assert.deepEqual(l.rn.status().config.voters, [1n]);
    l.rn.propose(enc("n"));
    assert.deepEqual(dataOf(cycle(l.rn, l.st).committedEntries), ["n"]);
    assert.equal(c.violation, undefined, c.violation);
  });

  test("refused with asyncStorageWrites (messages may leave before the write)", () => {
    assert.throws(
      () => new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), soleVoterCommitOnAppend: true, asyncStorageWrites: true }),
      (e: unknown) => e instanceof ConfigError && e.field === "soleVoterCommitOnAppend",
    );
    assert.doesNotThrow(() => new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: new MemoryStorage(), asyncStorageWrites: true }));
  });

  test("JointConfig.soleVoter: the voter that alone is a quorum of every half", () => {
    const mc = (...ids: number[]): MajorityConfig => new MajorityConfig(ids.map(BigInt));
    const cases: [JointConfig, NodeId | undefined][] = [
      [new JointConfig(mc(1)), 1n],
      [new JointConfig(mc(1, 2)), undefined],
      [new JointConfig(mc()), undefined],
      [new JointConfig(mc(1), mc(1)), 1n],
      [new JointConfig(mc(1), mc(2)), undefined],
      [new JointConfig(mc(1), mc(1, 2)), undefined],
      [new JointConfig(mc(1, 2), mc(1)), undefined],
      [new JointConfig(mc(), mc(1)), undefined],
    ];
    for (const [jc, want] of cases) {
      assert.equal(jc.soleVoter(), want, jc.toString());
      assert.equal(jc.soleVoter(), want, `${jc.toString()} (cached)`);
    }
  });
});

describe("soleVoterCommitOnAppend: properties", () => {
  // Runs of up to 150 ops: size "max", as fast-check's default size stops arrays at 10 elements
  // (with it the one-cycle path ran in 161 Readies of the first property's 300 runs; now 1,003).
  const runOf = (conf: boolean) => fc.array(opArb(conf), { maxLength: 150, size: "max" });

  test("no node reveals a commit index covering an entry a quorum has not persisted (1-3 voters, learners, conf changes)", () => {
    let oneCycle = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }), runOf(true), (voters, extra, ops) => {
        const c = new Cluster(voters, extra, { soleVoterCommitOnAppend: true }).start();
        for (const op of ops) {
          c.run(op);
          if (c.violation !== undefined) break;
        }
        c.drain();
        oneCycle += c.oneCycleCommits;
        assert.equal(c.violation, undefined, c.violation);
      }),
      { numRuns: 300, seed: 13 },
    );
    assert.ok(oneCycle > 500, `the one-cycle path ran (${oneCycle} Readies)`);
  });

  test("with two or more voters and no conf changes, every Ready is the same with and without the option", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 3 }), runOf(false), (voters, ops) => {
        const on = new Cluster(voters, 0, { soleVoterCommitOnAppend: true }).start();
        const off = new Cluster(voters, 0, {}).start();
        for (const op of ops) {
          on.run(op);
          off.run(op);
        }
        on.drain();
        off.drain();
        assert.deepEqual(on.transcript, off.transcript);
        assert.equal(on.violation, undefined, on.violation);
      }),
      { numRuns: 200, seed: 13 },
    );
  });

  test("the check catches the shortcut taken with peers (fault switch commitOnAppendWithPeers)", () => {
    const details = fc.check(
      fc.property(fc.integer({ min: 2, max: 3 }), fc.array(opArb(false), { maxLength: 60 }), (voters, ops) => {
        const c = new Cluster(voters, 0, { soleVoterCommitOnAppend: true }, true).start();
        for (const op of ops) {
          c.run(op);
          if (c.violation !== undefined) break;
        }
        c.drain();
        assert.equal(c.violation, undefined, c.violation);
      }),
      { numRuns: 200, seed: 13 },
    );
    assert.ok(details.failed, "the planted bug went unnoticed");
    assert.match(String(details.errorInstance), /reveals commit \d+ covering \d+\/\d+, persisted only by \[1\]/);
  });
});
