/**
 * `pnpm soak:stack`: runs many whole-stack schedules (`@tsraft/stack-sim`) of the KV example's
 * state machine, one seed after another, and prints the rate. On a failure it stops, prints the
 * violation and the command that replays that seed, shrinks the schedule (lowers its budgets:
 * faults, requests, virtual duration, clients, the network's drops and duplicates, while the
 * same check still fails), prints the shrunk schedule's replay command, and writes the HTML
 * timelines of the failing run and of the shrunk one.
 *
 *   pnpm soak:stack --count 1000            seeds 1..1000
 *   pnpm soak:stack --seed 4711 --count 1   replays seed 4711 (and writes its timeline)
 *   pnpm soak:stack --minutes 10            as many as fit in 10 minutes
 *   options: --out DIR (timelines; default ./stack-soak), --timeline (write it even when clean),
 *   --dup-proposals (the network may duplicate forwarded proposals too: see NetworkFaults),
 *   --inline-writes (the members' WALs write and sync on the process's thread: `inlineWrites`),
 *   --large-write-bytes N (the WALs' `largeWriteBytes`: batches from N bytes written in chunks),
 *   --no-shrink, --shrink-runs N (default 100);
 *   the schedule's budgets (`scheduleArgs` of @tsraft/stack-sim: what a shrunk replay command
 *   carries): --duration MS, --clients N, --max-requests N, --max-faults N, --drop P,
 *   --duplicate P; planted bugs (to see a check bite): --node-knob NAME (RaftNode's testing
 *   knobs, e.g. sendVotesBeforePersist), --wal-fault NAME (e.g. ackBeforeSync), each repeatable.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RaftNodeKnobs } from "@tsraft/node/testing";
import type { WalFaultSwitches } from "@tsraft/wal/testing";
import {
  parseScheduleArgs,
  renderTimeline,
  runStackSchedule,
  scheduleArgs,
  scheduleOptions,
  shrinkSchedule,
  type ScheduleParams,
  type StackRunResult,
} from "@tsraft/stack-sim";
import { kvWorkload } from "../test/stack/kv-workload.js";
import type { KvInput, KvOutput } from "../src/checker/kv-model.js";

const argv = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
}
function flags(name: string): string[] {
  return argv.flatMap((a, i) => (a === `--${name}` && argv[i + 1] !== undefined ? [argv[i + 1]!] : []));
}

let base: ScheduleParams;
try {
  base = parseScheduleArgs(argv);
} catch (e) {
  console.error(`soak:stack: ${(e as Error).message}`);
  process.exit(2);
}
const first = base.seed;
const count = Number(flag("count") ?? (flag("minutes") === undefined ? 100 : Number.MAX_SAFE_INTEGER));
const untilMs = flag("minutes") === undefined ? Infinity : Date.now() + Number(flag("minutes")) * 60_000;
const outDir = resolve(flag("out") ?? "stack-soak");
const alwaysTimeline = argv.includes("--timeline");
const dupProposals = argv.includes("--dup-proposals");
const inlineWrites = argv.includes("--inline-writes");
const largeWriteBytes = flag("large-write-bytes") === undefined ? undefined : Number(flag("large-write-bytes"));
const shrinkRuns = argv.includes("--no-shrink") ? 0 : Number(flag("shrink-runs") ?? 100);
const nodeKnobs = Object.fromEntries(flags("node-knob").map((k) => [k, true])) as RaftNodeKnobs;
const walFaults = Object.fromEntries(flags("wal-fault").map((k) => [k, true])) as Partial<WalFaultSwitches>;
if (largeWriteBytes !== undefined && !(Number.isSafeInteger(largeWriteBytes) && (largeWriteBytes === 0 || largeWriteBytes >= 1024))) {
  console.error("soak:stack: --large-write-bytes must be 0 or an integer >= 1024");
  process.exit(2);
}
if (!(count > 0) || !(shrinkRuns >= 0)) {
  console.error("soak:stack: --count and --shrink-runs must be positive integers");
  process.exit(2);
}

/** What every replay command carries besides the schedule: the switches. */
const extra = [
  ...(dupProposals ? ["--dup-proposals"] : []),
  ...(inlineWrites ? ["--inline-writes"] : []),
  ...(largeWriteBytes !== undefined ? ["--large-write-bytes", String(largeWriteBytes)] : []),
  ...flags("node-knob").flatMap((k) => ["--node-knob", k]),
  ...flags("wal-fault").flatMap((k) => ["--wal-fault", k]),
];
const replayOf = (p: ScheduleParams): string => ["pnpm soak:stack", ...scheduleArgs(p), "--count 1", ...extra].join(" ");
const run = (p: ScheduleParams): Promise<StackRunResult<KvInput, KvOutput>> => {
  const o = scheduleOptions(p);
  return runStackSchedule({
    ...o,
    workload: kvWorkload(),
    replay: replayOf(p),
    network: { ...o.network, duplicateProposals: dupProposals },
    settings: { nodeKnobs, walFaults, inlineWrites, ...(largeWriteBytes !== undefined ? { largeWriteBytes } : {}) },
  });
};
const writeTimeline = (r: StackRunResult<KvInput, KvOutput>, name: string, what: string): void => {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${name}.html`);
  writeFileSync(
    file,
    renderTimeline(r.trace.events, { title: `${what}, seed ${r.seed} (hash ${r.hash})`, nodes: 3, violation: r.violation, replay: r.replay }),
  );
  console.log(`timeline: ${file}`);
};

const t0 = performance.now();
let done = 0;
let refusals = 0;
let flipRefusals = 0;
let crashes = 0;
let dsyncCut = 0;
let acked = 0;
let requests = 0;
let failed = false;
for (let seed = first; done < count && Date.now() < untilMs; seed++) {
  const p = { ...base, seed };
  const r = await run(p);
  done++;
  refusals += r.refusals;
  flipRefusals += r.flipRefusals;
  crashes += r.crashes;
  dsyncCut += r.dsyncWritesCut;
  acked += r.acked;
  requests += r.requests;
  if (r.violation !== undefined || alwaysTimeline) writeTimeline(r, `stack-seed-${seed}`, "whole-stack schedule");
  if (r.violation !== undefined) {
    console.log(`FAILED seed ${seed}: ${r.violation.invariant}: ${r.violation.detail} (at ${r.violation.t} virtual ms; hash ${r.hash})\nreplay: ${r.replay}`);
    failed = true;
    if (shrinkRuns > 0) {
      const s = await shrinkSchedule(run, p, r, shrinkRuns);
      const shrunk = await run(s.params); // the shrunk run again, for its timeline (it replays exactly)
      console.log(
        `shrunk in ${s.runs} runs: ${s.violation.invariant}: ${s.violation.detail} (at ${s.violation.t} virtual ms; hash ${s.hash}; ` +
          `${shrunk.faults} faults, ${shrunk.requests} requests, ${shrunk.events} events, against ${r.faults}, ${r.requests}, ${r.events})\n` +
          `replay (shrunk): ${replayOf(s.params)}`,
      );
      writeTimeline(shrunk, `stack-seed-${seed}-shrunk`, "whole-stack schedule, shrunk");
    }
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
    `${crashes} crashes (${dsyncCut} O_DSYNC writes cut short), ${requests} requests, ${acked} writes acknowledged, ${refusals} restarts refused on a bit flipped on reading ` +
    `(typed refusals, not violations: ${flipRefusals}; any other refusal stops the soak)`,
);
process.exit(failed ? 1 : 0);
