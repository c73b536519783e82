/**
 * The checks bite: each fault switch (a planted bug in RaftNode or the WAL) is caught by the
 * whole-stack schedules within a bounded number of seeds, and the same seeds are clean without
 * it (schedules.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runStackSchedule, type MemberSettings } from "../src/index.js";
import { logWorkload } from "./counter-workload.js";
import { FLIPS_IN_SEALED_SEGMENTS } from "./flip-settings.js";

const cases: { name: string; settings: Partial<MemberSettings>; budget: number; expect?: RegExp }[] = [
  // A follower's MsgAppResp and a granted vote sent before the write that they promise is durable.
  { name: "node sendResponsesBeforePersist", settings: { nodeKnobs: { sendResponsesBeforePersist: true } }, budget: 40 },
  // A granted vote sent before the HardState that records it is synced.
  { name: "node sendVotesBeforePersist", settings: { nodeKnobs: { sendVotesBeforePersist: true } }, budget: 40 },
  // Requests that never time out: a proposal whose MsgProp was dropped never settles.
  { name: "node neverTimeOut", settings: { nodeKnobs: { neverTimeOut: true } }, budget: 40, expect: /^promises-settle/ },
  // The WAL acknowledging a save before fdatasync.
  { name: "wal ackBeforeSync", settings: { walFaults: { ackBeforeSync: true } }, budget: 30 },
  // The same with the WAL's inline write path.
  { name: "wal ackBeforeSync (inlineWrites)", settings: { walFaults: { ackBeforeSync: true }, inlineWrites: true }, budget: 30 },
  // The WAL taking a write that failed with ENOSPC for done (the node goes on, the batch never written).
  { name: "wal swallowNoSpace", settings: { walFaults: { swallowNoSpace: true } }, budget: 20, expect: /^disk-full/ },
  // The reader not checking the CRCs of sealed segments, with a bit flipped on reading one at
  // every restart (1 KiB segments and no snapshots, so that sealed segments hold the log).
  { name: "wal skipSealedCrc", settings: { walFaults: { skipSealedCrc: true }, ...FLIPS_IN_SEALED_SEGMENTS }, budget: 15, expect: /^integrity/ },
];

for (const c of cases) {
  test(`${c.name}: caught within ${c.budget} schedules`, async () => {
    // The first schedule whose violation is the expected check's (any check's without `expect`):
    // an earlier schedule may be caught by another check first (a flipped index breaks agreement
    // before any data looks unproposed), which shows the switch caught but not that check biting.
    let found: string | undefined;
    const others: string[] = [];
    let seed = 0;
    while (found === undefined && seed < c.budget) {
      seed++;
      const r = await runStackSchedule({ seed, workload: logWorkload(), settings: c.settings });
      if (r.violation === undefined) continue;
      const v = `${r.violation.invariant}: ${r.violation.detail}`;
      if (c.expect === undefined || c.expect.test(v)) found = v;
      else others.push(`seed ${seed}: ${v}`);
    }
    assert.ok(found !== undefined, `no ${c.expect ?? "violation"} in ${seed} schedules (others: ${others.join("; ") || "none"})`);
    console.log(`# ${c.name}: caught at seed ${seed}: ${found}${others.length > 0 ? ` (before it, other checks: ${others.join("; ")})` : ""}`);
  });
}
