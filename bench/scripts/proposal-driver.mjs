/**
 * A fixed RaftNode workload for instruction counts (see overhead-callgrind.mjs): the driver-3node
 * cluster (3 RaftNodes over MemoryStorage in this process, messages handed over on a microtask,
 * one closed-loop proposer of empty payloads on the leader), run for N proposals. Ticks are
 * 23 days apart (Node's longest interval), so none fall in the run: under valgrind on a loaded
 * machine a run takes minutes, and ticks (heartbeats) at load-dependent points made counts differ. 2 x WARM proposals run first (JIT tiers settle), then N proposals between
 * two `process.resourceUsage()` calls: under `valgrind --tool=callgrind --dump-before=getrusage`
 * the instructions of exactly those N proposals are the second dump. Nothing depends on the clock
 * (the election is polled with setImmediate), and with --expose-gc a full GC runs between two
 * warm-ups of WARM proposals each, so that under `node --predictable` runs enter the window in
 * the same state and V8's optimizing compiler has (nearly) nothing left to do in it.
 * Usage: node proposal-driver.mjs ROOT WARM N [metrics], where ROOT is a built checkout (its
 * packages' dist are imported, as `pnpm bench` does).
 */
const [root, warmArg, nArg, metricsArg] = process.argv.slice(2);
if (root === undefined || warmArg === undefined || nArg === undefined) throw new Error("usage: proposal-driver.mjs ROOT WARM N [metrics]");
const warm = Number(warmArg);
const n = Number(nArg);
const { RaftNode } = await import(`${root}/packages/node/dist/index.js`);
const { MemoryStorage } = await import(`${root}/packages/storage-memory/dist/index.js`);
const bind = metricsArg === "metrics" ? (await import(`${root}/packages/prometheus/dist/index.js`)).bindMetrics : undefined;

const EMPTY = new Uint8Array(0);
const nodes = new Map();
const queues = new Map();
const bindings = [];
const send = (msgs) => {
  for (const m of msgs) {
    let q = queues.get(m.to);
    if (q === undefined) {
      q = [];
      queues.set(m.to, q);
      const to = m.to;
      queueMicrotask(() => {
        const batch = queues.get(to);
        queues.delete(to);
        const node = nodes.get(to);
        if (node !== undefined) for (const x of batch) node.step(x);
      });
    }
    q.push(m);
  }
};
const ids = [1n, 2n, 3n];
for (const id of ids) {
  const storage = new MemoryStorage();
  let applied = 0;
  const node = new RaftNode({
    raft: { id, electionTick: 10, heartbeatTick: 1, storage, maxSizePerMsg: 1024 * 1024, maxInflightMsgs: 256 },
    tickMs: 2_000_000_000,
    requestTimeoutMs: 2_000_000_000,
    strictReconfig: false,
    persist: async (p) => {
      if (p.snapshot !== undefined) storage.applySnapshot(p.snapshot);
      if (p.entries.length > 0) storage.append(p.entries);
      if (p.hardState !== undefined) storage.setHardState(p.hardState);
    },
    send,
    apply: () => ++applied,
    restore: () => {},
  });
  nodes.set(id, node);
  if (bind !== undefined) bindings.push(bind({ node: { node, id } }));
}
for (const node of nodes.values()) await node.start({ bootstrap: ids.map((id) => ({ id })) });
const leader = nodes.get(1n);
// Campaign until elected (raft refuses while the bootstrap conf changes are not applied yet).
// Polled with setImmediate, not a timer, so that the number of turns does not depend on time.
for (let turns = 0; [...nodes.values()].some((x) => x.leader() !== 1n); turns++) {
  if (turns > 100_000) throw new Error("no leader");
  if (leader.leader() !== 1n && turns % 16 === 0) leader.campaign();
  await new Promise((r) => setImmediate(r));
}
// One function runs every phase, so that the window compiles nothing new (a loop of its own
// in the module body was compiled on-stack in the window, 75 ms of the optimizing compiler).
const run = async (k) => {
  for (let i = 0; i < k; i++) await leader.propose(EMPTY);
};
await run(warm);
// A full GC, then more warm-up: a GC just before the window changed allocation-site feedback
// and sent 23 optimized functions back to the compiler inside the window (--trace-opt).
globalThis.gc?.();
await run(warm);
const before = process.resourceUsage(); // marker: callgrind dumps here
await run(n);
const after = process.resourceUsage(); // marker
console.log(JSON.stringify({ proposals: n, cpuUsPerProposal: (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / n }));
for (const node of nodes.values()) await node.stop();
for (const b of bindings) b.close();
