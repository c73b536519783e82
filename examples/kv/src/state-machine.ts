/**
 * The replicated state: a map of string keys to string values, plus the members' addresses.
 * Deterministic: every member applies the same commands in the same order and ends up with the
 * same state. Commands are JSON in the entry's payload.
 * @module
 */

/** A write command, as proposed (JSON in the entry). */
export type Command =
  /** Sets `key` to `value`; with `prev` present, only if the current value is `prev` (`null`: absent). */
  | { op: "put"; key: string; value: string; prev?: string | null }
  /** Deletes `key`; with `prev` present, only if the current value is `prev`. */
  | { op: "del"; key: string; prev?: string | null };

/** What applying a command returned. */
export interface CommandResult {
  /** False when a compare-and-set condition did not hold (nothing changed). */
  ok: boolean;
  /** The value before the command (`null`: absent). When `ok` is false, the current value. */
  prev: string | null;
  /** The log index the command was applied at. */
  index: number;
}

/** Where a member listens. */
export interface MemberAddr {
  /** Raft traffic, `host:port`. */
  raft: string;
  /** The HTTP API, `host:port`. */
  http: string;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Encodes a command for `propose()`. */
export function encodeCommand(c: Command): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

/** Decodes a member address from a conf change context; undefined if absent or malformed. */
export function decodeMemberAddr(ctx: Uint8Array | undefined): MemberAddr | undefined {
  if (ctx === undefined || ctx.length === 0) return undefined;
  try {
    const v = JSON.parse(dec.decode(ctx)) as Partial<MemberAddr>;
    if (typeof v.raft === "string" && typeof v.http === "string") return { raft: v.raft, http: v.http };
  } catch {
    // not ours
  }
  return undefined;
}

/** Encodes a member address as a conf change context. */
export function encodeMemberAddr(a: MemberAddr): Uint8Array {
  return enc.encode(JSON.stringify({ raft: a.raft, http: a.http }));
}

/** See the module comment. */
export class KvStateMachine {
  private kv = new Map<string, string>();
  /** Members by decimal id. */
  private members = new Map<string, MemberAddr>();
  /** Invariant: the index of the last command, conf change or snapshot applied. */
  private index = 0;

  /**
   * Applies a committed command.
   * @throws Error for a payload that is not a command (a bug: only this service proposes).
   */
  apply(index: number, data: Uint8Array): CommandResult {
    const c = JSON.parse(dec.decode(data)) as Command;
    this.index = index;
    const cur = this.kv.get(c.key) ?? null;
    if (c.prev !== undefined && c.prev !== cur) return { ok: false, prev: cur, index };
    if (c.op === "put") this.kv.set(c.key, c.value);
    else if (c.op === "del") this.kv.delete(c.key);
    else throw new Error(`kv: unknown command ${JSON.stringify(c)}`);
    return { ok: true, prev: cur, index };
  }

  /** Records a member added (with its addresses) at `index`. */
  addMember(index: number, id: bigint, addr: MemberAddr | undefined): void {
    this.index = index;
    if (addr !== undefined) this.members.set(id.toString(), addr);
  }

  /** Records a member removed at `index`. */
  removeMember(index: number, id: bigint): void {
    this.index = index;
    this.members.delete(id.toString());
  }

  /** Notes that `index` was applied (entries without a command, such as a leader's empty entry). */
  touch(index: number): void {
    if (index > this.index) this.index = index;
  }

  /** The value of `key`, or null. */
  get(key: string): string | null {
    return this.kv.get(key) ?? null;
  }

  /** Every key starting with `prefix`, sorted, with its value. */
  list(prefix: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of [...this.kv.keys()].filter((k) => k.startsWith(prefix)).sort()) out[k] = this.kv.get(k)!;
    return out;
  }

  /** Number of keys. */
  size(): number {
    return this.kv.size;
  }

  /** The members and their addresses, by decimal id. */
  memberAddrs(): Map<string, MemberAddr> {
    return new Map(this.members);
  }

  /** The index of the last thing applied. */
  appliedIndex(): number {
    return this.index;
  }

  /** The whole state, for a snapshot. */
  snapshot(): Uint8Array {
    return enc.encode(JSON.stringify({ index: this.index, kv: [...this.kv], members: [...this.members] }));
  }

  /** Replaces the state with a snapshot's. */
  restore(data: Uint8Array | undefined): void {
    if (data === undefined || data.length === 0) {
      this.kv = new Map();
      this.members = new Map();
      this.index = 0;
      return;
    }
    const s = JSON.parse(dec.decode(data)) as { index: number; kv: [string, string][]; members: [string, MemberAddr][] };
    this.kv = new Map(s.kv);
    this.members = new Map(s.members);
    this.index = s.index;
  }
}
