/** WAL write path: round trips, segment cuts, group commit, validation, and etcd reading our files. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { EntryType } from "@tsraft/raftpb";
import type { Entry, HardState } from "@tsraft/raftpb";
import { WAL, WalConfigError, WalExistsError, WalStateError, nodeIO, walName } from "@tsraft/wal";
import { recordingIO } from "./helpers/recording-io.js";
import { b64, jEntry, jHardState, removeTemp, tempDir } from "./helpers/vectors.js";
import { buildEtcdReader, etcdReaderUnavailable, runEtcdReader } from "./helpers/etcd-reader.js";

function data(i: number, n: number): Uint8Array {
  const d = new Uint8Array(n);
  for (let k = 0; k < n; k++) d[k] = (i * 31 + k * 7) & 0xff;
  return d;
}

function ent(term: number, index: number, n: number, type = EntryType.EntryNormal): Entry {
  return { term, index, type, data: n < 0 ? undefined : data(index, n) };
}

/** Writes a varied WAL: every padding length, nil and empty data, conf changes, term changes, a snapshot record. */
async function writeVaried(dir: string, segmentSizeBytes: number): Promise<{ entries: Entry[]; hs: HardState }> {
  const w = await WAL.create(dir, new TextEncoder().encode("tsraft metadata"), { segmentSizeBytes });
  const all: Entry[] = [];
  let hs: HardState = { term: 1, vote: 0n, commit: 0 };
  let index = 0;
  for (let b = 0; b < 60; b++) {
    const term = b < 30 ? 1 : b < 45 ? 2 : 3;
    const batch: Entry[] = [];
    for (let k = 0; k < (b % 4) + 1; k++) {
      index++;
      const kind = index % 11;
      // sizes on both sides of the native CRC threshold (256 bytes) and of small chunk sizes
      const size = kind === 3 ? 250 + ((index * 37) % 3000) : (index * 13) % 90;
      batch.push(
        kind === 0
          ? ent(term, index, -1)
          : kind === 1
            ? ent(term, index, 0)
            : kind === 2
              ? ent(term, index, 12, EntryType.EntryConfChange)
              : ent(term, index, size),
      );
    }
    hs = { term, vote: BigInt(term) * 0x1234_5678_9abc_def0n, commit: Math.max(0, index - 2) };
    all.push(...batch);
    await w.save(hs, batch);
    if (b === 20) await w.saveSnapshot({ index: 10, term: 1 });
  }
  await w.close();
  return { entries: all, hs };
}

describe("WAL", () => {
  test("create then open + readAll returns what was saved, across segment cuts", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const { entries, hs } = await writeVaried(dir, 2048);
      const names = (await readdir(dir)).filter((n) => n.endsWith(".wal"));
      assert.ok(names.length >= 3, `expected several segments, got ${names.join(",")}`);
      for (const n of names.slice(0, -1)) assert.ok((await stat(join(dir, n))).size >= 2048);
      assert.equal((await stat(join(dir, names.at(-1)!))).size, 2048, "last segment is preallocated");
      // read in chunks smaller than some records (carried, or read again past the carry room)
      for (const readChunkBytes of [64, 700, 5000]) {
        for (const copyEntryData of [false, true]) {
          const rw = await WAL.openForRead(dir, { index: 0, term: 0 }, { readChunkBytes, copyEntryData });
          assert.deepEqual((await rw.readAll()).entries.map(jEntry), entries.map(jEntry), `chunks of ${readChunkBytes}`);
        }
      }
      const streamed: Entry[] = [];
      const w = await WAL.open(dir, { index: 0, term: 0 });
      const r = await w.readAll();
      assert.deepEqual(r.entries.map(jEntry), entries.map(jEntry));
      assert.deepEqual(r.hardState, hs);
      assert.equal(r.lastIndex, entries.length);
      const ws = await WAL.openForRead(dir, { index: 0, term: 0 });
      const rs = await ws.readAll({ onEntry: (e) => void streamed.push(e) });
      assert.equal(rs.entries.length, 0);
      assert.deepEqual(streamed.map(jEntry), entries.map(jEntry), "onEntry streams every entry in file order");
      assert.equal(new TextDecoder().decode(r.metadata), "tsraft metadata");
      // append after reopen, then read at the snapshot
      await w.save({ ...hs, commit: entries.length + 1 }, [ent(3, entries.length + 1, 5)]);
      await w.close();
      const w2 = await WAL.openForRead(dir, { index: 10, term: 1 });
      const r2 = await w2.readAll();
      assert.equal(r2.entries[0]!.index, 11);
      assert.equal(r2.entries.at(-1)!.index, entries.length + 1);
      await w2.close();
    } finally {
      await removeTemp(dir);
    }
  });

  test("segment names carry sequence and first index; the crc chain continues across cuts", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      await writeVaried(dir, 1024);
      const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
      assert.equal(names[0], walName(0, 0));
      names.forEach((n, i) => assert.ok(n.startsWith(i.toString(16).padStart(16, "0") + "-"), n));
      await WAL.verify(dir, { index: 0, term: 0 });
      assert.deepEqual(await WAL.validSnapshotEntries(dir), [
        { index: 0, term: 0 },
        { index: 10, term: 1 },
      ]);
    } finally {
      await removeTemp(dir);
    }
  });

  test("overlapping saves are written in call order and all resolve", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const w = await WAL.create(dir, undefined);
      const ps: Promise<unknown>[] = [];
      for (let i = 1; i <= 200; i++) ps.push(w.save({ term: 1, vote: 1n, commit: i }, [ent(1, i, 100)]));
      await Promise.all(ps);
      await w.close();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.equal(r.entries.length, 200);
      assert.equal(r.hardState.commit, 200);
      assert.equal(r.metadata, undefined);
    } finally {
      await removeTemp(dir);
    }
  });

  test("inlineWrites: the saves of one turn share one write and sync on the calling thread, in call order, all resolved", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const { io, log } = recordingIO();
      const w = await WAL.create(dir, undefined, { io, zeroAheadBytes: 0, inlineWrites: true });
      const tail = join(dir, walName(0, 0));
      const from = log.length;
      const ps: Promise<unknown>[] = [];
      for (let i = 1; i <= 50; i++) ps.push(w.save({ term: 1, vote: 1n, commit: i }, [ent(1, i, 100)]));
      await Promise.all(ps);
      const ops = log.slice(from).filter((o) => o.path === tail);
      assert.deepEqual(
        ops,
        [{ op: "write", path: tail, dsync: fs.constants.O_DSYNC !== undefined, inline: true }].concat(
          fs.constants.O_DSYNC !== undefined ? [] : [{ op: "fdatasync", path: tail, inline: true } as never],
        ),
      );
      // One turn later each save is written on its own.
      for (let i = 51; i <= 53; i++) await w.save({ term: 1, vote: 1n, commit: i }, [ent(1, i, 100)]);
      assert.equal(log.slice(from).filter((o) => o.path === tail && o.op === "write").length, 4);
      await w.close();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.deepEqual(
        r.entries.map((e) => e.index),
        Array.from({ length: 53 }, (_, k) => k + 1),
      );
      assert.equal(r.hardState.commit, 53);
    } finally {
      await removeTemp(dir);
    }
  });

  test("inlineWrites: a write that fails rejects its saves and every later call", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      let fail = false;
      const io = {
        ...nodeIO,
        writeSync: (fd: number, b: Uint8Array, o: number, l: number, p: number): number => {
          if (fail) throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
          return nodeIO.writeSync!(fd, b, o, l, p);
        },
      };
      const w = await WAL.create(dir, undefined, { io, zeroAheadBytes: 0, inlineWrites: true });
      await w.save({ term: 1, vote: 1n, commit: 0 }, [ent(1, 1, 10)]);
      fail = true;
      await assert.rejects(w.save({ term: 1, vote: 1n, commit: 1 }, [ent(1, 2, 10)]), (e: NodeJS.ErrnoException) => e.code === "EIO");
      fail = false;
      await assert.rejects(w.save({ term: 1, vote: 1n, commit: 1 }, [ent(1, 2, 10)]), WalStateError);
      await w.abandon();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.deepEqual(
        r.entries.map((e) => e.index),
        [1],
      );
    } finally {
      await removeTemp(dir);
    }
  });

  test("large saves (largeWriteBytes): written in chunks as they are encoded, then one fdatasync; the files are byte for byte those of single writes", async () => {
    const root = join(await tempDir(), "w");
    await mkdir(root);
    try {
      const { io, log } = recordingIO();
      // 8 KiB: chunks of 2 KiB; 96 KiB segments, so that chunked batches also end in cuts
      const chunked = await WAL.create(join(root, "a"), new TextEncoder().encode("m"), { io, largeWriteBytes: 8192, segmentSizeBytes: 96 << 10 });
      const single = await WAL.create(join(root, "b"), new TextEncoder().encode("m"), { largeWriteBytes: 0, segmentSizeBytes: 96 << 10 });
      let index = 0;
      let commit = 0;
      let chunkedSaves = 0;
      const saved: Entry[] = [];
      for (let k = 0; k < 90; k++) {
        const batch: Entry[] = [];
        // from one small entry to ~60 KiB, entries of 0 to 3,000 bytes
        const n = k % 3 === 0 ? 1 : 1 + ((k * 7) % 40);
        for (let j = 0; j < n; j++) batch.push(ent(1 + (k >> 5), ++index, (index * 97) % 3000));
        saved.push(...batch);
        // every fifth save moves only the commit index (no sync: the next synced one must fdatasync)
        if (k % 5 === 4) commit = index - n;
        const hs = { term: 1 + (k >> 5), vote: 1n, commit };
        const from = log.length;
        const bytes = batch.reduce((a, e) => a + (e.data?.length ?? 0), 0);
        await Promise.all([chunked.save(hs, batch), single.save(hs, batch)]);
        if (k % 5 === 4) await Promise.all([chunked.save({ ...hs, commit: index - 1 }, []), single.save({ ...hs, commit: index - 1 }, [])]);
        if (k === 40) await Promise.all([chunked.saveSnapshot({ index: 10, term: 1 }), single.saveSnapshot({ index: 10, term: 1 })]);
        const ops = log.slice(from).filter((o) => o.op === "write" || o.op === "fdatasync");
        if (bytes + n * 80 + 192 >= 8192) {
          chunkedSaves++;
          // chunks through the plain descriptor, none synced on its own, then one fdatasync (or a cut's fsync)
          const writes = ops.filter((o) => o.op === "write");
          // each chunk holds 2 KiB and at most one more record (under 3,100 bytes)
          assert.ok(writes.length >= Math.max(2, Math.floor(bytes / 5148)), `save ${k}: ${writes.length} writes for ${bytes} bytes`);
          assert.ok(
            writes.every((o) => o.dsync !== true),
            `save ${k}: a chunk went through O_DSYNC`,
          );
          assert.ok(ops.filter((o) => o.op === "fdatasync").length <= 1, `save ${k}: ${JSON.stringify(ops)}`);
        }
      }
      assert.ok(chunkedSaves >= 40, `${chunkedSaves} chunked saves`);
      await Promise.all([chunked.close(), single.close()]);
      const names = await readdir(join(root, "a"));
      assert.deepEqual(names, await readdir(join(root, "b")));
      assert.ok(names.filter((n) => n.endsWith(".wal")).length >= 4, `${names.length} segments`);
      for (const n of names) assert.ok(fs.readFileSync(join(root, "a", n)).equals(fs.readFileSync(join(root, "b", n))), `${n} differs`);
      const r = await (await WAL.openForRead(join(root, "a"), { index: 0, term: 0 })).readAll();
      assert.deepEqual(r.entries, saved);
    } finally {
      await removeTemp(root);
    }
  });

  test("large saves: a chunk write that fails fails the save and the WAL, once every chunk in flight has settled", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      let writes = 0;
      let inFlight = 0;
      let failAt = -1;
      const io = {
        ...nodeIO,
        write: (fd: number, b: Uint8Array, o: number, l: number, p: number, cb: (err: NodeJS.ErrnoException | null, n: number) => void): void => {
          const k = writes++;
          inFlight++;
          // later chunks finish later, so the failed one is reported while others are in flight
          setTimeout(
            () => {
              inFlight--;
              if (k === failAt) cb(Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" }), 0);
              else nodeIO.write(fd, b, o, l, p, cb);
            },
            k === failAt ? 0 : 5 + (k % 4) * 5,
          );
        },
      };
      const w = await WAL.create(dir, undefined, { io, largeWriteBytes: 4096, zeroAheadBytes: 0 });
      const batch = (from: number): Entry[] => Array.from({ length: 20 }, (_, j) => ent(1, from + j, 500));
      await w.save({ term: 1, vote: 1n, commit: 0 }, batch(1));
      failAt = writes + 1; // the second chunk of the next save
      await assert.rejects(
        w.save({ term: 1, vote: 1n, commit: 0 }, batch(21)).finally(() => assert.equal(inFlight, 0, "a chunk write outlived its save")),
        (e: NodeJS.ErrnoException) => e.code === "EIO",
      );
      assert.ok(writes - failAt >= 2, `${writes - failAt} chunks after the failed one`);
      await assert.rejects(w.save({ term: 1, vote: 1n, commit: 0 }, batch(21)), WalStateError);
      await w.abandon();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.equal(r.entries[19]!.index, 20);
    } finally {
      await removeTemp(dir);
    }
  });

  test("large saves: a first save larger than the encoder's buffer is reserved for before its first chunk (chunks in flight are views of the buffer)", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      let inFlight = 0;
      let writes = 0;
      const io = {
        ...nodeIO,
        write: (fd: number, b: Uint8Array, o: number, l: number, p: number, cb: (err: NodeJS.ErrnoException | null, n: number) => void): void => {
          inFlight++;
          writes++;
          nodeIO.write(fd, b, o, l, p, (err, n) => {
            inFlight--;
            cb(err, n);
          });
        },
      };
      const w = await WAL.create(dir, undefined, { io, largeWriteBytes: 8192, zeroAheadBytes: 0 });
      const batch = Array.from({ length: 600 }, (_, j) => ent(1, 1 + j, 1000)); // ~620 KB, the buffer starts at 64 KiB
      const before = writes;
      await w.save({ term: 1, vote: 1n, commit: 0 }, batch).finally(() => assert.equal(inFlight, 0, "a chunk write outlived its save"));
      assert.ok(writes - before >= 200, `${writes - before} chunks`);
      await w.close();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.deepEqual(r.entries, batch);
    } finally {
      await removeTemp(dir);
    }
  });

  test("large saves with inlineWrites: the chunks go to the thread pool, the fdatasync is inline", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const { io, log } = recordingIO();
      const w = await WAL.create(dir, undefined, { io, largeWriteBytes: 4096, zeroAheadBytes: 0, inlineWrites: true });
      const tail = join(dir, walName(0, 0));
      const from = log.length;
      await w.save(
        { term: 1, vote: 1n, commit: 0 },
        Array.from({ length: 40 }, (_, j) => ent(1, 1 + j, 500)),
      );
      const ops = log
        .slice(from)
        .filter((o) => o.path === tail)
        .map((o) => `${o.op}${o.dsync ? " dsync" : ""}${o.inline ? " inline" : ""}`);
      assert.ok(ops.length >= 6, ops.join(", "));
      assert.deepEqual(ops, [...Array<string>(ops.length - 1).fill("write"), "fdatasync inline"]);
      // a small save after it: one inline O_DSYNC write (the chunks were synced)
      const next = log.length;
      await w.save({ term: 1, vote: 1n, commit: 0 }, [ent(1, 41, 10)]);
      assert.deepEqual(
        log
          .slice(next)
          .filter((o) => o.path === tail)
          .map((o) => `${o.op}${o.dsync ? " dsync" : ""}${o.inline ? " inline" : ""}`),
        fs.constants.O_DSYNC !== undefined ? ["write dsync inline"] : ["write inline", "fdatasync inline"],
      );
      await w.close();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.equal(r.entries.length, 41);
    } finally {
      await removeTemp(dir);
    }
  });

  test("abandon: the write in progress finishes, queued saves are never written, the lock is free, nothing is synced", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const w = await WAL.create(dir, undefined, { zeroAheadBytes: 0 }); // so that `first` starts at once
      await w.save({ term: 1, vote: 1n, commit: 0 }, [ent(1, 1, 10)]);
      const first = w.save({ term: 1, vote: 1n, commit: 1 }, [ent(1, 2, 10)]); // starts writing now
      const queued = assert.rejects(w.save({ term: 1, vote: 1n, commit: 2 }, [ent(1, 3, 10)]), WalStateError); // waits behind it
      await w.abandon();
      await first;
      await queued;
      await assert.rejects(w.save({ term: 1, vote: 1n, commit: 2 }, []), WalStateError);
      const w2 = await WAL.open(dir, { index: 0, term: 0 }); // the lock was released
      const r = await w2.readAll();
      assert.deepEqual(
        r.entries.map((e) => e.index),
        [1, 2],
      );
      assert.equal(r.hardState.commit, 1);
      await w2.close();
    } finally {
      await removeTemp(dir);
    }
  });

  test("a synced save after unsynced bytes uses a whole-file fdatasync, not a range-only O_DSYNC write", async () => {
    // O_DSYNC makes only the written range durable; bytes written before without a sync (a
    // commit-only save) must be flushed too, or a crash leaves a hole; a previous writer's are
    // flushed by the open.
    const dir = join(await tempDir(), "wal");
    const real = fs.fdatasync;
    let calls = 0;
    fs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      calls++;
      real(fd, cb);
    }) as typeof fs.fdatasync;
    syncBuiltinESMExports();
    try {
      const w = await WAL.create(dir, undefined, { zeroAheadBytes: 0 }); // its syncs would be counted too
      const count = async (f: () => Promise<unknown>): Promise<number> => {
        const before = calls;
        await f();
        return calls - before;
      };
      const dsync = fs.constants.O_DSYNC !== undefined;
      assert.equal(await count(() => w.save({ term: 1, vote: 1n, commit: 0 }, [ent(1, 1, 10)])), dsync ? 0 : 1, "entries: one O_DSYNC write");
      assert.equal(await count(() => w.save({ term: 1, vote: 1n, commit: 1 }, [])), 0, "commit only: written, not synced");
      assert.equal(await count(() => w.save({ term: 1, vote: 1n, commit: 1 }, [ent(1, 2, 10)])), 1, "after unsynced bytes: write + fdatasync");
      assert.equal(await count(() => w.save({ term: 1, vote: 1n, commit: 2 }, [ent(1, 3, 10)])), dsync ? 0 : 1, "then O_DSYNC again");
      await w.close();
      const w2 = await WAL.open(dir, { index: 0, term: 0 }, { zeroAheadBytes: 0 });
      await w2.readAll();
      // The open synced what the previous writer left (see sim-fs.test.ts, "the tail a crash
      // left behind"), so the first synced save after it needs no whole-file sync.
      assert.equal(await count(() => w2.save({ term: 1, vote: 1n, commit: 3 }, [ent(1, 4, 10)])), dsync ? 0 : 1, "first sync after open: O_DSYNC");
      await w2.close();
    } finally {
      fs.fdatasync = real;
      syncBuiltinESMExports();
      await removeTemp(dir);
    }
  });

  test("with zero-ahead, every synced save still costs exactly one sync (an O_DSYNC write or one fdatasync)", async () => {
    const dir = join(await tempDir(), "wal");
    const realSync = fs.fdatasync;
    const realWrite = fs.write;
    let syncs = 0;
    let fdatasyncs = 0;
    let dsyncFd = -1;
    fs.fdatasync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      syncs++;
      fdatasyncs++;
      realSync(fd, cb);
    }) as typeof fs.fdatasync;
    fs.write = ((fd: number, ...rest: unknown[]) => {
      if (fd === dsyncFd) syncs++;
      return (realWrite as (...a: unknown[]) => unknown)(fd, ...rest);
    }) as typeof fs.write;
    syncBuiltinESMExports();
    try {
      const w = await WAL.create(dir, undefined, { segmentSizeBytes: 4 << 20, zeroAheadBytes: 64 << 10 });
      dsyncFd = (w as unknown as { dsyncTail: { fd: number } }).dsyncTail.fd;
      let index = 0;
      for (let k = 0; k < 120; k++) {
        const batch: Entry[] = [];
        for (let j = 0; j < 1 + (k % 7); j++) batch.push(ent(1, ++index, 300));
        const before = syncs;
        await w.save({ term: 1, vote: 1n, commit: index - 1 }, batch);
        assert.equal(syncs - before, 1, `save ${k}: one sync`);
      }
      // the saves after each zero-ahead step took the write + fdatasync path
      assert.ok(fdatasyncs >= 2, `${fdatasyncs} fdatasyncs`);
      await w.close();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.equal(r.entries.length, index);
    } finally {
      fs.fdatasync = realSync;
      fs.write = realWrite;
      syncBuiltinESMExports();
      await removeTemp(dir);
    }
  });

  test("inlineWrites with zero-ahead: every synced save costs exactly one sync, inline (an O_DSYNC write or an fdatasync), and the zeros are synced by it", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const { io, log } = recordingIO();
      const w = await WAL.create(dir, undefined, { io, segmentSizeBytes: 4 << 20, zeroAheadBytes: 64 << 10, inlineWrites: true });
      const tail = join(dir, walName(0, 0));
      let index = 0;
      let zeroSteps = 0;
      for (let k = 0; k < 120; k++) {
        const batch: Entry[] = [];
        for (let j = 0; j < 1 + (k % 7); j++) batch.push(ent(1, ++index, 300));
        const from = log.length;
        await w.save({ term: 1, vote: 1n, commit: index - 1 }, batch);
        const ops = log.slice(from).filter((o) => o.path === tail);
        const syncs = ops.filter((o) => (o.op === "write" && o.dsync) || o.op === "fdatasync");
        assert.equal(syncs.length, 1, `save ${k}: one sync (${JSON.stringify(ops)})`);
        assert.equal(syncs[0]!.inline, true, `save ${k}: the sync is inline`);
        const zeros = ops.filter((o) => o.op === "write" && o.inline !== true);
        if (zeros.length > 0) {
          // a zero-ahead step: its write in the pool, then this save's write and a whole-file fdatasync, inline
          zeroSteps++;
          assert.deepEqual(
            ops.slice(1).map((o) => `${o.op}${o.dsync ? " dsync" : ""}${o.inline ? " inline" : ""}`),
            ["write inline", "fdatasync inline"],
          );
        }
      }
      assert.ok(zeroSteps >= 2, `${zeroSteps} zero-ahead steps`);
      await w.close();
      const r = await (await WAL.openForRead(dir, { index: 0, term: 0 })).readAll();
      assert.equal(r.entries.length, index);
    } finally {
      await removeTemp(dir);
    }
  });

  test("invalid options are refused with WalConfigError (code TSRAFT_WAL_CONFIG) naming the option", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const cases = [
        { segmentSizeBytes: 10 },
        { maxRecordBytes: 1.5 },
        { readChunkBytes: 0 },
        { zeroAheadBytes: -1 },
        { inlineWrites: 1 as unknown as boolean },
        { largeWriteBytes: 1000 },
        { largeWriteBytes: 4096.5 },
      ];
      for (const opts of cases) {
        const field = Object.keys(opts)[0]!;
        await assert.rejects(
          WAL.create(dir, undefined, opts),
          (e: { code?: string; field?: string }) => e.code === "TSRAFT_WAL_CONFIG" && e.field === field && e instanceof WalConfigError,
        );
      }
    } finally {
      await removeTemp(dir);
    }
  });

  test("create refuses an existing WAL; save validates before writing", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const w = await WAL.create(dir, undefined);
      await assert.rejects(WAL.create(dir, undefined), WalExistsError);
      await assert.rejects(w.save({ term: 1, vote: 0n, commit: 0 }, [ent(1, 2, 1)]), WalStateError, "gap");
      await assert.rejects(w.save({ term: 1, vote: 0n, commit: 0 }, [ent(1, 1, 1), ent(1, 3, 1)]), WalStateError, "not contiguous");
      await assert.rejects(w.save({ term: 1, vote: 0n, commit: 5 }, [ent(1, 1, 1)]), WalStateError, "commit beyond");
      await assert.rejects(w.save({ term: 1, vote: 0n, commit: 1 }, [ent(2, 1, 1)]), WalStateError, "term below entry");
      await w.save({ term: 2, vote: 0n, commit: 1 }, [ent(2, 1, 1)]);
      await w.close();
      await assert.rejects(w.save({ term: 2, vote: 0n, commit: 1 }, []), WalStateError);
    } finally {
      await removeTemp(dir);
    }
  });

  test("save refusals name the values (WalStateError messages)", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const w = await WAL.create(dir, undefined);
      const refused = async (hs: HardState, ents: Entry[], message: string) =>
        assert.rejects(w.save(hs, ents), (e: Error) => e instanceof WalStateError && e.message === `wal: save: ${message}`);
      await refused({ term: 1, vote: 0n, commit: 0 }, [ent(1, 0, 1)], "entry index 0 term 1: both must be integers >= 1");
      await refused({ term: 1, vote: 0n, commit: 0 }, [ent(1.5, 1, 1)], "entry index 1 term 1.5: both must be integers >= 1");
      await refused({ term: 1, vote: 0n, commit: 0 }, [ent(1, 2, 1)], "entry 2 leaves a gap after the last index 0");
      await refused({ term: 1, vote: 0n, commit: 0 }, [ent(1, 1, 1), ent(1, 3, 1)], "entries are not contiguous (1 then 3)");
      // The reader refuses a log whose terms go down as corrupt: taking this batch made the WAL
      // unopenable ("entry 2 has term 1, below the previous entry's 2" at the next open).
      await refused(
        { term: 2, vote: 0n, commit: 0 },
        [ent(2, 1, 1), ent(1, 2, 1)],
        "entry 2 has term 1, below the term 2 of entry 1 before it (terms never decrease along a log)",
      );
      await refused({ term: 1, vote: 0n, commit: 5 }, [ent(1, 1, 1)], "HardState commit 5 is beyond the last index 1");
      await refused({ term: 1, vote: 0n, commit: 1 }, [ent(2, 1, 1)], "HardState term 1 is below an entry's term 2");
      await w.save({ term: 3, vote: 0n, commit: 0 }, []);
      await refused({ term: 2, vote: 0n, commit: 0 }, [], "HardState term 2 is below the saved term 3");
      await w.close();
    } finally {
      await removeTemp(dir);
    }
  });

  test("save refuses the entries its reader would refuse as corrupt (a type above 2, a conf change without data), and the WAL still opens", async () => {
    // Taken before, each made the WAL unopenable: the reader refuses a type above
    // EntryConfChangeV2 and a v1 conf change without its encoded ConfChange (README, "Type bits").
    const dir = join(await tempDir(), "wal");
    try {
      const w = await WAL.create(dir, undefined);
      const refused = async (ents: Entry[], message: string) =>
        assert.rejects(w.save({ term: 1, vote: 0n, commit: 0 }, ents), (e: Error) => e instanceof WalStateError && e.message === `wal: save: ${message}`);
      await refused([ent(1, 1, 1, 3 as EntryType)], "entry 1 has type 3, want 0, 1 or 2 (EntryNormal, EntryConfChange, EntryConfChangeV2)");
      await refused([ent(1, 1, 1, -1 as EntryType)], "entry 1 has type -1, want 0, 1 or 2 (EntryNormal, EntryConfChange, EntryConfChangeV2)");
      await refused([ent(1, 1, 1, 1.5 as EntryType)], "entry 1 has type 1.5, want 0, 1 or 2 (EntryNormal, EntryConfChange, EntryConfChangeV2)");
      await refused(
        [ent(1, 1, 1), { term: 1, index: 2, type: EntryType.EntryConfChange }],
        "entry 2 is a conf change (EntryConfChange) without data: it must carry its encoded ConfChange",
      );
      const ok = [ent(1, 1, 1), { term: 1, index: 2, type: EntryType.EntryConfChangeV2 }, ent(1, 3, 1, EntryType.EntryConfChange)];
      await w.save({ term: 1, vote: 0n, commit: 3 }, ok);
      await w.close();
      const r = await WAL.open(dir, { index: 0, term: 0 });
      assert.deepEqual((await r.readAll()).entries.map(jEntry), ok.map(jEntry));
      await r.close();
    } finally {
      await removeTemp(dir);
    }
  });

  describe("etcd reads what we write", () => {
    const why = etcdReaderUnavailable();
    let reader: Awaited<ReturnType<typeof buildEtcdReader>> | undefined;
    before(async () => {
      if (why === undefined) reader = await buildEtcdReader();
    });
    after(async () => reader?.cleanup());

    for (const seg of [64_000, 1024]) {
      test(`segments of ${seg} bytes`, async (t) => {
        if (why !== undefined) return t.skip(why);
        const dir = join(await tempDir(), "wal");
        try {
          const { entries, hs } = await writeVaried(dir, seg);
          for (const at of [
            { index: 0, term: 0 },
            { index: 10, term: 1 },
          ]) {
            const out = runEtcdReader(reader!.bin, ["wal", dir, String(at.index), String(at.term)]);
            const want = entries.filter((e) => e.index > at.index).map(jEntry);
            for (const mode of ["open", "openForRead"]) {
              const r = out[mode] as { readAllError: unknown; metadata: string; hardState: unknown; entries: unknown[]; panic?: string };
              assert.equal(r.panic, undefined, `${mode}: etcd panicked`);
              assert.equal(r.readAllError, null, `${mode}: ${JSON.stringify(r.readAllError)}`);
              assert.equal(r.metadata, b64(new TextEncoder().encode("tsraft metadata")));
              assert.deepEqual(r.hardState, jHardState(hs));
              assert.deepEqual(r.entries, want);
            }
            assert.deepEqual(out.verify, { at, error: null });
          }
          assert.deepEqual(out0(reader!.bin, dir).valid, {
            snapshots: [
              { index: 0, term: 0 },
              { index: 10, term: 1 },
            ],
            error: null,
          });
        } finally {
          await removeTemp(dir);
        }
      });
    }
  });
});

function out0(bin: string, dir: string): Record<string, unknown> {
  return runEtcdReader(bin, ["wal", dir, "0", "0"]);
}
