/**
 * The KV example's state machine in the whole-stack deterministic simulator (issue 16): three
 * members over simulated disks and network, crashes and partitions, clients reading, writing and
 * compare-and-setting; every run's safety checks hold and its client history is linearizable.
 * Seeds are fixed (STACK_SEEDS=a-b runs others; `pnpm soak:stack` runs many).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runStackSchedule } from "@tsraft/stack-sim";
import { kvWorkload } from "./stack/kv-workload.js";

function seeds(): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(process.env.STACK_SEEDS ?? "");
  return m === null ? [1, 100] : [Number(m[1]), Number(m[2])];
}

test("KV over the whole stack: safe, linearizable, every promise settles", async () => {
  const [lo, hi] = seeds();
  let ops = 0;
  let acked = 0;
  let refusals = 0;
  let flipRefusals = 0;
  for (let seed = lo; seed <= hi; seed++) {
    const r = await runStackSchedule({ seed, workload: kvWorkload() });
    assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.detail} (replay: STACK_SEEDS=${seed}-${seed})`);
    ops += r.history.length;
    acked += r.acked;
    refusals += r.refusals;
    flipRefusals += r.flipRefusals;
  }
  console.log(
    `# seeds ${lo}-${hi}: ${ops} client requests, ${acked} writes acknowledged, ${refusals} restarts refused (${flipRefusals} on a flipped bit; any other is a violation)`,
  );
  assert.ok(acked > hi - lo);
});

test("the linearizability check bites: a read answered without ReadIndex (stale) is caught", async () => {
  // A planted bug in the workload: reads served from the member's state at once, without
  // ReadIndex. A partitioned old leader answers stale values.
  let found: string | undefined;
  let seed = 0;
  while (found === undefined && seed < 60) {
    seed++;
    const w = kvWorkload();
    const r = await runStackSchedule({ seed, workload: { ...w, unsafeLocalReads: true } });
    if (r.violation !== undefined) found = `${r.violation.invariant}: ${r.violation.detail}`;
  }
  assert.ok(found !== undefined, `no violation in ${seed} schedules`);
  assert.match(found, /^linearizable/);
  console.log(`# stale reads: caught at seed ${seed}: ${found}`);
});

test("a member whose restart is refused after the heal no longer owes liveness (seeds 819, 1294)", async () => {
  // In both, a member crashed after the heal and its restart read a flipped bit and was
  // refused (typed): it stays down. The liveness check once used the members standing at the
  // heal and reported it as "down" (a false alarm; first found at seeds 1224 and 200641, then
  // pinned at 22 and 420, which the WAL's sync at open and then the simulated O_DSYNC write
  // latency moved; with the members taken at the heal planted back, both of these fail
  // "liveness ... 1: down").
  for (const seed of [819, 1294]) {
    const r = await runStackSchedule({ seed, workload: kvWorkload() });
    assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.detail}`);
    assert.ok(r.flipRefusals >= 1, `seed ${seed}: a restart refused on a flipped bit (${r.flipRefusals})`);
    const heal = r.trace.events.filter((e) => e.kind === "heal").reduce((t, e) => Math.max(t, e.t), 0);
    assert.ok(
      r.trace.events.some((e) => e.kind === "refused" && e.t > heal),
      `seed ${seed}: a restart refused after the last heal`,
    );
  }
});

test("a full disk met by a snapshot's WAL record stops the member (seed 2233)", async () => {
  // The leader's snapshot save met ENOSPC writing the snapshot's WAL record; RaftNode used to log
  // it and lead on (heartbeats need no write) with a WAL that refuses every write: the disk-full
  // check caught it still running 100 ms later. A full disk in a snapshot save now stops the node.
  // (Found at seed 1343; since the simulated O_DSYNC write latency, seed 2233 is the one of
  // 1-9000 that fails with RaftNode's isNoSpace check planted out: "disk-full: member 2 (2.5)
  // met ENOSPC at 2022 ms and was still running 100 ms later".)
  const r = await runStackSchedule({ seed: 2233, workload: kvWorkload() });
  assert.equal(r.violation, undefined, `${r.violation?.invariant}: ${r.violation?.detail}`);
  assert.ok(r.enospcs >= 1, `a disk filled up (${r.enospcs})`);
});
