/**
 * The whole-stack simulator is deterministic: a seed fixes the run event for event (RaftNode's
 * timers, turns and proposal tags come from the simulated scheduler; the disks, the network and
 * the fault schedule from the seed).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runStackSchedule } from "../src/index.js";
import { logWorkload } from "./counter-workload.js";

test("a seed replays event for event: same trace, same hash; another seed differs", async () => {
  const a = await runStackSchedule({ seed: 7, workload: logWorkload() });
  const b = await runStackSchedule({ seed: 7, workload: logWorkload() });
  const c = await runStackSchedule({ seed: 8, workload: logWorkload() });
  assert.equal(a.violation, undefined, a.violation?.detail);
  assert.ok(a.events > 1000 && a.crashes > 0 && a.acked > 0, `a real run: ${a.events} events, ${a.crashes} crashes, ${a.acked} acknowledged`);
  assert.equal(a.trace.events.length, b.trace.events.length);
  assert.deepEqual(a.trace.events, b.trace.events);
  assert.equal(a.hash, b.hash);
  assert.equal(a.events, b.events);
  assert.notEqual(a.hash, c.hash);
});
