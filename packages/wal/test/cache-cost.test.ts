// DiskStorage's `maxCachedBytes` counts what the cached blocks really cost. Two storages hold the
// same log of 32,768 entries, one with every block cached and one with none; the heap difference
// between them is the real cost of the cache, which `cachedBytes()` must match within 25%
// (measured: within 5%). Before the blocks were columns, the count was the entries' encoded size
// and missed 69% of what 100-byte entries held, or 99.7% when blocks grew in place. Prints the
// measured figures.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { EntryType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { DiskStorage } from "@tsraft/wal";

function gcFn(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) return g;
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

const gc = gcFn();

/** heapUsed + arrayBuffers after full collections (with a pause, so freed ArrayBuffers are swept). */
async function heap(): Promise<number> {
  gc();
  await new Promise((r) => setTimeout(r, 20));
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function build(dir: string, maxCachedBytes: number, n: number, size: number): Promise<DiskStorage> {
  // (a 4 KiB read buffer: the storage without a cache reads its blocks back, and keeps that buffer)
  const s = await DiskStorage.open(dir, { maxCachedBytes, segmentSizeBytes: 64 << 20, zeroAheadBytes: 0, readChunkBytes: 4096 });
  for (let i = 1; i <= n; i += 64) {
    const ents: Entry[] = [];
    for (let k = i; k < i + 64 && k <= n; k++) {
      const data = new Uint8Array(size); // its own buffer, as an entry decoded from a message
      data[0] = k & 0xff;
      ents.push({ term: 1, index: k, type: EntryType.EntryNormal, data });
    }
    await s.save({ term: 1, vote: 1n, commit: 0 }, ents);
  }
  return s;
}

for (const size of [100, 1000]) {
  test(`cachedBytes() is what the cached blocks cost, within 25% (entries of ${size} bytes)`, async () => {
    const root = mkdtempSync(join(tmpdir(), "tsraft-cache-cost-"));
    const n = 32_768;
    try {
      await (await build(join(root, "warm-up"), 1 << 30, 1024, size)).close(); // code compiled, buffers grown
      const m0 = await heap();
      const all = await build(join(root, "all"), 1 << 30, n, size);
      const m1 = await heap();
      const none = await build(join(root, "none"), 1, n, size);
      const m2 = await heap();
      await all.close();
      await none.close();
      const real = m1 - m0 - (m2 - m1);
      const counted = all.cachedBytes();
      const err = counted / real - 1;
      console.log(
        `cache-cost size=${size}: ${n} entries cached, counted ${counted} B (${(counted / n).toFixed(1)}/entry), ` +
          `measured ${real} B (${(real / n).toFixed(1)}/entry), error ${(err * 100).toFixed(1)}%`,
      );
      assert.equal(none.cachedBytes(), 0);
      assert.ok(Math.abs(err) < 0.25, `counted ${counted}, measured ${real}: error ${(err * 100).toFixed(1)}%`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}
