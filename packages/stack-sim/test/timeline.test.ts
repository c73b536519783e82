/** The HTML timeline of a run: self-contained, one lane per node, the marks of what happened. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderTimeline, runStackSchedule } from "../src/index.js";
import { logWorkload } from "./counter-workload.js";

test("the timeline of a run with a violation shows lanes, messages, crashes, fsyncs, leaders and the violation; nothing is fetched", async () => {
  const r = await runStackSchedule({ seed: 1, workload: logWorkload(), settings: { nodeKnobs: { sendVotesBeforePersist: true } } });
  assert.ok(r.violation !== undefined, "seed 1 catches the planted bug (fault-switches.test.ts)");
  const html = renderTimeline(r.trace.events, { title: "t", nodes: 3, violation: r.violation, replay: "replay-cmd" });
  for (const n of [1, 2, 3]) assert.ok(html.includes(`>node ${n}</text>`));
  assert.ok(html.includes('class="msg app"') && html.includes('class="msg vote"'), "message arrows");
  assert.ok(html.includes('class="crash"') && html.includes('class="fsync"') && html.includes('class="restart"'), "crashes, fsyncs, restarts");
  assert.ok(html.includes("★"), "leader changes");
  assert.ok(html.includes('class="violation"') && html.includes(r.violation.invariant) && html.includes("replay-cmd"));
  assert.equal(/(src|href)=["']?https?:/.test(html), false, "no external resource");
  assert.equal(/<script/.test(html), false);
});
