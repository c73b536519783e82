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

/** @internal */
export const walSyncChannel = channel(WAL_SYNC_CHANNEL);
/** @internal */
export const walWriteChannel = channel(WAL_WRITE_CHANNEL);
/** @internal */
export const snapSaveChannel = channel(SNAP_SAVE_CHANNEL);
