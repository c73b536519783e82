/**
 * `pnpm soak:stack`: runs many whole-stack schedules (`@tsraft/stack-sim`) of the KV example's
 * state machine, one seed after another, and prints the rate. On a failure it stops, prints the
 * violation and the command that replays that seed, and writes the run's HTML timeline.
 *
 *   pnpm soak:stack --count 1000            seeds 1..1000
 *   pnpm soak:stack --seed 4711 --count 1   replays seed 4711 (and writes its timeline)
 *   pnpm soak:stack --minutes 10            as many as fit in 10 minutes
 *   options: --out DIR (timelines; default ./stack-soak), --timeline (write it even when clean),
 *   --dup-proposals (the network may duplicate forwarded proposals too: see NetworkFaults)
 *
 * Not shrunk: the replay is the whole seed (the run is deterministic; a seed's run is a few
 * seconds of virtual time).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { runStackSchedule, renderTimeline } from "@tsraft/stack-sim";
import { kvWorkload } from "../test/stack/kv-workload.js";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const first = Number(flag("seed") ?? 1);
const count = Number(flag("count") ?? (flag("minutes") === undefined ? 100 : Number.MAX_SAFE_INTEGER));
const untilMs = flag("minutes") === undefined ? Infinity : Date.now() + Number(flag("minutes")) * 60_000;
const outDir = resolve(flag("out") ?? "stack-soak");
const alwaysTimeline = process.argv.includes("--timeline");
const dupProposals = process.argv.includes("--dup-proposals");
if (!Number.isSafeInteger(first) || !(count > 0)) {
  console.error("soak:stack: --seed and --count must be positive integers");
  process.exit(2);
}

const t0 = performance.now();
let done = 0;
let refusals = 0;
let crashes = 0;
let acked = 0;
let requests = 0;
let failed = false;
for (let seed = first; done < count && Date.now() < untilMs; seed++) {
  const replay = `pnpm soak:stack --seed ${seed} --count 1${dupProposals ? " --dup-proposals" : ""}`;
  const r = await runStackSchedule({ seed, workload: kvWorkload(), replay, network: { duplicateProposals: dupProposals } });
  done++;
  refusals += r.refusals;
  crashes += r.crashes;
  acked += r.acked;
  requests += r.requests;
  if (r.violation !== undefined || alwaysTimeline) {
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `stack-seed-${seed}.html`);
    writeFileSync(
      file,
      renderTimeline(r.trace.events, { title: `whole-stack schedule, seed ${seed} (hash ${r.hash})`, nodes: 3, violation: r.violation, replay }),
    );
    console.log(`timeline: ${file}`);
  }
  if (r.violation !== undefined) {
    console.log(`FAILED seed ${seed}: ${r.violation.invariant}: ${r.violation.detail} (at ${r.violation.t} virtual ms)\nreplay: ${replay}`);
    failed = true;
    break;
  }
  if (done % 100 === 0) {
    const s = (performance.now() - t0) / 1000;
    console.log(`${done} schedules in ${s.toFixed(1)} s: ${(done / s).toFixed(1)} schedules/s`);
  }
}
const s = (performance.now() - t0) / 1000;
console.log(
  `${failed ? "stopped after" : "clean:"} ${done} schedules (seeds ${first}-${first + done - 1}) in ${s.toFixed(1)} s: ${(done / s).toFixed(1)} schedules/s on one core; ` +
    `${crashes} crashes, ${requests} requests, ${acked} writes acknowledged, ${refusals} restarts refused (wal README, known issue; not a safety violation)`,
);
process.exit(failed ? 1 : 0);
