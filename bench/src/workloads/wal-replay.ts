/**
 * wal-replay: mirrors the etcd baseline's `walReplay`: write 256,000 entries of 1000 bytes
 * (saves of 1000 entries, about 264 MB in 5 segments) with tsraft's WAL, close; then, timed,
 * `WAL.open(dir, {index: 0, term: 0})` (write mode, as etcd's server opens it) + `readAll()`
 * with every CRC checked, verifying all entries came back; `close()` untimed. Figure:
 * walBytes / elapsed / 1e6, walBytes counted as the baseline does (record bytes, the zero tail
 * of the last segment excluded). Segments are read in 8 MiB chunks (the next one read while the
 * current one is parsed); entries' data are views into those chunks (the default
 * `copyEntryData: false`). Page cache warm. `info.crc32c` says which CRC-32C ran.
 * @module
 */
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { EntryType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { WAL, crc32cBackend } from "@tsraft/wal";
import { gc, now } from "../harness.js";
import type { BenchContext, Figure, Workload } from "../harness.js";

/**
 * Bytes of records in a WAL directory: whole earlier segments, the last one up to its last
 * non-zero byte (8-aligned), as the Go baseline counts them.
 */
export async function usedBytes(dir: string): Promise<{ total: number; files: number }> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
  let total = 0;
  for (const [i, n] of names.entries()) {
    if (i < names.length - 1) {
      total += (await stat(join(dir, n))).size;
      continue;
    }
    const b = await readFile(join(dir, n));
    let end = b.length;
    while (end > 0 && b[end - 1] === 0) end--;
    total += Math.ceil(end / 8) * 8;
  }
  return { total, files: names.length };
}

export const walReplayWorkload: Workload = {
  name: "wal-replay",
  describe: "open a WAL of 256,000 entries of 1000 B in write mode and readAll (MB/s of WAL bytes)",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const n = ctx.quick ? 2000 : 256_000;
    const p = await mkdtemp(join(ctx.tmpdir, "tsraft-walreplay-"));
    try {
      const dir = join(p, "wal");
      const w = await WAL.create(dir, new TextEncoder().encode("somedata"));
      const data = new Uint8Array(1000).fill(0x61);
      let ents: Entry[] = [];
      const wstart = now();
      ctx.progress(`wal-replay: writing ${n} entries`);
      for (let idx = 1; idx <= n; idx++) {
        ents.push({ term: 1, index: idx, type: EntryType.EntryNormal, data });
        if (ents.length === 1000 || idx === n) {
          await w.save({ term: 1, vote: 0n, commit: idx }, ents);
          ents = [];
        }
      }
      await w.close();
      const writeSeconds = now() - wstart;
      const used = await usedBytes(dir);
      const runs: number[] = [];
      for (let r = 0; r < (ctx.quick ? 1 : ctx.runs); r++) {
        ctx.progress(`wal-replay run ${r + 1}`);
        gc();
        const start = now();
        const rw = await WAL.open(dir, { index: 0, term: 0 });
        const res = await rw.readAll();
        const el = now() - start;
        if (res.entries.length !== n || res.hardState.commit !== n || res.entries[n - 1]!.index !== n)
          throw new Error(`wal-replay: read ${res.entries.length} entries, commit ${res.hardState.commit}`);
        await rw.close();
        runs.push(used.total / el / 1e6);
      }
      const info = {
        walBytes: used.total,
        segments: used.files,
        writeSeconds: Math.round(writeSeconds * 1000) / 1000,
        pageCache: "warm (read right after writing)",
        timed: "WAL.open(dir, {index:0,term:0}) + readAll()",
        saveBatchEntries: 1000,
        crc32c: crc32cBackend,
      };
      return [{ name: "wal-replay", params: { entries: n, entrySize: 1000 }, unit: "MB/s", runs, info }];
    } finally {
      await rm(p, { recursive: true, force: true });
    }
  },
};
