/**
 * memory-entries and memory-unstable: heap bytes held per log entry.
 *
 * memory-entries mirrors the etcd baseline's `memoryEntries` (bench/main.go) step for step:
 * a full collection twice, the heap measured; a fresh MemoryStorage; 1,000 `append` calls of
 * 1,000 entries {term 1, index i, EntryNormal, data: its own 128-byte Uint8Array with
 * data[0] = i & 0xff}, each batch a fresh array; a full collection twice, the heap measured;
 * figure = (after - before) / N, in bytes/entry, lower is better.
 *
 * "Heap" on our side is `process.memoryUsage().heapUsed + arrayBuffers`: V8's heap (the Entry
 * objects, the Uint8Array and ArrayBuffer objects, the storage's array) plus the backing stores
 * of the ArrayBuffers, which V8 keeps outside its heap for arrays over 64 bytes (so each 128 B
 * payload is counted there, at its byteLength, without malloc's own overhead). Go's `HeapAlloc`
 * counts the same things (the 72-byte Entry structs in the storage's slice, grown by append,
 * and the 128-byte data allocations). Both parts are in `info`, and so is the RSS delta, which
 * adds allocator overhead and free pages the process keeps; it is not the figure.
 *
 * memory-unstable (no etcd counterpart): the same N entries of 128 B, each with its own array,
 * proposed one by one (`propose`) to a single-voter leader and never handed to storage (no
 * `ready()` between the measurements), so they sit in raft's unstable log: the figure is what
 * raft holds per proposed, not yet persisted entry (the Entry object raft makes from the
 * proposal, the payload, the unstable log's array). After the measurement one `ready()` checks
 * that it hands out all N entries to persist.
 * @module
 */
import { EntryType } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { gc, heapBytes, sink, type BenchContext, type Figure, type Workload } from "../harness.js";
import { singleLeader } from "./rawnode.js";

const PAYLOAD = 128;
const BATCH = 1000;

interface HeapDelta {
  perEntry: number;
  heapUsedPerEntry: number;
  arrayBuffersPerEntry: number;
  rssPerEntry: number;
}

function collect(): ReturnType<typeof heapBytes> {
  gc();
  gc();
  return heapBytes();
}

function delta(before: ReturnType<typeof heapBytes>, after: ReturnType<typeof heapBytes>, n: number): HeapDelta {
  const heapUsed = after.heapUsed - before.heapUsed;
  const arrayBuffers = after.arrayBuffers - before.arrayBuffers;
  return {
    perEntry: (heapUsed + arrayBuffers) / n,
    heapUsedPerEntry: heapUsed / n,
    arrayBuffersPerEntry: arrayBuffers / n,
    rssPerEntry: (after.rss - before.rss) / n,
  };
}

/** One run of memory-entries: heap bytes per entry held by a MemoryStorage of N entries. */
export function memoryEntries(N: number): HeapDelta {
  const before = collect();
  const st = new MemoryStorage();
  let idx = 0;
  for (let done = 0; done < N; done += BATCH) {
    const ents: Entry[] = [];
    for (let i = 0; i < BATCH; i++) {
      idx++;
      const d = new Uint8Array(PAYLOAD);
      d[0] = idx & 0xff;
      ents.push({ term: 1, index: idx, type: EntryType.EntryNormal, data: d });
    }
    st.append(ents);
  }
  const after = collect();
  if (st.lastIndex() !== N) throw new Error(`memory-entries: last index ${st.lastIndex()}, want ${N}`);
  sink.n += st.firstIndex(); // keeps st alive until after the measurement
  return delta(before, after, N);
}

/** One run of memory-unstable: heap bytes per entry in a leader's unstable log. */
export function memoryUnstable(N: number): HeapDelta {
  const n = singleLeader();
  const before = collect();
  for (let i = 1; i <= N; i++) {
    const d = new Uint8Array(PAYLOAD);
    d[0] = i & 0xff;
    n.rn.propose(d);
  }
  const after = collect();
  const rd = n.rn.ready();
  if (rd.entries.length !== N) throw new Error(`memory-unstable: ready has ${rd.entries.length} entries to persist, want ${N}`);
  return delta(before, after, N);
}

function memoryFigure(ctx: BenchContext, name: string, N: number, f: (n: number) => HeapDelta, info: Record<string, unknown>): Figure {
  // As the Go side: at most 3 runs (the figure hardly varies).
  const runs = Math.min(ctx.runs, 3);
  const ds: HeapDelta[] = [];
  for (let r = 0; r < runs; r++) {
    ds.push(f(N));
    ctx.progress(`${name}: run ${r + 1}/${runs}: ${ds[r]!.perEntry.toFixed(1)} bytes/entry`);
  }
  const round1 = (xs: number[]) => xs.map((x) => Math.round(x * 10) / 10);
  return {
    name,
    params: { N, payload: PAYLOAD },
    unit: "bytes/entry",
    runs: ds.map((d) => d.perEntry),
    lowerIsBetter: true,
    info: {
      ...info,
      measure: "(heapUsed + arrayBuffers after global.gc() twice - before) / N",
      heapUsedPerEntry: round1(ds.map((d) => d.heapUsedPerEntry)),
      arrayBuffersPerEntry: round1(ds.map((d) => d.arrayBuffersPerEntry)),
      rssDeltaPerEntry: round1(ds.map((d) => d.rssPerEntry)),
    },
  };
}

export const memoryEntriesWorkload: Workload = {
  name: "memory-entries",
  describe: "heap bytes per entry held in MemoryStorage: 1,000,000 entries of 128 B appended in batches of 1,000",
  async run(ctx) {
    const N = ctx.quick ? 10_000 : 1_000_000;
    return [memoryFigure(ctx, "memory-entries", N, memoryEntries, { appends: "MemoryStorage.append in batches of 1000, own 128 B Uint8Array per entry" })];
  },
};

export const memoryUnstableWorkload: Workload = {
  name: "memory-unstable",
  describe: "heap bytes per entry held in raft's unstable log: a single-voter leader with 1,000,000 proposed, unpersisted entries of 128 B",
  async run(ctx) {
    const N = ctx.quick ? 10_000 : 1_000_000;
    return [
      memoryFigure(ctx, "memory-unstable", N, memoryUnstable, {
        proposals: "RawNode.propose one by one, own 128 B Uint8Array each, no ready() until measured",
      }),
    ];
  },
};
