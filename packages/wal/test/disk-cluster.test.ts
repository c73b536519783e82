/**
 * A 3-node RawNode cluster, each node over its own DiskStorage in a temp directory, that keeps
 * crashing nodes: a crash drops every in-memory object of the node (RawNode, DiskStorage, state
 * machine) and abandons the storage without syncing (sometimes with a save in flight); the node comes back with `DiskStorage.open` and
 * `new RawNode({ storage, applied })`, its state machine rebuilt from the snapshot on disk.
 * Nodes take snapshots and compact (releasing and deleting WAL segments) as they apply, so
 * lagging nodes are caught up with snapshots.
 *
 * Checks, all through the run: every node applies the same value at each index (state machine
 * safety), and an index, once applied anywhere, is never applied with another value; at the end,
 * with every node up: all nodes converge on the same applied sequence, which contains every
 * value any node ever applied (no committed entry lost).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { ProposalDroppedError, RawNode, seededRandom, silentLogger } from "@tsraft/raft";
import { EntryType, decodeConfChange } from "@tsraft/raftpb";
import type { ConfState, HardState, Message, NodeId } from "@tsraft/raftpb";
import { DiskStorage } from "@tsraft/wal";
import { removeTemp, tempDir } from "./helpers/vectors.js";
import { Prng } from "@tsraft/raft/testing";

const IDS: NodeId[] = [1n, 2n, 3n];
const ZERO_HS: HardState = { term: 0, vote: 0n, commit: 0 };
const STORAGE_OPTS = { segmentSizeBytes: 8 * 1024, maxCachedBytes: 4 * 1024 };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** The application of one node: everything here is lost in a crash. */
interface Live {
  node: RawNode;
  storage: DiskStorage;
  /** The state machine: values[k] was applied at index firstApplied + k. */
  values: string[];
  appliedIndex: number;
  confState: ConfState;
  snapshotIndex: number;
}

/** A seeded generator: the simulator's Prng (mulberry32), so a run replays from its seed. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

/** State machine snapshot: the applied index's values, as JSON. */
interface SmImage {
  values: string[];
}

test("a crashing 3-node cluster over DiskStorage loses no committed entry and converges", async () => {
  const root = join(await tempDir(), "cluster");
  const r = rng(2024);
  const live = new Map<NodeId, Live>();
  /** index -> value, for every index any node applied (the committed log as seen). */
  const committed = new Map<number, string>();
  let queue: Message[] = [];
  let crashes = 0;
  let inFlightCrashes = 0;
  let inFlightWritten = 0;
  let snapshotsTaken = 0;
  let snapshotsInstalled = 0;
  let segmentsDeleted = 0;

  const dirOf = (id: NodeId): string => join(root, `n${id}`);

  async function start(id: NodeId, fresh: boolean): Promise<void> {
    const storage = await DiskStorage.open(dirOf(id), STORAGE_OPTS);
    const snap = storage.snapshot();
    const image: SmImage = snap.data !== undefined && snap.data.length > 0 ? (JSON.parse(dec.decode(snap.data)) as SmImage) : { values: [] };
    const node = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      applied: snap.metadata.index,
      preVote: true,
      maxSizePerMsg: 4096,
      random: seededRandom(Number(id) * 7919 + crashes),
      logger: silentLogger,
    });
    if (fresh) node.bootstrap(IDS.map((p) => ({ id: p })));
    live.set(id, {
      node,
      storage,
      values: image.values,
      appliedIndex: snap.metadata.index,
      confState: snap.metadata.confState,
      snapshotIndex: snap.metadata.index,
    });
  }

  async function crash(id: NodeId, pending?: Promise<unknown>): Promise<void> {
    const n = live.get(id)!;
    live.delete(id);
    await n.storage.abandon();
    if (pending !== undefined) {
      inFlightCrashes++;
      // the write in progress finishes (in one process the page cache keeps it: as if the crash
      // came right after it); a save still queued is never written. Torn and lost writes are
      // what crash.test.ts covers, byte by byte.
      await pending.then(
        () => inFlightWritten++,
        () => undefined,
      );
    }
    crashes++;
  }

  function apply(id: NodeId, n: Live, index: number, value: string): void {
    const prev = committed.get(index);
    if (prev === undefined) committed.set(index, value);
    else assert.equal(value, prev, `node ${id} applied ${JSON.stringify(value)} at ${index}, another node applied ${JSON.stringify(prev)}`);
    assert.equal(index, n.appliedIndex + 1, `node ${id} applies ${index} after ${n.appliedIndex}`);
    n.values.push(value);
    n.appliedIndex = index;
  }

  /** Handles one Ready of node `id`; may crash it in the middle (a save in flight). */
  async function handleReady(id: NodeId, crashNow: boolean): Promise<void> {
    const n = live.get(id)!;
    const rd = n.node.ready();
    // 1. persist: snapshot, entries, HardState (one WAL save, one fdatasync when needed)
    const saved = n.storage.save(rd.hardState ?? ZERO_HS, rd.entries, rd.snapshot);
    if (crashNow) return crash(id, saved);
    await saved;
    // 2. send, only after persisting
    queue.push(...rd.messages);
    // 3. apply
    if (rd.snapshot !== undefined) {
      const img = JSON.parse(dec.decode(rd.snapshot.data!)) as SmImage;
      n.values = img.values;
      n.appliedIndex = rd.snapshot.metadata.index;
      n.confState = rd.snapshot.metadata.confState;
      n.snapshotIndex = rd.snapshot.metadata.index;
      for (const [k, v] of img.values.entries()) {
        const prev = committed.get(k + 1);
        if (prev !== undefined) assert.equal(v, prev, `snapshot value at ${k + 1}`);
      }
      snapshotsInstalled++;
    }
    for (const e of rd.committedEntries) {
      if (e.index <= n.appliedIndex) continue; // covered by the snapshot just installed
      if (e.type === EntryType.EntryConfChange) {
        n.confState = n.node.applyConfChange(decodeConfChange(e.data!));
        apply(id, n, e.index, `conf@${e.index}`);
      } else apply(id, n, e.index, e.data !== undefined && e.data.length > 0 ? dec.decode(e.data) : `empty@${e.index}`);
    }
    // 4. acknowledge
    n.node.advance(rd);
    // snapshot and compact now and then, keeping a few entries for followers close behind
    if (n.appliedIndex - n.snapshotIndex >= 40) {
      const image: SmImage = { values: n.values.slice(0, n.appliedIndex) };
      await n.storage.createSnapshot(n.appliedIndex, n.confState, enc.encode(JSON.stringify(image)));
      n.snapshotIndex = n.appliedIndex;
      snapshotsTaken++;
      const before = (await readdir(join(dirOf(id), "wal"))).length;
      await n.storage.compact(n.appliedIndex - 5);
      segmentsDeleted += Math.max(0, before - (await readdir(join(dirOf(id), "wal"))).length);
    }
  }

  function deliver(): void {
    const q = queue;
    queue = [];
    for (const m of q) {
      const n = live.get(m.to);
      if (n === undefined) continue; // the peer is down: the message is lost
      try {
        n.node.step(m);
      } catch (e) {
        if (!(e instanceof ProposalDroppedError)) throw e; // a forwarded proposal met no leader
      }
    }
  }

  /** Runs Readies and message delivery until quiet (or `rounds` rounds). */
  async function drain(rounds: number, crashOdds: number): Promise<void> {
    for (let k = 0; k < rounds; k++) {
      let busy = queue.length > 0;
      deliver();
      for (const id of IDS) {
        const n = live.get(id);
        if (n === undefined || !n.node.hasReady()) continue;
        busy = true;
        await handleReady(id, r() < crashOdds);
      }
      if (!busy) return;
    }
  }

  function leader(): Live | undefined {
    for (const n of live.values()) if (n.node.basicStatus().softState.raftState === "leader") return n;
    return undefined;
  }

  try {
    for (const id of IDS) await start(id, true);
    await drain(50, 0);
    live.get(1n)!.node.campaign();
    await drain(50, 0);
    assert.ok(leader() !== undefined, "a leader is elected");

    let proposed = 0;
    for (let step = 0; step < 260; step++) {
      // propose a few values through any live node (a follower forwards to the leader)
      const ids = [...live.keys()];
      for (let k = 0; k < 3 && ids.length > 0; k++) {
        const via = live.get(ids[Math.floor(r() * ids.length)]!)!;
        try {
          via.node.propose(enc.encode(`v${proposed}`));
          proposed++;
        } catch (e) {
          if (!(e instanceof ProposalDroppedError)) throw e;
        }
      }
      for (const n of live.values()) n.node.tick();
      await drain(3, 0.02);
      // crash a node now and then (a majority stays up), and restart the down ones later
      if (r() < 0.06 && live.size === IDS.length) {
        const victim = IDS[Math.floor(r() * IDS.length)]!;
        await crash(victim);
      } else if (live.size < IDS.length && r() < 0.25) {
        for (const id of IDS) if (!live.has(id)) await start(id, false);
      }
    }

    // heal: everyone up, run until all nodes applied the same, leader-committed log
    for (const id of IDS) if (!live.has(id)) await start(id, false);
    for (let k = 0; k < 400; k++) {
      for (const n of live.values()) n.node.tick();
      await drain(20, 0);
      const l = leader();
      if (l === undefined) continue;
      const commit = l.node.basicStatus().hardState.commit;
      if ([...live.values()].every((n) => n.appliedIndex === commit)) break;
    }
    const l = leader();
    assert.ok(l !== undefined, "a leader at the end");
    const commit = l.node.basicStatus().hardState.commit;
    const maxCommitted = Math.max(...committed.keys());
    assert.ok(commit >= maxCommitted, `final commit ${commit} covers every index ever applied (${maxCommitted})`);
    for (const [id, n] of live) {
      assert.equal(n.appliedIndex, commit, `node ${id} applied up to the commit index`);
      for (let i = 1; i <= maxCommitted; i++) assert.equal(n.values[i - 1], committed.get(i), `node ${id} index ${i}`);
    }
    // and the storage agrees after one more restart of everyone
    const want = l.values.slice();
    for (const id of IDS) await crash(id);
    for (const id of IDS) {
      const s = await DiskStorage.open(dirOf(id), STORAGE_OPTS);
      try {
        const first = s.firstIndex();
        assert.ok(s.lastIndex() >= commit && s.initialState().hardState.commit === commit, `node ${id} storage holds the commit`);
        const ents = s.entries(first, commit + 1, Infinity);
        for (const e of ents) {
          if (e.type === EntryType.EntryNormal && e.data !== undefined && e.data.length > 0)
            assert.equal(dec.decode(e.data), want[e.index - 1], `node ${id} stored entry ${e.index}`);
        }
      } finally {
        await s.close();
      }
    }
    const values = new Set([...committed.values()].filter((v) => v.startsWith("v")));
    console.log(
      `# ${proposed} proposed, ${values.size} committed, commit ${commit}; ${crashes} crashes (${inFlightCrashes} with a save in flight, ${inFlightWritten} of these written); ` +
        `${snapshotsTaken} snapshots taken, ${snapshotsInstalled} installed from the leader, ${segmentsDeleted} segments deleted`,
    );
    assert.ok(values.size >= 100, "proposals commit");
    assert.ok(crashes >= 8 && inFlightCrashes >= 1, "nodes crashed, some with a save in flight");
    assert.ok(snapshotsTaken >= 5 && segmentsDeleted >= 1, "snapshots and compaction ran");
  } finally {
    for (const n of live.values()) await n.storage.abandon();
    await removeTemp(root);
  }
});
