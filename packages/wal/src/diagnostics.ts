/**
 * What the WAL and the snapshotter publish on `node:diagnostics_channel`, for metrics
 * (`@tsraft/prometheus` subscribes) or any other subscriber. Without a subscriber nothing is
 * measured or built: each publisher checks `channel.hasSubscribers` first (one property read).
 *
 * The messages are plain objects, made for each publish; subscribers must not keep them past
 * the call if they mutate them.
 * @module
 */
import { channel } from "node:diagnostics_channel";

/** The name of the channel of {@link WalSyncMessage}s. */
export const WAL_SYNC_CHANNEL = "tsraft:wal:sync";
/** The name of the channel of {@link WalWriteMessage}s. */
export const WAL_WRITE_CHANNEL = "tsraft:wal:write";
/** The name of the channel of {@link SnapSaveMessage}s. */
export const SNAP_SAVE_CHANNEL = "tsraft:wal:snap-save";
/** The name of the channel of {@link WalRepairMessage}s. */
export const WAL_REPAIR_CHANNEL = "tsraft:wal:repair";

/** Published after each durable write of the WAL (one per group-committed batch that synced). */
export interface WalSyncMessage {
  /** The WAL's directory. */
  dir: string;
  /**
   * Seconds the batch took to become durable: the `fdatasync` alone, or the one `O_DSYNC`
   * write that writes and syncs together (see the README, "Diagnostics").
   */
  seconds: number;
}

/** Published after each batch of records is written (synced or not). */
export interface WalWriteMessage {
  /** The WAL's directory. */
  dir: string;
  /** Bytes written (records and their padding). */
  bytes: number;
}

/** Published after a snapshot file is saved (written, fsynced, renamed, directory fsynced). */
export interface SnapSaveMessage {
  /** The snapshot directory. */
  dir: string;
  /** Seconds the save took. */
  seconds: number;
  /** The snapshot's index. */
  index: number;
}

/** What a repair of a torn tail cut (`WAL.repair`, and `DiskStorage.open`'s repair). */
export interface WalTailRepair {
  /** The segment file that was cut. */
  file: string;
  /** Where it was cut: the end of its last whole record. */
  offset: number;
  /** The copy of the segment as it was before the cut (`file.broken`). */
  brokenCopy: string;
}

/**
 * Published after `WAL.repair` (or `DiskStorage.open`'s repair) cut a torn tail: the records
 * of a write that never completed are dropped, and an operator should hear of it (also
 * `DiskStorage.repairedTail`).
 */
export interface WalRepairMessage extends WalTailRepair {
  /** The WAL's directory. */
  dir: string;
}

/** @internal */
export const walRepairChannel = channel(WAL_REPAIR_CHANNEL);
/** @internal */
export const walSyncChannel = channel(WAL_SYNC_CHANNEL);
/** @internal */
export const walWriteChannel = channel(WAL_WRITE_CHANNEL);
/** @internal */
export const snapSaveChannel = channel(SNAP_SAVE_CHANNEL);
