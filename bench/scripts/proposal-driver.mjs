/**
 * A fixed RaftNode workload for instruction counts (see overhead-callgrind.sh): the driver-3node
 * cluster (3 RaftNodes over MemoryStorage in this process, messages handed over on a microtask,
 * one closed-loop proposer of empty payloads on the leader), run for N proposals. Ticks are
 * 60 s apart, so none fall in the run (under valgrind wall time is 50x longer, and tick counts
 * would differ between runs). WARM proposals run first (JIT tiers settle), then N proposals between
 * two `process.resourceUsage()` calls: under `valgrind --tool=callgrind --dump-before=getrusage`
 * the instructions of exactly those N proposals are the second dump.
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
    tickMs: 60_000,
    requestTimeoutMs: 600_000,
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
while ([...nodes.values()].some((x) => x.leader() !== 1n)) {
  if (leader.leader() !== 1n) leader.campaign();
  await new Promise((r) => setTimeout(r, 5));
}
await leader.propose(EMPTY);
for (let i = 0; i < warm; i++) await leader.propose(EMPTY);
const before = process.resourceUsage(); // marker: callgrind dumps here
for (let i = 0; i < n; i++) await leader.propose(EMPTY);
const after = process.resourceUsage(); // marker
console.log(JSON.stringify({ proposals: n, cpuUsPerProposal: (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / n }));
for (const node of nodes.values()) await node.stop();
for (const b of bindings) b.close();
