/**
 * The errors of @tsraft/wal. Each is a {@link RaftError} with a stable `code`; those about a
 * place in a file carry `file` (a path) and, where it is known, `offset` (bytes from the start
 * of that file).
 * @module
 */
import { RaftError, errorCode } from "@tsraft/raft";
import type { RaftErrorOptions } from "@tsraft/raft";

/**
 * The `code` of every error of @tsraft/wal, one per error class. Its `'TSRAFT_SNAP_*'` codes are
 * the snapshot files'; raft's `'TSRAFT_SNAP_OUT_OF_DATE'` (`SnapOutOfDateError`, which
 * DiskStorage also throws) is not among them.
 */
export const WAL_ERROR_CODES = [
  "TSRAFT_WAL_CONFIG",
  "TSRAFT_WAL_LOCKED",
  "TSRAFT_WAL_EXISTS",
  "TSRAFT_WAL_FILE_NOT_FOUND",
  "TSRAFT_WAL_CRC_MISMATCH",
  "TSRAFT_WAL_CORRUPT",
  "TSRAFT_WAL_TORN_TAIL",
  "TSRAFT_WAL_RECORD_TOO_LARGE",
  "TSRAFT_WAL_SNAPSHOT_NOT_FOUND",
  "TSRAFT_WAL_SNAPSHOT_MISMATCH",
  "TSRAFT_WAL_STATE",
  "TSRAFT_WAL_NO_SPACE",
  "TSRAFT_SNAP_NO_SNAPSHOT",
  "TSRAFT_SNAP_CRC_MISMATCH",
  "TSRAFT_SNAP_CORRUPT",
] as const;

/**
 * The `code` of every error of @tsraft/wal (the members of {@link WAL_ERROR_CODES}). Test the
 * code rather than the class: a code survives two copies of the package in one install.
 */
export type WalErrorCode = (typeof WAL_ERROR_CODES)[number];

const walErrorCodes: ReadonlySet<string> = new Set(WAL_ERROR_CODES);

/**
 * Whether `err` is a {@link WalError} (of this copy of the package or another one): its code is
 * one of {@link WAL_ERROR_CODES}.
 */
export function isWalError(err: unknown): err is WalError {
  const code = errorCode(err);
  return code !== undefined && walErrorCodes.has(code);
}

/** Base class of every error of the WAL and snapshot files. */
export class WalError extends RaftError {
  declare readonly code: WalErrorCode;
  constructor(code: WalErrorCode, message: string, options?: RaftErrorOptions) {
    super(code, message, options);
  }
}

/** An option given to `WAL.create`/`WAL.open`/`DiskStorage.open` is invalid; `field` names it. */
export class WalConfigError extends WalError {
  /** The offending option. */
  readonly field: string;
  constructor(field: string, message: string) {
    super("TSRAFT_WAL_CONFIG", `wal: invalid option: ${field}: ${message}`);
    this.field = field;
  }
}

/** What a {@link WalLockedError} adds when the holder is this process. */
function heldHere(holderPid: number | undefined): string {
  if (holderPid === undefined || typeof process === "undefined" || holderPid !== process.pid) return "";
  return ": this process: a WAL or DiskStorage of this directory is still open (by this path, by another, or through a deleted directory whose inode this one got)";
}

/** The WAL directory is held by another `WAL` (in this process or another one). */
export class WalLockedError extends WalError {
  /** The locked directory. */
  readonly path: string;
  /** The process id of the holder, when known. */
  readonly holderPid: number | undefined;
  constructor(path: string, holderPid?: number, options?: RaftErrorOptions) {
    super("TSRAFT_WAL_LOCKED", `wal: ${path} is locked by another WAL` + (holderPid === undefined ? "" : ` (pid ${holderPid})`) + heldHere(holderPid), options);
    this.path = path;
    this.holderPid = holderPid;
  }
}

/** `WAL.create` found WAL segment files already in the directory (etcd's `os.ErrExist`). */
export class WalExistsError extends WalError {
  readonly path: string;
  constructor(path: string) {
    super("TSRAFT_WAL_EXISTS", `wal: ${path} already holds a WAL`);
    this.path = path;
  }
}

/**
 * No usable segment: the directory has no `*.wal` file, none starts at or before the requested
 * snapshot index, or the sequence numbers have a gap (`file` names the first file after it).
 * etcd: `wal.ErrFileNotFound`.
 */
export class WalFileNotFoundError extends WalError {
  readonly path: string;
  constructor(path: string, why: string) {
    super("TSRAFT_WAL_FILE_NOT_FOUND", `wal: file not found: ${path}: ${why}`);
    this.path = path;
  }
}

/**
 * A record's CRC does not match (etcd's `walpb.ErrCRCMismatch`), or a segment's crc record does
 * not continue the running CRC of the segments before it (etcd's `wal.ErrCRCMismatch`). Never
 * repaired: a record that was once synced may follow.
 */
export class CrcMismatchError extends WalError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, what = "record") {
    super("TSRAFT_WAL_CRC_MISMATCH", `wal: crc mismatch: ${what} at ${file}:${offset}`);
    this.file = file;
    this.offset = offset;
  }
}

/**
 * Damage that is not a torn tail: an undecodable record that is not at the end of the last
 * segment, a segment that ends inside a record while later segments exist, a zeroed block
 * followed by valid records, an entry index that leaves a gap, an unknown record type,
 * conflicting metadata. Never repaired automatically.
 */
export class WalCorruptError extends WalError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, why: string, options?: RaftErrorOptions) {
    super("TSRAFT_WAL_CORRUPT", `wal: corrupt: ${file}:${offset}: ${why}`, options);
    this.file = file;
    this.offset = offset;
  }
}

/**
 * The last segment ends with a torn write: a record cut off by the end of the file, or one that
 * fails to decode or check with an all-zero 512-byte sector in it, and nothing that looks like a
 * record after it (etcd's `io.ErrUnexpectedEOF`). {@link WAL.repair} cuts the file back to
 * `offset` (the end of the last whole record).
 */
export class WalTornTailError extends WalError {
  readonly file: string;
  /** The end of the last whole record: where repair cuts. */
  readonly offset: number;
  constructor(file: string, offset: number) {
    super("TSRAFT_WAL_TORN_TAIL", `wal: unexpected end of data (torn write) at ${file}:${offset}`);
    this.file = file;
    this.offset = offset;
  }
}

/** A record's length word exceeds the configured maximum (etcd: 10 MiB). */
export class RecordTooLargeError extends WalError {
  readonly file: string;
  readonly offset: number;
  readonly size: number;
  constructor(file: string, offset: number, size: number, max: number) {
    super("TSRAFT_WAL_RECORD_TOO_LARGE", `wal: record of ${size} bytes at ${file}:${offset} exceeds the maximum ${max}`);
    this.file = file;
    this.offset = offset;
    this.size = size;
  }
}

/** No snapshot record in the WAL matches the requested snapshot index (`wal.ErrSnapshotNotFound`). */
export class WalSnapshotNotFoundError extends WalError {
  constructor() {
    super("TSRAFT_WAL_SNAPSHOT_NOT_FOUND", "wal: snapshot not found");
  }
}

/** A snapshot record has the requested index but another term (`wal.ErrSnapshotMismatch`). */
export class WalSnapshotMismatchError extends WalError {
  constructor() {
    super("TSRAFT_WAL_SNAPSHOT_MISMATCH", "wal: snapshot mismatch");
  }
}

/** The WAL was used in a way its state does not allow (write before readAll, use after close). */
export class WalStateError extends WalError {
  constructor(message: string) {
    super("TSRAFT_WAL_STATE", `wal: ${message}`);
  }
}

/**
 * The disk is full: a write of the WAL or of a snapshot file failed with `ENOSPC` (the `cause`).
 * A WAL that met it refuses every later write with this error (its records after the last
 * durable save are in an unknown state until a restart repairs the tail); nothing it
 * acknowledged is lost. RaftNode's `persist` rejecting with it stops the node (`onFatal`):
 * free space, then restart (`DiskStorage.open` repairs a torn tail). A snapshot save that
 * fails with it (the snapshot file, or its WAL record, after which the WAL refuses later writes)
 * stops RaftNode too.
 */
export class WalNoSpaceError extends WalError {
  /** The file (or directory) whose write failed. */
  readonly path: string;
  constructor(path: string, options?: RaftErrorOptions) {
    super("TSRAFT_WAL_NO_SPACE", `wal: no space left on the device writing ${path} (ENOSPC): free space, then restart`, options);
    this.path = path;
  }
}

/** `err` as a {@link WalNoSpaceError} if it is node's `ENOSPC` (`path`: where), else `err` itself. */
export function noSpaceOr(err: unknown, path: string): unknown {
  if (err instanceof WalNoSpaceError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOSPC" ? new WalNoSpaceError(path, { cause: err }) : err;
}

/** No snapshot file could be loaded (`snap.ErrNoSnapshot`). */
export class NoSnapshotError extends WalError {
  constructor() {
    super("TSRAFT_SNAP_NO_SNAPSHOT", "snap: no available snapshot");
  }
}

/** A snapshot file's CRC does not match its data (`snap.ErrCRCMismatch`). */
export class SnapCrcMismatchError extends WalError {
  readonly file: string;
  constructor(file: string) {
    super("TSRAFT_SNAP_CRC_MISMATCH", `snap: crc mismatch: ${file}`);
    this.file = file;
  }
}

/** A snapshot file is empty, has crc 0, or cannot be decoded (`snap.ErrEmptySnapshot` and others). */
export class SnapCorruptError extends WalError {
  readonly file: string;
  constructor(file: string, why: string, options?: RaftErrorOptions) {
    super("TSRAFT_SNAP_CORRUPT", `snap: ${why}: ${file}`, options);
    this.file = file;
  }
}
