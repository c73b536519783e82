/**
 * Whole-stack schedules with the simulator's own small state machine: crashes (one member, the
 * whole cluster, right after a durable-state response was sent), fsyncs failing with EIO (the
 * node must stop; it restarts on what its disk kept), disks filling up (ENOSPC: the node must
 * stop with a WalNoSpaceError), bits flipped on reading a sealed segment or a snapshot file at
 * a restart (refused), partitions, a lossy network;
 * every check of the run (README of this package) must hold. Seeds are fixed (STACK_SEEDS=a-b
 * runs others); a restart the reader refuses is a violation, except on a bit flipped on reading (counted apart).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runStackSchedule } from "../src/index.js";
import { logWorkload } from "./counter-workload.js";

function seeds(): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(process.env.STACK_SEEDS ?? "");
  return m === null ? [1, 150] : [Number(m[1]), Number(m[2])];
}

test("whole-stack schedules: no violation", async () => {
  const [lo, hi] = seeds();
  let refusals = 0;
  let crashes = 0;
  let acked = 0;
  let lost = 0;
  let eios = 0;
  let stops = 0;
  let enospcs = 0;
  let noSpaceStops = 0;
  let flips = 0;
  let flipRefusals = 0;
  for (let seed = lo; seed <= hi; seed++) {
    const r = await runStackSchedule({ seed, workload: logWorkload() });
    assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.detail} (replay: STACK_SEEDS=${seed}-${seed})`);
    refusals += r.refusals;
    crashes += r.crashes;
    acked += r.acked;
    lost += r.lostAtCrashes;
    eios += r.eios;
    const fails = r.trace.events.filter((e) => e.kind === "fail" && !e.what.includes("(injected)") && e.what !== "write: ENOSPC");
    noSpaceStops += fails.filter((e) => e.what.startsWith("WalNoSpaceError")).length;
    stops += fails.filter((e) => !e.what.startsWith("WalNoSpaceError")).length;
    enospcs += r.enospcs;
    flips += r.flips;
    flipRefusals += r.flipRefusals;
  }
  console.log(
    `# seeds ${lo}-${hi}: ${crashes} crashes (${lost} unsynced sectors or directory changes lost), ${eios} EIOs injected (${stops} nodes stopped on one), ` +
      `${enospcs} disks filled (${noSpaceStops} nodes stopped on ENOSPC), ${flips} restarts read a flipped bit (${flipRefusals} refused), ` +
      `${acked} writes acknowledged, ${refusals} restarts refused (all on a flipped bit)`,
  );
  assert.ok(crashes > hi - lo && acked > hi - lo, "the schedules crash members and acknowledge writes");
  assert.ok(eios > 0 && stops > 0, "fsyncs failed, and nodes stopped on them");
  assert.ok(enospcs > 0 && noSpaceStops > 0, "disks filled, and nodes stopped on ENOSPC");
});

test("whole-stack schedules with the WAL's large saves chunked (largeWriteBytes 1,024): no violation", async () => {
  const [lo, hi] = process.env.STACK_SEEDS === undefined ? [1, 40] : seeds();
  let crashes = 0;
  let acked = 0;
  for (let seed = lo; seed <= hi; seed++) {
    const r = await runStackSchedule({ seed, workload: logWorkload(), settings: { largeWriteBytes: 1024, inlineWrites: seed % 2 === 0 } });
    assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.detail} (largeWriteBytes 1024)`);
    crashes += r.crashes;
    acked += r.acked;
  }
  console.log(`# largeWriteBytes 1024, seeds ${lo}-${hi}: ${crashes} crashes, ${acked} writes acknowledged`);
  assert.ok(crashes > hi - lo && acked > hi - lo, "the schedules crash members and acknowledge writes");
});

test("whole-stack schedules with the WAL's inlineWrites: no violation", async () => {
  const [lo, hi] = process.env.STACK_SEEDS === undefined ? [1, 60] : seeds();
  let crashes = 0;
  let acked = 0;
  for (let seed = lo; seed <= hi; seed++) {
    const r = await runStackSchedule({ seed, workload: logWorkload(), settings: { inlineWrites: true } });
    assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.detail} (inlineWrites)`);
    crashes += r.crashes;
    acked += r.acked;
    assert.ok(!r.trace.events.some((e) => e.kind === "fsync" && e.what === "O_DSYNC write"), `seed ${seed}: a save went through the thread-pool path`);
  }
  console.log(`# inlineWrites, seeds ${lo}-${hi}: ${crashes} crashes, ${acked} writes acknowledged`);
  assert.ok(crashes > hi - lo && acked > hi - lo, "the schedules crash members and acknowledge writes");
});
