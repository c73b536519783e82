/**
 * codec-msgapp: encode and decode a MsgApp with 64 entries of 128 bytes, in MB/s of encoded
 * bytes, mirroring ../shared/etcd-baseline (bench/main.go `codecRun`):
 *
 * - the message: MsgApp to 2 from 1, term 5, logTerm 5, index 1000, commit 999, 64 entries
 *   {term 5, index 1001..1064, EntryNormal, 128 bytes of data (byte i = i), each its own
 *   array}; it encodes to 9,056 bytes, as etcd's does (checked, with the round trip);
 * - encode: `encodeMessage(m)`, a fresh exact-size Uint8Array each time (etcd: `m.Marshal()`);
 * - decode: `decodeMessage(bytes)`, a fresh Message each time (etcd: `Unmarshal` into a fresh
 *   `Message`). tsraft's entry data are views (subarray-like) into the input buffer, etcd's
 *   are copies (`append`); `decodeMessage(b, {copy: true})` copies as etcd does, and its figure
 *   is printed too, as `codec-msgapp-copy` op 'decode' (a new name: the etcd figure to set it
 *   against is codec-msgapp decode);
 * - also printed, without an etcd counterpart: `codec-msgapp-into` op 'encode',
 *   `encodeMessageInto(m, out, 0)` into one reused buffer (the codec without the cost of fresh
 *   output memory);
 * - each run: at least 1 s of each loop in turn (encode, decode, copying decode, encode-into),
 *   clock read every 200 calls; figure = encodedBytes x iterations / elapsed / 1e6. An
 *   unmeasured warm-up of each loop (1 s; 0.05 s with --quick) comes first so that the JIT has
 *   optimised every path.
 * @module
 */
import assert from "node:assert/strict";
import { decodeMessage, encodeMessage, encodeMessageInto, EntryType, MessageType, type Entry, type Message } from "@tsraft/raftpb";
import { sink, timeLoop, type BenchContext, type Figure, type Workload } from "../harness.js";

const ENTRIES = 64;
const PAYLOAD = 128;
const EXPECTED_BYTES = 9056;

/** The benchmark's MsgApp, as etcd-baseline's `msgApp()` (payload 128; others for codec-payload). */
export function msgApp(payload = PAYLOAD): Message {
  const data = new Uint8Array(payload);
  for (let i = 0; i < payload; i++) data[i] = i & 0xff;
  const entries: Entry[] = [];
  for (let i = 0; i < ENTRIES; i++) {
    entries.push({ term: 5, index: 1001 + i, type: EntryType.EntryNormal, data: data.slice() });
  }
  return {
    type: MessageType.MsgApp,
    to: 2n,
    from: 1n,
    term: 5,
    logTerm: 5,
    index: 1000,
    entries,
    commit: 999,
    reject: false,
    rejectHint: 0,
  };
}

export function encodeOp(m: Message): () => void {
  return () => {
    sink.n += encodeMessage(m).length;
  };
}

function encodeIntoOp(m: Message, out: Uint8Array): () => void {
  return () => {
    sink.n += encodeMessageInto(m, out, 0);
  };
}

export function decodeOp(b: Uint8Array, copy: boolean): () => void {
  const options = { copy };
  return () => {
    sink.n += decodeMessage(b, options).entries.length;
  };
}

export const codecMsgApp: Workload = {
  name: "codec-msgapp",
  describe: "encode / decode a MsgApp with 64 entries of 128 B (9,056 bytes), MB/s",
  async run(ctx: BenchContext): Promise<Figure[]> {
    const m = msgApp();
    const bytes = encodeMessage(m);
    assert.equal(bytes.length, EXPECTED_BYTES, "the benchmark MsgApp must encode to etcd's 9,056 bytes");
    const back = decodeMessage(bytes);
    assert.deepEqual(encodeMessage(back), bytes, "decode then encode must give the same bytes");
    assert.equal(back.entries.length, ENTRIES);

    const seconds = ctx.quick ? 0.05 : 1;
    const ops = {
      encode: encodeOp(m),
      decode: decodeOp(bytes, false),
      "decode-copy": decodeOp(bytes, true),
      "encode-into": encodeIntoOp(m, new Uint8Array(bytes.length)),
    };
    ctx.progress(`codec-msgapp: warm-up (${seconds} s per op)`);
    for (const op of Object.values(ops)) timeLoop(op, seconds);

    const runs: Record<keyof typeof ops, number[]> = { encode: [], decode: [], "decode-copy": [], "encode-into": [] };
    for (let r = 0; r < ctx.runs; r++) {
      for (const [name, op] of Object.entries(ops) as [keyof typeof ops, () => void][]) {
        const { iterations, seconds: el } = timeLoop(op, seconds);
        const mbps = (bytes.length * iterations) / el / 1e6;
        runs[name].push(mbps);
        ctx.progress(`codec-msgapp: run ${r + 1}/${ctx.runs} ${name} ${mbps.toFixed(0)} MB/s`);
      }
    }
    const info = { encodedBytes: bytes.length, secondsPerRun: seconds };
    const params = (op: string) => ({ entries: ENTRIES, op, payload: PAYLOAD });
    return [
      {
        name: "codec-msgapp",
        params: params("encode"),
        unit: "MB/s",
        runs: runs.encode,
        info: { ...info, encode: "a fresh exact-size Uint8Array per call (a view into a shared slab, see raftpb README)" },
      },
      { name: "codec-msgapp", params: params("decode"), unit: "MB/s", runs: runs.decode, info: { ...info, data: "views into the input (no copy)" } },
      {
        name: "codec-msgapp-copy",
        params: params("decode"),
        baselineName: "codec-msgapp",
        unit: "MB/s",
        runs: runs["decode-copy"],
        info: { ...info, data: "{copy: true}: one copy of the input, views into it (etcd copies each payload)" },
      },
      {
        name: "codec-msgapp-into",
        params: params("encode"),
        unit: "MB/s",
        runs: runs["encode-into"],
        info: { ...info, encode: "encodeMessageInto(m, out, 0): one reused output buffer, no allocation (no etcd counterpart)" },
      },
    ];
  },
};
