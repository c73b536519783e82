import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeType } from "@tsraft/raftpb";
import type { ConfState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { NoLeaderError, NodeStoppedError, RaftNode, RequestTimeoutError, TransferError } from "@tsraft/node";
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

function makeMember(net: Net, id: NodeId, storage = new MemoryStorage(), opts: { snapshotEvery?: number; timeoutMs?: number; persist?: (p: PersistRequest) => Promise<void>; onFatal?: (e: unknown) => void } = {}): Member {
  const m: Member = { id, storage, log: [], snapshots: [], node: undefined as unknown as RaftNode<number> };
  m.node = new RaftNode<number>({
    raft: { id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
    tickMs: 5,
    requestTimeoutMs: opts.timeoutMs ?? 3000,
    readRetryMs: 100,
    persist: opts.persist ?? persistTo(storage),
    send: (msgs) => net.deliver(msgs),
    apply: (e) => {
      m.log.push(dec.decode(e.data));
      return m.log.length;
    },
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
});
