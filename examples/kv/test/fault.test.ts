/**
 * The fault-injection test: 3 KV processes, concurrent clients doing reads, writes,
 * compare-and-set and deletes on a few keys, while a nemesis SIGKILLs and restarts members,
 * SIGSTOPs/SIGCONTs them and partitions them. The history must be linearizable, no
 * acknowledged write may be lost, and the members must converge. The raft port runs mutual
 * TLS (a throwaway CA and member certificates, made by LocalCluster).
 *
 * Duration: KV_FAULT_SECONDS (default 50 s of workload, about 65 s in all). For longer runs:
 * `pnpm soak:kv --seconds N`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runFaultTest, summarize } from "../src/fault.js";

const seconds = Number(process.env["KV_FAULT_SECONDS"] ?? 50);

test(`fault injection: ${seconds} s of kills, pauses and partitions; linearizable, no acknowledged write lost`, {
  timeout: (seconds + 150) * 1000,
}, async () => {
  const r = await runFaultTest({ seconds, log: (l) => console.log(l) });
  console.log(summarize(r));
  assert.ok(r.faults.length >= Math.min(5, Math.floor(seconds / 6)), `the nemesis injected faults (${r.faults.length})`);
  assert.deepEqual(r.failures, []);
  assert.equal(r.checker.verdict, "ok");
  assert.equal(r.durability.lost.length, 0);
  assert.ok(r.durability.acked > 20, `acknowledged unique-key writes: ${r.durability.acked}`);
  assert.ok(r.converged, r.convergence);
  assert.deepEqual(r.peerAuth, ["tls"], "every member ran mutual TLS on the raft port");
  assert.ok(r.pass);
});
