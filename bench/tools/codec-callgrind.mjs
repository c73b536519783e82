/**
 * Instructions per call of codec-msgapp's loops, counted by valgrind's callgrind: a
 * deterministic figure for changes to the raftpb codec, which wall-clock runs on a shared
 * machine cannot resolve (packages/raftpb/README.md, "Performance notes").
 *
 *   node bench/tools/codec-callgrind.mjs [--warm W] [--n N] [--payload P] [--out DIR] [LABEL=ROOT:OP ...]
 *
 * ROOT is a built checkout (its packages/raftpb/dist is imported, as `pnpm bench` does); OP is
 * encode | encode-into | size | decode | decode-copy (default: this checkout's encode). Each variant
 * runs once under callgrind: W calls of warm-up, a full GC, then N calls between two getrusage
 * calls (callgrind dumps at each, so the second dump is exactly the window). Node runs with
 * --predictable --predictable-gc-schedule and fixed seeds (one thread: no concurrent compiler
 * or GC, a GC schedule that does not depend on time), so the count does not depend on the
 * machine's load. The message is codec-msgapp's (bench/src/workloads/codec-msgapp.ts msgApp():
 * 64 entries of 128 bytes, 9,056 bytes encoded; `--payload P`: of P bytes, as codec-payload),
 * built here so that old checkouts can be measured with the same driver. Printed: one JSON line per variant (instructions per call:
 * total, GC, optimizing compiler).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

if (args[0] === "--child") {
  // The measured process: ROOT OP W N.
  const [, root, op, w, n, p] = args;
  const payload = Number(p);
  const pb = await import(pathToFileURL(join(root, "packages/raftpb/dist/index.js")).href);
  const data = new Uint8Array(payload);
  for (let i = 0; i < payload; i++) data[i] = i & 0xff;
  const entries = [];
  for (let i = 0; i < 64; i++) entries.push({ term: 5, index: 1001 + i, type: 0, data: data.slice() });
  const m = { type: 3, to: 2n, from: 1n, term: 5, logTerm: 5, index: 1000, entries, commit: 999, reject: false, rejectHint: 0 };
  const bytes = pb.encodeMessage(m);
  if (payload === 128 && bytes.length !== 9056) throw new Error(`encoded ${bytes.length} bytes, not 9,056`);
  const sink = { n: 0 };
  const out = new Uint8Array(bytes.length);
  const copy = { copy: true };
  const ops = {
    encode: () => (sink.n += pb.encodeMessage(m).length),
    "encode-into": () => (sink.n += pb.encodeMessageInto(m, out, 0)),
    size: () => (sink.n += pb.messageSize(m)),
    decode: () => (sink.n += pb.decodeMessage(bytes).entries.length),
    "decode-copy": () => (sink.n += pb.decodeMessage(bytes, copy).entries.length),
  };
  const f = ops[op];
  if (f === undefined) throw new Error(`unknown op ${op}`);
  for (let i = 0; i < Number(w); i++) f();
  globalThis.gc();
  process.resourceUsage(); // marker: callgrind dumps here
  for (let i = 0; i < Number(n); i++) f();
  process.resourceUsage(); // marker: callgrind dumps here
  process.stdout.write(`sink ${sink.n}\n`);
  process.exit(0);
}

let warm = 20000;
let n = 20000;
let payload = 128;
let out;
const variants = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--warm") warm = Number(args[++i]);
  else if (a === "--n") n = Number(args[++i]);
  else if (a === "--out") out = resolve(args[++i]);
  else if (a === "--payload") payload = Number(args[++i]);
  else {
    const m = /^([\w.-]+)=(.+?)(?::([\w-]+))?$/.exec(a);
    if (m === null) throw new Error(`bad variant ${a}: LABEL=ROOT[:OP]`);
    variants.push({ label: m[1], root: resolve(m[2]), op: m[3] ?? "encode" });
  }
}
if (variants.length === 0) variants.push({ label: "this", root: resolve(dirname(here), "../.."), op: "encode" });
out ??= mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "tsraft-codec-cg-"));
mkdirSync(out, { recursive: true });

/** Inclusive instructions of the first function whose line matches `re` (0 if none). */
function inclusive(annotated, re) {
  for (const line of annotated.split("\n")) if (re.test(line)) return Number(line.trim().split(/\s+/)[0].replaceAll(",", ""));
  return 0;
}

for (const v of variants) {
  const file = join(out, `cg.${v.label}.${v.op}.${payload}.out`);
  const r = spawnSync(
    "valgrind",
    [
      "--tool=callgrind",
      "--dump-before=getrusage",
      `--callgrind-out-file=${file}`,
      "node",
      "--expose-gc",
      "--predictable",
      "--predictable-gc-schedule",
      "--hash-seed=1",
      "--random-seed=1",
      here,
      "--child",
      v.root,
      v.op,
      String(warm),
      String(n),
      String(payload),
    ],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  if (r.status !== 0) throw new Error(`${v.label}: exit ${r.status}\n${r.stderr}`);
  const annotated = execFileSync("callgrind_annotate", ["--inclusive=yes", `${file}.2`], { maxBuffer: 1 << 28 }).toString();
  const total = inclusive(annotated, /PROGRAM TOTALS/);
  const gc = inclusive(annotated, /Heap::CollectGarbage\(/);
  const opt = inclusive(annotated, /Runtime_CompileOptimized|Runtime_CompileTurbofan/);
  console.log(
    JSON.stringify({
      label: v.label,
      root: v.root,
      op: v.op,
      payload,
      warm,
      n,
      perCall: Math.round(total / n),
      gc: Math.round(gc / n),
      compiler: Math.round(opt / n),
      file: `${file}.2`,
    }),
  );
}
