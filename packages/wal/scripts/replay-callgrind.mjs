/**
 * Instructions per entry of `WAL.readAll`, counted by callgrind (README "Figures", the reader).
 *
 *   valgrind --tool=callgrind --dump-before=getrusage --callgrind-out-file=OUT \
 *     node --predictable --predictable-gc-schedule --hash-seed=1 --random-seed=1 --expose-gc \
 *     packages/wal/scripts/replay-callgrind.mjs ROOT DIR
 *   node packages/wal/scripts/save-callgrind.mjs summarize OUT.2 300000
 *
 * ROOT is a built checkout (its packages/wal/dist is imported), DIR a directory for the WAL.
 * Writes 100,000 entries of 100 bytes (saves of 1000, default 64 MB segments), then opens the
 * WAL for reading and reads it all 4 times (warm-up), a full GC, and 3 times between two
 * `getrusage` calls, so callgrind's second dump (OUT.2) is exactly those 300,000 entries read.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
const [rootArg, dirArg] = process.argv.slice(2);
const { WAL } = await import(join(resolve(rootArg), "packages/wal/dist/index.js"));
const dir = mkdtempSync(join(resolve(dirArg), "replay-cg-"));
const N = 100000;
try {
  const w = await WAL.create(join(dir, "wal"), new TextEncoder().encode("somedata"));
  const data = new Uint8Array(100).fill(0x61);
  let idx = 0;
  for (let s = 0; s < N / 1000; s++) {
    const ents = [];
    for (let i = 0; i < 1000; i++) ents.push({ term: 1, index: ++idx, type: 0, data });
    await w.save({ term: 1, vote: 0n, commit: idx }, ents);
  }
  await w.close();
  const read = async () => {
    const r = await WAL.openForRead(join(dir, "wal"), { index: 0, term: 0 });
    const res = await r.readAll();
    if (res.entries.length !== N) throw new Error("bad " + res.entries.length);
    await r.close();
  };
  for (let i = 0; i < 4; i++) await read();
  globalThis.gc?.();
  process.resourceUsage();
  for (let i = 0; i < 3; i++) await read();
  process.resourceUsage();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
