/**
 * The KV example's state machine in the whole-stack simulator (`@tsraft/stack-sim`): clients
 * read (ReadIndex, then the member's own state), write and compare-and-set a few keys, and the
 * history is checked for linearizability with the example's checker (Porcupine's search).
 */
import type { Prng } from "@tsraft/raft/testing";
import type { StackStateMachine, StackWorkload, HistoryOp } from "@tsraft/stack-sim";
import { KvStateMachine, encodeCommand, type CommandResult } from "../../src/index.js";
import { kvModel, type KvInput, type KvOutput } from "../../src/checker/kv-model.js";
import { checkHistory } from "../../src/checker/linearizability.js";

const KEYS = ["a", "b", "c"];
const QUOTA = 1 << 30;

/** KvStateMachine with a fingerprint of its keys and values (a few keys: cheap). */
export class SimKv implements StackStateMachine<KvOutput> {
  readonly kv = new KvStateMachine();
  apply(index: number, data: Uint8Array): KvOutput {
    return outputOf(this.kv.apply(index, data));
  }
  snapshot(): Promise<Uint8Array> {
    return this.kv.snapshot();
  }
  restore(data: Uint8Array): Promise<void> {
    return this.kv.restore(data);
  }
  fingerprint(): string {
    return JSON.stringify(this.kv.range("", undefined, 1_000_000).kvs);
  }
}

function outputOf(r: CommandResult): KvOutput {
  if (r.code === "ok") return { ok: true };
  if (r.code === "compare_failed") return { ok: false, current: r.current };
  throw new Error(`kv: unexpected result ${r.code}`);
}

/** The KV workload: reads, writes of unique values, compare-and-sets from a recently written value. */
export function kvWorkload(): StackWorkload<SimKv, KvInput, KvOutput> {
  let n = 0;
  const written: string[] = [];
  return {
    createStateMachine: () => new SimKv(),
    nextRequest: (r: Prng, client: number) => {
      const key = r.pick(KEYS);
      const x = r.float();
      if (x < 0.4) return { input: { key, type: "read" } };
      const value = `c${client}-${++n}`;
      written.push(value);
      if (x < 0.8 || written.length < 2) return { input: { key, type: "write", value }, write: encodeCommand({ op: "put", key, value, quota: QUOTA }) };
      const expect = r.chance(0.2) ? null : r.pick(written.slice(-8));
      return { input: { key, type: "cas", expect, value }, write: encodeCommand({ op: "put", key, value, prev: expect, quota: QUOTA }) };
    },
    finalWrite: (tag) => encodeCommand({ op: "put", key: "final", value: tag, quota: QUOTA }),
    read: (sm, input) => ({ value: sm.kv.get(input.key) }),
    checkHistory: (h: readonly HistoryOp<KvInput, KvOutput>[]) => {
      // A write's output is not observed by the model; a read's and a CAS's are.
      const ops = h.map((o) => ({ ...o, output: o.output === undefined ? undefined : o.input.type === "write" ? {} : o.output }));
      const res = checkHistory(kvModel, ops);
      if (res.verdict === "ok") return undefined;
      const bad = res.parts.find((p) => p.verdict !== "ok");
      return `history ${res.verdict}${bad?.stuckAt === undefined ? "" : `: stuck at ${bad.stuckAt}`}`;
    },
  };
}
