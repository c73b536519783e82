/**
 * The measurement behind raftpb's codec choice (README.md, "Choosing the codec"): the
 * codec-msgapp message (MsgApp, 64 entries of 128 B, 9,056 bytes) encoded and decoded by
 *
 *   1. protobufjs reflection (Root parsed from proto/raft.proto; its encode/decode functions are
 *      generated at run time, the same code `pbjs -t static` writes out), alone and with the
 *      conversion from/to raftpb's types (bigint ids <-> Long, Long -> number with the 2^53
 *      check, Entry's capitalised field names);
 *   2. a hand-written codec on protobufjs's Writer (fork/ldelim) and Reader primitives;
 *   3. raftpb's size-then-write encoder and strict decoder (src/).
 *
 * Run: node --import tsx packages/raftpb/scripts/codec-choice.ts [seconds-per-figure]
 * Single-threaded CPU work; on a shared machine the figures vary by up to 2x between runs,
 * the ranking does not.
 */
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
type Long = protobuf.Long;
const Long = protobuf.util.Long as unknown as new (lo: number, hi: number, unsigned: boolean) => Long;
import { decodeMessage, encodeMessage, EntryType, MessageType, type Entry, type Message } from "../src/index.js";

const seconds = Number(process.argv[2] ?? "1");
const root = protobuf.loadSync(fileURLToPath(new URL("../proto/raft.proto", import.meta.url)));
const PbMessage = root.lookupType("raftpb.Message");
const { Writer, Reader } = protobuf;

function msgApp(): Message {
  const data = new Uint8Array(128);
  for (let i = 0; i < 128; i++) data[i] = i;
  const entries: Entry[] = [];
  for (let i = 0; i < 64; i++) entries.push({ term: 5, index: 1001 + i, type: EntryType.EntryNormal, data: data.slice() });
  return { type: MessageType.MsgApp, to: 2n, from: 1n, term: 5, logTerm: 5, index: 1000, entries, commit: 999, reject: false, rejectHint: 0 };
}

// --- 1. protobufjs reflection ---------------------------------------------------------------
const longOf = (b: bigint) => new Long(Number(b & 0xffffffffn) | 0, Number(b >> 32n) | 0, true);
const big = (l: Long | number) => (typeof l === "number" ? BigInt(l) : (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0));
function num(l: Long | number): number {
  if (typeof l === "number") return l;
  if (l.high >>> 0 > 0x1fffff) throw new Error("above 2^53-1");
  return (l.high >>> 0) * 4294967296 + (l.low >>> 0);
}
const emptySnap = { metadata: { confState: { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, index: 0, term: 0 } };
function toPb(m: Message): object {
  return {
    type: m.type,
    to: longOf(m.to),
    from: longOf(m.from),
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.map((e) =>
      e.data === undefined ? { Type: e.type, Term: e.term, Index: e.index } : { Type: e.type, Term: e.term, Index: e.index, Data: e.data },
    ),
    commit: m.commit,
    snapshot: emptySnap,
    reject: m.reject,
    rejectHint: m.rejectHint,
  };
}
type PbEntry = { Term: Long | number; Index: Long | number; Type: number; Data?: Uint8Array };
type PbMsg = {
  type: number;
  to: Long;
  from: Long;
  term: Long;
  logTerm: Long;
  index: Long;
  entries: PbEntry[];
  commit: Long;
  reject: boolean;
  rejectHint: Long;
};
function fromPb(p: PbMsg): Message {
  return {
    type: p.type,
    to: big(p.to),
    from: big(p.from),
    term: num(p.term),
    logTerm: num(p.logTerm),
    index: num(p.index),
    entries: p.entries.map((e) => ({ term: num(e.Term), index: num(e.Index), type: e.Type, data: e.Data })),
    commit: num(p.commit),
    reject: p.reject,
    rejectHint: num(p.rejectHint),
  };
}

// --- 2. hand-written on protobufjs Writer/Reader --------------------------------------------
function encodeWR(m: Message): Uint8Array {
  const w = Writer.create();
  w.uint32(0x08).uint32(m.type).uint32(0x10).uint64(longOf(m.to)).uint32(0x18).uint64(longOf(m.from));
  w.uint32(0x20).uint64(m.term).uint32(0x28).uint64(m.logTerm).uint32(0x30).uint64(m.index);
  for (const e of m.entries) {
    w.uint32(0x3a).fork().uint32(0x08).uint32(e.type).uint32(0x10).uint64(e.term).uint32(0x18).uint64(e.index);
    if (e.data !== undefined) w.uint32(0x22).bytes(e.data);
    w.ldelim();
  }
  w.uint32(0x40).uint64(m.commit).uint32(0x4a).fork().uint32(0x12).fork().uint32(0x0a).fork().uint32(0x28).bool(false).ldelim();
  w.uint32(0x10).uint64(0).uint32(0x18).uint64(0).ldelim().ldelim();
  w.uint32(0x50).bool(m.reject).uint32(0x58).uint64(m.rejectHint);
  return w.finish();
}
function decodeEntryWR(r: protobuf.Reader, end: number): Entry {
  let term = 0,
    index = 0,
    type = 0,
    data: Uint8Array | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag) {
      case 0x08:
        type = r.uint32();
        break;
      case 0x10:
        term = num(r.uint64() as Long);
        break;
      case 0x18:
        index = num(r.uint64() as Long);
        break;
      case 0x22:
        data = r.bytes();
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return { term, index, type, data };
}
function decodeWR(b: Uint8Array): Message {
  const r = Reader.create(b);
  const entries: Entry[] = [];
  const m: Message = { type: 0, to: 0n, from: 0n, term: 0, logTerm: 0, index: 0, entries, commit: 0, reject: false, rejectHint: 0 };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 0x08:
        m.type = r.uint32();
        break;
      case 0x10:
        m.to = big(r.uint64() as Long);
        break;
      case 0x18:
        m.from = big(r.uint64() as Long);
        break;
      case 0x20:
        m.term = num(r.uint64() as Long);
        break;
      case 0x28:
        m.logTerm = num(r.uint64() as Long);
        break;
      case 0x30:
        m.index = num(r.uint64() as Long);
        break;
      case 0x3a: {
        const len = r.uint32();
        entries.push(decodeEntryWR(r, r.pos + len));
        break;
      }
      case 0x40:
        m.commit = num(r.uint64() as Long);
        break;
      case 0x50:
        m.reject = r.bool();
        break;
      case 0x58:
        m.rejectHint = num(r.uint64() as Long);
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return m;
}

// --- measure ---------------------------------------------------------------------------------
let sink = 0;
function rate(bytes: number, op: () => number): number {
  const loop = (s: number) => {
    let n = 0;
    const t0 = performance.now();
    let el = 0;
    do {
      for (let i = 0; i < 100; i++) sink += op();
      n += 100;
      el = (performance.now() - t0) / 1000;
    } while (el < s);
    return (bytes * n) / el / 1e6;
  };
  loop(Math.min(0.5, seconds)); // warm-up
  return loop(seconds);
}

const m = msgApp();
const ours = encodeMessage(m);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const pbObj = PbMessage.fromObject(toPb(m));
const viaReflection = PbMessage.encode(pbObj).finish();
const viaWR = encodeWR(m);
console.log(
  `encoded bytes: raftpb ${ours.length}, reflection ${viaReflection.length} (same bytes: ${hex(viaReflection) === hex(ours)}), Writer ${viaWR.length} (same bytes: ${hex(viaWR) === hex(ours)})`,
);

const rows: [string, number][] = [
  ["reflection encode (protobufjs object ready)", rate(ours.length, () => PbMessage.encode(pbObj).finish().length)],
  ["reflection encode incl. conversion", rate(ours.length, () => PbMessage.encode(toPb(m)).finish().length)],
  ["Writer hand-written encode", rate(ours.length, () => encodeWR(m).length)],
  ["raftpb encode (size-then-write)", rate(ours.length, () => encodeMessage(m).length)],
  ["reflection decode (protobufjs object)", rate(ours.length, () => (PbMessage.decode(ours) as unknown as PbMsg).entries.length)],
  ["reflection decode incl. conversion", rate(ours.length, () => fromPb(PbMessage.decode(ours) as unknown as PbMsg).entries.length)],
  ["Reader hand-written decode", rate(ours.length, () => decodeWR(ours).entries.length)],
  ["raftpb decode (views)", rate(ours.length, () => decodeMessage(ours).entries.length)],
  ["raftpb decode {copy: true}", rate(ours.length, () => decodeMessage(ours, { copy: true }).entries.length)],
];
for (const [name, v] of rows) console.log(`${name.padEnd(46)} ${v.toFixed(0).padStart(6)} MB/s`);
if (sink === 42) console.log("");
