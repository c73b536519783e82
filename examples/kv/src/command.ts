/**
 * What the service writes into the raft log, and how it is read back. Commands are JSON in an
 * entry's payload; a member's addresses are JSON in a conf change's context.
 *
 * Decoding never throws: whatever bytes a committed entry carries (this service's commands, a
 * bug's, anybody's), {@link decodeCommand} returns either a command or the reason it is not one,
 * and the reason is the same on every member (STYLE rule 19).
 * @module
 */
import { isHostPort } from "./addr.js";

/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 4096;
/** Longest value, in UTF-8 bytes. */
export const MAX_VALUE_BYTES = 1024 * 1024;
/** Largest HTTP request body: a value of {@link MAX_VALUE_BYTES} plus room for the JSON around it. */
export const MAX_BODY_BYTES = MAX_VALUE_BYTES + 64 * 1024;

/** A write command, as proposed (JSON in the entry). */
export type Command =
  /**
   * Sets `key` to `value`; with `prev` present, only if the current value is `prev` (`null`:
   * absent). `quota` is the proposing member's `--quota-bytes`: the write is refused at apply if
   * it would take the keys and values over it (the limit travels in the entry, so every member
   * decides alike).
   */
  | { op: "put"; key: string; value: string; prev?: string | null; quota: number }
  /** Deletes `key`; with `prev` present, only if the current value is `prev`. */
  | { op: "del"; key: string; prev?: string | null };

/** Where a member listens. */
export interface MemberAddr {
  /** Raft traffic, `host:port`. */
  raft: string;
  /** The HTTP API, `host:port`. */
  http: string;
}

/** What a conf change's context says about the member it adds. */
export interface MemberContext {
  /** Its addresses, or null when the context had none that are valid. */
  addr: MemberAddr | null;
  /** Added as a learner to be promoted to voter once caught up (POST /members). */
  promote: boolean;
  /** Why `addr` is null although the context was not empty (logged by the caller). */
  problem?: string;
}

const enc = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 length of a string (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Whether `s` has no lone surrogate (so that it survives UTF-8 encoding unchanged). */
export function isWellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** Encodes a command for `propose()`. */
export function encodeCommand(c: Command): Uint8Array {
  return enc.encode(JSON.stringify(c));
}

function goodKey(k: unknown): k is string {
  return typeof k === "string" && k.length > 0 && isWellFormed(k) && utf8Length(k) <= MAX_KEY_BYTES;
}

function goodPrev(v: unknown): v is string | null | undefined {
  return v === undefined || v === null || (typeof v === "string" && isWellFormed(v) && utf8Length(v) <= MAX_VALUE_BYTES);
}

const PUT_FIELDS = new Set(["op", "key", "value", "prev", "quota"]);
const DEL_FIELDS = new Set(["op", "key", "prev"]);

/**
 * Reads a command back from an entry's payload, checking everything {@link Command} promises.
 * @returns the command, or the reason the bytes are not one. Never throws.
 */
export function decodeCommand(data: Uint8Array): { command: Command } | { refused: string } {
  let v: unknown;
  try {
    v = JSON.parse(strictUtf8.decode(data));
  } catch {
    return { refused: "not a UTF-8 JSON document" };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { refused: "not a JSON object" };
  const o = v as Record<string, unknown>;
  const fields = o["op"] === "put" ? PUT_FIELDS : o["op"] === "del" ? DEL_FIELDS : undefined;
  if (fields === undefined) return { refused: "unknown op" };
  for (const k of Object.keys(o)) if (!fields.has(k)) return { refused: `unknown field ${JSON.stringify(k.slice(0, 40))}` };
  const key = o["key"];
  if (!goodKey(key)) return { refused: `key must be a well-formed string of 1..${MAX_KEY_BYTES} UTF-8 bytes` };
  const prev = o["prev"];
  if (!goodPrev(prev)) return { refused: "prev must be null or a well-formed string" };
  if (o["op"] === "del") return { command: prev === undefined ? { op: "del", key } : { op: "del", key, prev } };
  const value = o["value"];
  if (typeof value !== "string" || !isWellFormed(value) || utf8Length(value) > MAX_VALUE_BYTES) {
    return { refused: `value must be a well-formed string of at most ${MAX_VALUE_BYTES} UTF-8 bytes` };
  }
  const quota = o["quota"];
  if (typeof quota !== "number" || !Number.isSafeInteger(quota) || quota < 1) return { refused: "quota must be a positive integer" };
  return { command: prev === undefined ? { op: "put", key, value, quota } : { op: "put", key, value, prev, quota } };
}

/** Encodes a member's addresses as a conf change context (`promote`: a learner to promote once caught up). */
export function encodeMemberContext(a: MemberAddr, promote = false): Uint8Array {
  return enc.encode(JSON.stringify(promote ? { raft: a.raft, http: a.http, promote: true } : { raft: a.raft, http: a.http }));
}

/**
 * Reads a conf change context. Never throws: an empty context gives no address; anything else
 * that is not `{raft, http}` with two valid `host:port` gives no address and a `problem`.
 */
export function decodeMemberContext(ctx: Uint8Array | undefined): MemberContext {
  if (ctx === undefined || ctx.length === 0) return { addr: null, promote: false };
  let v: unknown;
  try {
    v = JSON.parse(strictUtf8.decode(ctx));
  } catch {
    return { addr: null, promote: false, problem: "context is not a UTF-8 JSON document" };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { addr: null, promote: false, problem: "context is not a JSON object" };
  const o = v as Record<string, unknown>;
  const promote = o["promote"] === true;
  if (!isHostPort(o["raft"]) || !isHostPort(o["http"])) {
    return { addr: null, promote, problem: "raft and http must be host:port with a port in 1..65535" };
  }
  return { addr: { raft: o["raft"], http: o["http"] }, promote };
}
