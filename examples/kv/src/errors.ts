/**
 * The errors of the KV service. Each has a stable `code`, so that callers (and the HTTP
 * answers built from them) never depend on a message.
 * @module
 */

/** The base of the service's own errors. */
export class KvError extends Error {
  /** A stable machine-readable code, such as `'KV_CONFIG'`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration error: the message says which option and why (`KV_CONFIG`). */
export class ConfigError extends KvError {
  constructor(message: string) {
    super("KV_CONFIG", message);
  }
}

/**
 * A snapshot's bytes are not a state this version can restore (`KV_SNAPSHOT_FORMAT`). Snapshots
 * are written by this service only, so this means damage or a format from another version: the
 * member cannot go on.
 */
export class SnapshotFormatError extends KvError {
  /** Byte offset in the snapshot where decoding stopped. */
  readonly offset: number;
  constructor(offset: number, why: string) {
    super("KV_SNAPSHOT_FORMAT", `kv: snapshot: ${why} (at byte ${offset})`);
    this.offset = offset;
  }
}

/**
 * An answer to give a client instead of what it asked for: an HTTP status, a stable `code`
 * (the `code` field of the JSON answer) and extra fields for the answer. `HttpError`s are
 * thrown by the request parsing and the routes; every other error is mapped to one by
 * `toHttpError` (http-errors.ts).
 */
export class HttpError extends KvError {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** Extra fields of the JSON answer (e.g. `outcome`, `current`). */
  readonly extra: Readonly<Record<string, unknown>>;
  constructor(status: number, code: string, message: string, extra: Readonly<Record<string, unknown>> = {}) {
    super(code, message);
    this.status = status;
    this.extra = extra;
  }
}
