// pnpm soak:mixed: runs mixed tsraft/etcd cluster schedules (packages/raft-test/test/mixed)
// from a first seed on, until the count or the first invariant violation, which it prints
// with the command that replays it.
//
//   pnpm soak:mixed [--count N] [--first S] [--steps K]   schedules S .. S+N-1 (default 1000 from 1, 200 steps)
//   pnpm soak:mixed --seed S [--steps K]                  replays schedule S alone
//
// Progress every 10 s on stderr; the figures (for CONFORMANCE.md) go to stdout.
import { loadEtcdRaft } from "../test/mixed/etcd-wasm.js";
import { describeFigures, runSeeds } from "../test/mixed/run.js";

function usage(msg: string): never {
  console.error(`soak:mixed: ${msg}`);
  console.error("usage: pnpm soak:mixed [--count N] [--first S] [--steps K]\n       pnpm soak:mixed --seed S [--steps K]");
  process.exit(2);
}

let count = 1000;
let first = 1;
let steps = 200;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const v = Number(argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) usage(`bad value for ${argv[i]}: ${argv[i + 1]}`);
  if (argv[i] === "--count") count = v;
  else if (argv[i] === "--first") first = v;
  else if (argv[i] === "--steps") steps = v;
  else if (argv[i] === "--seed") {
    first = v;
    count = 1;
  } else usage(`unknown option ${argv[i]}`);
}

const etcd = await loadEtcdRaft();
if ("skip" in etcd) {
  console.error(`soak:mixed: cannot run: ${etcd.skip}`);
  process.exit(1);
}
let last = performance.now();
try {
  const seeds = Array.from({ length: count }, (_, k) => first + k);
  const f = runSeeds(etcd.api, seeds, steps, (done, fig) => {
    if (performance.now() - last > 10_000) {
      last = performance.now();
      console.error(
        `soak:mixed: ${done}/${count} schedules, ${(fig.elapsedMs / 1000).toFixed(0)} s, ${fig.stats.crossDelivered} cross-implementation messages`,
      );
    }
  });
  console.log(`soak:mixed: seeds ${first}..${first + count - 1}, clean\n${describeFigures(f)}`);
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
