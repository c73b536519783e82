/**
 * The encoders: etcd v3.4's gogoproto encoding, byte for byte.
 *
 * Size-then-write: a first pass computes the exact encoded size (and validates every value),
 * a second pass writes into one `Uint8Array` of that size (carved from a shared slab, see
 * allocOutput), or into the caller's buffer (`encodeMessageInto`). The common message (a
 * MsgApp, a heartbeat, a vote: no snapshot, context, vote or responses, at most 16 KiB) is
 * encoded by `encodeMessage` in one pass instead, straight into the slab
 * (encodeMessageOnePass); anything else, invalid messages included, takes the two passes. See README.md "Choosing the
 * codec" for the measurements behind each choice, against protobufjs's `Writer` and its
 * reflection codec and against etcd.
 *
 * gogoproto's rules, as etcd's vectors show them: fields in field-number order; non-nullable
 * scalars (every scalar here) always written, zero or not; non-nullable embedded messages
 * (`Message.snapshot`, `Snapshot.metadata`, `SnapshotMetadata.confState`) always written, empty
 * or not; nullable bytes written when defined, even when empty; repeated uint64 not packed;
 * one length-delimited field per element of a repeated message, nothing for an empty list.
 * Fields added after etcd 3.4 (`Message.vote` 13, `Message.responses` 14) are written only when
 * set: `vote` when it is not `undefined` (so `0n` is written, and a decoded `vote` re-encodes
 * as it came), `responses` when it has at least one element.
 * @module
 */
import { EncodeError, FieldError, MAX_DEPTH, prefixField, toEncodeError } from "./errors.js";
import type { ConfChange, ConfChangeSingle, ConfChangeV2, ConfState, Entry, HardState, Message, Snapshot, SnapshotMetadata } from "./types.js";
import {
  checkEnum,
  checkedBytesSize,
  checkedUint53Size,
  checkedUint64Size,
  varint64Size,
  varintSize,
  writeBytes,
  writeVarint32,
  writeVarint53,
  writeVarint64,
} from "./wire.js";

const MAX_ENTRY_TYPE = 2;
const MAX_MESSAGE_TYPE = 23;
const MAX_CONF_CHANGE_TYPE = 3;
const MAX_CONF_CHANGE_TRANSITION = 2;

// ---------------------------------------------------------------------------------------------
// Unchecked sizes: for values already validated (the write pass) and for entrySize().

/**
 * The encoded size of `e`, exactly etcd's `Entry.Size()`: type, term and index are always
 * written (tag + varint each), data when defined (tag + length + bytes). No allocation, no
 * validation (an invalid entry gives a meaningless size; encodeEntry would throw on it).
 */
export function entrySize(e: Entry): number {
  const data = e.data;
  const n = 4 + varintSize(e.term) + varintSize(e.index);
  if (data === undefined) return n;
  const len = data.length;
  return n + 1 + varintSize(len) + len;
}

function confStateSize(cs: ConfState): number {
  return 2 + idsSize(cs.voters) + idsSize(cs.learners) + idsSize(cs.votersOutgoing) + idsSize(cs.learnersNext);
}

function idsSize(ids: readonly bigint[]): number {
  let n = 0;
  for (let i = 0; i < ids.length; i++) n += 1 + varint64Size(ids[i]!);
  return n;
}

function metadataSize(md: SnapshotMetadata): number {
  const cs = confStateSize(md.confState);
  return 1 + varintSize(cs) + cs + 2 + varintSize(md.index) + varintSize(md.term);
}

function snapshotSize(s: Snapshot): number {
  const md = metadataSize(s.metadata);
  const data = s.data;
  const n = 1 + varintSize(md) + md;
  return data === undefined ? n : n + 1 + varintSize(data.length) + data.length;
}

/** The encoded size of the empty snapshot (`Message.snapshot` when undefined). */
const EMPTY_SNAPSHOT_SIZE = 10;

function uncheckedMessageSize(m: Message): number {
  let n =
    9 + // tags of type, to, from, term, logTerm, index, commit, reject, rejectHint
    varint64Size(m.to) +
    varint64Size(m.from) +
    varintSize(m.term) +
    varintSize(m.logTerm) +
    varintSize(m.index) +
    varintSize(m.commit) +
    varintSize(m.rejectHint) +
    1 + // type value
    1; // reject value
  const entries = m.entries;
  for (let i = 0; i < entries.length; i++) {
    const es = entrySize(entries[i]!);
    n += 1 + varintSize(es) + es;
  }
  const snap = m.snapshot;
  const ss = snap === undefined ? EMPTY_SNAPSHOT_SIZE : snapshotSize(snap);
  n += 1 + varintSize(ss) + ss;
  const ctx = m.context;
  if (ctx !== undefined) n += 1 + varintSize(ctx.length) + ctx.length;
  const vote = m.vote;
  if (vote !== undefined) n += 1 + varint64Size(vote);
  const responses = m.responses;
  if (responses !== undefined) {
    for (let i = 0; i < responses.length; i++) {
      const rs = uncheckedMessageSize(responses[i]!);
      n += 1 + varintSize(rs) + rs;
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Checked sizes: the first pass of every encoder. Same results as above, plus validation.

function checkedEntrySize(e: Entry): number {
  if (e === null || typeof e !== "object") throw new FieldError("", "is not an Entry");
  // Fast path (every field valid, term and index below 2^32): one test, no calls but varintSize.
  const term = e.term;
  const index = e.index;
  const type = e.type;
  const data = e.data;
  if (term >>> 0 === term && index >>> 0 === index && type >>> 0 === type && type <= MAX_ENTRY_TYPE) {
    const n = 4 + varintSize(term) + varintSize(index);
    if (data === undefined) return n;
    if (data instanceof Uint8Array) {
      const len = data.length;
      return n + 1 + varintSize(len) + len;
    }
  }
  checkEnum(type, MAX_ENTRY_TYPE, "type");
  let n = 4 + checkedUint53Size(term, "term") + checkedUint53Size(index, "index");
  if (data !== undefined) n += 1 + checkedBytesSize(data, "data");
  return n;
}

function checkedIdsSize(ids: readonly bigint[], field: string): number {
  if (!Array.isArray(ids)) throw new FieldError(field, "is not an array");
  let n = 0;
  for (let i = 0; i < ids.length; i++) n += 1 + checkedUint64Size(ids[i]!, `${field}[${i}]`);
  return n;
}

function checkedConfStateSize(cs: ConfState): number {
  if (cs === null || typeof cs !== "object") throw new FieldError("", "is not a ConfState");
  return (
    2 +
    checkedIdsSize(cs.voters, "voters") +
    checkedIdsSize(cs.learners, "learners") +
    checkedIdsSize(cs.votersOutgoing, "votersOutgoing") +
    checkedIdsSize(cs.learnersNext, "learnersNext")
  );
}

function checkedMetadataSize(md: SnapshotMetadata): number {
  if (md === null || typeof md !== "object") throw new FieldError("", "is not a SnapshotMetadata");
  let cs: number;
  try {
    cs = checkedConfStateSize(md.confState);
  } catch (err) {
    throw prefixField(err, "confState.");
  }
  return 1 + varintSize(cs) + cs + 2 + checkedUint53Size(md.index, "index") + checkedUint53Size(md.term, "term");
}

function checkedSnapshotSize(s: Snapshot): number {
  if (s === null || typeof s !== "object") throw new FieldError("", "is not a Snapshot");
  let md: number;
  try {
    md = checkedMetadataSize(s.metadata);
  } catch (err) {
    throw prefixField(err, "metadata.");
  }
  let n = 1 + varintSize(md) + md;
  const data = s.data;
  if (data !== undefined) n += 1 + checkedBytesSize(data, "data");
  return n;
}

function checkedMessageSize(m: Message, depth: number): number {
  if (m === null || typeof m !== "object") throw new FieldError("", "is not a Message");
  // Validated in field-number order: with several bad fields, the first one is reported.
  checkEnum(m.type, MAX_MESSAGE_TYPE, "type");
  let n =
    9 + // tags of type, to, from, term, logTerm, index, commit, reject, rejectHint
    2 + // values of type and reject
    checkedUint64Size(m.to, "to") +
    checkedUint64Size(m.from, "from") +
    checkedUint53Size(m.term, "term") +
    checkedUint53Size(m.logTerm, "logTerm") +
    checkedUint53Size(m.index, "index");
  const entries = m.entries;
  if (!Array.isArray(entries)) throw new FieldError("entries", "is not an array");
  n += depth === 0 ? checkedTopEntriesSize(entries) : checkedEntriesSize(entries);
  n += checkedUint53Size(m.commit, "commit");
  const ss = checkedMessageSnapshotSize(m.snapshot);
  n += 1 + varintSize(ss) + ss;
  n += checkedUint53Size(m.rejectHint, "rejectHint");
  const ctx = m.context;
  if (ctx !== undefined) n += 1 + checkedBytesSize(ctx, "context");
  const vote = m.vote;
  if (vote !== undefined) n += 1 + checkedUint64Size(vote, "vote");
  const responses = m.responses;
  if (responses !== undefined) {
    checkResponses(responses, depth);
    for (let i = 0; i < responses.length; i++) {
      const rs = checkedResponseSize(responses[i]!, i, depth);
      n += 1 + varintSize(rs) + rs;
    }
  }
  return n;
}

/**
 * The size of the top-level message's entries field, validated, keeping each entry's size in
 * `entrySizes` for writeTopEntries. The loop codec-msgapp spends its size pass in, written out
 * with no calls on its fast path (an entry with term, index < 2^32, a valid type and data a
 * `Uint8Array` or absent; 1- and 2-byte varints inline): callgrind counted 14,500 instructions
 * per codec-msgapp size pass with checkedEntrySize and varintSize called per entry (V8 did not
 * inline them), against 9,367 with this loop (2026-12-02, bench/tools/codec-callgrind.mjs; op size).
 * Anything else goes through checkedEntrySize, which names the bad field.
 */
function checkedTopEntriesSize(entries: readonly Entry[]): number {
  const count = entries.length;
  let sizes = entrySizes;
  if (sizes.length < count) sizes = entrySizes = new Int32Array(Math.max(count, 2 * sizes.length));
  let n = 0;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    let es = -1;
    if (typeof e === "object" && e !== null) {
      const term = e.term;
      const index = e.index;
      const type = e.type;
      const data = e.data;
      if (term >>> 0 === term && index >>> 0 === index && type >>> 0 === type && type <= MAX_ENTRY_TYPE) {
        es = 4 + (term < 0x80 ? 1 : varintSize(term)) + (index < 0x80 ? 1 : index < 0x4000 ? 2 : varintSize(index));
        if (data instanceof Uint8Array) {
          const len = data.length;
          es += 1 + (len < 0x80 ? 1 : len < 0x4000 ? 2 : varintSize(len)) + len;
        } else if (data !== undefined) {
          es = -1;
        }
      }
    }
    if (es < 0) es = checkedEntrySizeAt(e, i);
    sizes[i] = es;
    n += (es < 0x80 ? 2 : es < 0x4000 ? 3 : 1 + varintSize(es)) + es;
  }
  return n;
}

/** The size of a nested message's entries field, validated. */
function checkedEntriesSize(entries: readonly Entry[]): number {
  let n = 0;
  for (let i = 0; i < entries.length; i++) {
    const es = checkedEntrySizeAt(entries[i]!, i);
    n += 1 + varintSize(es) + es;
  }
  return n;
}

/** checkedEntrySize of `entries[i]`, errors naming `entries[i].field`. */
function checkedEntrySizeAt(e: Entry, i: number): number {
  try {
    return checkedEntrySize(e);
  } catch (err) {
    throw prefixField(err, `entries[${i}].`);
  }
}

/** The size of `Message.snapshot` (the empty snapshot when undefined), validated. */
function checkedMessageSnapshotSize(snap: Snapshot | undefined): number {
  if (snap === undefined) return EMPTY_SNAPSHOT_SIZE;
  try {
    return checkedSnapshotSize(snap);
  } catch (err) {
    throw prefixField(err, "snapshot.");
  }
}

function checkResponses(responses: readonly Message[], depth: number): void {
  if (!Array.isArray(responses)) throw new FieldError("responses", "is not an array");
  if (responses.length > 0 && depth >= MAX_DEPTH) throw new FieldError("responses", `nested deeper than ${MAX_DEPTH}`);
}

function checkedResponseSize(r: Message, i: number, depth: number): number {
  try {
    return checkedMessageSize(r, depth + 1);
  } catch (err) {
    throw prefixField(err, `responses[${i}].`);
  }
}

// ---------------------------------------------------------------------------------------------
// Writes (second pass, values already validated).

function writeEntry(buf: Uint8Array, pos: number, e: Entry): number {
  buf[pos] = 0x08;
  buf[pos + 1] = e.type;
  buf[pos + 2] = 0x10;
  pos = writeVarint53(buf, pos + 3, e.term);
  buf[pos] = 0x18;
  pos = writeVarint53(buf, pos + 1, e.index);
  const data = e.data;
  if (data !== undefined) {
    buf[pos] = 0x22;
    pos = writeBytes(buf, pos + 1, data);
  }
  return pos;
}

function writeIds(buf: Uint8Array, pos: number, tag: number, ids: readonly bigint[]): number {
  for (let i = 0; i < ids.length; i++) {
    buf[pos] = tag;
    pos = writeVarint64(buf, pos + 1, ids[i]!);
  }
  return pos;
}

function writeConfState(buf: Uint8Array, pos: number, cs: ConfState): number {
  pos = writeIds(buf, pos, 0x08, cs.voters);
  pos = writeIds(buf, pos, 0x10, cs.learners);
  pos = writeIds(buf, pos, 0x18, cs.votersOutgoing);
  pos = writeIds(buf, pos, 0x20, cs.learnersNext);
  buf[pos] = 0x28;
  buf[pos + 1] = cs.autoLeave ? 1 : 0;
  return pos + 2;
}

function writeMetadata(buf: Uint8Array, pos: number, md: SnapshotMetadata): number {
  buf[pos] = 0x0a;
  pos = writeVarint32(buf, pos + 1, confStateSize(md.confState));
  pos = writeConfState(buf, pos, md.confState);
  buf[pos] = 0x10;
  pos = writeVarint53(buf, pos + 1, md.index);
  buf[pos] = 0x18;
  return writeVarint53(buf, pos + 1, md.term);
}

function writeSnapshot(buf: Uint8Array, pos: number, s: Snapshot): number {
  const data = s.data;
  if (data !== undefined) {
    buf[pos] = 0x0a;
    pos = writeBytes(buf, pos + 1, data);
  }
  buf[pos] = 0x12;
  pos = writeVarint32(buf, pos + 1, metadataSize(s.metadata));
  return writeMetadata(buf, pos, s.metadata);
}

/** `Message.snapshot` when undefined: `Snapshot{metadata: {confState: {}}}`. */
const EMPTY_SNAPSHOT_BYTES = Uint8Array.of(0x12, 0x08, 0x0a, 0x02, 0x28, 0x00, 0x10, 0x00, 0x18, 0x00);

let entrySizes = new Int32Array(256);

function writeEntries(buf: Uint8Array, pos: number, entries: readonly Entry[]): number {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    buf[pos] = 0x3a;
    pos = writeVarint32(buf, pos + 1, entrySize(e));
    pos = writeEntry(buf, pos, e);
  }
  return pos;
}

/**
 * The entries of the top-level message, with the sizes the size pass kept, and the 1- and
 * 2-byte varint cases written inline: the loop codec-msgapp spends its time in.
 */
function writeTopEntries(buf: Uint8Array, pos: number, entries: readonly Entry[], sizes: Int32Array): number {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const es = sizes[i]!;
    buf[pos] = 0x3a;
    if (es < 0x80) {
      buf[pos + 1] = es;
      pos += 2;
    } else if (es < 0x4000) {
      buf[pos + 1] = es | 0x80;
      buf[pos + 2] = es >>> 7;
      pos += 3;
    } else {
      pos = writeVarint32(buf, pos + 1, es);
    }
    buf[pos] = 0x08;
    buf[pos + 1] = e.type;
    buf[pos + 2] = 0x10;
    const term = e.term;
    if (term < 0x80) {
      buf[pos + 3] = term;
      pos += 4;
    } else {
      pos = writeVarint53(buf, pos + 3, term);
    }
    buf[pos] = 0x18;
    const index = e.index;
    if (index < 0x80) {
      buf[pos + 1] = index;
      pos += 2;
    } else if (index < 0x4000) {
      buf[pos + 1] = index | 0x80;
      buf[pos + 2] = index >>> 7;
      pos += 3;
    } else {
      pos = writeVarint53(buf, pos + 1, index);
    }
    const data = e.data;
    if (data !== undefined) {
      buf[pos] = 0x22;
      pos = writeBytes(buf, pos + 1, data);
    }
  }
  return pos;
}

function writeMessage(buf: Uint8Array, pos: number, m: Message, top = false): number {
  buf[pos] = 0x08;
  buf[pos + 1] = m.type;
  buf[pos + 2] = 0x10;
  pos = writeVarint64(buf, pos + 3, m.to);
  buf[pos] = 0x18;
  pos = writeVarint64(buf, pos + 1, m.from);
  buf[pos] = 0x20;
  pos = writeVarint53(buf, pos + 1, m.term);
  buf[pos] = 0x28;
  pos = writeVarint53(buf, pos + 1, m.logTerm);
  buf[pos] = 0x30;
  pos = writeVarint53(buf, pos + 1, m.index);
  pos = top ? writeTopEntries(buf, pos, m.entries, entrySizes) : writeEntries(buf, pos, m.entries);
  buf[pos] = 0x40;
  pos = writeVarint53(buf, pos + 1, m.commit);
  buf[pos] = 0x4a;
  const snap = m.snapshot;
  if (snap === undefined) {
    buf[pos + 1] = EMPTY_SNAPSHOT_SIZE;
    buf.set(EMPTY_SNAPSHOT_BYTES, pos + 2);
    pos += 2 + EMPTY_SNAPSHOT_SIZE;
  } else {
    pos = writeVarint32(buf, pos + 1, snapshotSize(snap));
    pos = writeSnapshot(buf, pos, snap);
  }
  buf[pos] = 0x50;
  buf[pos + 1] = m.reject ? 1 : 0;
  buf[pos + 2] = 0x58;
  pos = writeVarint53(buf, pos + 3, m.rejectHint);
  const ctx = m.context;
  if (ctx !== undefined) {
    buf[pos] = 0x62;
    pos = writeBytes(buf, pos + 1, ctx);
  }
  const vote = m.vote;
  if (vote !== undefined) {
    buf[pos] = 0x68;
    pos = writeVarint64(buf, pos + 1, vote);
  }
  const responses = m.responses;
  if (responses !== undefined) {
    for (let i = 0; i < responses.length; i++) {
      const sub = responses[i]!;
      buf[pos] = 0x72;
      pos = writeVarint32(buf, pos + 1, uncheckedMessageSize(sub));
      pos = writeMessage(buf, pos, sub);
    }
  }
  return pos;
}

// ---------------------------------------------------------------------------------------------
// Output buffers

/** Encodings up to this size share slabs; larger ones get their own ArrayBuffer. */
const POOL_MAX = 16 * 1024;
/** Slab size: 8 x POOL_MAX, so at most 1/8 of a slab is left unused at its end. */
const SLAB_SIZE = 128 * 1024;
/** V8 keeps typed arrays up to 64 bytes on the JS heap: they are cheap, no need to pool. */
const ON_HEAP_MAX = 64;

let slab = new ArrayBuffer(SLAB_SIZE);
/** The current slab as bytes (encodeMessageOnePass writes into it before it knows the size). */
let slabBytes = new Uint8Array(slab);
/** Invariant: no result handed out overlaps the slab at or after slabOffset. */
let slabOffset = 0;

function newSlab(): void {
  slab = new ArrayBuffer(SLAB_SIZE);
  slabBytes = new Uint8Array(slab);
  slabOffset = 0;
}

/**
 * An exact-length `Uint8Array` for one encoding (zero-filled, or with bytes of an abandoned
 * one-pass encoding: every writer writes each byte of its result). Between 65 bytes and 16 KiB it is
 * a view into a shared 128 KiB slab (never overlapping another result), as Node's
 * `Buffer.allocUnsafe` and protobufjs's `Writer.finish()` hand out small buffers: measured on
 * codec-msgapp, a fresh 9 KiB `new Uint8Array` costs about 1.4 us of a 5 us encode (its own
 * off-heap backing store), a slab view about 0.45 us, which took encode from ~2000 to ~2550
 * MB/s. The cost for callers: `byteOffset` may be non-zero, `.buffer` is the larger slab, and a
 * result kept alive keeps its slab alive; `bytes.slice()` gives an own ArrayBuffer.
 */
function allocOutput(n: number): Uint8Array {
  if (n <= ON_HEAP_MAX || n > POOL_MAX) return new Uint8Array(n);
  if (slabOffset + n > SLAB_SIZE) newSlab();
  const out = new Uint8Array(slab, slabOffset, n);
  slabOffset = (slabOffset + n + 7) & ~7; // keep results 8-byte aligned
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entry points

function encodeWith<T>(type: string, v: T, size: (v: T) => number, write: (buf: Uint8Array, pos: number, v: T) => number): Uint8Array {
  if (v === null || typeof v !== "object") throw new EncodeError(type, "(value)", `is not a ${type}`);
  let n: number;
  try {
    n = size(v);
  } catch (err) {
    throw toEncodeError(type, err);
  }
  const buf = allocOutput(n);
  const end = write(buf, 0, v);
  // A mismatch is a bug in this file, never the caller's fault.
  if (end !== n) throw new Error(`raftpb: internal error: ${type} sized ${n} bytes but wrote ${end}`);
  return buf;
}

/** writeEntriesOnePass's results other than an end position. */
const GIVE_UP = -1;
const NO_ROOM = -2;
/** Where writeEntriesOnePass stopped when it returned NO_ROOM: the entry and the position. */
let stoppedAt = 0;
let stoppedPos = 0;

/**
 * Checks, sizes and writes `entries[from..]` at `pos`, never past `limit`: the end position, or
 * GIVE_UP for an entry off the one pass's path, or NO_ROOM (stoppedAt, stoppedPos set) for an
 * entry that would pass `limit`. A function of its own so that `buf` is fixed in the loop (V8
 * then keeps its bounds and base in registers).
 */
function writeEntriesOnePass(buf: Uint8Array, pos: number, limit: number, entries: readonly Entry[], from: number): number {
  for (let i = from; i < entries.length; i++) {
    const e = entries[i]!;
    if (e == null) return GIVE_UP; // other non-objects fail the checks below
    const term = e.term;
    const index = e.index;
    const type = e.type;
    const data = e.data;
    if (!(term >>> 0 === term && index >>> 0 === index && type >>> 0 === type && type <= MAX_ENTRY_TYPE)) return GIVE_UP;
    let es = 4 + (term < 0x80 ? 1 : varintSize(term)) + (index < 0x80 ? 1 : index < 0x4000 ? 2 : varintSize(index));
    let len = 0;
    if (data !== undefined) {
      if (!(data instanceof Uint8Array)) return GIVE_UP;
      len = data.length;
      es += 1 + (len < 0x80 ? 1 : len < 0x4000 ? 2 : varintSize(len)) + len;
    }
    if (pos + es + 4 > limit) {
      stoppedAt = i;
      stoppedPos = pos;
      return NO_ROOM;
    }
    buf[pos] = 0x3a;
    if (es < 0x80) {
      buf[(pos + 1) | 0] = es;
      pos = (pos + 2) | 0;
    } else if (es < 0x4000) {
      buf[(pos + 1) | 0] = es | 0x80;
      buf[(pos + 2) | 0] = es >>> 7;
      pos = (pos + 3) | 0;
    } else {
      pos = writeVarint32(buf, pos + 1, es);
    }
    buf[pos] = 0x08;
    buf[(pos + 1) | 0] = type;
    buf[(pos + 2) | 0] = 0x10;
    if (term < 0x80) {
      buf[(pos + 3) | 0] = term;
      pos = (pos + 4) | 0;
    } else {
      pos = writeVarint32(buf, pos + 3, term);
    }
    buf[pos] = 0x18;
    if (index < 0x80) {
      buf[(pos + 1) | 0] = index;
      pos = (pos + 2) | 0;
    } else if (index < 0x4000) {
      buf[(pos + 1) | 0] = index | 0x80;
      buf[(pos + 2) | 0] = index >>> 7;
      pos = (pos + 3) | 0;
    } else {
      pos = writeVarint32(buf, pos + 1, index);
    }
    if (data !== undefined) {
      buf[pos] = 0x22;
      if (len < 0x80) {
        buf[(pos + 1) | 0] = len;
        pos = (pos + 2) | 0;
      } else if (len < 0x4000) {
        buf[(pos + 1) | 0] = len | 0x80;
        buf[(pos + 2) | 0] = len >>> 7;
        pos = (pos + 3) | 0;
      } else {
        pos = writeVarint32(buf, pos + 1, len);
      }
      if (len > 8) {
        buf.set(data, pos);
      } else {
        for (let j = 0; j < len; j++) buf[(pos + j) | 0] = data[j]!;
      }
      pos = (pos + len) | 0;
    }
  }
  return pos;
}

function isUint53(v: number): boolean {
  return v >>> 0 === v || (typeof v === "number" && Number.isSafeInteger(v) && v >= 0);
}

function isUint64(v: bigint): boolean {
  return typeof v === "bigint" && v >= 0n && v <= 0xffffffffffffffffn;
}

/**
 * The last `to` and `from` seen by encodeMessageOnePass, checked, and their values as numbers
 * (-1 at or above 2^32): a bigint comparison instead of two bigint range checks and a
 * conversion (a runtime call) per id and message. -1n matches no bigint the check passes.
 */
let lastTo = -1n;
let lastToNum = 0;
let lastFrom = -1n;
let lastFromNum = 0;

/** `v` as a number if it is a uint64 below 2^32, -1 for one above, -2 for no uint64. */
function idNumber(v: bigint): number {
  if (!isUint64(v)) return -2;
  return v <= 0xffffffffn ? Number(v) : -1;
}

/**
 * One pass for the common message (no snapshot, context, vote or responses; entries with term
 * and index below 2^32, a valid type, data a `Uint8Array` or absent; at most POOL_MAX bytes):
 * checks and writes each field straight into the slab, sizing each entry from the fields it
 * has just loaded, and hands out the written bytes; no size pass. The bytes are those of the
 * two-pass path (writeMessage). Returns undefined, having handed out nothing, for any other
 * message, invalid ones included: the caller then encodes it in two passes, which name the bad
 * field. Measured with bench/tools/codec-callgrind.mjs on codec-msgapp's message (2026-12-02):
 * see packages/raftpb/README.md, "Performance notes".
 */
function encodeMessageOnePass(m: Message): Uint8Array | undefined {
  if (m.snapshot !== undefined || m.context !== undefined || m.vote !== undefined || m.responses !== undefined) return undefined;
  const type = m.type;
  const to = m.to;
  const from = m.from;
  const entries = m.entries;
  if (!(type >>> 0 === type && type <= MAX_MESSAGE_TYPE && Array.isArray(entries))) return undefined;
  if (to !== lastTo) {
    const v = idNumber(to);
    if (v === -2) return undefined;
    lastTo = to;
    lastToNum = v;
  }
  if (from !== lastFrom) {
    const v = idNumber(from);
    if (v === -2) return undefined;
    lastFrom = from;
    lastFromNum = v;
  }
  const toNum = lastToNum;
  const fromNum = lastFromNum;
  if (!(isUint53(m.term) && isUint53(m.logTerm) && isUint53(m.index) && isUint53(m.commit) && isUint53(m.rejectHint))) return undefined;
  const count = entries.length;
  // Messages of more than POOL_MAX bytes get their own buffer (two passes): guess from the
  // first entry, so that a big message rarely writes POOL_MAX bytes in vain.
  if (count > 0) {
    const d = entries[0]?.data;
    if (d instanceof Uint8Array && d.length * count > POOL_MAX) return undefined;
  }
  if (slabOffset + 64 > SLAB_SIZE) newSlab(); // room for the fields before the entries
  let buf = slabBytes;
  let start = slabOffset;
  let limit = start + POOL_MAX;
  let sizeLimited = true; // limit is start + POOL_MAX (else the slab's end)
  if (limit > SLAB_SIZE) {
    limit = SLAB_SIZE;
    sizeLimited = false;
  }
  buf[start] = 0x08;
  buf[start + 1] = type;
  buf[start + 2] = 0x10;
  let pos = toNum >= 0 ? writeVarint32(buf, start + 3, toNum) : writeVarint64(buf, start + 3, to);
  buf[pos] = 0x18;
  pos = fromNum >= 0 ? writeVarint32(buf, pos + 1, fromNum) : writeVarint64(buf, pos + 1, from);
  buf[pos] = 0x20;
  pos = writeVarint53(buf, pos + 1, m.term);
  buf[pos] = 0x28;
  pos = writeVarint53(buf, pos + 1, m.logTerm);
  buf[pos] = 0x30;
  pos = writeVarint53(buf, pos + 1, m.index);
  let next = 0;
  for (;;) {
    const end = writeEntriesOnePass(buf, pos, limit, entries, next);
    if (end >= 0) {
      pos = end;
      break;
    }
    if (end === GIVE_UP || sizeLimited) return undefined;
    // The slab's end: move what is written to a new slab and go on from the entry that did not fit.
    const moved = buf.subarray(start, stoppedPos);
    newSlab();
    buf = slabBytes;
    buf.set(moved, 0);
    pos = stoppedPos - start;
    start = 0;
    limit = POOL_MAX;
    sizeLimited = true;
    next = stoppedAt;
  }
  // The fields after the entries take at most 1 + 9 + 12 + 2 + 1 + 9 = 34 bytes.
  if (pos + 34 > limit) {
    if (sizeLimited || pos - start + 34 > POOL_MAX) return undefined;
    const moved = buf.subarray(start, pos);
    newSlab();
    buf = slabBytes;
    buf.set(moved, 0);
    pos -= start;
    start = 0;
  }
  buf[pos] = 0x40;
  pos = writeVarint53(buf, pos + 1, m.commit);
  buf[pos] = 0x4a;
  buf[pos + 1] = EMPTY_SNAPSHOT_SIZE;
  for (let k = 0; k < EMPTY_SNAPSHOT_SIZE; k++) buf[pos + 2 + k] = EMPTY_SNAPSHOT_BYTES[k]!;
  pos += 2 + EMPTY_SNAPSHOT_SIZE;
  buf[pos] = 0x50;
  buf[pos + 1] = m.reject ? 1 : 0;
  buf[pos + 2] = 0x58;
  pos = writeVarint53(buf, pos + 3, m.rejectHint);
  const n = pos - start;
  // Small results are not slab views (see allocOutput): copied out, the slab space reused.
  if (n <= ON_HEAP_MAX) return buf.slice(start, pos);
  slabOffset = (pos + 7) & ~7;
  return new Uint8Array(slab, start, n);
}

/**
 * Encodes a Message exactly as etcd v3.4 does, plus `vote` (13) when defined and `responses`
 * (14) when non-empty. `snapshot` is always written (the empty snapshot when undefined).
 * @throws {@link EncodeError} when a field has no encoding (see the class).
 */
export function encodeMessage(m: Message): Uint8Array {
  // Written out (not through encodeWith) because this is the hot path of MsgApp.
  if (m === null || typeof m !== "object") throw new EncodeError("Message", "(value)", "is not a Message");
  const fast = encodeMessageOnePass(m);
  if (fast !== undefined) return fast;
  let n: number;
  try {
    n = checkedMessageSize(m, 0);
  } catch (err) {
    throw toEncodeError("Message", err);
  }
  const buf = allocOutput(n);
  const end = writeMessage(buf, 0, m, true);
  if (end !== n) throw new Error(`raftpb: internal error: Message sized ${n} bytes but wrote ${end}`);
  return buf;
}

/**
 * The encoded size of `m` in bytes: the length of `encodeMessage(m)`, with the same validation.
 * @throws {@link EncodeError} when a field has no encoding.
 */
export function messageSize(m: Message): number {
  if (m === null || typeof m !== "object") throw new EncodeError("Message", "(value)", "is not a Message");
  try {
    return checkedMessageSize(m, 0);
  } catch (err) {
    throw toEncodeError("Message", err);
  }
}

function checkRoom(out: Uint8Array, offset: number, n: number, type: string): void {
  if (!(out instanceof Uint8Array)) throw new TypeError(`raftpb: encode${type}Into expects a Uint8Array`);
  if (!(Number.isSafeInteger(offset) && offset >= 0 && offset + n <= out.length)) {
    throw new RangeError(`raftpb: encode${type}Into: ${n} bytes at offset ${offset} do not fit ${out.length}`);
  }
}

/**
 * Encodes `m` (the bytes of {@link encodeMessage}) into `out` at `offset`, allocating nothing:
 * for callers that frame messages in buffers of their own. Returns the offset after the
 * message; `messageSize(m)` tells how much room it needs.
 * @throws {@link EncodeError} when a field has no encoding; `RangeError` when `out` has less
 * than `messageSize(m)` bytes after `offset` (nothing is written then).
 */
export function encodeMessageInto(m: Message, out: Uint8Array, offset = 0): number {
  const n = messageSize(m);
  checkRoom(out, offset, n, "Message");
  const end = writeMessage(out, offset, m, true);
  if (end !== offset + n) throw new Error(`raftpb: internal error: Message sized ${n} bytes but wrote ${end - offset}`);
  return end;
}

/**
 * Encodes an Entry exactly as etcd v3.4 does: type, term, index always; data when defined.
 * @throws {@link EncodeError} when a field has no encoding.
 */
export function encodeEntry(e: Entry): Uint8Array {
  return encodeWith("Entry", e, checkedEntrySize, writeEntry);
}

/**
 * Encodes `e` (the bytes of {@link encodeEntry}) into `out` at `offset`, allocating nothing
 * (a WAL record's payload, say). Returns the offset after the entry; `entrySize(e)` tells how
 * much room it needs.
 * @throws {@link EncodeError} when a field has no encoding; `RangeError` when `out` has less
 * than `entrySize(e)` bytes after `offset` (nothing is written then).
 */
export function encodeEntryInto(e: Entry, out: Uint8Array, offset = 0): number {
  let n: number;
  try {
    n = checkedEntrySize(e);
  } catch (err) {
    throw toEncodeError("Entry", err);
  }
  checkRoom(out, offset, n, "Entry");
  const end = writeEntry(out, offset, e);
  if (end !== offset + n) throw new Error(`raftpb: internal error: Entry sized ${n} bytes but wrote ${end - offset}`);
  return end;
}

function checkedHardStateSize(hs: HardState): number {
  return 3 + checkedUint53Size(hs.term, "term") + checkedUint64Size(hs.vote, "vote") + checkedUint53Size(hs.commit, "commit");
}

function writeHardState(buf: Uint8Array, pos: number, hs: HardState): number {
  buf[pos] = 0x08;
  pos = writeVarint53(buf, pos + 1, hs.term);
  buf[pos] = 0x10;
  pos = writeVarint64(buf, pos + 1, hs.vote);
  buf[pos] = 0x18;
  return writeVarint53(buf, pos + 1, hs.commit);
}

/**
 * Encodes a HardState exactly as etcd v3.4 does (term, vote, commit always written).
 * @throws {@link EncodeError} when a field has no encoding.
 */
export function encodeHardState(hs: HardState): Uint8Array {
  return encodeWith("HardState", hs, checkedHardStateSize, writeHardState);
}

/**
 * Encodes a ConfState exactly as etcd v3.4 does (unpacked id lists, autoLeave always written).
 * @throws {@link EncodeError} when a field has no encoding.
 */
export function encodeConfState(cs: ConfState): Uint8Array {
  return encodeWith("ConfState", cs, checkedConfStateSize, writeConfState);
}

/**
 * Encodes a Snapshot exactly as etcd v3.4 does (data when defined, metadata always).
 * @throws {@link EncodeError} when a field has no encoding.
 */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  return encodeWith("Snapshot", s, checkedSnapshotSize, writeSnapshot);
}

function checkedConfChangeSize(cc: ConfChange): number {
  checkEnum(cc.type, MAX_CONF_CHANGE_TYPE, "type");
  let n = 4 + checkedUint64Size(cc.id, "id") + checkedUint64Size(cc.nodeId, "nodeId");
  const ctx = cc.context;
  if (ctx !== undefined) n += 1 + checkedBytesSize(ctx, "context");
  return n;
}

function writeConfChange(buf: Uint8Array, pos: number, cc: ConfChange): number {
  buf[pos] = 0x08;
  pos = writeVarint64(buf, pos + 1, cc.id);
  buf[pos] = 0x10;
  buf[pos + 1] = cc.type;
  buf[pos + 2] = 0x18;
  pos = writeVarint64(buf, pos + 3, cc.nodeId);
  const ctx = cc.context;
  if (ctx !== undefined) {
    buf[pos] = 0x22;
    pos = writeBytes(buf, pos + 1, ctx);
  }
  return pos;
}

/**
 * Encodes a ConfChange exactly as etcd v3.4 does: id (1), type (2), nodeId (3) always, in
 * field-number order; context (4) when defined.
 * @throws {@link EncodeError} when a field has no encoding.
 */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encodeWith("ConfChange", cc, checkedConfChangeSize, writeConfChange);
}

function checkedSingleSize(c: ConfChangeSingle): number {
  if (c === null || typeof c !== "object") throw new FieldError("", "is not a ConfChangeSingle");
  checkEnum(c.type, MAX_CONF_CHANGE_TYPE, "type");
  return 3 + checkedUint64Size(c.nodeId, "nodeId");
}

function checkedConfChangeV2Size(cc: ConfChangeV2): number {
  checkEnum(cc.transition, MAX_CONF_CHANGE_TRANSITION, "transition");
  let n = 2;
  const changes = cc.changes;
  if (!Array.isArray(changes)) throw new FieldError("changes", "is not an array");
  for (let i = 0; i < changes.length; i++) {
    let cs: number;
    try {
      cs = checkedSingleSize(changes[i]!);
    } catch (err) {
      throw prefixField(err, `changes[${i}].`);
    }
    n += 1 + varintSize(cs) + cs;
  }
  const ctx = cc.context;
  if (ctx !== undefined) n += 1 + checkedBytesSize(ctx, "context");
  return n;
}

function writeConfChangeV2(buf: Uint8Array, pos: number, cc: ConfChangeV2): number {
  buf[pos] = 0x08;
  buf[pos + 1] = cc.transition;
  pos += 2;
  const changes = cc.changes;
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    buf[pos] = 0x12;
    buf[pos + 1] = 3 + varint64Size(c.nodeId);
    buf[pos + 2] = 0x08;
    buf[pos + 3] = c.type;
    buf[pos + 4] = 0x10;
    pos = writeVarint64(buf, pos + 5, c.nodeId);
  }
  const ctx = cc.context;
  if (ctx !== undefined) {
    buf[pos] = 0x1a;
    pos = writeBytes(buf, pos + 1, ctx);
  }
  return pos;
}

/**
 * Encodes a ConfChangeV2 exactly as etcd v3.4 does (transition always, one field per change,
 * context when defined).
 * @throws {@link EncodeError} when a field has no encoding.
 */
export function encodeConfChangeV2(cc: ConfChangeV2): Uint8Array {
  return encodeWith("ConfChangeV2", cc, checkedConfChangeV2Size, writeConfChangeV2);
}
