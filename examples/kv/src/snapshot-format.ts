/**
 * The state machine's snapshot format: binary, written and read in pieces with a turn of the
 * event loop between them, so that a state of hundreds of megabytes never holds the event loop
 * (a single `JSON.stringify` of a large state froze a member for tens of seconds, and past
 * V8's string limit threw).
 *
 * Layout (integers big-endian; `str` is a u32 byte length and the UTF-8 bytes):
 *
 * ```
 * "TSKV" u8 version=1
 * u64 index                       the last index applied
 * u8 alarm (0 none, 1 no_space)   then u64 index, u64 quota of the write that raised it
 * u32 members                     then per member: u64 id, u8 flags (1 address, 2 promote),
 *                                 and with an address: str raft, str http
 * u32 keys, u64 usedBytes         then per key, in sorted order: str key, str value
 * ```
 *
 * The total size is known before writing (the state machine counts the UTF-8 bytes of its keys
 * and values), so the snapshot is one buffer allocated once and filled in place.
 * @module
 */
import { SnapshotFormatError } from "./errors.js";
import { SortedKeys } from "./sorted-keys.js";
import type { MemberRecord, SpaceAlarm } from "./state-machine.js";

/** Everything a snapshot holds. */
export interface KvState {
  index: number;
  kv: Map<string, string>;
  keys: SortedKeys;
  /** Invariant: the sum of the UTF-8 lengths of every key and value. */
  usedBytes: number;
  members: Map<string, MemberRecord>;
  alarm: SpaceAlarm | null;
}

/** Bytes written or read between two turns of the event loop. */
export const YIELD_BYTES = 2 * 1024 * 1024;
/** Keys written or read between two turns of the event loop. */
export const YIELD_KEYS = 2048;

const MAGIC = [0x54, 0x53, 0x4b, 0x56]; // "TSKV"
const VERSION = 1;
const enc = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A small growable writer for the header (everything before the keys). */
class HeaderWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  pos = 0;
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf);
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }
  u64(v: number | bigint): void {
    this.room(8);
    this.view.setBigUint64(this.pos, BigInt(v));
    this.pos += 8;
  }
  str(s: string): void {
    const b = enc.encode(s);
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function header(s: KvState): Uint8Array {
  const w = new HeaderWriter();
  for (const b of MAGIC) w.u8(b);
  w.u8(VERSION);
  w.u64(s.index);
  if (s.alarm === null) w.u8(0);
  else {
    w.u8(1);
    w.u64(s.alarm.index);
    w.u64(s.alarm.quota);
  }
  const ids = [...s.members.keys()].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  w.u32(ids.length);
  for (const id of ids) {
    const m = s.members.get(id)!;
    w.u64(BigInt(id));
    w.u8((m.addr !== null ? 1 : 0) | (m.promote ? 2 : 0));
    if (m.addr !== null) {
      w.str(m.addr.raft);
      w.str(m.addr.http);
    }
  }
  w.u32(s.keys.size);
  w.u64(s.usedBytes);
  return w.bytes();
}

/**
 * Serialises `s` (see the module comment), yielding to the event loop every {@link YIELD_BYTES}
 * or {@link YIELD_KEYS}. `checkUnchanged` runs after each turn and must throw if the state
 * changed meanwhile (the caller's guarantee that nothing is applied during a snapshot).
 * @throws Error if the state does not match its own byte count (a broken invariant).
 */
export async function encodeState(s: KvState, checkUnchanged: () => void): Promise<Uint8Array> {
  const head = header(s);
  const total = head.length + 8 * s.keys.size + s.usedBytes;
  const buf = new Uint8Array(total);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  buf.set(head, 0);
  let pos = head.length;
  let sinceYield = 0;
  let keysSinceYield = 0;
  const put = (str: string): void => {
    const r = enc.encodeInto(str, buf.subarray(pos + 4));
    if (r.read !== str.length) throw new Error(`kv: snapshot: the state holds more bytes than it counted (at byte ${pos})`);
    view.setUint32(pos, r.written);
    pos += 4 + r.written;
  };
  for (const key of s.keys.keysFrom()) {
    const start = pos;
    put(key);
    put(s.kv.get(key)!);
    sinceYield += pos - start;
    if (++keysSinceYield >= YIELD_KEYS || sinceYield >= YIELD_BYTES) {
      await nextTurn();
      checkUnchanged();
      sinceYield = 0;
      keysSinceYield = 0;
    }
  }
  if (pos !== total) throw new Error(`kv: snapshot: wrote ${pos} bytes of the ${total} counted`);
  return buf;
}

/** A reader over the snapshot's bytes; every read checks bounds. */
class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new SnapshotFormatError(this.pos, `truncated ${what}`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }
  safe(what: string): number {
    const at = this.pos;
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SnapshotFormatError(at, `${what} above 2^53-1`);
    return Number(v);
  }
  /** A string and its UTF-8 length. */
  str(what: string): [string, number] {
    const n = this.u32(`${what} length`);
    this.need(n, what);
    try {
      const s = strictUtf8.decode(this.buf.subarray(this.pos, this.pos + n));
      this.pos += n;
      return [s, n];
    } catch {
      throw new SnapshotFormatError(this.pos, `${what} is not UTF-8`);
    }
  }
}

function readHeader(r: Reader): { index: number; alarm: SpaceAlarm | null; members: Map<string, MemberRecord>; keys: number; usedBytes: number } {
  for (const b of MAGIC) if (r.u8("magic") !== b) throw new SnapshotFormatError(0, "not a KV snapshot (no TSKV magic)");
  const version = r.u8("version");
  if (version !== VERSION) throw new SnapshotFormatError(4, `unknown version ${version}`);
  const index = r.safe("index");
  const flag = r.u8("alarm");
  let alarm: SpaceAlarm | null = null;
  if (flag === 1) alarm = { index: r.safe("alarm index"), quota: r.safe("alarm quota") };
  else if (flag !== 0) throw new SnapshotFormatError(r.pos - 1, `unknown alarm ${flag}`);
  const members = new Map<string, MemberRecord>();
  const nm = r.u32("member count");
  for (let i = 0; i < nm; i++) {
    const id = r.u64("member id");
    const flags = r.u8("member flags");
    if ((flags & ~3) !== 0) throw new SnapshotFormatError(r.pos - 1, `unknown member flags ${flags}`);
    const addr = (flags & 1) !== 0 ? { raft: r.str("raft address")[0], http: r.str("http address")[0] } : null;
    members.set(id.toString(), { addr, promote: (flags & 2) !== 0 });
  }
  return { index, alarm, members, keys: r.u32("key count"), usedBytes: r.safe("used bytes") };
}

/**
 * Reads a state written by {@link encodeState}, yielding to the event loop as it does.
 * @throws {@link SnapshotFormatError} for anything that is not such a state: wrong magic or
 * version, truncation, bad UTF-8, keys out of order or repeated, counts that do not add up.
 */
export async function decodeState(data: Uint8Array): Promise<KvState> {
  const r = new Reader(data);
  const h = readHeader(r);
  const kv = new Map<string, string>();
  const keys = new SortedKeys();
  let used = 0;
  let sinceYield = 0;
  let keysSinceYield = 0;
  for (let i = 0; i < h.keys; i++) {
    const start = r.pos;
    const [key, kb] = r.str("key");
    const [value, vb] = r.str("value");
    if (!keys.append(key)) throw new SnapshotFormatError(start, "keys out of order or repeated");
    kv.set(key, value);
    used += kb + vb;
    sinceYield += r.pos - start;
    if (++keysSinceYield >= YIELD_KEYS || sinceYield >= YIELD_BYTES) {
      await nextTurn();
      sinceYield = 0;
      keysSinceYield = 0;
    }
  }
  if (r.pos !== data.length) throw new SnapshotFormatError(r.pos, `${data.length - r.pos} bytes after the last key`);
  if (used !== h.usedBytes) throw new SnapshotFormatError(r.pos, `keys and values hold ${used} bytes, the header says ${h.usedBytes}`);
  return { index: h.index, kv, keys, usedBytes: used, members: h.members, alarm: h.alarm };
}
