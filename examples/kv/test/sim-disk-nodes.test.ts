/**
 * Whole nodes over the simulated disk (issue 16, a first step of item 2): three RaftNodes,
 * each over a DiskStorage on its own `SimFS` (`@tsraft/wal/testing`), an in-process network,
 * proposals from a client, snapshots and compaction, and power losses: a crash is `fs.crash()`
 * (what was not synced is kept, dropped or torn; unsynced renames may vanish) and the node is
 * gone; it restarts with `DiskStorage.open` on what the disk kept and a new RaftNode. One node
 * at a time, and once the whole cluster at once.
 *
 * Checked: every proposal whose promise resolved is applied, in the same order, on every
 * member at the end; all members' applied logs are equal. Not deterministic (RaftNode runs on
 * real timers, 5 ms ticks): the crash points are drawn from a fixed seed, the timing is not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { HardState, Message, NodeId } from "@tsraft/raftpb";
import { RaftNode } from "@tsraft/node";
import { CrcMismatchError, DiskStorage, WalCorruptError } from "@tsraft/wal";
import { SimFS } from "@tsraft/wal/testing";
import { Prng } from "@tsraft/raft/testing";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ZERO_HS: HardState = { term: 0, vote: 0n, commit: 0 };
const IDS: NodeId[] = [1n, 2n, 3n];

/** Numbers in [0, 1) from the simulator's generator (mulberry32), seeded. */
function prng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

interface Member {
  id: NodeId;
  fs: SimFS;
  node: RaftNode<number> | undefined;
  /** The state machine: the data of every applied proposal, in order. */
  log: string[];
  up: boolean;
  /** Refused by the reader after a crash (the wal README's known issue): left down. */
  lost: string | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Net {
  readonly members = new Map<NodeId, Member>();
  send(from: NodeId, msgs: Message[]): void {
    for (const m of msgs) {
      const a = this.members.get(from);
      const b = this.members.get(m.to);
      if (a === undefined || b === undefined || !a.up || !b.up) continue;
      setImmediate(() => {
        if (b.up) b.node?.step(m);
      });
    }
  }
}

async function start(m: Member, net: Net): Promise<void> {
  let storage: DiskStorage;
  try {
    storage = await DiskStorage.open("/data", { io: m.fs.io(), segmentSizeBytes: 16 * 1024, zeroAheadBytes: 0 });
  } catch (e) {
    if ((e instanceof WalCorruptError && /zero-filled block followed by a valid record/.test(e.message)) || e instanceof CrcMismatchError) {
      m.lost = e.message;
      return;
    }
    throw e;
  }
  m.log = [];
  const node = new RaftNode<number>({
    raft: { id: m.id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
    tickMs: 5,
    requestTimeoutMs: 2000,
    persist: (p) => storage.save(p.hardState ?? ZERO_HS, p.entries, p.snapshot),
    send: (msgs) => net.send(m.id, msgs),
    apply: (e) => {
      m.log.push(dec.decode(e.data));
      return e.index;
    },
    restore: (snap) => {
      m.log = snap.data !== undefined && snap.data.length > 0 ? (JSON.parse(dec.decode(snap.data)) as string[]) : [];
    },
    snapshot: {
      entries: 40,
      take: () => enc.encode(JSON.stringify(m.log)),
      save: async (s) => {
        await storage.createSnapshot(s.index, s.confState, s.data);
        await storage.compact(s.index);
      },
    },
    // A write failed: the disk of a crashed node, whose process is gone.
    onFatal: () => undefined,
  });
  m.node = node;
  m.up = true;
  // The bootstrap is used only by an empty storage (a crash before the first write was durable).
  await node.start({ bootstrap: IDS.map((id) => ({ id })) });
}

async function crash(m: Member): Promise<void> {
  m.up = false;
  m.fs.crash();
  const n = m.node;
  m.node = undefined;
  await n?.stop().catch(() => undefined);
}

test("RaftNodes over the simulated disk: power losses lose no acknowledged proposal; members agree", async () => {
  const r = prng(16);
  const net = new Net();
  for (const id of IDS) {
    const fs = new SimFS(Number(id) * 1000 + 16);
    await fs.io().mkdir("/data", { recursive: true });
    fs.syncAll();
    net.members.set(id, { id, fs, node: undefined, log: [], up: false, lost: undefined });
  }
  for (const m of net.members.values()) await start(m, net);

  const acked: string[] = [];
  let stop = false;
  let seq = 0;
  const client = (async () => {
    while (!stop) {
      const up = [...net.members.values()].filter((m) => m.up && m.node !== undefined);
      if (up.length === 0) {
        await sleep(5);
        continue;
      }
      const m = up[Math.floor(r() * up.length)]!;
      const v = `v${++seq}`;
      try {
        await m.node!.propose(enc.encode(v));
        acked.push(v);
      } catch {
        await sleep(5); // no leader, a timeout, the node crashed: not acknowledged
      }
    }
  })();

  // Whatever fails, the client loop and every node stop (a failure left them running: the
  // file then ran to the runner's time limit, growing to gigabytes).
  try {
    let crashes = 0;
    const deadline = Date.now() + 3000;
    let blackout = Date.now() + 1500;
    while (Date.now() < deadline) {
      if (Date.now() >= blackout) {
        // A power loss of the whole cluster: only what each disk synced survives anywhere.
        blackout = Infinity;
        for (const m of net.members.values()) if (m.up) await crash(m);
        crashes += 3;
        await sleep(50);
        for (const m of net.members.values()) if (m.lost === undefined) await start(m, net);
        continue;
      }
      await sleep(60 + Math.floor(r() * 120));
      const live = [...net.members.values()].filter((m) => m.up);
      if (live.length < 3) continue;
      const victim = live[Math.floor(r() * live.length)]!;
      await crash(victim);
      crashes++;
      await sleep(30 + Math.floor(r() * 100));
      await start(victim, net);
    }
    stop = true;
    await client;

    // Every acknowledged proposal, and a last one, reach every member still standing.
    const standing = [...net.members.values()].filter((m) => m.lost === undefined);
    let last: string | undefined;
    for (let i = 0; i < 400 && last === undefined; i++) {
      const up = standing.filter((m) => m.up && m.node !== undefined);
      try {
        await up[i % up.length]!.node!.propose(enc.encode("last"));
        last = "last";
      } catch {
        await sleep(10);
      }
    }
    const describe = (): string =>
      [...net.members.values()]
        .map(
          (m) =>
            `${m.id}: ${m.up ? "up" : "down"}${m.lost === undefined ? "" : ` refused (${m.lost})`}, ${m.log.length} applied, ${JSON.stringify(m.node?.status().softState ?? {}, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`,
        )
        .join("; ");
    assert.equal(last, "last", `a final proposal is accepted (${describe()})`);
    for (let i = 0; i < 400 && !standing.every((m) => m.log.includes("last")); i++) await sleep(10);
    for (const m of standing) {
      assert.ok(m.log.includes("last"), `member ${m.id} applied the final proposal (${describe()})`);
      const have = new Set(m.log);
      const missing = acked.filter((v) => !have.has(v));
      assert.deepEqual(missing, [], `member ${m.id} lost acknowledged proposals`);
      assert.deepEqual(m.log, standing[0]!.log, `member ${m.id} applied a different log than member ${standing[0]!.id}`);
    }
    for (const m of net.members.values()) await crash(m);
    const lost = [...net.members.values()].filter((m) => m.lost !== undefined);
    console.log(
      `# ${crashes} power losses, ${acked.length} proposals acknowledged of ${seq}, ${standing[0]!.log.length} applied; ` +
        `${lost.length} member(s) refused to restart (wal README, known issue)${lost.map((m) => `: ${m.id} ${m.lost}`).join("")}`,
    );
    assert.ok(crashes >= 5 && acked.length >= 20, `${crashes} crashes, ${acked.length} acknowledged`);
  } finally {
    stop = true;
    await client;
    for (const m of net.members.values()) if (m.node !== undefined) await crash(m);
  }
});
