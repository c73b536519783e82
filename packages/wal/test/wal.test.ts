/** WAL write path: round trips, segment cuts, group commit, validation, and etcd reading our files. */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { EntryType } from "@tsraft/raftpb";
import type { Entry, HardState } from "@tsraft/raftpb";
import { WAL, WalExistsError, WalStateError, walName } from "@tsraft/wal";
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
      batch.push(kind === 0 ? ent(term, index, -1) : kind === 1 ? ent(term, index, 0) : kind === 2 ? ent(term, index, 12, EntryType.EntryConfChange) : ent(term, index, (index * 13) % 90));
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
      const w = await WAL.open(dir, { index: 0, term: 0 });
      const r = await w.readAll();
      assert.deepEqual(r.entries.map(jEntry), entries.map(jEntry));
      assert.deepEqual(r.hardState, hs);
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
      assert.deepEqual(await WAL.validSnapshotEntries(dir), [{ index: 0, term: 0 }, { index: 10, term: 1 }]);
    } finally {
      await removeTemp(dir);
    }
  });

  test("overlapping saves are written in call order and all resolve", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      const w = await WAL.create(dir, undefined);
      const ps: Promise<void>[] = [];
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
          for (const at of [{ index: 0, term: 0 }, { index: 10, term: 1 }]) {
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
          assert.deepEqual((out0(reader!.bin, dir)).valid, { snapshots: [{ index: 0, term: 0 }, { index: 10, term: 1 }], error: null });
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
