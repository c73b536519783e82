/**
 * Where the wall time of one `WAL.save` goes on a real disk (README "Figures", issue 13's bulk
 * lines), per save of the wal-write loop (`pnpm bench wal-write`: BATCH entries of ENTRY_SIZE
 * bytes, one shared data buffer, `commit` = the last index, each save awaited):
 *
 *   build  the caller's entry objects (the bench's own loop),
 *   pre    `save()` called -> the batch's write issued (validation, encoding, CRC, queue),
 *   io     write issued -> its callback (the thread-pool hop, the O_DSYNC pwrite, the wakeup),
 *   post   callback -> the awaited save resumes (promise resolution).
 *
 *   node packages/wal/scripts/save-breakdown.mjs ROOT DIR ENTRY_SIZE BATCH SECONDS
 *
 * ROOT is a built checkout (its packages/wal/dist is imported, as `pnpm bench` does), DIR a
 * directory on the disk to measure. The WAL is created as the bench creates it (defaults:
 * 64 MB segments, zero-ahead); `pre`/`io`/`post` are averaged over the saves that made exactly
 * one write (not those with a zero-ahead step or a segment cut), `total` over all saves.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const [root, dirArg, sizeArg, batchArg, secondsArg] = process.argv.slice(2);
const { WAL, nodeIO } = await import(join(resolve(root), "packages/wal/dist/index.js"));
const size = Number(sizeArg);
const batch = Number(batchArg);
const seconds = Number(secondsArg);
let issued = 0;
let completed = 0;
let writes = 0;
const io = {
  ...nodeIO,
  write: (fd, buf, off, len, pos, cb) => {
    issued = performance.now();
    writes++;
    nodeIO.write(fd, buf, off, len, pos, (err, n) => {
      completed = performance.now();
      cb(err, n);
    });
  },
};
const dir = mkdtempSync(join(resolve(dirArg), "save-breakdown-"));
try {
  const w = await WAL.create(join(dir, "wal"), new TextEncoder().encode("somedata"), { io });
  const data = new Uint8Array(size).fill(0x61);
  const ents = [];
  let idx = 0;
  const sum = { saves: 0, oneWrite: 0, build: 0, pre: 0, io: 0, post: 0, total: 0 };
  const ioTimes = [];
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const t0 = performance.now();
    ents.length = 0;
    for (let i = 0; i < batch; i++) ents.push({ term: 1, index: ++idx, type: 0, data });
    const t1 = performance.now();
    writes = 0;
    await w.save({ term: 1, vote: 0n, commit: idx }, ents);
    const t2 = performance.now();
    sum.saves++;
    sum.build += t1 - t0;
    sum.total += t2 - t0;
    if (writes === 1) {
      sum.oneWrite++;
      sum.pre += issued - t1;
      sum.io += completed - issued;
      sum.post += t2 - completed;
      ioTimes.push(completed - issued);
    }
  }
  await w.close();
  ioTimes.sort((a, b) => a - b);
  const us = (ms, n) => Math.round((ms * 1000 * 10) / n) / 10;
  console.log(
    JSON.stringify({
      root,
      size,
      batch,
      saves: sum.saves,
      oneWriteSaves: sum.oneWrite,
      usPerSave: us(sum.total, sum.saves),
      build: us(sum.build, sum.saves),
      pre: us(sum.pre, sum.oneWrite),
      io: us(sum.io, sum.oneWrite),
      ioMedian: us(ioTimes[ioTimes.length >> 1] ?? 0, 1),
      post: us(sum.post, sum.oneWrite),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
