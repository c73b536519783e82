/**
 * `pnpm soak:kv [--seconds N] [--clients N] [--keys N] [--nodes N] [--seed N] [--faults kill,pause,partition] [--keep] [--serializable-reads]`
 *
 * (`--serializable-reads` reads members' local state instead of using ReadIndex: not
 * linearizable, so the checker should say ILLEGAL; it shows that the test can fail.)
 *
 * The fault-injection run for longer: prints the nemesis' actions as they happen, then a
 * summary (operations, faults, latency percentiles, linearizability verdict, durability,
 * convergence). Exit code 0 on PASS, 1 on FAIL (the data directories and logs are kept and
 * their path printed).
 * @module
 */
import { runFaultTest, summarize } from "./fault.js";

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") continue;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) out[a.slice(2)] = argv[++i]!;
    else out[a.slice(2)] = "true";
  }
  return out;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a["help"] !== undefined) {
    process.stdout.write(
      "usage: pnpm soak:kv [--seconds 120] [--clients 6] [--keys 4] [--nodes 3] [--seed N] [--faults kill,pause,partition] [--keep] [--serializable-reads]\n",
    );
    return;
  }
  const num = (k: string, d: number): number => {
    const v = a[k] === undefined ? d : Number(a[k]);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k}: want a positive number`);
    return v;
  };
  const faults = (a["faults"] ?? "kill,pause,partition").split(",").filter((f) => f !== "") as ("kill" | "pause" | "partition")[];
  for (const f of faults) if (f !== "kill" && f !== "pause" && f !== "partition") throw new Error(`--faults: unknown fault ${f}`);
  const seconds = num("seconds", 120);
  console.log(`soak: ${seconds} s of reads, writes, compare-and-set under faults (${faults.join(", ")})`);
  const r = await runFaultTest({
    seconds,
    clients: num("clients", 6),
    keys: num("keys", 4),
    nodes: num("nodes", 3),
    ...(a["seed"] === undefined ? {} : { seed: num("seed", 1) }),
    faults,
    keepDir: a["keep"] !== undefined,
    serializableReads: a["serializable-reads"] !== undefined,
    log: (l) => console.log(l),
  });
  console.log("");
  console.log(summarize(r));
  if (!r.pass || a["keep"] !== undefined) console.log(`data directories and logs kept in ${r.baseDir}`);
  process.exitCode = r.pass ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
