/**
 * The harness tells the wal README's known issue (a restart refused for a zeroed or torn sector
 * followed by valid records in the LAST segment: a liveness refusal) from damage elsewhere (a
 * violation).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CrcMismatchError, WalCorruptError } from "@tsraft/wal";
import { isTornTailRefusal } from "../src/index.js";

const last = "0000000000000001-0000000000000010.wal";
const earlier = "0000000000000000-0000000000000000.wal";

test("a refusal in the last segment is the known issue; the same in an earlier segment, or another error, is not", () => {
  assert.equal(isTornTailRefusal(new WalCorruptError(last, 512, "zero-filled block followed by a valid record at offset 1024"), last), true);
  assert.equal(isTornTailRefusal(new CrcMismatchError(last, 488), last), true);
  assert.equal(isTornTailRefusal(new WalCorruptError(last, 504, "undecodable record: Record: unexpected tag 0"), last), true);
  assert.equal(isTornTailRefusal(new WalCorruptError(earlier, 504, "undecodable record: Record: unexpected tag 0"), last), false);
  assert.equal(isTornTailRefusal(new WalCorruptError(earlier, 512, "zero-filled block followed by a valid record at offset 1024"), last), false);
  assert.equal(isTornTailRefusal(new CrcMismatchError(earlier, 488), last), false);
  assert.equal(isTornTailRefusal(new WalCorruptError(last, 0, "unknown record type 9"), last), false);
  assert.equal(isTornTailRefusal(new Error("EIO"), last), false);
  assert.equal(isTornTailRefusal(new CrcMismatchError(last, 488), undefined), false);
});
