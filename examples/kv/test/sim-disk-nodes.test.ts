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
 * The second test brings about, every time, the case behind a rare failure of the first: a
 * follower sent a snapshot that the leader compacted past before the follower answered.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageType } from "@tsraft/raftpb";
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

/**
 * The in-process network. Like every transport (the TCP transport's snapshot stream, stack-sim's
 * network), it tells the sender how each MsgSnap ended: `finish` once the receiver stepped it,
 * `failure` when it was dropped. Raft's leader keeps a follower it sent a snapshot to paused
 * until then, unless the follower's answer shows it can be caught up from the log; after a
 * power loss the leader often compacted past the snapshot before that answer came, and without
 * the report the follower was left behind for good (the leader's progress for it stuck in
 * StateSnapshot: the 'applied the final proposal' failure).
 */
class Net {
  readonly members = new Map<NodeId, Member>();
  /** Called once a MsgSnap was stepped by its receiver, before the sender is told. */
  afterSnapshot: ((to: NodeId) => void) | undefined;
  /** While set, what this member sends is held back, to be sent by {@link release}. */
  holding: NodeId | undefined;
  private readonly held: Message[][] = [];

  release(): void {
    const from = this.holding;
    this.holding = undefined;
    if (from !== undefined) for (const msgs of this.held.splice(0)) this.send(from, msgs);
  }

  send(from: NodeId, msgs: Message[]): void {
    if (from === this.holding) {
      this.held.push(msgs);
      return;
    }
    const a = this.members.get(from);
    const sender = a?.node;
    for (const m of msgs) {
      const b = this.members.get(m.to);
      const isSnap = m.type === MessageType.MsgSnap;
      if (a === undefined || b === undefined || !a.up || !b.up) {
        if (isSnap) this.reportSnapshot(a, sender, m.to, "failure");
        continue;
      }
      setImmediate(() => {
        const receiver = b.up ? b.node : undefined;
        receiver?.step(m);
        if (isSnap && receiver !== undefined) this.afterSnapshot?.(m.to);
        if (isSnap) this.reportSnapshot(a, sender, m.to, receiver === undefined ? "failure" : "finish");
      });
    }
  }

  /** Reports to the node that sent the snapshot, if it is still running (a crashed one is gone). */
  private reportSnapshot(a: Member | undefined, sender: RaftNode<number> | undefined, to: NodeId, status: "finish" | "failure"): void {
    if (a?.up === true && a.node === sender) sender?.reportSnapshot(to, status);
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

/** Three members on fresh simulated disks, started. */
async function startCluster(seed: number): Promise<Net> {
  const net = new Net();
  for (const id of IDS) {
    const fs = new SimFS(Number(id) * 1000 + seed);
    await fs.io().mkdir("/data", { recursive: true });
    fs.syncAll();
    net.members.set(id, { id, fs, node: undefined, log: [], up: false, lost: undefined });
  }
  for (const m of net.members.values()) await start(m, net);
  return net;
}

/** Polls `cond` every 5 ms for up to `ms`; whether it became true. */
async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() >= end) return false;
    await sleep(5);
  }
  return true;
}

test("RaftNodes over the simulated disk: power losses lose no acknowledged proposal; members agree", async () => {
  const r = prng(16);
  const net = await startCluster(16);

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
    // The crashes go on for 3 s, and then until the client has 20 acknowledged proposals (at
    // most 30 s): the client proposes one at a time, and a proposal lost with a crash (forwarded
    // to a leader that crashed) holds it until its node crashes or requestTimeoutMs (2 s). On
    // the loaded 2-core machine that took most of the 3 s in some runs: 9 proposals acknowledged
    // in one of 25 (two CPU hogs), 39 and 42 in two of 70 where the client was held 1.1-1.6 s
    // twice; the cluster itself kept going (the final proposal on every member within 30 ms).
    let crashes = 0;
    const deadline = Date.now() + 3000;
    const giveUp = Date.now() + 30_000;
    let blackout = Date.now() + 1500;
    while (Date.now() < deadline || (acked.length < 20 && Date.now() < giveUp)) {
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
    // The leader's view of each follower: a follower left behind shows here why (e.g. paused in
    // StateSnapshot).
    const progressOfLeader = (): string => {
      for (const m of net.members.values()) {
        const st = m.node?.status();
        if (st?.progress === undefined) continue;
        return `; leader ${m.id}'s progress: ${[...st.progress].map(([id, p]) => `${id} ${p.state} match=${p.match} next=${p.next}${p.paused ? " paused" : ""}`).join(", ")}`;
      }
      return "";
    };
    const describe = (): string =>
      [...net.members.values()]
        .map(
          (m) =>
            `${m.id}: ${m.up ? "up" : "down"}${m.lost === undefined ? "" : ` refused (${m.lost})`}, ${m.log.length} applied, ${JSON.stringify(m.node?.status().softState ?? {}, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`,
        )
        .join("; ") + progressOfLeader();
    assert.equal(last, "last", `a final proposal is accepted (${describe()})`);
    // Until every member applied the final proposal and as many entries as the others: a retried
    // final proposal may be applied twice (its first try failed, e.g. timed out, yet was
    // committed), and a member still applying the second copy is behind, not different.
    const t0 = Date.now();
    const settled = (): boolean => standing.every((m) => m.log.includes("last") && m.log.length === standing[0]!.log.length);
    for (let i = 0; i < 400 && !settled(); i++) await sleep(10);
    const catchUpMs = Date.now() - t0;
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
      `# ${crashes} power losses, ${acked.length} proposals acknowledged of ${seq}, ${standing[0]!.log.length} applied (the final proposal on every member within ${catchUpMs} ms); ` +
        `${lost.length} member(s) refused to restart (wal README, known issue)${lost.map((m) => `: ${m.id} ${m.lost}`).join("")}`,
    );
    assert.ok(crashes >= 5 && acked.length >= 20, `${crashes} crashes, ${acked.length} acknowledged`);
  } finally {
    stop = true;
    await client;
    for (const m of net.members.values()) if (m.node !== undefined) await crash(m);
  }
});

// The case behind the first test's rare 'applied the final proposal' failure, made to happen
// every time: a follower behind the leader's log is sent a snapshot, and the leader compacts
// past that snapshot before the follower's answer arrives. The answer alone then cannot move
// the leader on (the log can no longer catch the follower up from there); the network's report
// that the snapshot arrived makes it probe again, and send a newer snapshot. With the report
// taken out of Net, the follower is never caught up (it failed 5 runs in 5 before Net reported).
test("a follower whose snapshot the leader compacted past before it answered is caught up", async () => {
  const net = await startCluster(17);
  try {
    const leaderOf = (): Member | undefined => [...net.members.values()].find((m) => m.up && m.node?.basicStatus().softState.raftState === "leader");
    assert.ok(await waitFor(() => leaderOf() !== undefined, 5000), "a leader is elected");
    const leader = leaderOf()!;
    const f = [...net.members.values()].find((m) => m !== leader)!;
    const proposeOnLeader = async (n: number, prefix: string): Promise<void> => {
      for (let i = 0; i < n; i++) await leader.node!.propose(enc.encode(`${prefix}${i}`));
    };
    await proposeOnLeader(5, "a");
    // f misses enough entries for the leader to compact past its log.
    await crash(f);
    await proposeOnLeader(100, "b");
    const snapshotIndex = (): number => leader.node!.status().snapshotIndex;
    assert.ok(snapshotIndex() > 5, `the leader compacted (snapshot at ${snapshotIndex()})`);
    // From the moment f has the snapshot, what it says is held back.
    let sentAt: number | undefined;
    net.afterSnapshot = (to) => {
      if (to !== f.id || sentAt !== undefined) return;
      sentAt = snapshotIndex();
      net.holding = f.id;
    };
    await start(f, net);
    assert.ok(await waitFor(() => sentAt !== undefined, 5000), "the leader sent f a snapshot");
    // The leader compacts past it (a snapshot every 40 entries), then f's answer arrives.
    const past = sentAt! + 1;
    await proposeOnLeader(100, "c");
    assert.ok(snapshotIndex() > past, `the leader compacted past the snapshot f has (${snapshotIndex()} > ${past})`);
    net.afterSnapshot = undefined;
    net.release();
    await proposeOnLeader(1, "last");
    const caughtUp = await waitFor(() => f.log.includes("last0"), 3000);
    const pr = leader.node!.status().progress?.get(f.id);
    assert.ok(
      caughtUp,
      `f applied the last proposal (f: ${f.log.length} applied; the leader's progress of f: ${pr?.state} match=${pr?.match} next=${pr?.next})`,
    );
    assert.deepEqual(f.log, leader.log, "f applied the same log as the leader");
  } finally {
    for (const m of net.members.values()) if (m.node !== undefined) await crash(m);
  }
});
