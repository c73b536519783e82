/**
 * Shrinking: a failing schedule's budgets (faults, requests, virtual duration, clients, drops,
 * duplicates) are lowered while the same check fails, and the shrunk parameters, written as a
 * command line and parsed back, replay the shrunk run exactly (same trace hash).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  DEFAULT_SCHEDULE,
  parseScheduleArgs,
  runStackSchedule,
  scheduleArgs,
  scheduleOptions,
  shrinkSchedule,
  type MemberSettings,
  type ScheduleParams,
} from "../src/index.js";
import { logWorkload } from "./counter-workload.js";

test("schedule parameters round-trip through their command-line form; bad values are refused", () => {
  const p: ScheduleParams = { seed: 18, durationMs: 1110, clients: 2, maxRequests: 40, maxFaults: 3, drop: 0, duplicate: 0.02 };
  const args = scheduleArgs(p);
  assert.deepEqual(args, ["--seed", "18", "--duration", "1110", "--clients", "2", "--max-requests", "40", "--max-faults", "3", "--drop", "0"]);
  assert.deepEqual(parseScheduleArgs(args), p);
  assert.deepEqual(parseScheduleArgs(["--seed", "5"]), { seed: 5, ...DEFAULT_SCHEDULE });
  assert.throws(() => parseScheduleArgs(["--max-faults", "-1"]), /--max-faults/);
  assert.throws(() => parseScheduleArgs(["--clients", "1.5"]), /--clients/);
  assert.throws(() => parseScheduleArgs(["--drop", "2"]), /--drop/);
});

test("property: every schedule's command-line form parses back to it", () => {
  const budget = fc.option(fc.nat(100_000), { nil: undefined });
  const probability = fc.double({ min: 0, max: 1, noNaN: true }).map((x) => Math.abs(x)); // no -0: "0" parses to +0
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.nat(),
        durationMs: fc.nat(100_000),
        clients: fc.nat(20),
        maxRequests: budget,
        maxFaults: budget,
        drop: probability,
        duplicate: probability,
      }),
      (p: ScheduleParams) => {
        assert.deepEqual(parseScheduleArgs(scheduleArgs(p)), p);
      },
    ),
    { seed: 16, numRuns: 500 },
  );
});

test("a failing schedule shrinks (node sendVotesBeforePersist, seed 1): smaller, the same check fails, its replay command reproduces it", async () => {
  const settings: Partial<MemberSettings> = { nodeKnobs: { sendVotesBeforePersist: true } };
  const run = (p: ScheduleParams) => runStackSchedule({ ...scheduleOptions(p), workload: logWorkload(), settings });
  const p0: ScheduleParams = { seed: 1, ...DEFAULT_SCHEDULE };
  const r0 = await run(p0);
  assert.equal(r0.violation?.invariant, "one-vote-per-term", r0.violation?.detail);
  const s = await shrinkSchedule(run, p0, r0, 30);
  console.log(
    `# shrunk in ${s.runs} runs: ${scheduleArgs(s.params).join(" ")} (the failing run: ${r0.faults} faults, ${r0.requests} requests, ${p0.durationMs} ms): ${s.violation.detail}`,
  );
  assert.equal(s.violation.invariant, "one-vote-per-term");
  const q = s.params;
  // Smaller: no budget above the failing run's, and the faults or the duration lower.
  assert.ok(q.durationMs <= p0.durationMs && q.clients <= p0.clients && q.drop <= p0.drop && q.duplicate <= p0.duplicate);
  assert.ok((q.maxFaults ?? Infinity) <= r0.faults && (q.maxRequests ?? Infinity) <= r0.requests);
  assert.ok((q.maxFaults ?? Infinity) < r0.faults || q.durationMs < p0.durationMs, JSON.stringify(q));
  // The replay command's parameters reproduce the shrunk run, event for event.
  const again = await run(parseScheduleArgs(scheduleArgs(q)));
  assert.equal(again.hash, s.hash);
  assert.deepEqual(again.violation, s.violation);
  assert.ok(again.faults <= r0.faults && again.events < r0.events, `${again.events} events against ${r0.events}`);
});
