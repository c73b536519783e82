/**
 * codec-payload (no etcd counterpart; a new name): codec-msgapp's MsgApp (64 entries) with
 * payloads of 128, 1024 and 16384 bytes, MB/s of encoded bytes for encode (a fresh buffer per
 * call), decode (entry data are views into the input) and decode-copy (`{copy: true}`, the data
 * copied as etcd does). Each run: at least 0.5 s of each loop, clock read every 200 calls (20
 * for 16 KiB payloads, whose calls are slower); an unmeasured warm-up of each loop first;
 * min(runs, 3) runs. Trend, per op: time per encoded byte against the payload size (falling or
 * flat: the per-message and per-entry costs are spread over more bytes).
 * @module
 */
import { decodeMessage, encodeMessage } from "@tsraft/raftpb";
import { median, timeLoop, type Figure, type Workload } from "../harness.js";
import { decodeOp, encodeOp, msgApp } from "./codec-msgapp.js";
import { trendFigure } from "./trend.js";

const SIZES = [128, 1024, 16384];

export const codecPayload: Workload = {
  name: "codec-payload",
  describe: "encode / decode codec-msgapp's MsgApp (64 entries) with payloads of 128 B, 1 KiB, 16 KiB: MB/s",
  async run(ctx) {
    const seconds = ctx.quick ? 0.02 : 0.5;
    const runs = Math.min(ctx.runs, 3);
    const cases = SIZES.map((p) => {
      const m = msgApp(p);
      const bytes = encodeMessage(m);
      if (decodeMessage(bytes).entries.length !== 64) throw new Error("codec-payload: round trip");
      const batch = p >= 16384 ? 20 : 200;
      return { p, bytes, batch, ops: { encode: encodeOp(m), decode: decodeOp(bytes, false), "decode-copy": decodeOp(bytes, true) } };
    });
    type Op = keyof (typeof cases)[0]["ops"];
    const opNames: Op[] = ["encode", "decode", "decode-copy"];
    for (const c of cases) for (const op of opNames) timeLoop(c.ops[op], seconds, c.batch); // warm-up
    const mbps = new Map<string, number[]>();
    for (let r = 0; r < runs; r++) {
      for (const c of cases) {
        for (const op of opNames) {
          const { iterations, seconds: el } = timeLoop(c.ops[op], seconds, c.batch);
          const v = (c.bytes.length * iterations) / el / 1e6;
          const k = `${op} ${c.p}`;
          mbps.set(k, [...(mbps.get(k) ?? []), v]);
        }
      }
      ctx.progress(`codec-payload: run ${r + 1}/${runs}: ${[...mbps.entries()].map(([k, v]) => `${k}: ${Math.round(v[r]!)}`).join(", ")} MB/s`);
    }
    const out: Figure[] = [];
    for (const op of opNames) {
      const costs: number[][] = [];
      for (let r = 0; r < runs; r++) costs.push(cases.map((c) => 1 / mbps.get(`${op} ${c.p}`)![r]!));
      for (const c of cases) {
        const runsOf = mbps.get(`${op} ${c.p}`)!;
        out.push({
          name: "codec-payload",
          params: { entries: 64, op, payload: c.p },
          unit: "MB/s",
          runs: runsOf,
          info: { encodedBytes: c.bytes.length, messagesPerSecond: Math.round((median(runsOf) * 1e6) / c.bytes.length) },
          curve: {
            chart: "codec-payload: MB/s of a 64-entry MsgApp by payload size",
            x: "payload",
            series: op,
            xLabel: "payload bytes",
            yLabel: "MB/s",
            logX: true,
          },
        });
      }
      out.push(
        trendFigure({ name: "codec-payload", params: { entries: 64, op, payload: "128..16384" }, xs: SIZES, costs, cost: "time per byte", x: "payload" }),
      );
    }
    return out;
  },
};
