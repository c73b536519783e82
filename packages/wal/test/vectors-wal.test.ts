/**
 * Every WAL vector directory (written by etcd v3.4.23, ../shared/vectors/wal) reads to what its
 * expect.json says etcd read, in both modes and at every snapshot recorded there; etcd's server
 * boot sequence and wal.Repair give the same files.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { CrcMismatchError, WAL, WalSnapshotMismatchError, WalSnapshotNotFoundError, WalTornTailError } from "@tsraft/wal";
import type { ReadAllResult } from "@tsraft/wal";
import { VECTORS, b64, copyToTemp, jEntry, jHardState, listFiles, readJson, removeTemp } from "./helpers/vectors.js";

interface JErr {
  name: string;
  message: string;
}
interface JRead {
  mode: "Open" | "OpenForRead";
  openAt: { index: number; term: number };
  openError?: JErr | null;
  readAllError: JErr | null;
  metadata: string | null;
  hardState: unknown;
  entries: unknown[];
  filesChanged?: string[];
}
interface Expect {
  segmentSizeBytes: number;
  reads: JRead[];
  bootLikeEtcdServer: { openAt: { index: number; term: number }; repaired: boolean; result?: JRead; fatalReason?: string; filesAfter: unknown[] };
  validSnapshotEntries: { snapshots: { index: number; term: number }[]; error: JErr | null };
  verify: { at: { index: number; term: number }; error: JErr | null }[];
  repair?: { returned: boolean; filesAfter: unknown[]; readsAfter: JRead[] };
}

const ERRORS: Record<string, new (...a: never[]) => Error> = {
  "io.ErrUnexpectedEOF": WalTornTailError,
  "wal.ErrSnapshotNotFound": WalSnapshotNotFoundError,
  "wal.ErrSnapshotMismatch": WalSnapshotMismatchError,
  "wal.ErrCRCMismatch": CrcMismatchError,
  "walpb.ErrCRCMismatch": CrcMismatchError,
};

type Got = { error: unknown; result: ReadAllResult | undefined; filesChanged: string[] };

async function doRead(dir: string, r: { mode: string; openAt: { index: number; term: number } }, segmentSizeBytes: number): Promise<Got> {
  const before = await listFiles(dir);
  const opts = { segmentSizeBytes };
  const w = r.mode === "Open" ? await WAL.open(dir, r.openAt, opts) : await WAL.openForRead(dir, r.openAt, opts);
  let got: Got;
  try {
    got = { error: undefined, result: await w.readAll(), filesChanged: [] };
  } catch (e) {
    const result = e instanceof WalSnapshotNotFoundError ? (e as unknown as { result: ReadAllResult }).result : undefined;
    got = { error: e, result, filesChanged: [] };
  } finally {
    await w.close();
  }
  const after = await listFiles(dir);
  for (const f of after) {
    const b = before.find((x) => x.name === f.name);
    if (b === undefined) got.filesChanged.push(`${f.name} (created)`);
    else if (b.sha256 !== f.sha256) got.filesChanged.push(`${f.name} (modified)`);
  }
  return got;
}

function checkRead(got: Got, want: JRead, label: string): void {
  if (want.readAllError !== null) {
    const cls = ERRORS[want.readAllError.name];
    assert.ok(cls, `${label}: unmapped etcd error ${want.readAllError.name}`);
    assert.ok(got.error instanceof cls, `${label}: want ${want.readAllError.name}, got ${String(got.error)}`);
  } else {
    assert.equal(got.error, undefined, `${label}: unexpected ${String(got.error)}`);
  }
  const res = got.result ?? { metadata: undefined, hardState: { term: 0, vote: 0n, commit: 0 }, entries: [] };
  assert.equal(b64(res.metadata), want.metadata, `${label}: metadata`);
  assert.deepEqual(jHardState(res.hardState), want.hardState, `${label}: hardState`);
  assert.deepEqual(res.entries.map(jEntry), want.entries, `${label}: entries`);
  assert.deepEqual(got.filesChanged, want.filesChanged ?? [], `${label}: files changed`);
}

const sets = readdirSync(join(VECTORS, "wal")).sort();

describe("etcd WAL vectors", () => {
  for (const set of sets) {
    describe(set, () => {
      const base = join(VECTORS, "wal", set);
      test("reads as etcd read it (Open and OpenForRead at every recorded snapshot)", async () => {
        const exp = await readJson<Expect>(join(base, "expect.json"));
        for (const r of exp.reads) {
          const dir = await copyToTemp(join(base, "wal"));
          try {
            checkRead(await doRead(dir, r, exp.segmentSizeBytes), r, `${set} ${r.mode} at ${r.openAt.index}/${r.openAt.term}`);
          } finally {
            await removeTemp(dir);
          }
        }
      });

      test("boots like etcd's server (open, readAll, repair once on a torn tail)", async () => {
        const exp = await readJson<Expect>(join(base, "expect.json"));
        const boot = exp.bootLikeEtcdServer;
        const dir = await copyToTemp(join(base, "wal"));
        try {
          let repaired = false;
          let got = await doRead(dir, { mode: "Open", openAt: boot.openAt }, exp.segmentSizeBytes);
          if (got.error instanceof WalTornTailError) {
            assert.equal(await WAL.repair(dir), true);
            repaired = true;
            got = await doRead(dir, { mode: "Open", openAt: boot.openAt }, exp.segmentSizeBytes);
          }
          assert.equal(repaired, boot.repaired);
          assert.ok(boot.result, "etcd booted");
          checkRead(got, boot.result, `${set} boot`);
          assert.deepEqual(await listFiles(dir), boot.filesAfter);
        } finally {
          await removeTemp(dir);
        }
      });

      test("repair, verify and validSnapshotEntries match etcd", async () => {
        const exp = await readJson<Expect>(join(base, "expect.json"));
        const dir = await copyToTemp(join(base, "wal"));
        try {
          assert.deepEqual(await WAL.validSnapshotEntries(dir), exp.validSnapshotEntries.snapshots);
          for (const v of exp.verify) {
            if (v.error === null) await WAL.verify(dir, v.at);
            else await assert.rejects(WAL.verify(dir, v.at), ERRORS[v.error.name]!);
          }
          if (exp.repair !== undefined) {
            assert.equal(await WAL.repair(dir), exp.repair.returned);
            assert.deepEqual(await listFiles(dir), exp.repair.filesAfter);
            assert.deepEqual(await listFiles(dir), await listFiles(join(base, "repaired")));
            for (const r of exp.repair.readsAfter) {
              const d2 = await copyToTemp(dir);
              try {
                checkRead(await doRead(d2, r, exp.segmentSizeBytes), r, `${set} after repair ${r.mode}`);
              } finally {
                await removeTemp(d2);
              }
            }
          }
        } finally {
          await removeTemp(dir);
        }
      });
    });
  }
});
