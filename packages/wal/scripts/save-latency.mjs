/**
 * Where the time of one small synced save goes: `WAL.save` of one entry, awaited one by one (as
 * `pnpm bench wal-write` entrySize=100 syncEvery=1 does), against two floors on the same file
 * system, alternated in rounds so that the machine's load falls on all three alike:
 *
 * - `writeSync`: a blocking `pwrite` of the same record bytes (130: one entry record and one
 *   state record) on an `O_DSYNC` descriptor, on the main thread: the disk's own latency, no
 *   thread hop (what etcd's goroutine does, but with the event loop blocked);
 * - `fs.write`: the same pwrite through node's callback API (the libuv thread pool): the disk
 *   plus Node's round trip (main thread -> pool thread -> event loop), nothing of the WAL;
 * - `WAL.save`: the WAL (validation, encoding, CRC, queue, zero-ahead, the same O_DSYNC write).
 *
 * Files are preallocated and written with zeros first (as the WAL's zero-ahead does). Prints
 * one JSON line per mode and round (median and mean microseconds per save, process CPU per save)
 * and the load average. Usage, from the repository root after `pnpm build`:
 *   node packages/wal/scripts/save-latency.mjs [DIR] [ROUNDS] [SAVES]
 * DIR defaults to os.tmpdir() (use a directory on the disk under test; /dev/shm shows the CPU
 * part alone).
 */
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const distIndex = fileURLToPath(new URL("../dist/index.js", import.meta.url));
const { WAL } = await import(distIndex);
const [dirArg, roundsArg, savesArg] = process.argv.slice(2);
const base = dirArg ?? tmpdir();
const rounds = Number(roundsArg ?? 3);
const saves = Number(savesArg ?? 2000);
const RECORD = 130;

function prepared(path) {
  const fd = fs.openSync(path, "w+");
  fs.ftruncateSync(fd, 64e6);
  const z = new Uint8Array(1 << 20);
  for (let i = 0; i < 4; i++) fs.writeSync(fd, z, 0, z.length, i << 20);
  fs.fdatasyncSync(fd);
  fs.closeSync(fd);
  return fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_DSYNC);
}

const modes = {
  async writeSync(dir) {
    const fd = prepared(join(dir, "f"));
    const buf = new Uint8Array(RECORD).fill(0x61);
    return { fd, one: (i) => fs.writeSync(fd, buf, 0, RECORD, i * RECORD), close: async () => fs.closeSync(fd) };
  },
  async "fs.write"(dir) {
    const fd = prepared(join(dir, "f"));
    const buf = new Uint8Array(RECORD).fill(0x61);
    const one = (i) => new Promise((res, rej) => fs.write(fd, buf, 0, RECORD, i * RECORD, (e) => (e ? rej(e) : res())));
    return { one, close: async () => fs.closeSync(fd) };
  },
  async "WAL.save"(dir) {
    const w = await WAL.create(join(dir, "wal"), new TextEncoder().encode("somedata"));
    const data = new Uint8Array(100).fill(0x61);
    const one = (i) => w.save({ term: 1, vote: 0n, commit: i + 1 }, [{ term: 1, index: i + 1, type: 0, data }]);
    return { one, close: () => w.close() };
  },
};

for (let r = 1; r <= rounds; r++) {
  for (const [name, make] of Object.entries(modes)) {
    const dir = await mkdtemp(join(base, "save-latency-"));
    try {
      const m = await make(dir);
      for (let i = 0; i < 200; i++) await m.one(i); // warm up
      const times = new Float64Array(saves);
      const cpu0 = process.cpuUsage();
      for (let i = 0; i < saves; i++) {
        const t = performance.now();
        await m.one(200 + i);
        times[i] = performance.now() - t;
      }
      const cpu = process.cpuUsage(cpu0);
      await m.close();
      times.sort();
      const mean = times.reduce((a, b) => a + b, 0) / saves;
      const line = {
        round: r,
        mode: name,
        saves,
        p50us: +(times[saves >> 1] * 1000).toFixed(1),
        meanUs: +(mean * 1000).toFixed(1),
        cpuUsPerSave: +((cpu.user + cpu.system) / saves).toFixed(1),
        load1: +loadavg()[0].toFixed(2),
      };
      console.log(JSON.stringify(line));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
