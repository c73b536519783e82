// Runs the example of TESTING.md ("Testing your own service"): the code between the two
// markers below is the code block shown there, verbatim (the last test checks it), so the
// documentation cannot drift from code that works.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// --- example ---
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Entry } from "@tsraft/raftpb";
import { MemoryStorage } from "@tsraft/storage-memory";
import { Simulator, basicSchedule, runSchedule, scheduleArbitrary, type SimOptions, type StateMachine } from "@tsraft/raft/testing";

const enc = new TextEncoder();
const dec = new TextDecoder();

// The service under test: a key-value store whose commands are "key=value".
class KvStore implements StateMachine {
  readonly data = new Map<string, string>();

  apply(entry: Entry): void {
    const [key, value] = dec.decode(entry.data).split("=");
    this.data.set(key!, value!);
  }

  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify([...this.data].sort()));
  }

  restore(snapshot: Uint8Array): void {
    this.data.clear();
    const pairs = JSON.parse(dec.decode(snapshot) || "[]") as [string, string][];
    for (const [key, value] of pairs) this.data.set(key, value);
  }
}

const KEYS = ["a", "b", "c", "d"];

const options: SimOptions<KvStore> = {
  makeStorage: () => new MemoryStorage(),
  makeStateMachine: () => new KvStore(),
  // The client's commands: writes of the proposal's number to one of four keys.
  makeProposal: (seq, random) => enc.encode(`${KEYS[Math.floor(random() * KEYS.length)]}=${seq}`),
  // Stores that applied the same index must hold the same data.
  checkStateMachines: true,
  // A rule of the service itself, checked after every step.
  invariants: [
    {
      name: "only-client-keys",
      check: (sim) => {
        for (const n of sim.nodes) {
          for (const key of n.stateMachine.data.keys()) {
            if (!KEYS.includes(key) && key !== "color") return `node ${n.id} holds key ${key}`;
          }
        }
        return undefined;
      },
    },
  ],
  replayCommand: (code) => `replay with decodeSchedule("${code}")`,
};

test("the store keeps every invariant under random faults", () => {
  fc.assert(
    fc.property(scheduleArbitrary(fc, { voters: [3, 5], maxSteps: 200 }), (schedule) => {
      runSchedule(schedule, options);
    }),
    { numRuns: 100, seed: 1 }, // the same 100 schedules every run: change the seed to explore
  );
});

test("a write reaches every node, even one that crashed meanwhile", () => {
  const sim = new Simulator(basicSchedule(3), options);
  assert.ok(sim.runUntil((s) => s.leader() !== undefined, 100));
  assert.ok(sim.propose(sim.leader()!.id, enc.encode("color=blue")));
  sim.crash(3n, 20); // down for 20 steps, then restarts from what it persisted
  sim.runSteps(60);
  for (const n of sim.nodes) assert.equal(n.stateMachine.data.get("color"), "blue");
});
// --- end of example ---

test("TESTING.md shows exactly the example this file runs", () => {
  const self = readFileSync(fileURLToPath(import.meta.url), "utf8");
  const code = self.slice(self.indexOf("// --- example ---\n") + 19, self.indexOf("// --- end of example ---"));
  const doc = readFileSync(fileURLToPath(new URL("../../raft/TESTING.md", import.meta.url)), "utf8");
  const start = doc.indexOf("```ts\n", doc.indexOf("## Testing your own service")) + 6;
  const block = doc.slice(start, doc.indexOf("```\n", start));
  assert.equal(block, code);
});
