/**
 * wal-replay-growth (no etcd counterpart; a new name): wal-replay's measurement as the WAL
 * grows. One WAL of 1000-byte entries (saves of 1000 entries, as wal-replay writes them) is
 * grown in steps to 32,000, 64,000, 128,000 and 256,000 entries (~33 MB to ~264 MB, 1 to 5
 * segments): at each step it is opened in write mode, read to the end, extended with `save()`
 * and closed (untimed); then min(runs, 3) timed replays: `WAL.open(dir, {index: 0, term: 0})` +
 * `readAll()` with every CRC checked, all entries verified, `close()` untimed. Figure: MB/s of
 * WAL bytes (records, the zero tail of the last segment excluded), page cache warm. Trend:
 * replay time per entry against the number of entries (flat means the replay time grows
 * linearly with the WAL). Only the public API of @tsraft/wal is used.
 * @module
 */
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { EntryType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { WAL } from "@tsraft/wal";
import { gc, now, type Figure, type Workload } from "../harness.js";
import { trendFigure } from "./trend.js";
import { usedBytes } from "./wal-replay.js";

const ENTRY_SIZE = 1000;
const SAVE_BATCH = 1000;

async function extend(w: WAL, from: number, to: number): Promise<void> {
  const data = new Uint8Array(ENTRY_SIZE).fill(0x61);
  let ents: Entry[] = [];
  for (let idx = from + 1; idx <= to; idx++) {
    ents.push({ term: 1, index: idx, type: EntryType.EntryNormal, data });
    if (ents.length === SAVE_BATCH || idx === to) {
      await w.save({ term: 1, vote: 0n, commit: idx }, ents);
      ents = [];
    }
  }
}

async function replay(dir: string, n: number): Promise<number> {
  gc();
  const start = now();
  const w = await WAL.open(dir, { index: 0, term: 0 });
  const res = await w.readAll();
  const el = now() - start;
  await w.close();
  if (res.entries.length !== n || res.hardState.commit !== n || res.entries[n - 1]!.index !== n) {
    throw new Error(`wal-replay-growth: read ${res.entries.length} entries, commit ${res.hardState.commit}, want ${n}`);
  }
  return el;
}

export const walReplayGrowth: Workload = {
  name: "wal-replay-growth",
  describe: "wal-replay as the WAL grows: 32,000 to 256,000 entries of 1000 B (MB/s at each size)",
  async run(ctx) {
    const sizes = ctx.quick ? [1000, 2000, 4000] : [32_000, 64_000, 128_000, 256_000];
    const runs = Math.min(ctx.runs, 3);
    const p = await mkdtemp(join(ctx.tmpdir, "tsraft-walgrowth-"));
    try {
      const dir = join(p, "wal");
      let w = await WAL.create(dir, new TextEncoder().encode("somedata"));
      let have = 0;
      const secs: number[][] = [];
      const bytes: number[] = [];
      for (const n of sizes) {
        await extend(w, have, n);
        await w.close();
        have = n;
        bytes.push((await usedBytes(dir)).total);
        await replay(dir, n); // warm-up (and the JIT's first look at a longer WAL)
        const s: number[] = [];
        for (let r = 0; r < runs; r++) s.push(await replay(dir, n));
        secs.push(s);
        ctx.progress(`wal-replay-growth entries=${n}: ${s.map((x) => x.toFixed(3)).join(" ")} s`);
        if (n !== sizes[sizes.length - 1]) {
          w = await WAL.open(dir, { index: 0, term: 0 });
          await w.readAll();
        }
      }
      const out: Figure[] = sizes.map((n, i) => ({
        name: "wal-replay-growth",
        params: { entries: n, entrySize: ENTRY_SIZE },
        unit: "MB/s",
        runs: secs[i]!.map((s) => bytes[i]! / s / 1e6),
        info: { walBytes: bytes[i], seconds: secs[i]!.map((s) => Math.round(s * 1000) / 1000) },
        curve: {
          chart: "wal-replay-growth: replay MB/s as the WAL grows",
          x: "entries",
          series: "open + readAll",
          xLabel: "entries of 1000 B",
          yLabel: "MB/s",
        },
      }));
      const costs: number[][] = [];
      for (let r = 0; r < runs; r++) costs.push(sizes.map((n, i) => secs[i]![r]! / n));
      out.push(
        trendFigure({
          name: "wal-replay-growth",
          params: { entries: `${sizes[0]}..${sizes[sizes.length - 1]}`, entrySize: ENTRY_SIZE },
          xs: sizes,
          costs,
          cost: "time per entry",
          x: "entries",
          flatMeans: "replay time grows linearly with the WAL",
        }),
      );
      return out;
    } finally {
      await rm(p, { recursive: true, force: true });
    }
  },
};
