/**
 * Wall time per entry of `WAL.save` without I/O: the CPU path of the write (validation,
 * encoding, CRC, queue, promises), with a `WalIO` whose `write` and `fdatasync` complete at
 * once (on the next tick) and zero-ahead off (README "Figures", 2026-12-02 evening).
 *
 *   node packages/wal/scripts/save-cpu.mjs ROOT DIR ENTRY_SIZE BATCH SAVES
 *
 * ROOT is a built checkout (its packages/wal/dist is imported), DIR a directory for the WAL's
 * (sparse, never written) segment. As `pnpm bench wal-write`: saves of BATCH entries of
 * ENTRY_SIZE bytes (one shared data buffer) with `commit` = the last index, each awaited.
 * SAVES of warm-up, then 5 timed runs of SAVES; prints the lowest and the median ns per entry.
 * Alternate two ROOTs to compare them on a busy machine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const [root, dirArg, sizeArg, batchArg, savesArg] = process.argv.slice(2);
const { WAL, nodeIO } = await import(join(resolve(root), "packages/wal/dist/index.js"));
const size = Number(sizeArg);
const batch = Number(batchArg);
const saves = Number(savesArg);
const dir = mkdtempSync(join(resolve(dirArg), "save-cpu-"));
const io = {
  ...nodeIO,
  write: (_fd, _buf, _off, len, _pos, cb) => process.nextTick(cb, null, len),
  fdatasync: (_fd, cb) => process.nextTick(cb, null),
};
try {
  const w = await WAL.create(join(dir, "wal"), new TextEncoder().encode("somedata"), { io, zeroAheadBytes: 0, segmentSizeBytes: 1 << 30 });
  const data = new Uint8Array(size).fill(0x61);
  const ents = [];
  let idx = 0;
  const run = async (n) => {
    for (let s = 0; s < n; s++) {
      ents.length = 0;
      for (let i = 0; i < batch; i++) ents.push({ term: 1, index: ++idx, type: 0, data });
      await w.save({ term: 1, vote: 0n, commit: idx }, ents);
    }
  };
  await run(saves);
  const ns = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    await run(saves);
    ns.push(Number(process.hrtime.bigint() - t0) / (saves * batch));
  }
  ns.sort((a, b) => a - b);
  console.log(JSON.stringify({ root, size, batch, nsPerEntryMin: Math.round(ns[0]), nsPerEntryMedian: Math.round(ns[2]) }));
  await w.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
