/**
 * The errors of @tsraft/raftpb: {@link DecodeError} for malformed input, {@link EncodeError}
 * for values that have no encoding (a negative index, an id outside uint64, ...).
 * @module
 */

/**
 * Thrown by every `decodeX` function when its input is not a valid encoding of X: truncated,
 * a wrong wire type, an over-long or overflowing varint, an index/term/commit above
 * `Number.MAX_SAFE_INTEGER`, an enum value outside its enum, a length past the end, a broken
 * tag, or nesting deeper than {@link MAX_DEPTH}. A decoder never returns a half-filled value.
 */
export class DecodeError extends Error {
  /** Stable machine-readable code. */
  readonly code = "TSRAFT_DECODE" as const;
  /** The type that was being decoded, e.g. `"Message"`. */
  readonly messageType: string;
  /**
   * The field at fault, as a path from the decoded type: `"term"`, `"entries[0].term"`,
   * `"snapshot.metadata"`; `"(tag)"` when a field tag itself is broken, `"(field N)"` for a
   * broken field of a number the schema does not know.
   */
  readonly field: string;
  /** What is wrong, without the type and field (those are in the message). */
  readonly reason: string;

  constructor(messageType: string, field: string, reason: string) {
    super(`raftpb: cannot decode ${messageType}: ${field}: ${reason}`);
    this.name = "DecodeError";
    this.messageType = messageType;
    this.field = field;
    this.reason = reason;
  }
}

/**
 * Thrown by every `encodeX` function when a value has no encoding: an index/term that is not a
 * non-negative safe integer, an id that is not a bigint in [0, 2^64), an enum value outside its
 * enum, bytes that are not a `Uint8Array`, or nesting deeper than {@link MAX_DEPTH}.
 */
export class EncodeError extends Error {
  /** Stable machine-readable code. */
  readonly code = "TSRAFT_ENCODE" as const;
  /** The type that was being encoded, e.g. `"Message"`. */
  readonly messageType: string;
  /** The field at fault, as a path like {@link DecodeError.field}. */
  readonly field: string;
  /** What is wrong. */
  readonly reason: string;

  constructor(messageType: string, field: string, reason: string) {
    super(`raftpb: cannot encode ${messageType}: ${field}: ${reason}`);
    this.name = "EncodeError";
    this.messageType = messageType;
    this.field = field;
    this.reason = reason;
  }
}

/**
 * How deep `Message.responses` (and unknown groups) may nest, in both directions. etcd-io/raft
 * nests one level; the bound keeps a hostile input from exhausting the stack.
 */
export const MAX_DEPTH = 100;

/**
 * A problem at a field, thrown by the wire readers and the sizers below the entry points, and
 * turned into a {@link DecodeError}/{@link EncodeError} by the entry point. Not an `Error`, so
 * that throwing it captures no stack; embedding decoders prefix the path on the way out. Public
 * only through `@tsraft/raftpb/wire`, for codecs built on the same primitives.
 */
export class FieldError {
  constructor(
    public field: string,
    public readonly reason: string,
  ) {}
}

/** Prefixes the field path of a {@link FieldError} passing through an embedding field. */
export function prefixField(err: unknown, prefix: string): unknown {
  // A field of "" means "the value itself": "entries[3]." + "" becomes "entries[3]".
  if (err instanceof FieldError) err.field = err.field === "" ? prefix.slice(0, -1) : prefix + err.field;
  return err;
}

/** Converts what a decoder threw into the {@link DecodeError} the API promises (others pass). */
export function toDecodeError(messageType: string, err: unknown): unknown {
  if (err instanceof FieldError) return new DecodeError(messageType, err.field, err.reason);
  return err;
}

/** Converts what an encoder threw into the {@link EncodeError} the API promises (others pass). */
export function toEncodeError(messageType: string, err: unknown): unknown {
  if (err instanceof FieldError) return new EncodeError(messageType, err.field, err.reason);
  return err;
}
