// pnpm soak: runs random simulator schedules until a count or a time limit, or until the first
// invariant violation, which it shrinks and prints with a one-line replay command.
//
//   pnpm soak [--count N | --seconds S] [--seed X] [--voters 3,5] [--max-steps 300]
//   pnpm soak --replay <schedule>        replays one schedule, printing every event and raft log line
//
// Progress (every 5 s, on stderr): schedules, schedules/s, steps, faults injected, worst
// recovery time after healing. The summary goes to stdout.
import fc from "fast-check";
import { MemoryStorage } from "@tsraft/storage-memory";
import {
  COVERAGE_OP_WEIGHTS,
  InvariantViolation,
  Simulator,
  decodeSchedule,
  encodeSchedule,
  scheduleArbitrary,
  type Schedule,
  type SimOptions,
} from "@tsraft/raft/testing";

interface Args {
  count: number | undefined;
  seconds: number | undefined;
  seed: number;
  voters: number[];
  maxSteps: number;
  replay: string | undefined;
}

function usage(msg: string): never {
  console.error(`soak: ${msg}`);
  console.error("usage: pnpm soak [--count N | --seconds S] [--seed X] [--voters 3,5] [--max-steps 300]\n       pnpm soak --replay <schedule>");
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { count: undefined, seconds: undefined, seed: Date.now() % 0x7fff_ffff, voters: [3, 5], maxSteps: 300, replay: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < 0) usage(`${k} needs a non-negative number`);
      i++;
      return n;
    };
    switch (k) {
      case "--count":
        a.count = num();
        break;
      case "--seconds":
        a.seconds = num();
        break;
      case "--seed":
        a.seed = num();
        break;
      case "--max-steps":
        a.maxSteps = num();
        break;
      case "--voters":
        if (v === undefined) usage("--voters needs a list such as 3,5");
        a.voters = v.split(",").map(Number);
        i++;
        break;
      case "--replay":
        if (v === undefined) usage("--replay needs a schedule");
        a.replay = v;
        i++;
        break;
      case "--":
        break;
      default:
        usage(`unknown argument ${k}`);
    }
  }
  if (a.count === undefined && a.seconds === undefined) a.count = 10_000;
  return a;
}

const replayCommand = (code: string): string => `pnpm soak --replay ${code}`;
const options: SimOptions = { makeStorage: () => new MemoryStorage(), replayCommand };

function replay(code: string): void {
  let s: Schedule;
  try {
    s = decodeSchedule(code);
  } catch (err) {
    usage((err as Error).message);
  }
  console.log(JSON.stringify(s));
  const sim = new Simulator(s, { ...options, trace: (line) => console.log(line) });
  try {
    const r = sim.run();
    console.log(`\nno violation: ${JSON.stringify(r)}`);
  } catch (err) {
    if (!(err instanceof InvariantViolation)) throw err;
    console.log(`\n${err.message}`);
    process.exitCode = 1;
  }
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}

function soak(a: Args): void {
  const t0 = Date.now();
  let lastReport = t0;
  const tot = { schedules: 0, steps: 0, events: 0, faults: 0, crashes: 0, confChanges: 0, snapshots: 0, leaderTerms: 0, messages: 0 };
  let worstRecovery = -1;
  let worstRecoveryCode = "";
  let firstFailure: InvariantViolation | undefined;
  const report = (final: boolean): void => {
    const secs = (Date.now() - t0) / 1000;
    const line =
      `${fmt(tot.schedules)} schedules in ${secs.toFixed(0)} s (${(tot.schedules / Math.max(secs, 0.001)).toFixed(1)}/s), ` +
      `${fmt(tot.steps)} steps, ${fmt(tot.faults)} faults injected, worst recovery ${worstRecovery} steps`;
    if (final) console.log(line);
    else console.error(line);
  };
  console.error(
    `soak: seed ${a.seed}, ${a.count !== undefined ? `${fmt(a.count)} schedules` : `${a.seconds} s`}, voters ${a.voters.join(",")}, up to ${a.maxSteps} steps`,
  );
  const arb = scheduleArbitrary(fc, { voters: a.voters, maxSteps: a.maxSteps, weights: COVERAGE_OP_WEIGHTS });
  const prop = fc.property(arb, (s) => {
    let r;
    try {
      r = new Simulator(s, options).run();
    } catch (err) {
      if (firstFailure === undefined && err instanceof InvariantViolation) {
        firstFailure = err;
        console.error(`\nviolation after ${fmt(tot.schedules)} schedules:\n${err.message}\n\nshrinking...`);
      }
      throw err;
    }
    if (firstFailure !== undefined) return; // shrinking: do not count
    tot.schedules++;
    tot.steps += r.stats.steps;
    tot.events += r.stats.events;
    tot.faults += r.stats.faults;
    tot.crashes += r.stats.crashes;
    tot.confChanges += r.stats.confChanges;
    tot.snapshots += r.stats.snapshots;
    tot.messages += r.stats.messagesSent;
    tot.leaderTerms += r.leaderTerms;
    if ((r.recoverySteps ?? -1) > worstRecovery) {
      worstRecovery = r.recoverySteps ?? -1;
      worstRecoveryCode = encodeSchedule(s);
    }
    const now = Date.now();
    if (now - lastReport >= 5000) {
      lastReport = now;
      report(false);
    }
  });
  const details = fc.check(prop, {
    seed: a.seed,
    numRuns: a.count ?? Number.MAX_SAFE_INTEGER,
    ...(a.seconds !== undefined ? { interruptAfterTimeLimit: a.seconds * 1000 } : {}),
  });
  console.log("\nsoak summary");
  console.log(`  seed ${a.seed}, voters ${a.voters.join(",")}, up to ${a.maxSteps} steps per schedule`);
  report(true);
  console.log(
    `  ${fmt(tot.events)} events, ${fmt(tot.messages)} messages, ${fmt(tot.crashes)} crashes, ${fmt(tot.confChanges)} membership changes proposed, ` +
      `${fmt(tot.snapshots)} snapshots, ${fmt(tot.leaderTerms)} terms with a leader`,
  );
  if (worstRecovery >= 0) console.log(`  worst recovery: ${worstRecovery} steps (${replayCommand(worstRecoveryCode)})`);
  if (details.failed) {
    const err = details.errorInstance;
    console.log(`\nFAILED (fast-check seed ${details.seed}, path "${details.counterexamplePath}"), shrunk ${details.numShrinks} times:`);
    console.log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  } else {
    console.log(details.interrupted ? "  stopped at the time limit: no violation" : "  no violation");
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.replay !== undefined) replay(args.replay);
else soak(args);
