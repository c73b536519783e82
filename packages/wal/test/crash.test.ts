/**
 * Crash and corruption tests, run over in-memory copies of a real WAL's files so that every
 * byte offset can be tried: truncation, zero fill and garbage fill after each offset, and random
 * single-bit flips. The reader is the same pure function `readAll` and `repair` use.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, readdir, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { EntryType } from "@tsraft/raftpb";
import type { Entry, HardState } from "@tsraft/raftpb";
import { RecordTooLargeError, WAL, WalCorruptError, WalError, WalFileNotFoundError, WalTornTailError, parseWalName } from "@tsraft/wal";
import { readSegmentsChunked } from "../src/read-ahead.js";
import type { SegmentSource } from "../src/read-ahead.js";
import { readSegments } from "../src/reader.js";
import type { ReadOptions, ReadResult, SegmentBytes } from "../src/reader.js";
import { Frame, FrameStatus, RecordType, parseFrame } from "../src/record.js";
import { readEntry, readHardState } from "../src/proto.js";
import { removeTemp, tempDir } from "./helpers/vectors.js";
import { Prng } from "@tsraft/raft/testing";

const SEG = 1536;

interface Rec {
  seg: number;
  off: number;
  end: number;
  type: number;
  entry?: Entry;
  hs?: HardState;
  header: boolean;
}

const files: { name: string; firstIndex: number; bytes: Uint8Array; used: number }[] = [];
const recs: Rec[] = [];
/** Per save: the segment and offset where its last record ends. */
const saveEnds: { seg: number; end: number; lastIndex: number; hs: HardState }[] = [];

/** A seeded generator: the simulator's Prng (mulberry32), so a run replays from its seed. */
function rng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

before(async () => {
  const dir = join(await tempDir(), "wal");
  const w = await WAL.create(dir, new TextEncoder().encode("crash"), { segmentSizeBytes: SEG });
  const r = rng(7);
  let index = 0;
  for (let s = 0; s < 40; s++) {
    const batch: Entry[] = [];
    for (let k = 0; k < 1 + (s % 3); k++) {
      index++;
      const d = new Uint8Array(Math.floor(r() * 120));
      for (let i = 0; i < d.length; i++) d[i] = Math.floor(r() * 256);
      batch.push({ term: 1 + (s >> 4), index, type: EntryType.EntryNormal, data: d });
    }
    await w.save({ term: 1 + (s >> 4), vote: 0xfedcba9876543210n, commit: index - 1 }, batch);
  }
  await w.close();
  const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
  const f = new Frame();
  for (const [si, name] of names.entries()) {
    const bytes = new Uint8Array(await readFile(join(dir, name)));
    let off = 0;
    let k = 0;
    while (parseFrame(bytes, bytes.length, off, 1 << 20, f) === FrameStatus.Ok) {
      const rec: Rec = { seg: si, off, end: f.end, type: f.type, header: k < 3 };
      if (f.type === RecordType.Entry) rec.entry = readEntry(bytes, f.dataStart, f.dataEnd, true);
      if (f.type === RecordType.State) rec.hs = readHardState(bytes, f.dataStart, f.dataEnd);
      recs.push(rec);
      off = f.end;
      k++;
    }
    files.push({ name, firstIndex: parseWalName(name)!.index, bytes, used: off });
  }
  let lastIndex = 0;
  for (const rec of recs) {
    if (rec.entry) lastIndex = rec.entry.index;
    if (rec.type === RecordType.State && !rec.header) saveEnds.push({ seg: rec.seg, end: rec.end, lastIndex, hs: rec.hs! });
  }
  await removeTemp(dir);
  assert.ok(files.length >= 4, `want several segments, got ${files.length}`);
  assert.equal(saveEnds.length, 40);
});

type Fill = "truncate" | "zero" | "garbage";

/** The files as a crash at offset `c` of segment `k` leaves them. */
function crashed(k: number, c: number, fill: Fill, r: () => number): SegmentBytes[] {
  const out: SegmentBytes[] = [];
  for (let i = 0; i < k; i++) out.push({ name: files[i]!.name, firstIndex: files[i]!.firstIndex, bytes: files[i]!.bytes });
  const src = files[k]!;
  const size = fill === "truncate" ? c : Math.max(SEG, src.bytes.length);
  const b = new Uint8Array(size);
  b.set(src.bytes.subarray(0, c));
  if (fill === "garbage") for (let i = c; i < size; i++) b[i] = Math.floor(r() * 256);
  out.push({ name: src.name, firstIndex: src.firstIndex, bytes: b });
  return out;
}

/** open + repair + readAll, on buffers: strict read; on a torn tail cut the last segment and read again. */
function openRepairRead(segs: SegmentBytes[]): ReturnType<typeof readSegments> {
  const opts = { start: { index: 0, term: 0 }, strictTail: true, maxRecordBytes: 1 << 20, copyData: false };
  try {
    return readSegments(segs, opts);
  } catch (e) {
    if (!(e instanceof WalTornTailError)) throw e;
    const last = segs[segs.length - 1]!;
    const cut = [...segs.slice(0, -1), { ...last, bytes: last.bytes.subarray(0, e.offset) }];
    return readSegments(cut, opts);
  }
}

describe("crash at every byte offset", () => {
  for (const fill of ["truncate", "zero", "garbage"] as const) {
    test(`${fill}: every completed save is read back, nothing unwritten appears, or a typed error`, () => {
      const r = rng(fill.length);
      let recovered = 0;
      let errors = 0;
      for (let k = 0; k < files.length; k++) {
        // create and cut make a segment's header records appear atomically (temp name + rename)
        const headerEnd = recs.filter((x) => x.seg === k && x.header).at(-1)!.end;
        for (let c = headerEnd; c <= files[k]!.used; c++) {
          let res;
          const segs = crashed(k, c, fill, r);
          try {
            res = openRepairRead(segs);
          } catch (e) {
            assert.ok(e instanceof WalError, `${fill} ${files[k]!.name}@${c}: untyped ${String(e)}`);
            // Truncation and zero fill always recover; garbage may be a CRC mismatch.
            assert.ok(fill === "garbage", `${fill} ${files[k]!.name}@${c}: ${String(e)}`);
            errors++;
            continue;
          }
          recovered++;
          // a record is whole if the crash left all its bytes as written (padding may coincide)
          const img = segs[k]!.bytes;
          const intact = (x: Rec): boolean => x.end <= img.length && files[k]!.bytes.subarray(x.off, x.end).every((v, i) => img[x.off + i] === v);
          const whole = recs.filter((x) => x.seg < k || (x.seg === k && intact(x)));
          const wantEntries = whole.filter((x) => x.entry).map((x) => x.entry!.index);
          assert.deepEqual(
            res.entries.map((e) => e.index),
            wantEntries,
            `${fill} ${files[k]!.name}@${c}: entries`,
          );
          const completed = saveEnds.filter((s) => s.seg < k || (s.seg === k && s.end <= c));
          assert.ok(res.entries.length >= (completed.at(-1)?.lastIndex ?? 0), "every completed save is there");
          const lastHs = whole.filter((x) => x.hs).at(-1)?.hs ?? { term: 0, vote: 0n, commit: 0 };
          assert.deepEqual(res.hardState, lastHs, `${fill} ${files[k]!.name}@${c}: hardState`);
          for (const e of res.entries) assert.deepEqual(e.data, recs.find((x) => x.entry?.index === e.index)!.entry!.data);
        }
      }
      console.log(`# ${fill}: ${recovered} crash points recovered, ${errors} typed errors`);
    });
  }
});

test("random single-bit flips in written records are always detected", () => {
  const r = rng(99);
  const opts = { start: { index: 0, term: 0 }, strictTail: true, maxRecordBytes: 1 << 20, copyData: false };
  const clean = readSegments(
    files.map((f) => ({ name: f.name, firstIndex: f.firstIndex, bytes: f.bytes })),
    opts,
  );
  assert.equal(clean.entries.length, saveEnds.at(-1)!.lastIndex);
  const kinds = new Map<string, number>();
  for (let t = 0; t < 3000; t++) {
    const k = Math.floor(r() * files.length);
    const pos = Math.floor(r() * files[k]!.used);
    const bit = 1 << Math.floor(r() * 8);
    const segs = files.map((f, i) => {
      const bytes = i === k ? f.bytes.slice() : f.bytes;
      if (i === k) bytes[pos]! ^= bit;
      return { name: f.name, firstIndex: f.firstIndex, bytes };
    });
    let err: unknown;
    try {
      readSegments(segs, opts);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof WalError, `flip ${files[k]!.name}@${pos} bit ${bit} undetected`);
    kinds.set(err.name, (kinds.get(err.name) ?? 0) + 1);
  }
  console.log(`# bit flips: ${JSON.stringify(Object.fromEntries(kinds))}`);
});

/** In-memory sources for the chunked reader. */
function sources(segs: readonly SegmentBytes[]): SegmentSource[] {
  return segs.map((s) => ({
    name: s.name,
    firstIndex: s.firstIndex,
    size: s.bytes.length,
    read: (buf, off, len, pos) => {
      const n = Math.max(0, Math.min(len, s.bytes.length - pos));
      buf.set(s.bytes.subarray(pos, pos + n), off);
      return Promise.resolve(n);
    },
  }));
}

/** What a read gave: its result's observable fields, or the error's class, file and offset. */
function outcome(f: () => ReadResult): Promise<unknown>;
function outcome(f: () => Promise<ReadResult>): Promise<unknown>;
async function outcome(f: () => ReadResult | Promise<ReadResult>): Promise<unknown> {
  try {
    const r = await f();
    return {
      entries: r.entries.map((e) => [e.index, e.term, e.type, e.data === undefined ? -1 : Array.from(e.data).join(",")]),
      hardState: r.hardState,
      metadata: r.metadata,
      snapshots: r.snapshots,
      crc: r.crc,
      tailOffset: r.tailOffset,
      tailDirty: r.tailDirty,
      lastIndex: r.lastIndex,
      matched: r.matched,
      torn: r.torn === undefined ? undefined : [r.torn.file, r.torn.offset],
    };
  } catch (e) {
    const x = e as WalError & { file?: string; offset?: number };
    return { error: x.name, message: x.message, file: x.file, offset: x.offset };
  }
}

test("the chunked reader (readAll's) gives what the whole-file reader gives, at crash points and bit flips", async () => {
  // chunk sizes that cut frames everywhere; a 32-byte carry sends longer cut frames to the re-read path
  const shapes = [
    [64, 32],
    [200, 64 << 10],
    [1000, 48],
  ] as const;
  const r = rng(5);
  let compared = 0;
  for (const fill of ["truncate", "zero", "garbage"] as const) {
    for (let k = 0; k < files.length; k++) {
      const headerEnd = recs.filter((x) => x.seg === k && x.header).at(-1)!.end;
      for (let c = headerEnd + (k % 11); c <= files[k]!.used; c += 11) {
        const segs = crashed(k, c, fill, r);
        for (const strictTail of [false, true]) {
          const opts: ReadOptions = { start: { index: 0, term: 0 }, strictTail, maxRecordBytes: 1 << 20, copyData: false };
          const [chunk, carry] = shapes[(c + (strictTail ? 1 : 0)) % shapes.length]!;
          const want = await outcome(() => readSegments(segs, opts));
          const got = await outcome(() => readSegmentsChunked(sources(segs), opts, chunk, carry));
          assert.deepEqual(got, want, `${fill} ${files[k]!.name}@${c} strict=${strictTail} chunk=${chunk}/${carry}`);
          compared++;
        }
      }
    }
  }
  for (let t = 0; t < 300; t++) {
    const k = Math.floor(r() * files.length);
    const pos = Math.floor(r() * files[k]!.used);
    const segs = files.map((f, i) => {
      const bytes = i === k ? f.bytes.slice() : f.bytes;
      if (i === k) bytes[pos]! ^= 1 << Math.floor(r() * 8);
      return { name: f.name, firstIndex: f.firstIndex, bytes };
    });
    const opts: ReadOptions = { start: { index: 0, term: 0 }, strictTail: t % 2 === 0, maxRecordBytes: 1 << 20, copyData: t % 3 === 0 };
    const [chunk, carry] = shapes[t % shapes.length]!;
    assert.deepEqual(
      await outcome(() => readSegmentsChunked(sources(segs), opts, chunk, carry)),
      await outcome(() => readSegments(segs, opts)),
      `flip ${files[k]!.name}@${pos}`,
    );
    compared++;
  }
  console.log(`# chunked reader: ${compared} reads compared with the whole-file reader`);
});

describe("damage that is never repaired (stricter than etcd 3.4)", () => {
  const opts = { start: { index: 0, term: 0 }, strictTail: false, maxRecordBytes: 1 << 20, copyData: false };
  const whole = (): SegmentBytes[] => files.map((f) => ({ name: f.name, firstIndex: f.firstIndex, bytes: f.bytes.slice() }));

  test("a middle segment cut short is an error naming the file, even in read mode", () => {
    for (const cutAt of [files[1]!.used - 1, recs.filter((x) => x.seg === 1).at(-2)!.end]) {
      const segs = whole();
      segs[1] = { ...segs[1]!, bytes: segs[1]!.bytes.subarray(0, cutAt) };
      assert.throws(
        () => readSegments(segs, opts),
        (e: unknown) => e instanceof WalError && !(e instanceof WalTornTailError) && /0000000000000001-|0000000000000002-/.test((e as Error).message),
      );
    }
  });

  test("a zeroed block followed by valid records in the last segment is WalCorruptError", () => {
    const segs = whole();
    const k = segs.length - 1;
    const lastRecs = recs.filter((x) => x.seg === k && !x.header);
    assert.ok(lastRecs.length >= 3);
    const victim = lastRecs[0]!;
    segs[k]!.bytes.fill(0, victim.off, victim.end);
    assert.throws(() => readSegments(segs, opts), WalCorruptError);
    assert.throws(() => readSegments(segs, { ...opts, strictTail: true }), WalCorruptError);
  });

  test("a record longer than the maximum is RecordTooLargeError, not an allocation", () => {
    for (const k of [1, files.length - 1]) {
      const segs = whole();
      const victim = recs.filter((x) => x.seg === k && !x.header)[0]!;
      segs[k]!.bytes[victim.off + 4] = 0x10; // claims about 2^36 bytes
      assert.throws(
        () => readSegments(segs, opts),
        (e: unknown) => e instanceof RecordTooLargeError && e.file === files[k]!.name && e.offset === victim.off,
      );
    }
  });

  test("a missing segment is WalFileNotFoundError naming the file", async () => {
    const dir = join(await tempDir(), "wal");
    try {
      await mkdir(dir);
      for (const f of files) await writeFile(join(dir, f.name), f.bytes);
      await unlink(join(dir, files[2]!.name));
      await assert.rejects(
        WAL.openForRead(dir, { index: 0, term: 0 }),
        (e: unknown) => e instanceof WalFileNotFoundError && e.message.includes(files[3]!.name),
      );
    } finally {
      await removeTemp(dir);
    }
  });
});
