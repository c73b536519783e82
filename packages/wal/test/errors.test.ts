// isWalError recognises exactly this package's codes: every error class of @tsraft/wal, and
// nothing of another package that happens to share a prefix (raft's SnapOutOfDateError is
// 'TSRAFT_SNAP_OUT_OF_DATE').
import { test } from "node:test";
import assert from "node:assert/strict";
import { CompactedError, RaftError, SnapOutOfDateError, UnavailableError } from "@tsraft/raft";
import * as wal from "@tsraft/wal";

/** One instance of every error class @tsraft/wal exports. */
function everyWalError(): wal.WalError[] {
  return [
    new wal.WalConfigError("segmentSizeBytes", "must be positive"),
    new wal.WalLockedError("/d", 1),
    new wal.WalExistsError("/d"),
    new wal.WalFileNotFoundError("/d", "no segment"),
    new wal.CrcMismatchError("f.wal", 8),
    new wal.WalCorruptError("f.wal", 8, "gap"),
    new wal.WalTornTailError("f.wal", 8),
    new wal.RecordTooLargeError("f.wal", 8, 100, 10),
    new wal.WalSnapshotNotFoundError(),
    new wal.WalSnapshotMismatchError(),
    new wal.WalStateError("closed"),
    new wal.WalNoSpaceError("f.wal"),
    new wal.NoSnapshotError(),
    new wal.SnapCrcMismatchError("x.snap"),
    new wal.SnapCorruptError("x.snap", "empty"),
  ];
}

test("isWalError: true for every error class of the package", () => {
  const errors = everyWalError();
  const exported = Object.values(wal).filter((v) => typeof v === "function" && v.prototype instanceof wal.WalError);
  assert.deepEqual(new Set(errors.map((e) => e.constructor)), new Set(exported), "one instance of each exported WalError class");
  for (const e of errors) {
    assert.ok(wal.isWalError(e), `${e.name} ${e.code}`);
    assert.ok(wal.WAL_ERROR_CODES.includes(e.code), `${e.code} is in WAL_ERROR_CODES`);
  }
  assert.deepEqual(new Set(errors.map((e) => e.code)), new Set(wal.WAL_ERROR_CODES), "every listed code has a class");
});

test("isWalError: false for raft's errors, including SnapOutOfDateError (TSRAFT_SNAP_OUT_OF_DATE)", () => {
  assert.equal(wal.isWalError(new SnapOutOfDateError()), false);
  assert.equal(wal.isWalError(new CompactedError()), false);
  assert.equal(wal.isWalError(new UnavailableError()), false);
  assert.equal(wal.isWalError(new RaftError("TSRAFT_WAL_SOMETHING_ELSE", "not ours")), false);
  assert.equal(wal.isWalError(new RaftError("TSRAFT_SNAP_SOMETHING_ELSE", "not ours")), false);
  assert.equal(wal.isWalError({ code: "TSRAFT_WAL_CORRUPT" }), true, "by code, across copies of the package");
  assert.equal(wal.isWalError(new Error("x")), false);
  assert.equal(wal.isWalError(undefined), false);
});
