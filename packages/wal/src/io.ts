/**
 * The file-system seam: every call the WAL, the Snapshotter and DiskStorage make to the file
 * system goes through a {@link WalIO} (`WalOptions.io`, `new Snapshotter(dir, io)`), with node's
 * names and signatures. {@link nodeIO}, the default, is node:fs itself; a test passes another
 * one to count syncs, inject faults, or run over a simulated disk (`@tsraft/wal/testing`).
 *
 * Why-fast: the calls of the hot path (`write`, `fdatasync`) keep node's callback API (see
 * `writeAllFd` in segment.ts); {@link nodeIO} forwards them to node:fs's live bindings, one
 * extra function call each (`pnpm bench wal-write` shows no difference, see the README).
 * @module
 */
import { closeSync, constants, fdatasync, fdatasyncSync, fstatSync, openSync, readFileSync, readSync, write, writeSync } from "node:fs";
import { copyFile, mkdir, open, readdir, rename, rm, rmdir, unlink } from "node:fs/promises";
import { lockDir, lockDirCreation } from "./lock.js";
import type { DirLock } from "./lock.js";

/** An open file: the part of node's `FileHandle` the WAL and the Snapshotter use. */
export interface WalFileHandle {
  /** The descriptor, for the callback calls of {@link WalIO} (`write`, `fdatasync`). */
  readonly fd: number;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  truncate(length: number): Promise<void>;
  /** fsync. */
  sync(): Promise<void>;
  /** fdatasync. */
  datasync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

/** Node's callback for `write`. */
export type WriteCallback = (err: NodeJS.ErrnoException | null, written: number) => void;

/**
 * The file-system calls of the WAL, the Snapshotter and DiskStorage, with node:fs's names and
 * signatures (errors carry node's `code`: `ENOENT`, `EIO`, `ENOSPC`...). Also the directory
 * lock, which lives with the files it protects.
 */
export interface WalIO {
  /** fs/promises `open`; `flags` a string or `O_*` bits of {@link WalIO.constants}. */
  open(path: string, flags: string | number, mode?: number): Promise<WalFileHandle>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, options: { recursive: true }): Promise<unknown>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rm(path: string, options: { recursive: true; force: true }): Promise<void>;
  rmdir(path: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  /** node:fs `write` (callback API: the hot path of every save). */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number, cb: WriteCallback): void;
  /** node:fs `fdatasync` (callback API). */
  fdatasync(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
  /**
   * node:fs `writeSync` (bytes written; throws node's errors): the write of a save with
   * `WalOptions.inlineWrites`. Optional: a WAL with that option refuses an io without it.
   */
  writeSync?(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** node:fs `fdatasyncSync`: the sync of a save with `WalOptions.inlineWrites` (optional, as `writeSync`). */
  fdatasyncSync?(fd: number): void;
  /** DiskStorage's synchronous block reads (raft's `Storage` is synchronous). */
  openSync(path: string, flags: "r"): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fstatSync(fd: number): { size: number };
  closeSync(fd: number): void;
  readFileSync(path: string): Uint8Array;
  /** `O_RDWR`, and `O_DSYNC` where the platform has it (undefined: every sync is an fdatasync). */
  readonly constants: { readonly O_RDWR: number; readonly O_DSYNC: number | undefined };
  /** Locks the existing directory `dir` (see lock.ts). @throws {@link WalLockedError} */
  lockDir(dir: string): Promise<DirLock>;
  /** Locks the creation of `dir` (see lock.ts). @throws {@link WalLockedError} */
  lockDirCreation(dir: string): Promise<DirLock>;
}

/** The real file system (node:fs), the default everywhere. */
export const nodeIO: WalIO = {
  open: (path, flags, mode) => open(path, flags, mode),
  readdir: (path) => readdir(path),
  mkdir: (path, options) => mkdir(path, options),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  rm: (path, options) => rm(path, options),
  rmdir: (path) => rmdir(path),
  copyFile: (from, to) => copyFile(from, to),
  // Through node:fs's live bindings (tests may wrap them with syncBuiltinESMExports).
  write: (fd, buffer, offset, length, position, cb) => write(fd, buffer, offset, length, position, cb),
  fdatasync: (fd, cb) => fdatasync(fd, cb),
  writeSync: (fd, buffer, offset, length, position) => writeSync(fd, buffer, offset, length, position),
  fdatasyncSync: (fd) => fdatasyncSync(fd),
  openSync: (path, flags) => openSync(path, flags),
  readSync: (fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
  fstatSync: (fd) => fstatSync(fd),
  closeSync: (fd) => closeSync(fd),
  readFileSync: (path) => readFileSync(path),
  constants: { O_RDWR: constants.O_RDWR, O_DSYNC: constants.O_DSYNC as number | undefined },
  lockDir: (dir) => lockDir(dir),
  lockDirCreation: (dir) => lockDirCreation(dir),
};
