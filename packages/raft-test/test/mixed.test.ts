/**
 * Mixed clusters: tsraft RawNodes and etcd 3.4 RawNodes (etcd's own Go code, compiled to
 * WebAssembly) in one simulated cluster, every message crossing as bytes through the sender's
 * codec and the receiver's (see test/mixed/). Pinned seeds, so the verdict is the same on
 * every run; `pnpm soak:mixed --count N` runs more. Skipped, saying why, without Go or
 * etcd's sources (Debian golang-go and golang-etcd-server-dev; .ci/run installs them).
 */
import { strict as assert } from "node:assert";
import { decodeMessage, encodeMessage, MessageType } from "@tsraft/raftpb";
import type { Message } from "@tsraft/raftpb";
import { after, test } from "node:test";
import { InvariantViolation } from "../../raft/src/testing/invariants.js";
import { loadEtcdRaft } from "./mixed/etcd-wasm.js";
import type { EtcdRaftApi } from "./mixed/etcd-wasm.js";
import { addStats } from "./mixed/cluster.js";
import { plantTsraftFaults } from "./mixed/drivers.js";
import { describeFigures, runSeeds } from "./mixed/run.js";
import { LAYOUTS, runMixedSchedule, settingsFor } from "./mixed/schedule.js";

/** Schedules per layout in `pnpm test`, and steps per schedule. */
const PER_LAYOUT = 50;
const STEPS = 200;
/** A planted bug must be caught within this many schedules. */
const CATCH_BOUND = 200;

const etcd = await loadEtcdRaft();

function emptyMessage(): Message {
  return decodeMessage(new Uint8Array(0));
}

/** Runs schedules from seed 1 with `plant` on until one breaks an invariant; returns the count and the violation. */
function schedulesToCatch(api: EtcdRaftApi, plant: (on: boolean) => void): { n: number; v: InvariantViolation | undefined } {
  plant(true);
  try {
    for (let seed = 1; seed <= CATCH_BOUND; seed++) {
      try {
        runMixedSchedule(api, seed, settingsFor(seed, STEPS));
      } catch (e) {
        if (e instanceof InvariantViolation) return { n: seed, v: e };
        throw e;
      }
    }
    return { n: CATCH_BOUND, v: undefined };
  } finally {
    plant(false);
  }
}

if ("skip" in etcd) {
  console.log(`mixed tsraft/etcd clusters: SKIPPED (${etcd.skip})`);
  test(`mixed tsraft/etcd clusters (skipped: ${etcd.skip})`, { skip: etcd.skip }, () => {});
} else {
  const api = etcd.api;
  console.log(`mixed tsraft/etcd clusters: etcd raft from ${etcd.wasm}${etcd.built ? " (built now)" : " (cached)"}`);
  after(() => plantTsraftFaults({}));

  LAYOUTS.forEach((layout, i) => {
    test(`mixed cluster ${layout.name}: ${PER_LAYOUT} schedules`, () => {
      // Seeds 6k+i pick this layout (settingsFor takes LAYOUTS[seed % 6]).
      const seeds = Array.from({ length: PER_LAYOUT }, (_, k) => 6 * (k + 1) + i);
      const f = runSeeds(api, seeds, STEPS);
      console.log(`${layout.name}\n${describeFigures(f)}`);
      assert.equal(f.stats.schedules, PER_LAYOUT);
      assert.ok(f.stats.crossDelivered > 0, "messages crossed between implementations");
    });
  });

  test("a mixed schedule replays the same from its seed (etcd's election timeouts seeded too)", () => {
    // Seed 8 after seed 7 in one run, and alone: the same figures (nothing carries over).
    const both = runSeeds(api, [7, 8], STEPS).stats;
    const sum = runSeeds(api, [8], STEPS).stats;
    addStats(sum, runSeeds(api, [7], STEPS).stats);
    assert.deepEqual(sum, both);
  });

  test("the codec check can fail: etcd re-encodes a non-canonical message differently", () => {
    const m = encodeMessage({ ...emptyMessage(), type: MessageType.MsgHeartbeat, to: 2n, from: 1n, term: 3, commit: 4 });
    assert.deepEqual(api.remarshalMessage(m), m);
    // The same message with its term given twice (protobuf keeps the last one): valid, not canonical.
    const twice = new Uint8Array([...m, 0x20, 0x03]);
    const back = api.remarshalMessage(twice) as Uint8Array;
    assert.deepEqual(decodeMessage(back), decodeMessage(twice));
    assert.notDeepEqual(back, twice);
  });

  const planted: { name: string; side: string; plant: (on: boolean) => void }[] = [
    { name: "tsraft grants votes without the log check", side: "tsraft", plant: (on) => plantTsraftFaults(on ? { grantVotesWithoutLogCheck: true } : {}) },
    { name: "tsraft loses its vote on restart", side: "tsraft", plant: (on) => plantTsraftFaults(on ? { forgetVote: true } : {}) },
    {
      name: "etcd grants votes without the log check (wrapper raises the candidate's log position)",
      side: "etcd",
      plant: (on) => api.setFault("grantVotesWithoutLogCheck", on),
    },
    { name: "etcd loses its vote (storage drops HardState.vote)", side: "etcd", plant: (on) => api.setFault("forgetVote", on) },
    { name: "etcd follower trusts a commit index past what it matched", side: "etcd", plant: (on) => api.setFault("trustCommit", on) },
  ];
  for (const p of planted) {
    test(`planted bug caught: ${p.name}`, () => {
      const { n, v } = schedulesToCatch(api, p.plant);
      assert.ok(v !== undefined, `not caught in ${CATCH_BOUND} schedules`);
      assert.notEqual(v.invariant, "liveness", "caught by a safety invariant");
      // The same schedule without the bug is clean: the bug is what broke it.
      runMixedSchedule(api, n, settingsFor(n, STEPS));
      console.log(`planted (${p.side}) "${p.name}": caught by schedule ${n} as ${v.invariant}: ${v.detail}`);
    });
  }
}
