/**
 * The event-loop monitor: a loop held by this process's own code shows as a stall whose run
 * time (from the main thread's schedstat, re-read by every probe) covers the hold.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { LoopMonitor, STALL_MS } from "../src/loop-monitor.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("a loop held by our own code: a stall with the run time of the hold", async () => {
  const m = new LoopMonitor();
  m.start();
  try {
    await sleep(60);
    const end = performance.now() + 3 * STALL_MS;
    while (performance.now() < end) {
      // the code holds the loop
    }
    await sleep(60);
    const r = m.report();
    assert.ok(r.maxLagMs >= 2 * STALL_MS, `lateness ${r.maxLagMs} ms`);
    assert.ok(r.stalls.length >= 1);
    if (!existsSync("/proc/thread-self/schedstat")) {
      assert.equal(r.maxRunMs, -1);
      return;
    }
    // On a busy machine the thread also waits for a CPU during the hold: run + wait cover it.
    assert.ok(r.maxRunMs > 0, `max run ${r.maxRunMs} ms in one probe interval`);
    const s = r.stalls.at(-1)!;
    assert.ok(s.runMs !== undefined && s.waitMs !== undefined, JSON.stringify(s));
    assert.ok(s.runMs > 0 && s.runMs + s.waitMs >= STALL_MS, `the stall's run and wait do not cover the hold: ${JSON.stringify(s)}`);
  } finally {
    m.stop();
  }
});

test("stop closes the monitor; it can start again", async () => {
  const m = new LoopMonitor();
  m.start();
  await sleep(30);
  m.stop();
  m.start();
  await sleep(30);
  m.stop();
  assert.ok(m.report().maxRunMs >= -1);
});
