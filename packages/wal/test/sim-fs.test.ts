/**
 * The simulated file system (`@tsraft/wal/testing`): its crash model, and DiskStorage over it
 * losing nothing acknowledged across random crashes (writes after the last fsync kept, dropped
 * or torn; unsynced creates and renames vanishing), stopping after an EIO, refusing writes
 * after ENOSPC, and refusing flipped bits.
 *
 * Budget: SIMFS_SEEDS (default 120) random crash runs from seeds 1..N, so `pnpm test` gives
 * the same verdict on every run; SIMFS_SEED=n runs seed n alone.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { EntryType } from "@tsraft/raftpb";
import type { Entry, HardState } from "@tsraft/raftpb";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { CrcMismatchError, DiskStorage, WAL, WAL_REPAIR_CHANNEL, WalConfigError, WalCorruptError, WalError, WalNoSpaceError, WalStateError } from "@tsraft/wal";
import type { DiskStorageOptions, WalFileHandle, WalRepairMessage } from "@tsraft/wal";
import { SimFS } from "@tsraft/wal/testing";
import { setWalFaults, walFaultsOf, type WalFaultSwitches } from "../src/internal/faults.js";
import { Prng } from "@tsraft/raft/testing";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Numbers in [0, 1) from the simulator's generator (mulberry32), seeded. */
function prng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

/** `b`'s first two sectors as "first,second" (their fill bytes), each checked whole: all old or all new. */
function twoSectors(b: Uint8Array): string {
  assert.equal(b.length, 1024);
  for (let i = 0; i < 1024; i++) assert.equal(b[i], b[i - (i % 512)], "a sector is all old or all new");
  return [b[0], b[512]].join(",");
}

/**
 * A SimFS holding /d/f, two sectors of 1s, all durable, whose O_DSYNC writes wait for their
 * completions in `held`; `write(fill)` writes both sectors through O_DSYNC and resolves with the
 * write's error (null on success).
 */
async function heldDsync(
  seed: number,
): Promise<{ fs: SimFS; h: WalFileHandle; held: (() => void)[]; write: (fill: number) => Promise<NodeJS.ErrnoException | null> }> {
  const fs = new SimFS(seed);
  const io = fs.io();
  await io.mkdir("/d", { recursive: true });
  const h = await io.open("/d/f", "w+");
  await h.write(new Uint8Array(1024).fill(1), 0, 1024, 0);
  fs.syncAll();
  const held: (() => void)[] = [];
  fs.dsyncLatency = (complete) => held.push(complete);
  const dh = await io.open("/d/f", (io.constants.O_RDWR | io.constants.O_DSYNC!) >>> 0);
  const write = (fill: number): Promise<NodeJS.ErrnoException | null> =>
    new Promise((res) => io.write(dh.fd, new Uint8Array(1024).fill(fill), 0, 1024, 0, (err) => res(err)));
  return { fs, h, held, write };
}

describe("SimFS crash model", () => {
  test("a synced write survives every crash; an unsynced one is kept, dropped or torn", async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const fs = new SimFS(seed);
      const io = fs.io();
      await io.mkdir("/d", { recursive: true });
      const h = await io.open("/d/f", "w+");
      await h.write(new Uint8Array(1024).fill(1), 0, 1024, 0);
      await h.sync();
      const d = await io.open("/d", "r");
      await d.sync();
      const root = await io.open("/", "r");
      await root.sync();
      await h.write(new Uint8Array(1024).fill(2), 0, 1024, 0); // two sectors, unsynced
      fs.crash();
      const sectors = twoSectors(fs.readFile("/d/f"));
      assert.ok(["1,1", "2,2", "1,2", "2,1"].includes(sectors), sectors);
      seen.add(sectors);
    }
    assert.equal(seen.size, 4, "kept, dropped and torn all happen");
  });

  test("with dsyncLatency, an O_DSYNC write is kept, dropped or torn by a crash before it completes, and survives every crash after", async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const { fs, held, write } = await heldDsync(seed);
      // First write: completes (durable), then a second one is cut short by the crash.
      const first = write(2);
      assert.equal(held.length, 1, "the write waits for its completion");
      held.shift()!();
      assert.equal(await first, null);
      const second = write(3);
      fs.crash();
      held.shift()!(); // completes after the crash: the dead process's call fails
      assert.equal((await second)?.code, "EIO");
      const sectors = twoSectors(fs.readFile("/d/f"));
      assert.ok(["2,2", "3,3", "2,3", "3,2"].includes(sectors), `the completed write survives; the cut one is kept, dropped or torn: ${sectors}`);
      seen.add(sectors);
    }
    assert.equal(seen.size, 4, "kept, dropped and torn all happen");
  });

  test("with dsyncLatency, an fsync that fails while an O_DSYNC write is under way fails that write too", async () => {
    const { fs, h, held, write } = await heldDsync(3);
    const w = write(7);
    fs.faults.eio = () => true;
    await assert.rejects(h.datasync(), /EIO/);
    fs.faults.eio = undefined;
    held.shift()!();
    assert.equal((await w)?.code, "EIO", "the write whose pages the failed fsync lost reports it");
  });

  test("an unsynced create or rename may vanish; after a directory fsync it stays", async () => {
    let vanished = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const fs = new SimFS(seed);
      const io = fs.io();
      await io.mkdir("/d", { recursive: true });
      (await io.open("/", "r")).sync();
      const h = await io.open("/d/a.tmp", "w");
      await h.write(enc("x"), 0, 1, 0);
      await h.sync();
      await io.rename("/d/a.tmp", "/d/a");
      const synced = seed % 2 === 0;
      if (synced) await (await io.open("/d", "r")).sync();
      fs.crash();
      if (synced) assert.deepEqual(fs.list("/d"), ["a"]);
      else if (!fs.exists("/d/a")) vanished++;
      assert.throws(() => io.readFileSync("/d/a"), /crashed process/, "the old process is gone");
    }
    assert.ok(vanished > 0);
  });

  test("after an EIO the unsynced writes are lost for good, though a retried fsync succeeds", async () => {
    const fs = new SimFS(3);
    const io = fs.io();
    const h = await io.open("/f", "w+");
    await (await io.open("/", "r")).sync();
    await h.write(enc("old!"), 0, 4, 0);
    await h.sync();
    await h.write(enc("new!"), 0, 4, 0);
    fs.faults.eio = () => true;
    await assert.rejects(h.sync(), (e: NodeJS.ErrnoException) => e.code === "EIO");
    fs.faults.eio = undefined;
    await h.sync(); // "succeeds"
    fs.crash();
    assert.deepEqual(fs.readFile("/f"), enc("old!"));
  });
});

/** Options of every DiskStorage here: small segments, so runs cut and purge segments often. */
/** Fault switches planted in every storage opened through {@link small} (none in normal runs). */
let planted: Partial<WalFaultSwitches> = {};
const small = (fs: SimFS, more: DiskStorageOptions = {}): DiskStorageOptions => {
  const o: DiskStorageOptions = { io: fs.io(), segmentSizeBytes: 8192, zeroAheadBytes: 0, ...more };
  if (Object.keys(planted).length > 0) setWalFaults(o, planted);
  return o;
};

interface Model {
  /** Acknowledged entries by index (an acknowledged overwrite removes what follows). */
  ents: Map<number, Entry>;
  hs: HardState;
  snapIndex: number;
}

function entry(index: number, term: number, r: () => number): Entry {
  const n = r() < 0.1 ? 1500 : Math.floor(r() * 200);
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.floor(r() * 256);
  return { index, term, type: EntryType.EntryNormal, data };
}

const same = (a: Entry, b: Entry): boolean =>
  a.index === b.index && a.term === b.term && Buffer.from(a.data ?? new Uint8Array()).equals(Buffer.from(b.data ?? new Uint8Array()));

/**
 * One random run: open, check against the model, a batch of saves (overwrites, vote changes,
 * snapshots, compactions), some left in flight, crash; `rounds` times.
 */
async function crashRun(
  seed: number,
  rounds: number,
  strict = process.env.SIMFS_LENIENT === undefined,
  more: DiskStorageOptions = {},
): Promise<{ acked: number; crashes: number; dsyncCut: number; refused: string | undefined }> {
  const r = prng(seed);
  const fs = new SimFS(seed);
  // A write through O_DSYNC (every synced save) takes 0-2 turns of the event loop, drawn apart
  // from `r`: the crash below can land during one, and then the write is kept, dropped or torn.
  const lat = prng(seed ^ 0x5eed);
  fs.dsyncLatency = (complete) => {
    let k = Math.floor(lat() * 3);
    const step = (): void => (k-- > 0 ? void setImmediate(step) : complete());
    queueMicrotask(step);
  };
  await fs.io().mkdir("/n", { recursive: true });
  fs.syncAll();
  let model: Model = { ents: new Map(), hs: { term: 0, vote: 0n, commit: 0 }, snapIndex: 0 };
  let acked = 0;
  let served: Model | undefined;
  // The former known issue (README, "Sync markers"): after a crash, unsynced records behind a
  // hole or a torn sector of the last segment made the reader refuse the log (7 runs of 1,500
  // before the markers). Now a failure; SIMFS_LENIENT=1 counts such refusals instead.
  const open = async (o: DiskStorageOptions): Promise<DiskStorage | string> => {
    try {
      return await DiskStorage.open("/n", o);
    } catch (e) {
      const segs = fs.list("/n/wal").filter((n) => n.endsWith(".wal"));
      const known = (e instanceof WalCorruptError && /zero-filled block followed by a valid record/.test(e.message)) || e instanceof CrcMismatchError;
      if (!strict && known && (e as WalCorruptError).file === segs[segs.length - 1]) return (e as Error).message;
      throw e;
    }
  };
  for (let round = 0; round < rounds; round++) {
    const so = await open(small(fs, { maxCachedBytes: r() < 0.5 ? 4096 : 1 << 20, ...more }));
    if (typeof so === "string") return { acked, crashes: fs.stats.crashes, dsyncCut: fs.stats.dsyncWritesCut, refused: so };
    const s = so;
    if (served !== undefined) check(s, served, seed, round, "served");
    model = check(s, model, seed, round);
    let last = s.lastIndex();
    let term = Math.max(1, s.initialState().hardState.term, last > 0 ? s.term(last) : 0);
    let { vote, commit } = s.initialState().hardState;
    const ops = 5 + Math.floor(r() * 25);
    const inflight: Promise<void>[] = [];
    for (let k = 0; k < ops; k++) {
      const fly = k >= ops - 3 && r() < 0.5; // the last few may be left in flight
      const kind = r();
      let hs: HardState;
      const ents: Entry[] = [];
      if (kind < 0.1 && inflight.length === 0 && commit > s.snapshot().metadata.index && commit >= s.firstIndex() && commit <= s.lastIndex()) {
        // snapshot + compaction at the commit index (applied there, in this model)
        const at = commit;
        const p = s
          .createSnapshot(at, { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, enc(`sm@${at}`))
          .then(async () => {
            model.snapIndex = Math.max(model.snapIndex, at);
            if (r() < 0.7) await s.compact(at);
          });
        if (fly) inflight.push(p);
        else await p;
        p.catch(() => undefined); // never an unhandled rejection if the run stops early
        continue;
      } else if (kind < 0.25) {
        // a new term with a vote, or (as a voter already in the term) only a vote
        if (vote !== 0n || r() < 0.5) term++;
        vote = BigInt(1 + Math.floor(r() * 5));
        hs = { term, vote, commit };
      } else if (kind < 0.35) {
        commit = Math.min(last, commit + 1 + Math.floor(r() * 4));
        hs = { term, vote, commit };
      } else {
        let from = last + 1;
        if (kind < 0.5 && last > commit && last > s.snapshot().metadata.index) {
          // overwrite an uncommitted suffix in a new term (raft's conflict resolution)
          from = Math.max(commit, s.snapshot().metadata.index) + 1 + Math.floor(r() * (last - Math.max(commit, s.snapshot().metadata.index)));
          term++;
          vote = 0n;
        }
        const n = 1 + Math.floor(r() * 4);
        for (let i = 0; i < n; i++) ents.push(entry(from + i, term, r));
        last = from + n - 1;
        commit = Math.min(commit, last);
        hs = { term, vote, commit };
      }
      const save = s.save(hs, ents).then(() => {
        acked++;
        for (const i of [...model.ents.keys()]) if (ents.length > 0 && i >= ents[0]!.index) model.ents.delete(i);
        for (const e of ents) model.ents.set(e.index, e);
        model.hs = hs;
      });
      save.catch(() => undefined); // never an unhandled rejection if the run stops early
      if (fly) inflight.push(save);
      else await save;
    }
    // Crash after a few turns of the event loop, with the in-flight saves somewhere on their way.
    const turns = Math.floor(r() * 12);
    for (let t = 0; t < turns; t++) await new Promise((res) => setImmediate(res));
    // What the storage serves (to raft, which may have sent it on) must be durable too.
    served = servedModel(s);
    fs.crash();
    for (const p of inflight) await p.catch(() => undefined);
    for (let t = 0; t < 3; t++) await new Promise((res) => setImmediate(res));
    // Saves resolved before the crash are acknowledged (the model has them); the rest may or may not be there.
  }
  const s = await open(small(fs, more));
  if (typeof s === "string") return { acked, crashes: fs.stats.crashes, dsyncCut: fs.stats.dsyncWritesCut, refused: s };
  if (served !== undefined) check(s, served, seed, rounds, "served");
  check(s, model, seed, rounds);
  await s.close();
  return { acked, crashes: fs.stats.crashes, dsyncCut: fs.stats.dsyncWritesCut, refused: undefined };
}

/** What `s` serves now: its entries, HardState and snapshot index. */
function servedModel(s: DiskStorage): Model {
  const ents = new Map<number, Entry>();
  if (s.lastIndex() >= s.firstIndex()) for (const e of s.entries(s.firstIndex(), s.lastIndex() + 1, Infinity)) ents.set(e.index, e);
  return { ents, hs: s.initialState().hardState, snapIndex: s.snapshot().metadata.index };
}

/**
 * Checks the reopened storage against a model of what was acknowledged (or served); returns
 * the model of what it holds now.
 */
function check(s: DiskStorage, m: Model, seed: number, round: number, what = "acknowledged"): Model {
  const where = `seed ${seed} round ${round} (${what})`;
  const hs = s.initialState().hardState;
  assert.ok(hs.term >= m.hs.term, `${where}: term ${hs.term} below the ${what} ${m.hs.term}`);
  // A vote of 0 means none was cast yet in that term: a vote save in flight may have landed.
  if (hs.term === m.hs.term && m.hs.vote !== 0n) assert.equal(hs.vote, m.hs.vote, `${where}: the ${what} vote of term ${hs.term} changed`);
  assert.ok(s.snapshot().metadata.index >= m.snapIndex, `${where}: snapshot ${s.snapshot().metadata.index} below the ${what} ${m.snapIndex}`);
  const first = s.firstIndex();
  // Every acknowledged entry is there, unchanged, up to where a save that was in flight at the
  // crash (never acknowledged, but it may have reached the disk) overwrote the log with
  // entries of a higher term; after that point the log is that save's.
  for (const [i, e] of [...m.ents].sort((a, b) => a[0] - b[0])) {
    if (i < first) continue;
    assert.ok(i <= s.lastIndex(), `${where}: ${what} entry ${i} lost (last index ${s.lastIndex()})`);
    const got = s.entries(i, i + 1, Infinity)[0]!;
    if (same(got, e)) continue;
    assert.ok(got.term > e.term, `${where}: ${what} entry ${i} (term ${e.term}) changed (now term ${got.term})`);
    break;
  }
  const ents = new Map<number, Entry>();
  if (s.lastIndex() >= first) for (const e of s.entries(first, s.lastIndex() + 1, Infinity)) ents.set(e.index, e);
  return { ents, hs, snapIndex: s.snapshot().metadata.index };
}

const SEEDS = Number(process.env.SIMFS_SEEDS ?? 120);
const ONE = process.env.SIMFS_SEED === undefined ? undefined : Number(process.env.SIMFS_SEED);

describe("DiskStorage over the simulated disk", () => {
  test(`loses nothing acknowledged across random crashes, and every crash leaves a log that opens (${ONE === undefined ? `seeds 1..${SEEDS}` : `seed ${ONE}`}, 4 crashes each)`, async () => {
    let acked = 0;
    let crashes = 0;
    let dsyncCut = 0;
    const refused: string[] = [];
    for (let seed = ONE ?? 1; seed <= (ONE ?? SEEDS); seed++) {
      try {
        const res = await crashRun(seed, 4);
        acked += res.acked;
        crashes += res.crashes;
        dsyncCut += res.dsyncCut;
        if (res.refused !== undefined) refused.push(`seed ${seed}: ${res.refused}`);
      } catch (e) {
        throw new Error(`seed ${seed} failed (replay: SIMFS_SEED=${seed} pnpm test packages/wal/test/sim-fs.test.ts)\n${(e as Error).stack}`);
      }
    }
    console.log(
      `# ${crashes} crashes (${dsyncCut} during an O_DSYNC write), ${acked} acknowledged saves checked; ${refused.length} runs ended by the known issue (a refused log after a crash)${refused.map((x) => `\n#   ${x}`).join("")}`,
    );
    // The runs must reach what they are for: crashes during a synced save's write.
    if (ONE === undefined && SEEDS >= 60) assert.ok(dsyncCut > 0, "no crash landed during an O_DSYNC write");
  });

  test(`with inlineWrites (saves written and synced on the calling thread): loses nothing acknowledged across random crashes (seeds 1..${Math.ceil(SEEDS / 3)}, 4 crashes each)`, async () => {
    let acked = 0;
    let crashes = 0;
    for (let seed = 1; seed <= Math.ceil(SEEDS / 3); seed++) {
      try {
        const res = await crashRun(seed, 4, true, { inlineWrites: true });
        assert.equal(res.refused, undefined);
        acked += res.acked;
        crashes += res.crashes;
      } catch (e) {
        throw new Error(`seed ${seed} failed with inlineWrites\n${(e as Error).stack}`);
      }
    }
    console.log(`# inlineWrites: ${crashes} crashes, ${acked} acknowledged saves checked`);
    assert.ok(acked > 0 && crashes > 0);
  });

  test(`with large saves chunked (largeWriteBytes 1,024: batches from about 1 KB written in 256-byte chunks, then one fdatasync): loses nothing acknowledged across random crashes (seeds 1..${Math.ceil(SEEDS / 3)}, 4 crashes each)`, async () => {
    let acked = 0;
    let crashes = 0;
    for (let seed = 1; seed <= Math.ceil(SEEDS / 3); seed++) {
      for (const inlineWrites of [false, true]) {
        try {
          const res = await crashRun(seed, 4, true, { largeWriteBytes: 1024, inlineWrites });
          assert.equal(res.refused, undefined);
          acked += res.acked;
          crashes += res.crashes;
        } catch (e) {
          throw new Error(`seed ${seed} failed with largeWriteBytes 1024${inlineWrites ? " and inlineWrites" : ""}\n${(e as Error).stack}`);
        }
      }
    }
    console.log(`# largeWriteBytes 1024: ${crashes} crashes, ${acked} acknowledged saves checked`);
    assert.ok(acked > 0 && crashes > 0);
  });

  test("inlineWrites needs an io with writeSync and fdatasyncSync (WalConfigError), and must be a boolean", async () => {
    const fs = new SimFS(1);
    await fs.io().mkdir("/n", { recursive: true });
    const { writeSync: _w, fdatasyncSync: _f, ...noSync } = fs.io();
    await assert.rejects(DiskStorage.open("/n", { io: noSync, inlineWrites: true }), (e: unknown) => e instanceof WalConfigError && e.field === "inlineWrites");
    await assert.rejects(
      DiskStorage.open("/n", { io: fs.io(), inlineWrites: "yes" as unknown as boolean }),
      (e: unknown) => e instanceof WalConfigError && e.field === "inlineWrites",
    );
  });

  test("flipped bits in a segment before the tail are never applied: refused at rest, refused or re-read on a read", async () => {
    let refusedReads = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimFS(seed);
      await fs.io().mkdir("/n", { recursive: true });
      fs.syncAll();
      const s = await DiskStorage.open("/n", small(fs));
      const r = prng(seed);
      const want: Entry[] = [];
      for (let i = 1; i <= 100; i++) {
        const e = entry(i, 1, r);
        want.push(e);
        await s.save({ term: 1, vote: 1n, commit: i - 1 }, [e]);
      }
      await s.close();
      const segs = fs.list("/n/wal").filter((n) => n.endsWith(".wal"));
      assert.ok(segs.length >= 2, `${segs.length} segments`);
      const victim = `/n/wal/${segs[0]}`;
      const intact = (st: DiskStorage): boolean => st.entries(1, 101, Infinity).every((e, k) => same(e, want[k]!));
      // One bit flipped on every read of the old segment: each open or block read either
      // refuses, or (having read the bytes it uses again) serves exactly what was written.
      fs.faults.flipBitsOnRead = (p) => p === victim;
      try {
        const s2 = await DiskStorage.open("/n", small(fs, { maxCachedBytes: 64 }));
        try {
          assert.ok(intact(s2), `seed ${seed}: damaged entries served`);
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          refusedReads++;
        }
        await s2.close();
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        assert.ok(e instanceof WalError, `seed ${seed}: ${String(e)}`);
        refusedReads++;
      }
      fs.faults.flipBitsOnRead = undefined;
      // A bit flipped at rest (bit rot) is refused at open.
      const b = fs.readFile(victim);
      const at = Math.floor(r() * b.length);
      b[at]! ^= 1 << Math.floor(r() * 8);
      fs.writeFileDurable(victim, b);
      await assert.rejects(DiskStorage.open("/n", small(fs)), (e: unknown) => e instanceof WalError, `seed ${seed}: bit ${at} flipped at rest`);
    }
    assert.ok(refusedReads > 0, "some reads were refused");
  });

  test("a bit flipped reading the snapshot file the WAL records: open refuses it (typed), renames nothing, never falls back to an older one", async () => {
    const cs = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    let refused = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const fs = new SimFS(seed);
      await fs.io().mkdir("/n", { recursive: true });
      fs.syncAll();
      const s = await DiskStorage.open("/n", small(fs));
      const r = prng(seed);
      for (let i = 1; i <= 30; i++) {
        await s.save({ term: 1, vote: 1n, commit: i }, [entry(i, 1, r)]);
        if (i === 10 || i === 20) {
          await s.createSnapshot(i, cs, enc(`state at ${i}`));
          await s.compact(i);
        }
      }
      await s.close();
      const snaps = fs.list("/n/snap");
      const newest = snaps.filter((n) => n.endsWith(".snap")).pop()!;
      const size = fs.readFile(`/n/snap/${newest}`).length;
      fs.faults.flipBit = { path: `/n/snap/${newest}`, offset: Math.floor(r() * size), bit: Math.floor(r() * 8) };
      try {
        const s2 = await DiskStorage.open("/n", small(fs));
        // A flip the file's checks cannot see (none expected: every byte is under the CRC or decoded).
        assert.equal(s2.snapshot().metadata.index, 20, `seed ${seed}: opened at an older snapshot`);
        await s2.close();
      } catch (e) {
        assert.ok(e instanceof WalError && /^TSRAFT_SNAP_/.test(e.code), `seed ${seed}: ${String(e)}`);
        refused++;
      }
      fs.faults.flipBit = undefined;
      assert.deepEqual(fs.list("/n/snap"), snaps, "nothing renamed");
      const s3 = await DiskStorage.open("/n", small(fs));
      assert.equal(s3.snapshot().metadata.index, 20);
      assert.equal(s3.lastIndex(), 30);
      await s3.close();
    }
    assert.equal(refused, 10);
  });

  test("an EIO on fdatasync stops the WAL for good; nothing acknowledged is lost", async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const fs = new SimFS(seed);
      await fs.io().mkdir("/n", { recursive: true });
      fs.syncAll();
      const s = await DiskStorage.open("/n", small(fs));
      const r = prng(seed);
      const acked: Entry[] = [];
      for (let i = 1; i <= 10; i++) {
        const e = entry(i, 1, r);
        await s.save({ term: 1, vote: 1n, commit: i - 1 }, [e]);
        acked.push(e);
      }
      fs.faults.eio = () => true;
      await s.save({ term: 1, vote: 1n, commit: 10 }, []); // commit only: no sync, so no error yet
      await assert.rejects(s.save({ term: 1, vote: 1n, commit: 10 }, [entry(11, 1, r)]), (e: NodeJS.ErrnoException) => e.code === "EIO");
      fs.faults.eio = undefined;
      // Never trust a retried fsync: the WAL refuses every later write.
      await assert.rejects(s.save({ term: 1, vote: 1n, commit: 10 }, [entry(11, 1, r)]), WalStateError);
      fs.crash();
      const s2 = await DiskStorage.open("/n", small(fs));
      for (const e of acked) assert.ok(same(s2.entries(e.index, e.index + 1, Infinity)[0]!, e));
      await s2.close();
    }
  });

  test("ENOSPC: the save fails, later ones are refused, nothing acknowledged is lost", async () => {
    const fs = new SimFS(9);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const s = await DiskStorage.open("/n", small(fs));
    const r = prng(9);
    const acked: Entry[] = [];
    fs.faults.enospcAfterBytes = fs.stats.bytesWritten + 20_000;
    let i = 1;
    let err: unknown;
    for (; i < 1000; i++) {
      const e = entry(i, 1, r);
      try {
        await s.save({ term: 1, vote: 1n, commit: i - 1 }, [e]);
        acked.push(e);
      } catch (x) {
        err = x;
        break;
      }
    }
    // A typed error (the node stops on it), with node's error as the cause.
    assert.ok(err instanceof WalNoSpaceError, String(err));
    assert.equal(err.code, "TSRAFT_WAL_NO_SPACE");
    assert.equal((err.cause as NodeJS.ErrnoException).code, "ENOSPC");
    assert.match(err.path, /\.wal$/);
    // Every later write is refused with the same error, even once space is back.
    fs.faults.enospcAfterBytes = undefined;
    await assert.rejects(s.save({ term: 1, vote: 1n, commit: 0 }, [entry(i, 1, r)]), (e: unknown) => e instanceof WalNoSpaceError);
    fs.crash();
    const s2 = await DiskStorage.open("/n", small(fs));
    assert.ok(s2.lastIndex() >= acked.length);
    for (const e of acked) assert.ok(same(s2.entries(e.index, e.index + 1, Infinity)[0]!, e));
    await s2.close();
  });

  test("ENOSPC at open (creating the WAL on a full disk): a WalNoSpaceError; with space, it opens", async () => {
    const fs = new SimFS(6);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    fs.faults.enospcAfterBytes = fs.stats.bytesWritten;
    await assert.rejects(DiskStorage.open("/n", small(fs)), (e: unknown) => e instanceof WalNoSpaceError && e.path === "/n");
    fs.faults.enospcAfterBytes = undefined;
    const s = await DiskStorage.open("/n", small(fs));
    assert.equal(s.lastIndex(), 0);
    await s.close();
  });

  test("ENOSPC writing a snapshot file: a WalNoSpaceError, the log as it was", async () => {
    const fs = new SimFS(4);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const s = await DiskStorage.open("/n", small(fs));
    const r = prng(4);
    for (let i = 1; i <= 5; i++) await s.save({ term: 1, vote: 1n, commit: i }, [entry(i, 1, r)]);
    fs.faults.enospcAfterBytes = fs.stats.bytesWritten + 10;
    await assert.rejects(
      s.createSnapshot(5, undefined, new Uint8Array(4096).fill(7)),
      (e: unknown) => e instanceof WalNoSpaceError && e.code === "TSRAFT_WAL_NO_SPACE",
    );
    fs.faults.enospcAfterBytes = undefined;
    assert.equal(s.snapshot().metadata.index, 0);
    await s.save({ term: 1, vote: 1n, commit: 6 }, [entry(6, 1, r)]); // the WAL itself did not fail
    await s.close();
  });

  test("planted bug swallowNoSpace: saves that were never written resolve (so the simulator's disk-full check must catch it)", async () => {
    const fs = new SimFS(5);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const opts = small(fs);
    setWalFaults(opts, { swallowNoSpace: true });
    const s = await DiskStorage.open("/n", opts);
    const r = prng(5);
    await s.save({ term: 1, vote: 1n, commit: 0 }, [entry(1, 1, r)]);
    fs.faults.enospcAfterBytes = fs.stats.bytesWritten;
    await s.save({ term: 1, vote: 1n, commit: 1 }, [entry(2, 1, r)]); // resolves: not on disk
    fs.faults.enospcAfterBytes = undefined;
    fs.crash();
    const s2 = await DiskStorage.open("/n", small(fs));
    assert.equal(s2.lastIndex(), 1, "the acknowledged entry 2 is lost");
    await s2.close();
  });
});

describe("found by the simulated disk", () => {
  const cs1 = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const ents = (from: number, to: number, term: number, size = 40): Entry[] => {
    const out: Entry[] = [];
    for (let i = from; i <= to; i++) out.push({ index: i, term, type: EntryType.EntryNormal, data: new Uint8Array(size).fill(i & 0xff) });
    return out;
  };
  const fresh = async (): Promise<SimFS> => {
    const fs = new SimFS(1);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    return fs;
  };

  test("entries after a snapshot that an overwrite at or below it cut do not come back at open", async () => {
    const fs = await fresh();
    let s = await DiskStorage.open("/n", small(fs));
    await s.save({ term: 1, vote: 1n, commit: 16 }, ents(1, 21, 1));
    await s.createSnapshot(16, cs1, enc("sm16"));
    await s.save({ term: 2, vote: 1n, commit: 16 }, ents(17, 17, 2)); // cuts 18..21
    await s.save({ term: 2, vote: 1n, commit: 17 }, []);
    await s.createSnapshot(17, cs1, enc("sm17"));
    await s.close();
    s = await DiskStorage.open("/n", small(fs));
    assert.equal(s.lastIndex(), 17, "18..21 were overwritten");
    await s.save({ term: 2, vote: 1n, commit: 17 }, ents(18, 18, 2)); // refused with a gap when they came back
    await s.close();
  });

  test("a log whose segment first indexes decrease (an overwrite below the tail segment's first index, then a cut) opens", async () => {
    const fs = await fresh();
    let s = await DiskStorage.open("/n", small(fs));
    for (let i = 1; i <= 40; i++) await s.save({ term: 1, vote: 1n, commit: Math.min(2, i) }, ents(i, i, 1, 300));
    await s.save({ term: 2, vote: 1n, commit: 2 }, ents(5, 10, 2, 700)); // from 5: below the tail's first index; cuts after 10
    await s.close();
    const idx = fs
      .list("/n/wal")
      .filter((n) => n.endsWith(".wal"))
      .map((n) => Number.parseInt(n.split("-")[1]!, 16));
    assert.ok(
      idx.some((x, k) => k > 0 && x < idx[k - 1]!),
      `segment first indexes ${idx.join(",")} never decrease`,
    );
    s = await DiskStorage.open("/n", small(fs));
    assert.equal(s.lastIndex(), 10);
    assert.equal(s.term(5), 2);
    await s.close();
  });

  test("a torn tail is repaired when the last segment holds a snapshot record at its own first index", async () => {
    // WAL.repair read the last segment with its first index as the start snapshot (term 0): a
    // snapshot record at that index met it with another term (WalSnapshotMismatchError), the
    // repair gave up, and the member could not open. Found by the SimFS crash runs (seed 1195
    // of a branch with another record layout).
    const fs = await fresh();
    const s = await DiskStorage.open("/n", small(fs));
    for (let i = 1; fs.list("/n/wal").filter((n) => n.endsWith(".wal")).length < 2; i++) await s.save({ term: 1, vote: 1n, commit: i - 1 }, ents(i, i, 1, 300));
    const segs = fs.list("/n/wal").filter((n) => n.endsWith(".wal"));
    const first = Number.parseInt(segs[segs.length - 1]!.split("-")[1]!, 16);
    await s.save({ term: 1, vote: 1n, commit: first }, ents(first, first, 1));
    await s.createSnapshot(first, cs1, enc(`sm${first}`));
    await s.save({ term: 1, vote: 1n, commit: first }, ents(first + 1, first + 1, 1));
    await s.close();
    const seg = `/n/wal/${segs[segs.length - 1]!}`;
    const img = fs.readFile(seg);
    let end = img.length;
    while (end > 0 && img[end - 1] === 0) end--;
    fs.writeFileDurable(seg, img.subarray(0, end - 4)); // the last record (a HardState) cut short
    const s2 = await DiskStorage.open("/n", small(fs));
    assert.equal(s2.lastIndex(), first + 1);
    await s2.close();
  });

  test("a purge after opening at a later snapshot leaves no sequence gap (the segments before the held ones go first)", async () => {
    const fs = new SimFS(1);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const r = prng(5);
    const cs = { voters: [1n], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    let s = await DiskStorage.open("/n", small(fs));
    for (let i = 1; i <= 80; i++) await s.save({ term: 1, vote: 1n, commit: i }, [{ ...entry(i, 1, r), data: new Uint8Array(300).fill(i) }]);
    const segs = fs.list("/n/wal").filter((n) => n.endsWith(".wal"));
    assert.ok(segs.length >= 4, `${segs.length} segments`);
    // A snapshot in the second segment: the next open holds the segments from there on.
    const second = Number.parseInt(segs[1]!.split("-")[1]!, 16);
    await s.createSnapshot(second + 1, cs, enc("sm"));
    await s.close();
    s = await DiskStorage.open("/n", small(fs));
    // A later snapshot and a compaction: the second segment is released and deleted.
    await s.createSnapshot(75, cs, enc("sm2"));
    await s.compact(75);
    await s.close();
    const left = fs.list("/n/wal").filter((n) => n.endsWith(".wal"));
    assert.ok(!left.includes(segs[1]!), "the second segment was purged");
    s = await DiskStorage.open("/n", small(fs)); // refused with a sequence gap when the first was left behind
    assert.equal(s.lastIndex(), 80);
    await s.close();
  });
});

describe("the tail a crash left behind (soak:stack seed 323748)", () => {
  /**
   * A disk whose last segment ends in a torn write: synced records, then zeros, then the stale
   * second sector of a record whose first sector the crash lost. Returns the segment's path and
   * where the stale bytes are.
   */
  const tornDisk = async (seed: number): Promise<{ fs: SimFS; seg: string; stale: number }> => {
    const fs = new SimFS(seed);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const s = await DiskStorage.open("/n", small(fs));
    for (let i = 1; i <= 3; i++) await s.save({ term: 1, vote: 1n, commit: i - 1 }, [{ index: i, term: 1, type: EntryType.EntryNormal, data: enc(`e${i}`) }]);
    await s.close();
    const seg = `/n/wal/${fs.list("/n/wal").filter((n) => n.endsWith(".wal"))[0]!}`;
    const img = fs.readFile(seg);
    let end = img.length;
    while (end > 0 && img[end - 1] === 0) end--;
    const stale = (Math.floor(end / 512) + 1) * 512; // the next sector: a zero length word first
    img.set([0x22, 0x59, 0x01, 0x73, 0xdd, 0x99, 0xbb, 0x35, 0xc4, 0xc7, 0xc2], stale);
    img.set(enc('key":"c","value":"c0-15"'), stale + 32);
    fs.writeFileDurable(seg, img);
    return { fs, seg, stale };
  };

  // The open zero-fills what follows the last record (etcd's ZeroToEnd). Unsynced, a crash could
  // undo that truncate while keeping records written after it: they would then end against the
  // stale bytes, which read as a garbage length word (RecordTooLargeError) and the member could
  // never restart. So the open makes the zero fill durable before it returns.
  test("the open's zero fill of a dirty tail is durable: a crash after it brings no stale bytes back", async () => {
    for (let seed = 1; seed <= 16; seed++) {
      const { fs, seg, stale } = await tornDisk(seed);
      const s = await DiskStorage.open("/n", small(fs));
      await s.save({ term: 1, vote: 1n, commit: 3 }, []); // commit only: written, not synced
      fs.crash();
      const after = fs.readFile(seg);
      assert.equal(after[stale] ?? 0, 0, `seed ${seed}: the stale bytes came back at ${stale}`);
      await (await DiskStorage.open("/n", small(fs))).close();
    }
  });

  // The same through a clean restart: the first process's zero fill is still only in the page
  // cache, so the second open reads a clean tail; its own writes must not outlive that fill.
  test("a restart without a crash, then a crash: the tail the first open zeroed stays zeroed", async () => {
    for (let seed = 1; seed <= 16; seed++) {
      const { fs, seg, stale } = await tornDisk(seed);
      const a = await DiskStorage.open("/n", small(fs));
      await a.abandon(); // the process dies (kill -9): the page cache stays
      const b = await DiskStorage.open("/n", small(fs));
      await b.save({ term: 1, vote: 1n, commit: 3 }, []);
      fs.crash();
      assert.equal(fs.readFile(seg)[stale] ?? 0, 0, `seed ${seed}: the stale bytes came back at ${stale}`);
      await (await DiskStorage.open("/n", small(fs))).close();
    }
  });
});

describe("a HardState record whose type bit flipped (State 3 -> Entry 2: the type is outside the CRC)", () => {
  // The HardState {term, vote, commit} encodes as the Entry {type: term, term: vote, index:
  // commit}: one flipped bit made the last HardState an entry that rewrote entry `commit`, and
  // the open dropped the acknowledged entries after it without a word.
  const build = async (term: number, vote: bigint): Promise<{ fs: SimFS; seg: string; typeAt: (k: number) => number }> => {
    const fs = new SimFS(1);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const s = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    for (let i = 1; i <= 10; i++)
      await s.save({ term, vote, commit: i - 1 }, [{ index: i, term, type: EntryType.EntryNormal, data: new Uint8Array(40).fill(i) }]);
    await s.close();
    const seg = `/n/wal/${fs.list("/n/wal").filter((n) => n.endsWith(".wal"))[0]!}`;
    const b = fs.readFile(seg);
    // the type byte of the k-th HardState record from the end (walpb.Record: 08 <type> 10 <crc>)
    const typeAt = (k: number): number => {
      let seen = 0;
      for (let i = b.length - 3; i >= 0; i--) if (b[i] === 0x08 && b[i + 1] === 0x03 && b[i + 2] === 0x10 && ++seen === k) return i + 1;
      throw new Error("no HardState record");
    };
    return { fs, seg, typeAt };
  };
  const flipAtRest = (fs: SimFS, seg: string, at: number): void => {
    const b = fs.readFile(seg);
    b[at]! ^= 1;
    fs.writeFileDurable(seg, b);
  };

  test("term 1, vote 1: read as a conf change without data, refused at open", async () => {
    const { fs, seg, typeAt } = await build(1, 1n);
    flipAtRest(fs, seg, typeAt(1));
    await assert.rejects(DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 })), /conf change entry 9 without data/);
  });

  test("term 2, vote 2: read as an entry of the same index and term as the one it rewrites, refused at open", async () => {
    const { fs, seg, typeAt } = await build(2, 2n);
    flipAtRest(fs, seg, typeAt(1));
    await assert.rejects(DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 })), /entry 9 rewritten by another entry of the same term 2/);
  });

  test("term 2, vote 2, flipped on the way from the disk during a block read: refused, never served", async () => {
    const { fs, seg, typeAt } = await build(2, 2n);
    const s = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20, maxCachedBytes: 1 }));
    fs.faults.flipBit = { path: seg, offset: typeAt(3), bit: 0 }; // the HardState of the save of entry 8 (commit 7)
    assert.throws(() => s.entries(1, 11, Infinity), /entry 7 rewritten by another entry of the same term 2/);
    fs.faults.flipBit = undefined;
    assert.equal(s.entries(1, 11, Infinity).length, 10);
    await s.close();
  });
});

describe("commit-only saves (the wal README's known issue)", () => {
  // A commit-only save was written unsynced; the next synced save after it was a write plus a
  // whole-file fdatasync. A power loss between the two kept the new records and dropped the
  // older sector (or tore it): a hole before valid records in the last segment, which the reader
  // refuses as damage, and the member could not restart. Now a commit-only save is held and
  // written with the next batch that syncs, so every synced batch is one O_DSYNC write with
  // nothing unsynced before it.
  test("a power loss between a commit-only save and the next synced one never leaves a hole the reader refuses", async () => {
    const ent = (i: number, size: number): Entry => ({ index: i, term: 1, type: EntryType.EntryNormal, data: new Uint8Array(size).fill(i) });
    for (let seed = 1; seed <= 60; seed++) {
      const fs = new SimFS(seed);
      await fs.io().mkdir("/n", { recursive: true });
      fs.syncAll();
      const s = await DiskStorage.open("/n", small(fs));
      await s.save({ term: 1, vote: 1n, commit: 0 }, [ent(1, 500), ent(2, 300)]);
      await s.save({ term: 1, vote: 1n, commit: 2 }, []); // commit only
      const p = s.save({ term: 1, vote: 1n, commit: 2 }, [ent(3, 700)]);
      p.catch(() => undefined);
      for (let t = 0; t < seed % 4; t++) await new Promise((res) => setImmediate(res));
      fs.crash();
      const r = await DiskStorage.open("/n", small(fs)).then(
        (o) => o,
        (e: unknown) => e as Error,
      );
      assert.ok(!(r instanceof Error), `seed ${seed}: the log was refused: ${String(r)}`);
      assert.ok(r.lastIndex() >= 2, `seed ${seed}: acknowledged entries lost`);
      await r.close();
    }
  });
});

describe("sync markers: damage no marker claims durable is a torn write; damage one claims is refused", () => {
  const ent = (i: number, size = 300): Entry => ({ index: i, term: 1, type: EntryType.EntryNormal, data: new Uint8Array(size).fill(i) });
  /**
   * Five synced saves of one 300-byte entry each, then a crash (`abandon`: no close, so no seal)
   * or a clean `close`; where each save's records start.
   */
  const five = async (end: "crash" | "close" = "crash", faults: Partial<WalFaultSwitches> = {}): Promise<{ fs: SimFS; seg: string; at: number[] }> => {
    const fs = new SimFS(1);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const opts = small(fs, { segmentSizeBytes: 1 << 20 });
    if (Object.keys(faults).length > 0) setWalFaults(opts, faults);
    const s = await DiskStorage.open("/n", opts);
    const seg = `/n/wal/${fs.list("/n/wal").filter((n) => n.endsWith(".wal"))[0]!}`;
    const at: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const before = fs.readFile(seg);
      let end = before.length;
      while (end > 0 && before[end - 1] === 0) end--;
      at.push(Math.ceil(end / 8) * 8); // where save i starts (its marker)
      await s.save({ term: 1, vote: 1n, commit: i - 1 }, [ent(i)]);
    }
    if (end === "crash") await s.abandon();
    else await s.close();
    return { fs, seg, at };
  };
  test("a sector lost inside the last save (a crash during its write): torn, repaired, the saves before it kept", async () => {
    const { fs, seg, at } = await five();
    const b = fs.readFile(seg);
    b.fill(0, at[4]! + 64, at[4]! + 128); // inside save 5's entry, records of it after
    fs.writeFileDurable(seg, b);
    const heard: WalRepairMessage[] = [];
    const onRepair = (m: unknown): void => void heard.push(m as WalRepairMessage);
    subscribe(WAL_REPAIR_CHANNEL, onRepair);
    let s: DiskStorage;
    try {
      s = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    } finally {
      unsubscribe(WAL_REPAIR_CHANNEL, onRepair);
    }
    assert.equal(s.lastIndex(), 4, "saves 1-4 kept, save 5 cut");
    // and not silently: where, in which file, and the copy kept
    const cut = { file: seg, offset: s.repairedTail?.offset, brokenCopy: `${seg}.broken` };
    assert.deepEqual(s.repairedTail, cut);
    assert.ok(cut.offset !== undefined && cut.offset >= at[4]! && cut.offset <= at[4]! + 64, `cut at ${cut.offset}, save 5 at ${at[4]}`);
    assert.deepEqual(heard, [{ dir: "/n/wal", ...cut }]);
    assert.ok(fs.list("/n/wal").includes(`${seg.split("/").pop()}.broken`));
    await s.close();
    const again = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    assert.equal(again.repairedTail, undefined, "a clean open repairs nothing");
    await again.close();
  });

  // Found by an audit (2026-12-03): after a clean close the same damage was cut as a torn write
  // too, and 1 acknowledged save (100 in the audit's case: one batch of 200 entries) vanished
  // without an error. The close now seals the tail with a marker claiming it all durable.
  test("the same sector lost after a clean close: refused, nothing cut (the close's seal claims save 5)", async () => {
    const { fs, seg, at } = await five("close");
    const b = fs.readFile(seg);
    b.fill(0, at[4]! + 64, at[4]! + 128);
    fs.writeFileDurable(seg, b);
    await assert.rejects(
      WAL.verify("/n/wal", { index: 0, term: 0 }, small(fs, { segmentSizeBytes: 1 << 20 })),
      (e: unknown) => e instanceof CrcMismatchError || e instanceof WalCorruptError,
      "WAL.verify sees it too",
    );
    await assert.rejects(
      DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 })),
      (e: unknown) => e instanceof CrcMismatchError || e instanceof WalCorruptError,
    );
    assert.ok(!fs.list("/n/wal").some((n) => n.endsWith(".broken")), "nothing repaired");
  });

  test("planted noSeal (the close as before): the same damage cuts save 5, so the seal is what refuses it", async () => {
    const { fs, seg, at } = await five("close", { noSeal: true });
    const b = fs.readFile(seg);
    b.fill(0, at[4]! + 64, at[4]! + 128);
    fs.writeFileDurable(seg, b);
    const s = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    assert.equal(s.lastIndex(), 4, "save 5 cut, as a torn write");
    await s.close();
  });

  test("a seal that meets a full disk: the close succeeds, the next open reads every save", async () => {
    const fs = new SimFS(3);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const s = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    for (let i = 1; i <= 3; i++) await s.save({ term: 1, vote: 1n, commit: i - 1 }, [ent(i)]);
    fs.faults.enospcAfterBytes = fs.stats.bytesWritten + 10; // the seal's 24 bytes do not fit
    await s.close();
    fs.faults.enospcAfterBytes = undefined;
    fs.crash();
    const r = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    assert.equal(r.lastIndex(), 3);
    await r.close();
  });

  test("a clean close, then open, read and close without a save: the files are left as they were", async () => {
    const { fs, seg } = await five("close");
    const before = fs.readFile(seg);
    const s = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    assert.equal(s.lastIndex(), 5);
    await s.close();
    assert.deepEqual(fs.readFile(seg), before);
  });

  test("a segment's first save torn, its first sector (with its marker) lost and a later one kept: torn, cut (the header's marker)", async () => {
    // Found by the crash runs once an O_DSYNC write could be cut short (SimFS.dsyncLatency):
    // with no marker in the segment before the save's own, the segment read as one without
    // markers and the log was refused ("zero-filled block followed by a valid record").
    const fs = new SimFS(1);
    await fs.io().mkdir("/n", { recursive: true });
    fs.syncAll();
    const s = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    const seg = `/n/wal/${fs.list("/n/wal").filter((n) => n.endsWith(".wal"))[0]!}`;
    const before = fs.readFile(seg);
    let end = before.length;
    while (end > 0 && before[end - 1] === 0) end--;
    const at = Math.ceil(end / 8) * 8; // where the first save starts (its marker)
    assert.ok(at < 512, "the header ends in the first sector");
    await s.save({ term: 1, vote: 1n, commit: 0 }, [ent(1, 1200)]);
    await s.abandon(); // a crash: no close, no seal
    const b = fs.readFile(seg);
    b.fill(0, at, 512); // the first sector as it was durable: the header only; sectors 1-2 new
    fs.writeFileDurable(seg, b);
    const r = await DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 }));
    assert.equal(r.lastIndex(), 0, "the torn save cut");
    await r.close();
  });

  test("a sector lost inside an earlier save, which a later save's marker claims durable: refused, nothing cut", async () => {
    const { fs, seg, at } = await five();
    const b = fs.readFile(seg);
    b.fill(0, at[2]! + 64, at[2]! + 128); // inside save 3; saves 4 and 5 claim it durable
    fs.writeFileDurable(seg, b);
    await assert.rejects(
      DiskStorage.open("/n", small(fs, { segmentSizeBytes: 1 << 20 })),
      (e: unknown) => e instanceof CrcMismatchError || e instanceof WalCorruptError,
    );
    assert.ok(!fs.list("/n/wal").some((n) => n.endsWith(".broken")), "nothing repaired");
  });
});

describe("the simulated disk catches each wal fault switch", () => {
  const cases = [
    // Unsynced saves acknowledged: lost after a crash, or a hole before later records (the
    // reader refuses the log).
    { fault: "ackBeforeSync", budget: 30, expect: /\b(acknowledged|served)\b|zero-filled block followed by a valid record/ },
    // The same with inlineWrites: its write path syncs as the thread-pool one does.
    { fault: "ackBeforeSync", inline: true, budget: 30, expect: /\b(acknowledged|served)\b|zero-filled block followed by a valid record/ },
    // Entries served before they are written: lost after a crash, or not found on a read-back.
    { fault: "serveBeforeDurable", budget: 30, expect: /served .* lost|not found in the WAL segments/ },
    // No sync markers: a crash between a commit-only save and the next synced one leaves a
    // hole the reader must refuse (the strict runs fail on a refused log).
    { fault: "noSyncMarkers", budget: 80, expect: /zero-filled block followed by a valid record|crc mismatch|undecodable record/ },
  ] as const;
  for (const c of cases) {
    test(`${c.fault}${"inline" in c && c.inline ? " (inlineWrites)" : ""}: caught (${c.expect.source}) within ${c.budget} crash runs`, async () => {
      let found: string | undefined;
      let runs = 0;
      try {
        planted = { [c.fault]: true };
        for (let seed = 1; seed <= c.budget && found === undefined; seed++) {
          runs++;
          try {
            await crashRun(seed, 4, true, "inline" in c && c.inline ? { inlineWrites: true } : {});
          } catch (e) {
            found = (e as Error).message;
          }
        }
      } finally {
        planted = {};
      }
      assert.ok(found !== undefined, `no violation in ${runs} runs`);
      assert.match(found, c.expect);
      console.log(`# ${c.fault}: caught in run ${runs}: ${found.split("\n")[0]}`);
    });
  }
});

test("wal fault switches reach only what is opened with the options they are attached to", () => {
  const a: DiskStorageOptions = { segmentSizeBytes: 8192 };
  const copy: DiskStorageOptions = { ...a };
  setWalFaults(a, { ackBeforeSync: true });
  assert.equal(walFaultsOf(a).ackBeforeSync, true);
  assert.equal(walFaultsOf(a).serveBeforeDurable, false);
  assert.equal(walFaultsOf(copy).ackBeforeSync, false, "a copy does not carry them unless asked");
  assert.equal(walFaultsOf(undefined).ackBeforeSync, false);
});
