/**
 * @tsraft/wal: the write-ahead log, the snapshot files and a disk-backed Storage, in etcd
 * v3.4's on-disk formats.
 * @module
 */
export { WAL, DEFAULT_SEGMENT_SIZE_BYTES } from "./wal.js";
export type { WalOptions, ReadAllOptions, ReadAllResult, WalPosition } from "./wal.js";
export type { WalSnapshot } from "./proto.js";
export { DiskStorage, BLOCK as DISK_STORAGE_BLOCK } from "./disk-storage.js";
export type { DiskStorageOptions } from "./disk-storage.js";
export { Snapshotter, snapName, readSnapFile } from "./snapshotter.js";
export { DEFAULT_MAX_RECORD_BYTES } from "./record.js";
export { crc32c, crc32cBackend } from "./crc32c.js";
export { walName, parseWalName } from "./segment.js";
export { markerClaim as syncMarkerClaim } from "./sync-marker.js";
export { nodeIO } from "./io.js";
export type { WalIO, WalFileHandle, WriteCallback } from "./io.js";
export type { DirLock } from "./lock.js";
export type { SegmentName } from "./segment.js";
export type { WalErrorCode } from "./errors.js";
export {
  WalError,
  WalConfigError,
  isWalError,
  WAL_ERROR_CODES,
  WalLockedError,
  WalExistsError,
  WalFileNotFoundError,
  CrcMismatchError,
  WalCorruptError,
  WalTornTailError,
  RecordTooLargeError,
  WalSnapshotNotFoundError,
  WalSnapshotMismatchError,
  WalStateError,
  WalNoSpaceError,
  NoSnapshotError,
  SnapCrcMismatchError,
  SnapCorruptError,
} from "./errors.js";
export { WAL_SYNC_CHANNEL, WAL_WRITE_CHANNEL, SNAP_SAVE_CHANNEL, WAL_REPAIR_CHANNEL } from "./diagnostics.js";
export type { WalSyncMessage, WalWriteMessage, SnapSaveMessage, WalRepairMessage, WalTailRepair } from "./diagnostics.js";
