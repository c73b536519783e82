/**
 * PersistBatch (group commit) against the merge it replaced (every entry pushed into one array,
 * cut where a later append starts): random runs of appends, each starting anywhere from the
 * batch's first index to just past its end (a new leader overwriting a suffix), must give the
 * same entries; a batch of one append hands raft's array over as it is.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { EntryType, MessageType, newMessage } from "@tsraft/raftpb";
import type { Entry, Message } from "@tsraft/raftpb";
import { PersistBatch } from "../src/persist-batch.js";

const HS = { term: 1, vote: 0n, commit: 0 };

function append(first: number, n: number, term: number): Message {
  const m = newMessage(MessageType.MsgStorageAppend, 0n, 0n, 0);
  m.entries = Array.from({ length: n }, (_, k): Entry => ({ term, index: first + k, type: EntryType.EntryNormal, data: new Uint8Array(3) }));
  return m;
}

describe("PersistBatch", () => {
  test("one append: its entries array is handed over as it is (no copy)", () => {
    const b = new PersistBatch(HS);
    const m = append(5, 10, 1);
    b.add(m);
    assert.equal(b.request()!.entries, m.entries);
  });

  test("appends that overwrite suffixes merge as pushing them one by one would", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 12 }),
        (first, appends) => {
          const b = new PersistBatch(HS);
          let model: Entry[] = [];
          let term = 1;
          for (const [at, n] of appends) {
            // Start anywhere in [first, end + 1] (or at `first` when nothing is held yet).
            const start = model.length === 0 ? first : first + (at % (model.length + 1));
            const m = append(start, n, term++);
            b.add(m);
            if (n > 0) {
              if (model.length > 0) model.length = Math.max(0, Math.min(model.length, start - model[0]!.index));
              model = [...model, ...m.entries];
            }
          }
          const req = b.request();
          assert.deepEqual(req?.entries ?? [], model);
        },
      ),
      { numRuns: 500 },
    );
  });
});
