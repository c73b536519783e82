/**
 * Snapshot files written and read in pieces: the same bytes as encoding the whole file at once
 * (etcd's format), and no long hold of the event loop for a large snapshot.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeSync, openSync, readSync } from "node:fs";
import { mkdir, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { encodeSnapshot } from "@tsraft/raftpb";
import type { Snapshot } from "@tsraft/raftpb";
import { SnapCrcMismatchError, Snapshotter, crc32c, nodeIO, readSnapFile, snapName } from "@tsraft/wal";
import type { WalFileHandle, WalIO } from "@tsraft/wal";
import { encodeSnapFile } from "../src/proto.js";
import { SNAP_CRC_CHUNK_BYTES, crc32cYielding, snapFilePieces } from "../src/snap-stream.js";
import { removeTemp, tempDir } from "./helpers/vectors.js";

const CS = { voters: [1n, 2n, 0xffffffffffffffffn], learners: [7n], votersOutgoing: [], learnersNext: [], autoLeave: false };

/** What Snapshotter.save wrote before it streamed: the whole file encoded in one buffer. */
function oneBufferFile(s: Snapshot): Uint8Array {
  const inner = encodeSnapshot(s);
  return encodeSnapFile(crc32c(0, inner), inner);
}

/**
 * Counts turns of the event loop (a setImmediate chain) from now; the returned function stops
 * the count and says how many there were.
 */
function countTurns(): () => number {
  let turns = 0;
  let running = true;
  const count = (): void => {
    turns++;
    if (running) setImmediate(count);
  };
  setImmediate(count);
  return () => {
    running = false;
    return turns;
  };
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/**
 * The main thread's own CPU time so far, in ms, from Linux's per-thread scheduler statistics
 * (`/proc/thread-self/schedstat`: time on a CPU, then time waiting for one); undefined where
 * there are none. Node 20 has no per-thread CPU clock, and `process.cpuUsage()` also counts the
 * thread pool and V8's helper threads. The kernel brings the figure up to date at each scheduler
 * tick and context switch, so it lags by up to one tick (4 ms on the development machine).
 */
function openThreadCpuClock(): { read: () => number; close: () => void } | undefined {
  let fd: number;
  try {
    fd = openSync("/proc/thread-self/schedstat", "r");
  } catch {
    return undefined;
  }
  const b = Buffer.alloc(128);
  return {
    read: () => {
      const n = readSync(fd, b, 0, b.length, 0);
      const text = b.toString("latin1", 0, n);
      return Number(text.slice(0, text.indexOf(" "))) / 1e6;
    },
    close: () => closeSync(fd),
  };
}

/**
 * How long `fn` held the event loop at most, over the gaps between two turns of the loop (a
 * setImmediate chain): the longest gap in wall time, and the most CPU time the main thread ran
 * in one gap (`cpu`; undefined where it cannot be read). A gap's wall time also holds whatever
 * the machine does to the process meanwhile (other processes on 2 shared cores, the
 * hypervisor); its CPU time is only what this thread ran, the code's own share.
 */
async function longestHold(fn: () => Promise<void>): Promise<{ wall: number; cpu: number | undefined }> {
  const clock = openThreadCpuClock();
  let wall = 0;
  let cpu = 0;
  let lastWall = performance.now();
  let lastCpu = clock?.read() ?? 0;
  // One gap ends at each turn, and the last one when `fn` is done.
  const sample = (): void => {
    const now = performance.now();
    if (now - lastWall > wall) wall = now - lastWall;
    lastWall = now;
    if (clock !== undefined) {
      const c = clock.read();
      if (c - lastCpu > cpu) cpu = c - lastCpu;
      lastCpu = c;
    }
  };
  let running = true;
  const probe = (): void => {
    if (!running) return; // the clock is closed
    sample();
    setImmediate(probe);
  };
  setImmediate(probe);
  try {
    await fn();
    sample();
  } finally {
    running = false;
    clock?.close();
  }
  return { wall, cpu: clock === undefined ? undefined : cpu };
}

describe("streamed snapshot files", () => {
  const cases: { name: string; snap: Snapshot }[] = [
    { name: "no data", snap: { metadata: { index: 3, term: 1, confState: CS } } },
    { name: "empty data", snap: { data: new Uint8Array(0), metadata: { index: 4, term: 1, confState: CS } } },
    { name: "one byte", snap: { data: Uint8Array.of(0x80), metadata: { index: 5, term: 2, confState: CS } } },
    { name: "127 bytes (1-byte length)", snap: { data: pattern(127, 1), metadata: { index: 6, term: 2, confState: CS } } },
    { name: "a view into a larger buffer", snap: { data: pattern(100_000, 2).subarray(777, 90_000), metadata: { index: 7, term: 3, confState: CS } } },
    {
      name: "9 MiB + 13 bytes (several CRC and write pieces, not a multiple)",
      snap: { data: pattern(9 * 1024 * 1024 + 13, 3), metadata: { index: 2 ** 40, term: 2 ** 33, confState: CS } },
    },
  ];
  for (const c of cases) {
    test(`${c.name}: byte-identical to the one-buffer encoding, and read back`, async () => {
      const dir = join(await tempDir(), "snap");
      await mkdir(dir);
      try {
        await new Snapshotter(dir).save(c.snap);
        const path = join(dir, snapName(c.snap.metadata.term, c.snap.metadata.index));
        const onDisk = new Uint8Array(await readFile(path));
        assert.ok(Buffer.from(onDisk).equals(Buffer.from(oneBufferFile(c.snap))), "same bytes as etcd's encoding");
        const back = await readSnapFile(path);
        assert.deepEqual(back.metadata, c.snap.metadata);
        assert.equal(back.data === undefined, c.snap.data === undefined);
        if (c.snap.data !== undefined) assert.ok(Buffer.from(back.data!).equals(Buffer.from(c.snap.data)));
      } finally {
        await removeTemp(dir);
      }
    });
  }

  test("a flipped data byte far from the start is a CRC mismatch", async () => {
    const dir = join(await tempDir(), "snap");
    await mkdir(dir);
    try {
      const snap: Snapshot = { data: pattern(6 * 1024 * 1024, 4), metadata: { index: 9, term: 1, confState: CS } };
      await new Snapshotter(dir).save(snap);
      const path = join(dir, snapName(1, 9));
      const b = await readFile(path);
      b[b.length - 100_000]! ^= 1;
      await (await import("node:fs/promises")).writeFile(path, b);
      await assert.rejects(readSnapFile(path), SnapCrcMismatchError);
    } finally {
      await removeTemp(dir);
    }
  });

  test("the CRC of a large buffer is computed in pieces with turns of the event loop between them", async () => {
    const buf = pattern(3 * SNAP_CRC_CHUNK_BYTES + 5, 5);
    const turnsSince = countTurns();
    const c = await crc32cYielding(0, buf);
    const turns = turnsSince();
    assert.equal(c, crc32c(0, buf));
    assert.ok(turns >= 3, `the event loop turned ${turns} times during the CRC of 4 pieces`);
    assert.equal(await crc32cYielding(crc32c(0, buf, 0, 10), buf, 10, 20), crc32c(0, buf, 0, 20), "ranges chain like crc32c");
  });

  // The 96 MiB test below cannot tell a synchronous CRC of the whole data at native speed (about
  // 11 ms for 96 MiB) from its own noise; this counts the turns instead.
  test("a save's CRC of the data is computed in pieces with turns of the event loop between them", async () => {
    const snap: Snapshot = { data: pattern(3 * SNAP_CRC_CHUNK_BYTES + 5, 7), metadata: { index: 12, term: 2, confState: CS } };
    const turnsSince = countTurns();
    const file = await snapFilePieces(snap);
    const turns = turnsSince();
    assert.ok(Buffer.concat(file.pieces).equals(Buffer.from(oneBufferFile(snap))), "same bytes as the one-buffer encoding");
    assert.ok(turns >= 3, `the event loop turned ${turns} times while the save's CRC ran over 4 pieces`);
  });

  // The same on the load side: the file is served from memory (every read a resolved promise,
  // no turn of the event loop), so the turns counted are the CRC's own.
  test("a load's CRC of the data is computed in pieces with turns of the event loop between them", async () => {
    const snap: Snapshot = { data: pattern(3 * SNAP_CRC_CHUNK_BYTES + 5, 9), metadata: { index: 14, term: 3, confState: CS } };
    const bytes = oneBufferFile(snap);
    const handle: WalFileHandle = {
      fd: -1,
      read: async (buffer, offset, length, position) => {
        const n = Math.max(0, Math.min(length, bytes.length - position));
        buffer.set(bytes.subarray(position, position + n), offset);
        return { bytesRead: n };
      },
      write: () => Promise.reject(new Error("read-only")),
      truncate: () => Promise.reject(new Error("read-only")),
      sync: async () => {},
      datasync: async () => {},
      stat: async () => ({ size: bytes.length }),
      close: async () => {},
    };
    const io: WalIO = { ...nodeIO, open: async () => handle };
    const turnsSince = countTurns();
    const loaded = await readSnapFile("in-memory.snap", io);
    const turns = turnsSince();
    assert.deepEqual(loaded.metadata, snap.metadata);
    assert.ok(Buffer.from(loaded.data!).equals(Buffer.from(snap.data!)), "the same data back");
    assert.ok(turns >= 3, `the event loop turned ${turns} times while the load's CRC ran over 4 pieces`);
  });

  // 96 MiB: the one-buffer save held the event loop for about 150 ms on the shared development
  // machine (allocating, filling and CRC-ing two copies of the file). Streamed, no turn of the
  // loop runs more than a CRC piece (4 MiB, about 0.5 ms) or the small encodings around it.
  //
  // The bound is on the main thread's CPU time in one gap between two turns, not on the gap's
  // wall time: on the loaded 2-core machine the long wall gaps are the machine's. Measured
  // 2026-12-03 at load average 5-6 from other work: in 34 windows of 0.2-1.5 s where the
  // process only waited on a timer, the longest gap was 7-153 ms (over 50 ms in 11), the thread
  // having run under 5 ms in it; with two CPU hogs added, the wall-clock version of this test
  // (best of 3 attempts under 60 ms) failed 3 runs in 20, with gaps of 63-104 ms in every
  // attempt. The thread's longest run in one gap while saving and loading: 4.0-4.2 ms in 20
  // runs, 3.1-6.1 ms in 30 more under the two hogs (their wall gaps up to 290 ms): a 4 ms
  // scheduler tick of lag plus well under 1 ms, as in a process doing nothing. With one
  // synchronous copy of the data planted in the save: 48-217 ms. Hence 20 ms: far above what
  // the code does, under half the planted copy. A synchronous native CRC of the whole 96 MiB
  // (8-12 ms) is below what this can tell: the test above counts the save's CRC pieces.
  test("saving and loading a 96 MiB snapshot never runs the event loop's thread 20 ms between two turns", { timeout: 120_000 }, async (t) => {
    const BOUND_CPU_MS = 20;
    const snap: Snapshot = { data: pattern(96 * 1024 * 1024, 6), metadata: { index: 11, term: 2, confState: CS } };
    const dir = join(await tempDir(), "snap");
    await mkdir(dir);
    const holds: { wall: number; cpu: number | undefined }[] = [];
    try {
      const ss = new Snapshotter(dir);
      const path = join(dir, snapName(2, 11));
      // Where the thread's CPU time cannot be read (not Linux), the wall gap stands in for it:
      // best of 3 attempts under 60 ms, as before, which also measures the machine.
      for (let attempt = 0; attempt < 3; attempt++) {
        const hold = await longestHold(async () => {
          await ss.save(snap);
          const back = await readSnapFile(path);
          assert.equal(back.data!.length, snap.data!.length);
        });
        holds.push(hold);
        await unlink(path);
        if (hold.cpu !== undefined || hold.wall < 60) break;
      }
    } finally {
      await removeTemp(dir);
    }
    const text = holds.map((h) => `${h.cpu === undefined ? "" : `${h.cpu.toFixed(1)} ms of CPU, `}longest wall gap ${h.wall.toFixed(1)} ms`).join("; ");
    t.diagnostic(`held: ${text}`);
    const cpu = holds[0]!.cpu;
    if (cpu !== undefined) assert.ok(cpu < BOUND_CPU_MS, `the event loop's thread ran up to ${cpu.toFixed(1)} ms between two turns (${text})`);
    else assert.ok(Math.min(...holds.map((h) => h.wall)) < 60, `longest event-loop gap per attempt: ${text}`);
  });
});
