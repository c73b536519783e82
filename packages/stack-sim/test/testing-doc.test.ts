// Runs the example of TESTING.md ("Your own state machine"): the code between the two markers
// below is the code block shown there, verbatim (the last test checks it).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// --- example ---
import { test } from "node:test";
import assert from "node:assert/strict";
import { runStackSchedule, type StackStateMachine, type StackWorkload } from "@tsraft/stack-sim";

const enc = new TextEncoder();
const dec = new TextDecoder();

// The service under test: two accounts; a command "id:from>to:amount" moves money if the
// payer has it, and returns whether it did. (The id makes every command unique.)
class Bank implements StackStateMachine<boolean> {
  balances = new Map([
    ["alice", 100],
    ["bob", 100],
  ]);

  apply(_index: number, data: Uint8Array): boolean {
    const [, from, to, amount] = /^\d+:(\w+)>(\w+):(\d+)$/.exec(dec.decode(data)) ?? [];
    if (from === undefined || to === undefined) throw new Error(`bank: bad command`); // refused, alike on every member
    const n = Number(amount);
    if (this.balances.get(from)! < n) return false;
    this.balances.set(from, this.balances.get(from)! - n);
    this.balances.set(to, this.balances.get(to)! + n);
    return true;
  }
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify([...this.balances]));
  }
  restore(data: Uint8Array): void {
    if (data.length > 0) this.balances = new Map(JSON.parse(dec.decode(data)) as [string, number][]);
  }
  // Members that applied the same index must report the same fingerprint.
  fingerprint(): string {
    return JSON.stringify([...this.balances]);
  }
}

type Input = { op: "transfer" } | { op: "total" };

let next = 0;
const bank: StackWorkload<Bank, Input, boolean | number> = {
  createStateMachine: () => new Bank(),
  nextRequest: (r) => {
    if (r.chance(0.3)) return { input: { op: "total" } }; // a read: ReadIndex, then the member's state
    const [from, to] = r.chance(0.5) ? ["alice", "bob"] : ["bob", "alice"];
    return { input: { op: "transfer" }, write: enc.encode(`${++next}:${from}>${to}:${r.range(1, 60)}`) };
  },
  read: (sm) => [...sm.balances.values()].reduce((a, b) => a + b, 0),
  finalWrite: () => enc.encode(`${++next}:alice>bob:0`),
  // A rule of the service, over the client history: money is never made or lost.
  checkHistory: (history) => {
    const bad = history.find((op) => op.input.op === "total" && op.output !== undefined && op.output !== 200);
    return bad === undefined ? undefined : `a read saw a total of ${bad.output}`;
  },
};

test("the bank over the whole stack: crashes, partitions, lossy network", async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = await runStackSchedule({ seed, workload: bank });
    assert.equal(r.violation, undefined, `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.detail}`);
  }
});
// --- end of example ---

test("TESTING.md shows exactly the example this file runs", () => {
  const self = readFileSync(fileURLToPath(import.meta.url), "utf8");
  const code = self.slice(self.indexOf("// --- example ---\n") + 19, self.indexOf("// --- end of example ---"));
  const doc = readFileSync(fileURLToPath(new URL("../../../TESTING.md", import.meta.url)), "utf8");
  const start = doc.indexOf("```ts\n", doc.indexOf("## Your own state machine")) + 6;
  const block = doc.slice(start, doc.indexOf("```\n", start));
  assert.equal(block, code);
});
