/**
 * wal-write: mirrors the etcd baseline's `walWrite` (shared/etcd-baseline/bench/main.go):
 * `WAL.create` in a fresh directory (untimed, preallocates the 64 MB segment), then
 * `await w.save({term: 1, vote: 0n, commit: lastIndex}, batch)` with `syncEvery` entries of
 * `entrySize` bytes (one shared data buffer), one fdatasync per save, for at least 1.5 s and 5
 * batches. Saves are awaited one by one (no overlap), as etcd's synchronous `Save` is.
 * MB/s counts payload bytes only. Segment cuts happen inside the timed part.
 * `BENCH_METRICS=1` binds `@tsraft/prometheus`'s WAL metrics (fsync histogram, bytes counter)
 * to the WAL's diagnostics channels during the run; the figure's `metrics` param says so.
 *
 * wal-write-inline: the same with `WalOptions.inlineWrites` (saves written and synced on the
 * event loop's thread, as etcd's `Save` on its goroutine), compared with etcd's wal-write.
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { EntryType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { WAL, crc32cBackend } from "@tsraft/wal";
import { bindMetrics } from "@tsraft/prometheus";
import { now } from "../harness.js";
import type { BenchContext, Figure, Workload } from "../harness.js";

async function walWrite(
  ctx: BenchContext,
  size: number,
  batch: number,
  minSeconds: number,
  minEntries: number,
  inlineWrites: boolean,
): Promise<{ mbps: number; eps: number; entries: number }> {
  const p = await mkdtemp(join(ctx.tmpdir, "tsraft-walwrite-"));
  try {
    const w = await WAL.create(join(p, "wal"), new TextEncoder().encode("somedata"), { inlineWrites });
    const metrics = process.env.BENCH_METRICS === "1" ? bindMetrics({ walDir: join(p, "wal") }) : undefined;
    const data = new Uint8Array(size).fill(0x61);
    const ents: Entry[] = [];
    let idx = 0;
    let entries = 0;
    const start = now();
    let el = 0;
    for (;;) {
      ents.length = 0;
      for (let i = 0; i < batch; i++) ents.push({ term: 1, index: ++idx, type: EntryType.EntryNormal, data });
      await w.save({ term: 1, vote: 0n, commit: idx }, ents);
      entries += batch;
      if (entries >= minEntries && (el = now() - start) >= minSeconds) break;
    }
    await w.close();
    metrics?.close();
    return { mbps: (entries * size) / el / 1e6, eps: entries / el, entries };
  } finally {
    await rm(p, { recursive: true, force: true });
  }
}

function walWriteOf(inlineWrites: boolean): Workload {
  const name = inlineWrites ? "wal-write-inline" : "wal-write";
  return {
    name,
    describe: inlineWrites
      ? "wal-write with inlineWrites: each save written and fdatasynced on the event loop's thread (compared with etcd's wal-write)"
      : "WAL save of syncEvery entries of entrySize bytes, one fdatasync per save (payload MB/s, entries/s)",
    async run(ctx: BenchContext): Promise<Figure[]> {
      const minSeconds = ctx.quick ? 0.05 : 1.5;
      const runs = ctx.quick ? 1 : Math.min(ctx.runs, 3);
      const out: Figure[] = [];
      for (const size of [100, 1000]) {
        for (const batch of [1, 10, 100, 1000]) {
          const mb: number[] = [];
          const eps: number[] = [];
          let total = 0;
          for (let r = 0; r < runs; r++) {
            ctx.progress(`${name} entrySize=${size} syncEvery=${batch} run ${r + 1}/${runs}`);
            const x = await walWrite(ctx, size, batch, minSeconds, batch * (ctx.quick ? 1 : 5), inlineWrites);
            mb.push(x.mbps);
            eps.push(x.eps);
            total += x.entries;
          }
          const params = { entrySize: size, syncEvery: batch, ...(process.env.BENCH_METRICS === "1" ? { metrics: "prom-client" } : {}) };
          const info = {
            entriesWrittenAllRuns: total,
            minSecondsPerRun: minSeconds,
            api: `await w.save({term:1,vote:0n,commit:lastIndex}, batch) = 1 fdatasync per batch${inlineWrites ? ", inlineWrites: true" : ""}`,
            bytes: "payload bytes (entry data), not encoded record bytes",
            crc32c: crc32cBackend,
          };
          const vs = inlineWrites ? { baselineName: "wal-write" } : {};
          out.push({ name, params, unit: "MB/s", runs: mb, info, ...vs });
          out.push({ name, params, unit: "entries/s", runs: eps, info, ...vs });
        }
      }
      return out;
    },
  };
}

export const walWriteWorkload: Workload = walWriteOf(false);
export const walWriteInlineWorkload: Workload = walWriteOf(true);
