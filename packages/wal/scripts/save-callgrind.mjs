/**
 * Instructions per entry of `WAL.save`, counted by callgrind (README "Figures", write path).
 *
 *   valgrind --tool=callgrind --dump-before=getrusage --callgrind-out-file=OUT \
 *     node --predictable --predictable-gc-schedule --hash-seed=1 --random-seed=1 --expose-gc \
 *     packages/wal/scripts/save-callgrind.mjs ROOT DIR ENTRY_SIZE BATCH WARM N
 *
 * ROOT is a built checkout (its packages/wal/dist is imported, as `pnpm bench` does), DIR a
 * directory for the WAL (tmpfs or the disk). As `pnpm bench wal-write`: a new WAL, then saves
 * of BATCH entries of ENTRY_SIZE bytes (one shared data buffer) with `commit` = the last index,
 * each awaited; WARM saves, a full GC, WARM more, then N saves between two `getrusage` calls,
 * so callgrind's second dump (OUT.2) is exactly the window. Instructions per entry = the
 * window's total / (N * BATCH), also without the optimizing compiler and GC (`mutator`). `summarize` mode: `node save-callgrind.mjs summarize OUT.2 N*BATCH`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
if (args[0] === "summarize") {
  const annotated = execFileSync("callgrind_annotate", ["--inclusive=yes", args[1]], { maxBuffer: 1 << 28 }).toString();
  const units = Number(args[2]);
  const lines = annotated.split("\n");
  const inclusive = (re) => {
    const line = lines.find((l) => re.test(l));
    return line === undefined ? 0 : Number(line.trim().split(/\s+/)[0].replaceAll(",", ""));
  };
  const total = inclusive(/PROGRAM TOTALS/);
  // as bench/scripts/overhead-callgrind.mjs: the optimizing compiler and GC apart
  const compiler = inclusive(/Runtime_CompileOptimized|Runtime_CompileTurbofan/);
  const gc = inclusive(/Heap::CollectGarbage\(/);
  const per = (x) => Math.round(x / units);
  console.log(JSON.stringify({ file: args[1], perUnit: per(total), mutator: per(total - compiler - gc), compiler: per(compiler), gc: per(gc) }));
  process.exit(0);
}
const [rootArg, dirArg, sizeArg, batchArg, warmArg, nArg] = args;
const root = resolve(rootArg);
const { WAL } = await import(join(root, "packages/wal/dist/index.js"));
const size = Number(sizeArg);
const batch = Number(batchArg);
const warm = Number(warmArg);
const n = Number(nArg);
const dir = mkdtempSync(join(resolve(dirArg), "save-cg-"));
try {
  const w = await WAL.create(join(dir, "wal"), new TextEncoder().encode("somedata"), { segmentSizeBytes: 1 << 30 });
  const data = new Uint8Array(size).fill(0x61);
  const ents = [];
  let idx = 0;
  const run = async (saves) => {
    for (let s = 0; s < saves; s++) {
      ents.length = 0;
      for (let i = 0; i < batch; i++) ents.push({ term: 1, index: ++idx, type: 0, data });
      await w.save({ term: 1, vote: 0n, commit: idx }, ents);
    }
  };
  await run(warm);
  globalThis.gc?.();
  await run(warm);
  process.resourceUsage();
  await run(n);
  process.resourceUsage();
  await w.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
