/**
 * Readable one-line (or few-line) descriptions of raftpb values for logs, test output and
 * datadriven scripts, in the exact format of etcd-io/raft's `Describe*` functions (util.go), so
 * that etcd's scenario files read the same under tsraft:
 *
 *     1->2 MsgApp Term:1 Log:1/11 Commit:11 Entries:[1/12 EntryNormal "foo"]
 *
 * As in etcd, message endpoints are hex (`%x`; `None` for 0, `AppendThread`/`ApplyThread` for
 * the local storage threads), while ids inside HardState, ConfState and conf changes are
 * decimal (`%d`, `%v`). Entry data is Go-quoted (`%q`) unless a formatter is given.
 * @module
 */
import { decodeConfChange, decodeConfChangeV2 } from "./decode.js";
import type { ConfChange, ConfChangeSingle, ConfChangeV2, ConfState, Entry, HardState, Message, NodeId, Snapshot } from "./types.js";
import { ConfChangeType, EntryType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, MessageType } from "./types.js";

/** Formats the data of an `EntryNormal` entry (etcd's `EntryFormatter`); absent data is empty. */
export type EntryFormatter = (data: Uint8Array) => string;

const EMPTY = new Uint8Array(0);

function enumName(names: Record<number, string>, v: number): string {
  return names[v] ?? String(v);
}

function describeTarget(id: NodeId): string {
  if (id === 0n) return "None";
  if (id === LOCAL_APPEND_THREAD) return "AppendThread";
  if (id === LOCAL_APPLY_THREAD) return "ApplyThread";
  return id.toString(16);
}

/**
 * Describes a message like etcd-io/raft's `DescribeMessage`:
 * `from->to Type Term:t Log:logTerm/index`, then ` Rejected (Hint: h)`, ` Commit:c`,
 * ` Vote:v`, the entries (inline when one, one per line when several), a non-empty snapshot on
 * its own line, and the responses indented below.
 */
export function describeMessage(m: Message, f?: EntryFormatter): string {
  return describeMessageWithIndent("", m, f);
}

function describeMessageWithIndent(indent: string, m: Message, f: EntryFormatter | undefined): string {
  let s = `${indent}${describeTarget(m.from)}->${describeTarget(m.to)} ${enumName(MessageType, m.type)} Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.vote !== undefined && m.vote !== 0n) s += ` Vote:${m.vote}`;
  const entries = m.entries;
  if (entries.length === 1) {
    s += ` Entries:[${describeEntry(entries[0]!, f)}]`;
  } else if (entries.length > 1) {
    s += " Entries:[";
    for (const e of entries) s += `\n${indent}  ${describeEntry(e, f)}`;
    s += `\n${indent}]`;
  }
  if (m.snapshot !== undefined && !isEmptySnap(m.snapshot)) {
    s += `\n${indent}  Snapshot: ${describeSnapshot(m.snapshot)}`;
  }
  const responses = m.responses;
  if (responses !== undefined && responses.length > 0) {
    s += " Responses:[";
    for (const r of responses) s += `\n${describeMessageWithIndent(indent + "  ", r, f)}`;
    s += `\n${indent}]`;
  }
  return s;
}

function isEmptySnap(s: Snapshot): boolean {
  return s.metadata.index === 0;
}

/**
 * Describes an entry like etcd-io/raft's `DescribeEntry`: `term/index Type formatted`, where
 * `formatted` is `f(data)` (default: Go's `%q`) for `EntryNormal` and the decoded change list
 * (`v1 l2 r3 u4`) for conf change entries; an undecodable conf change shows the error.
 */
export function describeEntry(e: Entry, f?: EntryFormatter): string {
  let formatted: string;
  const data = e.data ?? EMPTY;
  switch (e.type) {
    case EntryType.EntryNormal:
      formatted = f === undefined ? goQuote(data) : f(data);
      break;
    case EntryType.EntryConfChange:
      formatted = tryDescribe(() => describeConfChange(decodeConfChange(data)));
      break;
    case EntryType.EntryConfChangeV2:
      formatted = tryDescribe(() => describeConfChange(decodeConfChangeV2(data)));
      break;
    default:
      formatted = "";
  }
  if (formatted !== "") formatted = " " + formatted;
  return `${e.term}/${e.index} ${enumName(EntryType, e.type)}${formatted}`;
}

function tryDescribe(fn: () => string): string {
  try {
    return fn();
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Describes entries like etcd-io/raft's `DescribeEntries`: one {@link describeEntry} per line. */
export function describeEntries(entries: readonly Entry[], f?: EntryFormatter): string {
  let s = "";
  for (const e of entries) s += describeEntry(e, f) + "\n";
  return s;
}

/** Describes a HardState like etcd: `Term:1 Vote:1 Commit:10` (`Vote` omitted when 0). */
export function describeHardState(hs: HardState): string {
  let s = `Term:${hs.term}`;
  if (hs.vote !== 0n) s += ` Vote:${hs.vote}`;
  return s + ` Commit:${hs.commit}`;
}

function ids(list: readonly NodeId[]): string {
  return `[${list.join(" ")}]`;
}

/**
 * Describes a ConfState like etcd:
 * `Voters:[1 2 3] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false`.
 */
export function describeConfState(cs: ConfState): string {
  return `Voters:${ids(cs.voters)} VotersOutgoing:${ids(cs.votersOutgoing)} Learners:${ids(cs.learners)} LearnersNext:${ids(cs.learnersNext)} AutoLeave:${cs.autoLeave}`;
}

/** Describes a snapshot like etcd: `Index:4 Term:1 ConfState:Voters:[1 2] ...`. */
export function describeSnapshot(s: Snapshot): string {
  const md = s.metadata;
  return `Index:${md.index} Term:${md.term} ConfState:${describeConfState(md.confState)}`;
}

const CHANGE_LETTER: Record<number, string> = {
  [ConfChangeType.ConfChangeAddNode]: "v",
  [ConfChangeType.ConfChangeAddLearnerNode]: "l",
  [ConfChangeType.ConfChangeRemoveNode]: "r",
  [ConfChangeType.ConfChangeUpdateNode]: "u",
};

/**
 * Describes the changes of a ConfChange or ConfChangeV2 like etcd's `ConfChangesToString`:
 * `v1 l2 r3 u4` (add voter, add learner, remove, update; decimal ids); empty for a V2 with no
 * changes (leaving a joint configuration).
 */
export function describeConfChange(cc: ConfChange | ConfChangeV2): string {
  const changes: readonly ConfChangeSingle[] = "changes" in cc ? cc.changes : [{ type: cc.type, nodeId: cc.nodeId }];
  let s = "";
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    if (i > 0) s += " ";
    s += (CHANGE_LETTER[c.type] ?? "unknown") + c.nodeId.toString();
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Go's %q (strconv.Quote) for bytes: valid printable UTF-8 as is, escapes otherwise.

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function hex(v: number, width: number): string {
  return v.toString(16).padStart(width, "0");
}

/** Go's `fmt.Sprintf("%q", data)`: a double-quoted Go string literal of the bytes. */
export function goQuote(b: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      out += escapeAscii(c);
      i++;
      continue;
    }
    const dec = decodeRune(b, i);
    if (dec === undefined) {
      out += "\\x" + hex(c, 2);
      i++;
      continue;
    }
    const [r, width] = dec;
    const ch = String.fromCodePoint(r);
    if (PRINTABLE.test(ch)) out += ch;
    else if (r < 0x10000) out += "\\u" + hex(r, 4);
    else out += "\\U" + hex(r, 8);
    i += width;
  }
  return out + '"';
}

function escapeAscii(c: number): string {
  switch (c) {
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
    case 0x07:
      return "\\a";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x0b:
      return "\\v";
  }
  if (c < 0x20 || c === 0x7f) return "\\x" + hex(c, 2);
  return String.fromCharCode(c);
}

/** Decodes one UTF-8 sequence at `i` as Go's utf8.DecodeRune does; undefined when invalid. */
function decodeRune(b: Uint8Array, i: number): [number, number] | undefined {
  const c0 = b[i]!;
  const n = b.length - i;
  const cont = (k: number, lo = 0x80, hi = 0xbf): number => {
    const c = b[i + k]!;
    return c >= lo && c <= hi ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf && n >= 2) {
    const c1 = cont(1);
    if (c1 >= 0) return [((c0 & 0x1f) << 6) | c1, 2];
  } else if (c0 >= 0xe0 && c0 <= 0xef && n >= 3) {
    const c1 = c0 === 0xe0 ? cont(1, 0xa0) : c0 === 0xed ? cont(1, 0x80, 0x9f) : cont(1);
    const c2 = cont(2);
    if (c1 >= 0 && c2 >= 0) return [((c0 & 0x0f) << 12) | (c1 << 6) | c2, 3];
  } else if (c0 >= 0xf0 && c0 <= 0xf4 && n >= 4) {
    const c1 = c0 === 0xf0 ? cont(1, 0x90) : c0 === 0xf4 ? cont(1, 0x80, 0x8f) : cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 >= 0 && c2 >= 0 && c3 >= 0) return [((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3, 4];
  }
  return undefined;
}
