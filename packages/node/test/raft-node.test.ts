import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType, EntryType, MessageType } from "@tsraft/raftpb";
import type { ConfState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import {
  EntryRefusedError,
  FatalError,
  NoLeaderError,
  NodeStoppedError,
  NotLeaderError,
  RaftNode,
  RequestTimeoutError,
  TransferError,
  UnsafeConfChangeError,
} from "@tsraft/node";
import type { PersistRequest } from "@tsraft/node";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A tiny replicated log of strings, one per node, with an in-process network. */
interface Member {
  id: NodeId;
  node: RaftNode<number>;
  storage: MemoryStorage;
  log: string[];
  snapshots: number[];
}

class Net {
  members = new Map<NodeId, Member>();
  down = new Set<NodeId>();
  deliver(msgs: Message[]): void {
    for (const m of msgs) {
      if (this.down.has(m.to) || this.down.has(m.from)) continue;
      const to = this.members.get(m.to);
      if (to !== undefined) setImmediate(() => to.node.step(m));
    }
  }
}

function persistTo(storage: MemoryStorage) {
  return async (p: PersistRequest): Promise<void> => {
    if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
    if (p.entries.length > 0) storage.append(p.entries);
    if (p.hardState !== undefined) storage.setHardState(p.hardState);
  };
}

interface MemberOptions {
  snapshotEvery?: number;
  timeoutMs?: number;
  persist?: (p: PersistRequest) => Promise<void>;
  onFatal?: (e: unknown) => void;
  /** Replaces the apply callback (the default appends to `log`). */
  apply?: (m: Member, data: string) => number;
  applyConfChange?: () => void | Promise<void>;
  strictReconfig?: boolean;
}

function makeMember(net: Net, id: NodeId, storage = new MemoryStorage(), opts: MemberOptions = {}): Member {
  const m: Member = { id, storage, log: [], snapshots: [], node: undefined as unknown as RaftNode<number> };
  m.node = new RaftNode<number>({
    raft: { id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
    tickMs: 5,
    requestTimeoutMs: opts.timeoutMs ?? 3000,
    readRetryMs: 100,
    persist: opts.persist ?? persistTo(storage),
    send: (msgs) => net.deliver(msgs),
    apply: (e) => {
      if (opts.apply !== undefined) return opts.apply(m, dec.decode(e.data));
      m.log.push(dec.decode(e.data));
      return m.log.length;
    },
    ...(opts.applyConfChange === undefined ? {} : { applyConfChange: opts.applyConfChange }),
    ...(opts.strictReconfig === undefined ? {} : { strictReconfig: opts.strictReconfig }),
    restore: (s: Snapshot) => {
      m.log = s.data === undefined || s.data.length === 0 ? [] : (JSON.parse(dec.decode(s.data)) as string[]);
    },
    ...(opts.snapshotEvery === undefined
      ? {}
      : {
          snapshot: {
            entries: opts.snapshotEvery,
            take: () => enc.encode(JSON.stringify(m.log)),
            save: async (s: { index: number; confState: ConfState; data: Uint8Array }) => {
              storage.createSnapshot(s.index, s.confState, s.data);
              storage.compact(s.index);
              m.snapshots.push(s.index);
            },
          },
        }),
    ...(opts.onFatal === undefined ? {} : { onFatal: opts.onFatal }),
  });
  net.members.set(id, m);
  return m;
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function cluster(n: number, opts: Parameters<typeof makeMember>[3] = {}): Promise<{ net: Net; ms: Member[]; leader: () => Member }> {
  const net = new Net();
  const ids = Array.from({ length: n }, (_, i) => BigInt(i + 1));
  const ms = ids.map((id) => makeMember(net, id, new MemoryStorage(), opts));
  for (const m of ms) await m.node.start({ bootstrap: ids.map((id) => ({ id })) });
  const leader = (): Member => ms.find((m) => m.node.status().softState.raftState === "leader" && !net.down.has(m.id))!;
  await until("a leader", () => leader() !== undefined && ms.every((m) => net.down.has(m.id) || m.node.leader() === leader().id));
  return { net, ms, leader };
}

async function stopAll(ms: Member[]): Promise<void> {
  for (const m of ms) await m.node.stop();
}

describe("RaftNode", () => {
  test("a proposal on a follower resolves with its apply result once applied there; all apply the same log", async () => {
    const { ms, leader } = await cluster(3);
    const f = ms.find((m) => m !== leader())!;
    const r1 = await f.node.propose(enc.encode("a"));
    const r2 = await leader().node.propose(enc.encode("b"));
    assert.equal(r1, 1);
    assert.equal(r2, 2);
    assert.deepEqual(f.log.slice(0, 1), ["a"]);
    await until("all applied", () => ms.every((m) => m.log.length === 2));
    for (const m of ms) assert.deepEqual(m.log, ["a", "b"]);
    await stopAll(ms);
  });

  test("readIndex on a follower resolves after the follower applied a write acknowledged before it", async () => {
    const { ms, leader } = await cluster(3);
    const f = ms.find((m) => m !== leader())!;
    await leader().node.propose(enc.encode("x"));
    const reads = await Promise.all([f.node.readIndex(), f.node.readIndex(), f.node.readIndex()]);
    for (const idx of reads) assert.ok(f.node.appliedIndex() >= idx);
    assert.ok(f.log.includes("x"));
    await stopAll(ms);
  });

  test("a ReadIndex request lost with its leader is asked again and answered by the next leader", async () => {
    const { net, ms, leader } = await cluster(3);
    const old = leader();
    const f = ms.find((m) => m !== old)!;
    await old.node.propose(enc.encode("before"));
    await until("f applied", () => f.log.length === 1);
    net.down.add(old.id); // the request is forwarded to a leader that no longer answers
    const idx = await f.node.readIndex();
    assert.notEqual(f.node.leader(), old.id, "answered by the new leader");
    assert.ok(f.node.appliedIndex() >= idx);
    await stopAll(ms);
  });

  test("no leader: propose, readIndex and transferLeader reject at once with NoLeaderError", async () => {
    const net = new Net();
    const m = makeMember(net, 1n);
    await m.node.start({ bootstrap: [{ id: 1n }, { id: 2n }, { id: 3n }] });
    const t0 = Date.now();
    await assert.rejects(m.node.propose(enc.encode("x")), NoLeaderError);
    await assert.rejects(m.node.readIndex(), NoLeaderError);
    await assert.rejects(m.node.transferLeader(2n), NoLeaderError);
    assert.ok(Date.now() - t0 < 500);
    await m.node.stop();
  });

  test("a proposal whose leader became unreachable times out with RequestTimeoutError; stop() rejects the rest", async () => {
    const { net, ms, leader } = await cluster(3, { timeoutMs: 300 });
    const l = leader();
    const f = ms.find((m) => m !== l)!;
    net.down.add(l.id);
    await assert.rejects(f.node.propose(enc.encode("lost?")), (e: unknown) => e instanceof RequestTimeoutError && e.op === "propose");
    const pending = f.node.waitApplied(1e9);
    await f.node.stop();
    await assert.rejects(pending, NodeStoppedError);
    await stopAll(ms);
  });

  test("snapshots every N entries; a new member catches up from a snapshot and has the same state", async () => {
    const { net, ms, leader } = await cluster(3, { snapshotEvery: 5 });
    for (let i = 0; i < 12; i++) await leader().node.propose(enc.encode(`v${i}`));
    await until("snapshots", () => ms.every((m) => m.snapshots.length >= 2));
    const cs = await leader().node.proposeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 4n, id: 0n, context: enc.encode("addr4") });
    assert.ok(cs.voters.includes(4n));
    const m4 = makeMember(net, 4n, new MemoryStorage(), { snapshotEvery: 5 });
    await m4.node.start();
    await leader().node.propose(enc.encode("after"));
    await until("member 4 caught up", () => m4.log.length === 13);
    assert.deepEqual(m4.log, leader().log);
    assert.ok(m4.node.status().snapshotIndex > 0, "caught up through a snapshot");
    await stopAll([...ms, m4]);
  });

  test("transferLeader resolves when the target leads; a non-voter target is refused", async () => {
    const { ms, leader } = await cluster(3);
    const target = ms.find((m) => m !== leader())!;
    await leader().node.transferLeader(target.id);
    await until("target leads", () => leader()?.id === target.id);
    await assert.rejects(target.node.transferLeader(9n), TransferError);
    await stopAll(ms);
  });

  test("a failing persist is fatal: onFatal runs and pending requests are rejected", async () => {
    let fatal: unknown;
    let fail = false;
    const net = new Net();
    const storage = new MemoryStorage();
    const m = makeMember(net, 1n, storage, {
      persist: async (p) => {
        if (fail) throw new Error("disk on fire");
        await persistTo(storage)(p);
      },
      onFatal: (e) => {
        fatal = e;
      },
    });
    await m.node.start({ bootstrap: [{ id: 1n }] });
    await until("leader", () => m.node.leader() === 1n);
    await m.node.propose(enc.encode("ok"));
    fail = true;
    await assert.rejects(m.node.propose(enc.encode("boom")), NodeStoppedError);
    assert.match(String(fatal), /disk on fire/);
    assert.equal(m.node.status().running, false);
  });

  test("restart: state restored from the storage snapshot, later entries replayed, no duplicate apply", async () => {
    const net = new Net();
    const storage = new MemoryStorage();
    const m = makeMember(net, 1n, storage, { snapshotEvery: 3 });
    await m.node.start({ bootstrap: [{ id: 1n }] });
    await until("leader", () => m.node.leader() === 1n);
    for (let i = 0; i < 7; i++) await m.node.propose(enc.encode(`e${i}`));
    const before = [...m.log];
    await m.node.stop();
    net.members.clear();
    const again = makeMember(net, 1n, storage, { snapshotEvery: 3 });
    await again.node.start({ bootstrap: [{ id: 1n }] });
    await until("replayed", () => again.log.length === before.length);
    assert.deepEqual(again.log, before);
    await until("leader", () => again.node.leader() === 1n);
    await again.node.propose(enc.encode("more"));
    assert.deepEqual(again.log, [...before, "more"]);
    await again.node.stop();
  });

  test("an entry the application refuses (apply throws) is a result: the proposer gets EntryRefusedError, every member goes on", async () => {
    let fatal: unknown;
    const apply = (m: Member, data: string): number => {
      if (data.startsWith("bad")) throw new Error(`cannot apply ${data}`);
      m.log.push(data);
      return m.log.length;
    };
    const { ms, leader } = await cluster(3, { apply, onFatal: (e) => (fatal = e) });
    await leader().node.propose(enc.encode("a"));
    const f = ms.find((m) => m !== leader())!;
    await assert.rejects(f.node.propose(enc.encode("bad1")), (e: unknown) => e instanceof EntryRefusedError && /cannot apply bad1/.test(e.message));
    await leader().node.propose(enc.encode("b"));
    await until("all applied b", () => ms.every((m) => m.log.length === 2));
    for (const m of ms) {
      assert.deepEqual(m.log, ["a", "b"]);
      assert.equal(m.node.stats().entriesRefused, 1);
      assert.equal(m.node.status().running, true);
    }
    assert.equal(fatal, undefined);
    await stopAll(ms);
  });

  test("an entry that did not come through a RaftNode (a forwarded MsgProp with raw bytes) is refused and skipped, not fatal", async () => {
    let fatal: unknown;
    const { ms, leader } = await cluster(3, { onFatal: (e) => (fatal = e) });
    const l = leader();
    const f = ms.find((m) => m !== l)!;
    // What a peer (or anyone who can reach the raft port without authentication) can send.
    l.node.step({
      type: MessageType.MsgProp,
      to: l.id,
      from: f.id,
      term: 0,
      logTerm: 0,
      index: 0,
      commit: 0,
      reject: false,
      rejectHint: 0,
      entries: [{ term: 0, index: 0, type: EntryType.EntryNormal, data: enc.encode("no envelope") }],
    } as never);
    await l.node.propose(enc.encode("after"));
    await until("all applied", () => ms.every((m) => m.log.length === 1));
    for (const m of ms) {
      assert.deepEqual(m.log, ["after"]);
      assert.equal(m.node.stats().entriesRefused, 1);
    }
    assert.equal(fatal, undefined);
    await stopAll(ms);
  });

  test("apply throwing FatalError stops the node (onFatal)", async () => {
    let fatal: unknown;
    const apply = (m: Member, data: string): number => {
      if (data === "disk gone") throw new FatalError("my store failed");
      m.log.push(data);
      return m.log.length;
    };
    const net = new Net();
    const m = makeMember(net, 1n, new MemoryStorage(), { apply, onFatal: (e) => (fatal = e) });
    await m.node.start({ bootstrap: [{ id: 1n }] });
    await until("leader", () => m.node.leader() === 1n);
    await assert.rejects(m.node.propose(enc.encode("disk gone")), NodeStoppedError);
    assert.match(String(fatal), /my store failed/);
    assert.equal(m.node.status().running, false);
  });

  test("an applyConfChange hook that throws is logged and counted; the change is in effect and the node goes on", async () => {
    let throwing = false;
    const { ms, leader } = await cluster(3, {
      applyConfChange: () => {
        if (throwing) throw new Error("setPeer: invalid address");
      },
    });
    throwing = true;
    const cs = await leader().node.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 7n, id: 0n });
    assert.deepEqual(cs.learners, [7n]);
    await leader().node.propose(enc.encode("still fine"));
    await until("all applied", () => ms.every((m) => m.log.length === 1));
    for (const m of ms) assert.equal(m.node.stats().confChangesRefused, 1);
    await stopAll(ms);
  });

  test("strictReconfig: a voter add or removal that would leave fewer connected voters than the quorum is refused; learners are not checked; followers refuse", async () => {
    const { ms, leader } = await cluster(3);
    const l = leader();
    const others = ms.filter((m) => m !== l);
    await assert.rejects(
      others[0]!.node.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 9n, id: 0n }),
      (e: unknown) => e instanceof NotLeaderError && e.leader === l.id,
    );
    // 3 connected voters: a 4th (not started) is fine (quorum 3 of 4), a 5th too (3 of 5).
    await l.node.proposeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 4n, id: 0n });
    await l.node.proposeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 5n, id: 0n });
    // A 6th would need 4 connected voters of 6: refused, nothing proposed.
    await assert.rejects(
      l.node.proposeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 6n, id: 0n }),
      (e: unknown) => e instanceof UnsafeConfChangeError && e.connected === 3 && e.quorum === 4,
    );
    assert.deepEqual(l.node.status().config.voters, [1n, 2n, 3n, 4n, 5n]);
    // A learner changes no quorum: allowed.
    const cs = await l.node.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 6n, id: 0n });
    assert.deepEqual(cs.learners, [6n]);
    await stopAll(ms);
  });

  test("strictReconfig: removing a live voter while another is cut off is refused (it would leave 1 connected of 2)", async () => {
    const { net, ms, leader } = await cluster(3);
    const l = leader();
    const [cut, live] = ms.filter((m) => m !== l);
    net.down.add(cut!.id);
    // Longer than the check window (an election timeout: 10 ticks of 5 ms).
    await new Promise((r) => setTimeout(r, 120));
    await assert.rejects(
      l.node.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: live!.id, id: 0n }),
      (e: unknown) => e instanceof UnsafeConfChangeError && e.connected === 1 && e.quorum === 2,
    );
    // Removing the cut-off one leaves 2 connected of 2: allowed. (The check window is only 50 ms
    // here; on a loaded machine the live follower's last message may be older: try a few times.)
    let cs: ConfState | undefined;
    for (let attempt = 0; cs === undefined; attempt++) {
      try {
        cs = await l.node.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: cut!.id, id: 0n });
      } catch (e) {
        if (!(e instanceof UnsafeConfChangeError) || attempt >= 20) throw e;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    assert.deepEqual(
      cs.voters,
      [l.id, live!.id].sort((a, b) => (a < b ? -1 : 1)),
    );
    net.down.clear();
    await stopAll(ms);
  });

  test("strictReconfig: false lets the leader add voters that never started", async () => {
    const { ms, leader } = await cluster(3, { strictReconfig: false });
    const l = leader();
    for (const id of [4n, 5n, 6n]) await l.node.proposeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: id, id: 0n });
    assert.deepEqual(l.node.status().config.voters, [1n, 2n, 3n, 4n, 5n, 6n]);
    await stopAll(ms);
  });

  test("a conf change proposed right after another one resolved is accepted (raft knows the first is applied by then)", async () => {
    // An asynchronous hook, as a service that records members on disk would have.
    const { ms, leader } = await cluster(3, { timeoutMs: 1500, applyConfChange: async () => {} });
    const l = leader();
    for (let i = 0; i < 5; i++) {
      await l.node.proposeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: BigInt(10 + i), id: 0n });
    }
    assert.deepEqual(l.node.status().config.learners, [10n, 11n, 12n, 13n, 14n]);
    await stopAll(ms);
  });
});
