/**
 * Instructions of RaftNode's scheduler seam per call (packages/node/README.md, "Deterministic
 * simulation"): `this.sched.setImmediate(fn)` through `realScheduler` against Node's
 * `setImmediate(fn)` called directly, at call sites shaped like RaftNode's (a method of an object
 * holding the scheduler in a field), the same closure, in batches of 100 whose callbacks run
 * before the next batch. Run under callgrind with a dump at each `process.resourceUsage()`:
 *
 *   valgrind --tool=callgrind --dump-before=getrusage --callgrind-out-file=cg.out \
 *     node --single-threaded --hash-seed=1 --random-seed=1 bench/scripts/scheduler-seam.mjs ROOT 200000 sdsd
 *
 * ROOT is a built checkout; N calls per phase; ORDER the phases (s: through the seam, d: direct):
 * dump k+1 (cg.out.2, cg.out.3, ...) holds phase k. Five warm-up rounds of each run first. The
 * first phase measured carries some warm-up still: alternate the phases and compare the later
 * ones (`callgrind_annotate --inclusive=yes cg.out.N | grep "PROGRAM TOTALS"`, divided by N).
 */
const [root, nArg, orderArg] = process.argv.slice(2);
if (root === undefined) throw new Error("usage: scheduler-seam.mjs ROOT [N] [ORDER]");
const { realScheduler } = await import(`${root}/packages/node/dist/scheduler.js`);
const N = Number(nArg ?? 200000);
const order = orderArg ?? "sdsd";
const BATCH = 100;
class Direct {
  turn(cb) {
    setImmediate(cb);
  }
}
class Seam {
  constructor(s) {
    this.sched = s;
  }
  turn(cb) {
    this.sched.setImmediate(cb);
  }
}
let ran = 0;
const cb = () => {
  ran++;
};
async function phase(o, n) {
  for (let i = 0; i < n; i += BATCH) {
    for (let j = 0; j < BATCH; j++) o.turn(cb);
    await new Promise((r) => setImmediate(r));
  }
}
const d = new Direct();
const s = new Seam(realScheduler);
for (let k = 0; k < 5; k++) {
  await phase(d, 50000);
  await phase(s, 50000);
}
process.resourceUsage(); // marker: callgrind dumps here
for (const c of order) {
  await phase(c === "d" ? d : s, N);
  process.resourceUsage(); // marker
}
console.log(JSON.stringify({ N, order, ran }));
