/**
 * A fuzz test of the HTTP API against a live cluster of 3 processes: random methods, raw
 * targets (percent escapes good and bad, dot segments, raw UTF-8, huge), content types and
 * bodies, from 4 workers, while a well-behaved client writes keys of its own. Afterwards: no
 * 5xx but 503/504 (raft without a leader, or out of time), no request unanswered for 15 s, no
 * member exited, no UNHANDLED marker in any log, no internal error counted, and every write the
 * well-behaved client had acknowledged reads back with its value.
 *
 * KV_FUZZ_SECONDS sets the fuzzing time (default 4 s in `pnpm test`; e.g. 120 for a longer run),
 * KV_FUZZ_SEED the seed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { LocalCluster, kvRequest } from "@tsraft/example-kv";
import { parseTarget } from "../src/http-request.js";
import { Rng, randomRequest, sendRaw } from "./helpers/http-fuzz.js";
import type { FuzzRequest } from "./helpers/http-fuzz.js";

const SECONDS = Number(process.env["KV_FUZZ_SECONDS"] ?? 4);
const SEED = Number(process.env["KV_FUZZ_SEED"] ?? Date.now() % 2 ** 31);
const WORKERS = 4;
/**
 * A request without an answer after this long is a stall. The members answer an unfinished
 * request (a body that never comes) with 408 after their request timeout (2 s + 5 s here).
 */
const STALL_MS = 15_000;

/** Requests that would legitimately take a member away (removing a voter of the cluster) are not sent. */
function removesAMember(q: FuzzRequest): boolean {
  if (q.method !== "DELETE") return false;
  try {
    const m = /^\/members\/([0-9]{1,20})$/.exec(parseTarget(q.target).rawPath);
    return m !== null && BigInt(m[1]!) >= 1n && BigInt(m[1]!) <= 3n;
  } catch {
    return false;
  }
}

describe(`HTTP API fuzz: ${SECONDS} s against 3 processes (seed ${SEED})`, { timeout: (SECONDS + 120) * 1000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.create({ size: 3, serverArgs: ["--request-timeout-ms", "2000", "--snapshot-entries", "200", "--catch-up-entries", "20"] });
    await cluster.startAll();
    await cluster.waitForLeader(30_000);
  });
  after(async () => {
    await cluster.cleanup(process.env["KV_KEEP"] === "1");
  });

  test("no 5xx but 503/504, no crash, no UNHANDLED, the well-behaved client's data intact", async () => {
    const ids = cluster.ids();
    const rng = new Rng(SEED);
    const end = Date.now() + SECONDS * 1000;
    const statuses = new Map<number, number>();
    const bad: string[] = [];
    const noAnswer = new Map<string, number>();
    const stalled: string[] = [];
    let sent = 0;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; Date.now() < end; i++) {
        const q = randomRequest(rng);
        if (removesAMember(q)) continue;
        const id = ids[(w + i) % ids.length]!;
        const a = await sendRaw(cluster.member(id).addr.http, q, STALL_MS);
        sent++;
        statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
        // No answer: the server refused a large body early and closed while it was being sent
        // (EPIPE, ECONNRESET). No answer within STALL_MS would be a stall.
        if (a.status === 0) noAnswer.set(a.error ?? "?", (noAnswer.get(a.error ?? "?") ?? 0) + 1);
        if (a.error === "TIMEOUT" && stalled.length < 10) stalled.push(`${q.method} ${JSON.stringify(q.target.slice(0, 120))}`);
        const ok = a.status < 500 || a.status === 503 || a.status === 504 || (a.status === 507 && a.head.includes('"no_space"'));
        if (!ok && bad.length < 10) bad.push(`${q.method} ${JSON.stringify(q.target.slice(0, 120))} -> ${a.head.slice(0, 300)}`);
      }
    };
    const nonce = `wb-${SEED.toString(36)}`;
    const acked = new Map<string, string>();
    const wellBehaved = async (): Promise<void> => {
      for (let i = 0; Date.now() < end; i++) {
        const key = `${nonce}/${i}`;
        const value = `value-${i}-${nonce}`;
        const r = await kvRequest(cluster.member(ids[i % ids.length]!).addr.http, "PUT", `/kv/${encodeURIComponent(key)}`, { value }, 5000);
        if (r.status === 200) acked.set(key, value);
      }
    };
    await Promise.all([...Array.from({ length: WORKERS }, (_, w) => worker(w)), wellBehaved()]);

    const summary = [...statuses]
      .sort((a, b) => a[0] - b[0])
      .map(([s, n]) => `${s}:${n}`)
      .join(" ");
    const none = [...noAnswer].map(([e, n]) => `${e}:${n}`).join(" ");
    console.log(
      `fuzz: ${sent} requests in ${SECONDS} s (seed ${SEED}); statuses ${summary} (no answer: ${none || "none"}); well-behaved writes acknowledged: ${acked.size}`,
    );
    assert.deepEqual(bad, [], `answers that are 5xx other than 503/504 (seed ${SEED})`);
    assert.deepEqual(stalled, [], `requests without an answer within ${STALL_MS} ms (seed ${SEED})`);
    for (const id of ids) assert.ok(cluster.isRunning(id), `member ${id} is still running (seed ${SEED})\n${cluster.logTail(id, 15)}`);
    assert.deepEqual(cluster.unhandledInLogs(), []);
    const lead = await cluster.waitForLeader(30_000);
    for (const id of ids) {
      const st = await cluster.status(id, 5000);
      assert.ok(st !== undefined, `member ${id} answers /status`);
      assert.equal(st.counters["internalErrors"], 0, `member ${id} answered no 500`);
    }
    assert.ok(acked.size > 0, "the well-behaved client got writes through");
    for (const [key, value] of acked) {
      const r = await kvRequest(cluster.member(lead).addr.http, "GET", `/kv/${encodeURIComponent(key)}`, undefined, 5000);
      assert.equal(r.body["value"], value, `${key} (seed ${SEED})`);
    }
  });
});
