/**
 * The reader's refusals of entry records, one row per rule, with their messages: a segment is
 * built record by record (the encoder the WAL writes with, no validation of its own), and
 * `readSegments` must refuse it with a `WalCorruptError` naming the rule and the record's offset.
 * The messages are pinned because they are built apart from the per-entry checks (reader.ts,
 * `entryRefused`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { EntryType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { WalCorruptError } from "@tsraft/wal";
import { encodeWalSnapshot } from "../src/proto.js";
import { readSegments } from "../src/reader.js";
import { BatchEncoder, RecordType } from "../src/record.js";

const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);
const ent = (index: number, term: number, type: EntryType = EntryType.EntryNormal, d: Uint8Array = data(3)): Entry => ({ index, term, type, data: d });

/** The first segment of a WAL holding `entries` in this order, and the offset of the last record. */
function segment(entries: readonly (Entry | Uint8Array)[]): { bytes: Uint8Array; lastOffset: number } {
  const enc = new BatchEncoder(0);
  enc.crcRecord(0);
  enc.raw(RecordType.Metadata, new TextEncoder().encode("meta"));
  enc.raw(RecordType.Snapshot, encodeWalSnapshot({ index: 0, term: 0 }));
  let lastOffset = 0;
  for (const e of entries) {
    lastOffset = enc.len;
    if (e instanceof Uint8Array) enc.raw(RecordType.Entry, e);
    else enc.entry(e);
  }
  return { bytes: enc.buf.slice(0, enc.len), lastOffset };
}

/** An entry record's data without a data field (the encoder always writes one): type, term, index. */
const noDataField = (type: number, term: number, index: number): Uint8Array => new Uint8Array([0x08, type, 0x10, term, 0x18, index]);

const rows: [string, (Entry | Uint8Array)[], string][] = [
  ["index 0", [ent(0, 1)], "entry with index 0 term 1"],
  ["term 0", [ent(1, 0)], "entry with index 1 term 0"],
  ["unknown type", [ent(1, 1, 3 as EntryType)], "entry of unknown type 3"],
  ["conf change without data", [noDataField(EntryType.EntryConfChange, 1, 1)], "conf change entry 1 without data"],
  ["gap", [ent(1, 1), ent(3, 1)], "entry 3 leaves a gap after 1"],
  ["term below the previous entry's", [ent(1, 2), ent(2, 1)], "entry 2 has term 1, below the previous entry's 2"],
  [
    "same index and term, another entry",
    [ent(1, 1), ent(2, 1, EntryType.EntryNormal, data(1)), ent(2, 1, EntryType.EntryNormal, data(2))],
    "entry 2 rewritten by another entry of the same term 1",
  ],
];

for (const [name, entries, message] of rows) {
  test(`the reader refuses an entry record: ${name}`, () => {
    const { bytes, lastOffset } = segment(entries);
    const segs = [{ name: "0000000000000000-0000000000000000.wal", firstIndex: 0, bytes }];
    const opts = { start: { index: 0, term: 0 }, strictTail: true, maxRecordBytes: 1 << 20, copyData: false };
    assert.throws(
      () => readSegments(segs, opts),
      (e: unknown) => e instanceof WalCorruptError && e.message.includes(message) && e.offset === lastOffset,
    );
  });
}

test("the same entries without the bad record are read", () => {
  const { bytes } = segment([ent(1, 1), ent(2, 1), ent(2, 1), ent(3, 2)]);
  const res = readSegments([{ name: "0000000000000000-0000000000000000.wal", firstIndex: 0, bytes }], {
    start: { index: 0, term: 0 },
    strictTail: true,
    maxRecordBytes: 1 << 20,
    copyData: false,
  });
  assert.deepEqual(
    res.entries.map((e) => [e.index, e.term]),
    [
      [1, 1],
      [2, 1],
      [3, 2],
    ],
  );
});
