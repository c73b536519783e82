/**
 * The replicated state: a map of string keys to string values, the members' addresses, and the
 * space alarm. Deterministic: every member applies the same commands in the same order and ends
 * up with the same state, and whatever a committed entry carries, {@link KvStateMachine.apply}
 * returns a result (a refusal included) instead of throwing (STYLE rule 19).
 * @module
 */
import { decodeCommand, utf8Length } from "./command.js";
import type { MemberAddr, MemberContext } from "./command.js";
import { decodeState, encodeState } from "./snapshot-format.js";
import type { KvState } from "./snapshot-format.js";
import { SortedKeys } from "./sorted-keys.js";

/** A member as the replicated state records it. */
export interface MemberRecord {
  /** Its addresses; null when the conf change that added it carried none that are valid. */
  addr: MemberAddr | null;
  /** A learner added by POST /members, to be promoted to voter once it has caught up. */
  promote: boolean;
}

/** The space alarm: raised when a write is refused for space, cleared by the next command that changes the data. */
export interface SpaceAlarm {
  /** The index of the refused write. */
  index: number;
  /** The quota it was refused under. */
  quota: number;
}

/** What applying a committed command returned (the same on every member). */
export type CommandResult =
  /** Applied. `prev`: the value before (`null`: absent). */
  | { code: "ok"; index: number; prev: string | null }
  /** The compare-and-set condition did not hold: nothing changed. `current`: the value now. */
  | { code: "compare_failed"; index: number; current: string | null }
  /** Refused: the write would take the keys and values over `quota` bytes. Nothing changed. */
  | { code: "no_space"; index: number; usedBytes: number; quota: number }
  /** Refused: the entry is not a valid command (`reason` says why). Nothing changed. */
  | { code: "bad_command"; index: number; reason: string };

/** One key and value of a range answer. */
export interface KeyValue {
  key: string;
  value: string;
}

/** A page of a range read. */
export interface RangePage {
  /** The keys, in order, with their values. */
  kvs: KeyValue[];
  /** Whether keys with the prefix remain after the last one returned. */
  more: boolean;
  /** The last key returned, to pass as `after` for the next page; null when `kvs` is empty. */
  next: string | null;
}

/** Bytes of JSON a range page may hold before it is cut (one key and value more at most). */
export const RANGE_PAGE_BYTES = 4 * 1024 * 1024;

/** See the module comment. */
export class KvStateMachine {
  private kv = new Map<string, string>();
  private keys = new SortedKeys();
  /** Invariant: the sum of the UTF-8 lengths of every key and value in `kv`. */
  private used = 0;
  /** Members by decimal id. */
  private members = new Map<string, MemberRecord>();
  private alarm: SpaceAlarm | null = null;
  /** Invariant: the index of the last command, conf change or snapshot applied. */
  private index = 0;
  /** Bumped by every change of the state (a snapshot being taken checks it). */
  private version = 0;

  /** Applies a committed command and returns its result. Never throws (see the module comment). */
  apply(index: number, data: Uint8Array): CommandResult {
    this.index = index;
    const d = decodeCommand(data);
    if ("refused" in d) return { code: "bad_command", index, reason: d.refused };
    const c = d.command;
    const cur = this.kv.get(c.key) ?? null;
    if (c.prev !== undefined && c.prev !== cur) return { code: "compare_failed", index, current: cur };
    if (c.op === "put") {
      const delta = cur === null ? utf8Length(c.key) + utf8Length(c.value) : utf8Length(c.value) - utf8Length(cur);
      if (delta > 0 && this.used + delta > c.quota) {
        this.alarm = { index, quota: c.quota };
        this.version++;
        return { code: "no_space", index, usedBytes: this.used, quota: c.quota };
      }
      this.kv.set(c.key, c.value);
      if (cur === null) this.keys.insert(c.key);
      this.used += delta;
    } else if (cur !== null) {
      this.kv.delete(c.key);
      this.keys.delete(c.key);
      this.used -= utf8Length(c.key) + utf8Length(cur);
    } else {
      return { code: "ok", index, prev: null }; // deleting an absent key changes nothing
    }
    this.alarm = null;
    this.version++;
    return { code: "ok", index, prev: cur };
  }

  /**
   * Records a member added (or promoted, or updated) at `index`. A context without a valid
   * address keeps the address already recorded, if any.
   */
  addMember(index: number, id: bigint, ctx: MemberContext): void {
    this.index = index;
    const old = this.members.get(id.toString());
    this.members.set(id.toString(), { addr: ctx.addr ?? old?.addr ?? null, promote: ctx.promote });
    this.version++;
  }

  /** Records a member removed at `index`. */
  removeMember(index: number, id: bigint): void {
    this.index = index;
    this.members.delete(id.toString());
    this.version++;
  }

  /** The value of `key`, or null. */
  get(key: string): string | null {
    return this.kv.get(key) ?? null;
  }

  /**
   * Up to `limit` keys starting with `prefix` and sorting after `after` (when given), in order,
   * with their values; cut once the JSON of the keys and values exceeds `maxBytes` (at least one
   * is returned when any is left, so a page is at most `maxBytes` plus one key and value).
   */
  range(prefix: string, after: string | undefined, limit: number, maxBytes = RANGE_PAGE_BYTES): RangePage {
    const kvs: KeyValue[] = [];
    let bytes = 0;
    const start = after !== undefined && after >= prefix ? after : prefix;
    const inclusive = !(after !== undefined && after >= prefix);
    const it = this.keys.keysFrom(start, inclusive);
    for (let r = it.next(); !r.done; r = it.next()) {
      const key = r.value;
      if (!key.startsWith(prefix)) break;
      if (kvs.length >= limit || bytes >= maxBytes) return { kvs, more: true, next: kvs[kvs.length - 1]?.key ?? null };
      const value = this.kv.get(key)!;
      bytes += Buffer.byteLength(JSON.stringify(key)) + Buffer.byteLength(JSON.stringify(value)) + 20;
      kvs.push({ key, value });
    }
    return { kvs, more: false, next: kvs[kvs.length - 1]?.key ?? null };
  }

  /** Number of keys. */
  size(): number {
    return this.kv.size;
  }

  /** UTF-8 bytes of every key and value (what the quota counts). */
  usedBytes(): number {
    return this.used;
  }

  /** The space alarm, if raised. */
  spaceAlarm(): SpaceAlarm | null {
    return this.alarm;
  }

  /** The members as recorded, by decimal id (a copy). */
  memberRecords(): Map<string, MemberRecord> {
    return new Map(this.members);
  }

  /** The record of member `id` (decimal), without copying the table as {@link memberRecords} does. */
  memberRecord(id: string): MemberRecord | undefined {
    return this.members.get(id);
  }

  /** A number that changes whenever the state does (keys, members, alarm). */
  changes(): number {
    return this.version;
  }

  /** The index of the last thing applied. */
  appliedIndex(): number {
    return this.index;
  }

  /**
   * The whole state in the binary snapshot format (snapshot-format.ts), written in pieces with
   * turns of the event loop between them. Nothing may be applied until it resolves (RaftNode
   * takes snapshots inside its Ready loop).
   * @throws Error if the state changed while it was being written (a broken guarantee).
   */
  async snapshot(): Promise<Uint8Array> {
    const v = this.version;
    return encodeState(this.state(), () => {
      if (this.version !== v) throw new Error("kv: the state changed while a snapshot of it was being written");
    });
  }

  /**
   * Replaces the state with a snapshot's (read in pieces; the old state stays readable until the
   * new one is complete).
   * @throws `SnapshotFormatError` if `data` is not a snapshot of this format.
   */
  async restore(data: Uint8Array | undefined): Promise<void> {
    const s: KvState =
      data === undefined || data.length === 0
        ? { index: 0, kv: new Map(), keys: new SortedKeys(), usedBytes: 0, members: new Map(), alarm: null }
        : await decodeState(data);
    this.kv = s.kv;
    this.keys = s.keys;
    this.used = s.usedBytes;
    this.members = s.members;
    this.alarm = s.alarm;
    this.index = s.index;
    this.version++;
  }

  private state(): KvState {
    return { index: this.index, kv: this.kv, keys: this.keys, usedBytes: this.used, members: this.members, alarm: this.alarm };
  }
}
