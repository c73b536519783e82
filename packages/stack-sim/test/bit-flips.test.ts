/**
 * Bits flipped on reading a sealed WAL segment or a snapshot file at a restart are refused by
 * `DiskStorage.open` with a typed error (the member stays down, counted as a refusal), never
 * applied. The planted bug that takes them (`skipSealedCrc`) is caught by the `integrity`
 * check in fault-switches.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runStackSchedule, type MemberSettings } from "../src/index.js";
import { logWorkload } from "./counter-workload.js";
import { FLIPS_IN_SEALED_SEGMENTS } from "./flip-settings.js";

const cases: { name: string; settings: Partial<MemberSettings> }[] = [
  { name: "in sealed segments", settings: FLIPS_IN_SEALED_SEGMENTS },
  { name: "in snapshot files (and sealed segments when there are some)", settings: { flipOnRestart: 1 } },
];

for (const c of cases) {
  test(`bits flipped at restarts ${c.name}: refused, never applied`, async () => {
    let flips = 0;
    let refused = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = await runStackSchedule({ seed, workload: logWorkload(), settings: c.settings });
      assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.detail}`);
      flips += r.flips;
      refused += r.flipRefusals;
    }
    console.log(`# ${c.name}: ${flips} restarts read a flipped bit, ${refused} members refused to start on one`);
    assert.ok(flips > 0 && refused > 0, "flips were read and refused");
  });
}
