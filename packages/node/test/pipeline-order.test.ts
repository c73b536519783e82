/**
 * The pipeline's ordering rules (packages/node/README.md "The pipeline"), checked on every
 * message and every applied entry of 3-member in-process clusters whose writes take a random
 * time: a message that promises durable state (an append acknowledgement, a granted vote) never
 * leaves before the write it depends on; no entry is applied before it is durable on the node
 * applying it (so a leader never counts itself before its own write); and the leader's MsgApps
 * do leave while its own write of the same entries is in flight (the pipelining itself). The
 * planted bug `sendResponsesBeforePersist` (testing-knobs.ts) must make the first check fail.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType } from "@tsraft/raftpb";
import type { Entry, HardState, Message, NodeId } from "@tsraft/raftpb";
import { Prng } from "@tsraft/raft/testing";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RaftNode } from "@tsraft/node";
import type { PersistRequest } from "@tsraft/node";
import { setKnobs, type RaftNodeKnobs } from "../src/testing-knobs.js";

const enc = new TextEncoder();

/** A seeded generator (the simulator's Prng), so a failing run can be replayed with its seed. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

/** What a node's disk holds: written only when its (slow) persist completes. */
class Disk {
  /** Durable term of each durable index. */
  terms = new Map<number, number>();
  lastIndex = 0;
  hs: HardState = { term: 0, vote: 0n, commit: 0 };
  /** Indexes whose write is in flight (handed to persist, not yet durable). */
  inFlightLast = 0;

  write(p: PersistRequest): void {
    if (p.snapshot !== undefined) {
      this.terms.clear();
      this.lastIndex = p.snapshot.metadata.index;
      this.terms.set(this.lastIndex, p.snapshot.metadata.term);
    }
    if (p.entries.length > 0) {
      const first = p.entries[0]!.index;
      for (let i = first; i <= this.lastIndex; i++) this.terms.delete(i);
      for (const e of p.entries) this.terms.set(e.index, e.term);
      this.lastIndex = p.entries[p.entries.length - 1]!.index;
    }
    if (p.hardState !== undefined) this.hs = p.hardState;
  }
}

interface Member {
  id: NodeId;
  node: RaftNode<number>;
  storage: MemoryStorage;
  disk: Disk;
  applied: string[];
}

interface Verdict {
  violations: string[];
  /** MsgApps a leader sent with entries beyond what it had durable at that moment. */
  pipelinedAppends: number;
  writes: number;
  readiesPersisted: number;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * Runs a 3-member cluster with slow random writes and a random workload (proposals on every
 * member, leader transfers), checking every message sent and every entry applied.
 */
async function run(seed: number, knobs: RaftNodeKnobs, ms = 1500): Promise<Verdict> {
  const rand = rng(seed);
  const v: Verdict = { violations: [], pipelinedAppends: 0, writes: 0, readiesPersisted: 0 };
  const members = new Map<NodeId, Member>();
  const ids = [1n, 2n, 3n];

  const check = (m: Message): void => {
    const from = members.get(m.from)!;
    const d = from.disk;
    if (m.type === MessageType.MsgAppResp && !m.reject && m.index > d.lastIndex) {
      v.violations.push(`${m.from} acknowledged index ${m.index} to ${m.to} with only ${d.lastIndex} durable`);
    }
    if (m.type === MessageType.MsgVoteResp && !m.reject && (d.hs.vote !== m.to || d.hs.term !== m.term)) {
      v.violations.push(`${m.from} granted its vote to ${m.to} at term ${m.term} with {term ${d.hs.term}, vote ${d.hs.vote}} durable`);
    }
    if (m.type === MessageType.MsgApp && m.entries.length > 0 && m.entries[m.entries.length - 1]!.index > d.lastIndex) {
      v.pipelinedAppends++;
    }
  };

  const send = (msgs: Message[]): void => {
    for (const m of msgs) {
      check(m);
      const to = members.get(m.to);
      // Random delivery delay: messages may overtake one another, as on a real network.
      if (to !== undefined) setTimeout(() => to.node.step(m), Math.floor(rand() * 3));
    }
  };

  for (const id of ids) {
    const storage = new MemoryStorage();
    const disk = new Disk();
    const mem: Member = { id, storage, disk, applied: [], node: undefined as unknown as RaftNode<number> };
    const options = {
      raft: { id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
      tickMs: 5,
      requestTimeoutMs: 2000,
      persist: async (p: PersistRequest): Promise<void> => {
        // The write takes 0-4 ms; what raft may read (the storage) and what a crash would keep
        // (the disk) change only when it is done, as with DiskStorage.
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 5)));
        if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
        if (p.entries.length > 0) storage.append(p.entries as Entry[]);
        if (p.hardState !== undefined) storage.setHardState(p.hardState);
        disk.write(p);
      },
      send,
      apply: (e: { index: number; data: Uint8Array }): number => {
        if (e.index > disk.lastIndex) v.violations.push(`${id} applied entry ${e.index} with only ${disk.lastIndex} durable`);
        mem.applied.push(new TextDecoder().decode(e.data));
        return e.index;
      },
      restore: () => {},
    };
    setKnobs(options, knobs);
    mem.node = new RaftNode<number>(options);
    members.set(id, mem);
  }
  for (const m of members.values()) await m.node.start({ bootstrap: ids.map((id) => ({ id })) });
  const leaderOf = (): Member | undefined => [...members.values()].find((m) => m.node.status().softState.raftState === "leader");
  await until("a leader", () => leaderOf() !== undefined);

  const end = Date.now() + ms;
  let n = 0;
  const pending: Promise<unknown>[] = [];
  while (Date.now() < end) {
    const r = rand();
    const m = [...members.values()][Math.floor(rand() * 3)]!;
    if (r < 0.03) {
      const l = leaderOf();
      const target = ids[Math.floor(rand() * 3)]!;
      if (l !== undefined) pending.push(l.node.transferLeader(target).catch(() => {}));
    } else {
      for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) pending.push(m.node.propose(enc.encode(`p${n++}`)).catch(() => {}));
    }
    await new Promise((res) => setTimeout(res, Math.floor(rand() * 4)));
  }
  await Promise.all(pending);
  // All members end with the same applied log (safety), once the last entries are in.
  const l = leaderOf();
  if (l !== undefined) await l.node.propose(enc.encode("last")).catch(() => {});
  await until("the same applied log everywhere", () => {
    const logs = [...members.values()].map((m) => m.applied.join(","));
    return logs.every((x) => x === logs[0]);
  });
  for (const m of members.values()) {
    const s = m.node.stats();
    v.writes += s.writes;
    v.readiesPersisted += s.readiesPersisted;
    await m.node.stop();
  }
  return v;
}

describe("RaftNode pipeline ordering", () => {
  test("nothing that promises durability leaves before its write; nothing is applied before it is durable; MsgApps leave during the leader's write", async () => {
    for (const seed of [1, 2, 3]) {
      const v = await run(seed, {});
      assert.deepEqual(v.violations, [], `seed ${seed}`);
      assert.ok(v.pipelinedAppends > 0, `seed ${seed}: the leader sent entries before its own write was durable (${v.pipelinedAppends} times)`);
      assert.ok(v.writes < v.readiesPersisted, `seed ${seed}: group commit: ${v.writes} writes carried ${v.readiesPersisted} Readies`);
    }
  });

  test("the planted bug (responses sent before the write is durable) is caught", async () => {
    const v = await run(4, { sendResponsesBeforePersist: true }, 800);
    assert.ok(v.violations.length > 0, "the ordering check must fail with responses sent early");
    assert.match(v.violations[0]!, /acknowledged index|granted its vote/);
  });
});
