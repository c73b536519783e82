// The simulator hunting for bugs in tsraft: random fault schedules (fast-check shrinks a
// failing one; the failure prints a one-line `pnpm soak --replay ...` command) on 3- and
// 5-node clusters, every invariant checked after every event, liveness checked after healing.
//
// Budget: SIM_RUNS schedules per cluster size (default 1000, so 2000 in all) of up to 300
// steps. SIM_SEED fixes fast-check's seed (default: random, printed on failure).
import { describe, test } from "node:test";
import fc from "fast-check";
import { MemoryStorage } from "@tsraft/storage-memory";
import { decodeSchedule, runSchedule, scheduleArbitrary, type SimOptions } from "@tsraft/raft/testing";

const RUNS = Number(process.env.SIM_RUNS ?? 1000);
const SEED = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
const options: SimOptions = { makeStorage: () => new MemoryStorage(), replayCommand: (code) => `pnpm soak --replay ${code}` };

/**
 * Schedules that once failed, pinned. A schedule replays the same run only as long as the
 * simulator draws its random numbers the same way, so these guard the fixes for a while; the
 * random schedules guard them for good.
 */
const pinned = [
  {
    name: "a snapshot arriving while committed entries are still being applied is ignored (raft fix)",
    code: "1_23_3_1_145_4_0_256_5_1_0-0.N.0.1.0.0-0.D.0.1-0.T.3.5-7.S.1.0-338.K.33-573.K.15-607.M.5.0.4",
  },
  {
    name: "a removed leader that commits and hands over in one event (checker fix)",
    code: "1_4091015135_3_0_94_0_1048576_256_5_1_44-54.C.0.32-437.C.5.2-820.N.0.1.0.1-990.M.3.4.0",
  },
  {
    name: "a stale leader lacking an entry committed in a later term (checker fix)",
    code: "1_0_5_0_106_1_1048576_1_5_1_7-0.I.2-10.T.4.5-189.D.1.2-208.I.3-397.X.0.8-453.H-453.K.0-482.C.0.15-642.I.1",
  },
];

describe("pinned schedules", () => {
  for (const p of pinned) test(p.name, () => void runSchedule(decodeSchedule(p.code), options));
});

describe("simulated clusters keep every invariant", () => {
  for (const voters of [3, 5]) {
    test(`${RUNS} schedules of up to 300 steps, ${voters} voters (plus up to 2 spare nodes)`, () => {
      fc.assert(
        fc.property(scheduleArbitrary(fc, { voters: [voters], maxSteps: 300 }), (s) => {
          runSchedule(s, options);
        }),
        { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
      );
    });
  }
});
