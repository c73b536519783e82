/**
 * The log entry cache is sized for the largest entries the API writes (--wal-cache-bytes, see
 * DEFAULT_WAL_CACHE_BYTES): with a smaller cache, DiskStorage cannot keep a block of 256 large
 * entries, and reads the whole block back from the WAL, synchronously, every time raft hands
 * out entries to apply (about 200 ms of CPU per Ready with 1 MB values in the snapshot-stall
 * measurement). Writes of 300 KB values (a block: 77 MB, more than DiskStorage's own default
 * of 64 MiB) show the default is enough; a small cache shows what happens otherwise.
 */
import { afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_WAL_CACHE_BYTES, MAX_BODY_BYTES, encodeCommand } from "@tsraft/example-kv";
import { DISK_STORAGE_BLOCK } from "@tsraft/wal";
import { InProcCluster } from "./helpers/inproc.js";

async function fill(c: InProcCluster, valueBytes: number): Promise<{ blockReads: number; blockReadBytes: number }> {
  await c.startAll();
  await c.waitForLeader();
  const s = c.server(1n);
  const value = "v".repeat(valueBytes);
  for (let b = 0; b < 260; b += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.node.propose(encodeCommand({ op: "put", key: `k${b + i}`, value, quota: 1 << 30 }))));
  }
  return s.storage.blockReadStats();
}

describe("the log entry cache holds a block of the largest entries", { timeout: 120_000 }, () => {
  let c: InProcCluster | undefined;
  afterEach(async () => {
    await c?.cleanup();
    c = undefined;
  });

  test("the default fits 256 entries of the largest request body", () => {
    assert.ok(DEFAULT_WAL_CACHE_BYTES >= DISK_STORAGE_BLOCK * (MAX_BODY_BYTES + 1024));
  });

  test("with the default, 260 writes of 300 KB are applied without reading the WAL back", async () => {
    c = await InProcCluster.create(1, ["--snapshot-entries", "100000"]);
    const st = await fill(c, 300 * 1000);
    assert.equal(st.blockReads, 0, JSON.stringify(st));
  });

  test("with a cache smaller than a block (here 8 MiB for 260 values of 40 KB), the WAL is read back again and again", async () => {
    c = await InProcCluster.create(1, ["--snapshot-entries", "100000", "--wal-cache-bytes", String(8 * 1024 * 1024)]);
    const st = await fill(c, 40 * 1000);
    assert.ok(st.blockReads > 5 && st.blockReadBytes > 40_000_000, JSON.stringify(st));
  });
});
