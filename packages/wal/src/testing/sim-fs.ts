/**
 * A simulated file system behind {@link WalIO}, for crash and disk-fault tests of the WAL, the
 * Snapshotter and DiskStorage (and of whatever runs over them). Deterministic: every random
 * choice comes from the seed.
 *
 * What it models:
 * - files, directories, rename, unlink, truncate, and fsync of files and of directories;
 * - a page cache: what is written is read back at once, but is durable only once synced. On a
 *   {@link SimFS.crash}, each 512-byte sector written since its file's last fsync holds its
 *   durable content, its latest content, or a state in between (the earlier of its writes),
 *   chosen per sector by the seeded random source: so a write is kept, dropped or torn at
 *   sector granularity, and a later write may survive an earlier one in another sector (as
 *   writeback order allows); each unsynced truncate is kept or dropped; writes through an
 *   `O_DSYNC` descriptor are durable when they return, or, with {@link SimFS.dsyncLatency}
 *   set, once the write completes: a crash before that keeps, drops or tears it per sector as
 *   an unsynced write (a power loss during the write);
 * - directory entries: a create, rename or unlink is durable once its directory is fsynced; a
 *   crash keeps a random prefix (possibly none) of each directory's changes since its last
 *   fsync, so an unsynced create or rename may vanish;
 * - faults (`faults`): fsync/fdatasync failing with EIO (the pages written since the last sync
 *   are then lost for good, as on Linux: a retried fsync "succeeds" without them), writes
 *   failing with ENOSPC past a byte budget, and reads of chosen files returning one flipped bit
 *   (at a random place in each read, or at one fixed place of one file: `flipBit`);
 * - processes: {@link SimFS.io} is the file system as one process sees it; after a crash every
 *   call through an earlier process's view fails (its descriptors and locks are gone).
 *
 * It does not model permissions, timestamps, hard links, or space accounting other than the
 * ENOSPC budget. It is stricter than ext4, whose journal makes a rename durable with the next
 * fsync of any file: here only an fsync of the directory does (POSIX's rule).
 * @module
 */
import { posix } from "node:path";
import { WalLockedError } from "../errors.js";
import type { WalFileHandle, WalIO, WriteCallback } from "../io.js";
import type { DirLock } from "../lock.js";
import { Prng } from "@tsraft/raft/testing";

const SECTOR = 512;
/** The simulated `O_RDWR` and `O_DSYNC` bits (Linux's values). */
const O_RDWR = 2;
const O_DSYNC = 0o10000;

type WriteOp = { t: "write"; off: number; bytes: Uint8Array; durable: boolean; inFlight?: true };
type PendingOp = WriteOp | { t: "truncate"; len: number };
type NsOp = { t: "link"; name: string; node: SimNode } | { t: "unlink"; name: string } | { t: "rename"; from: string; to: string; node: SimNode };

interface SimFile {
  kind: "file";
  id: number;
  /** What reads see (the page cache). Invariant: buf.length >= size. */
  buf: Uint8Array;
  size: number;
  /** The content on disk as of the last sync. */
  durable: Uint8Array;
  /** Writes and truncates since the last sync, in order. */
  pending: PendingOp[];
  /** Ranges whose writes were lost to an EIO (never to reach the disk). */
  lost: Array<[number, number]>;
}

interface SimDir {
  kind: "dir";
  id: number;
  entries: Map<string, SimNode>;
  durable: Map<string, SimNode>;
  pending: NsOp[];
}

type SimNode = SimFile | SimDir;

interface Fd {
  node: SimNode;
  path: string;
  dsync: boolean;
  gen: number;
}

/** Fault switches of a {@link SimFS}; change them at any time. */
export interface SimFaults {
  /** fsync/fdatasync of `path` fails with EIO (and loses the file's unsynced writes) when this returns true. */
  eio?: ((path: string) => boolean) | undefined;
  /** Writes fail with ENOSPC once this many bytes have been written in all (since the SimFS was made). */
  enospcAfterBytes?: number | undefined;
  /** Reads of `path` return one flipped bit (in the range read) when this returns true. */
  flipBitsOnRead?: ((path: string) => boolean) | undefined;
  /**
   * A bad spot on the way from the disk: every read of `path` that covers byte `offset` returns
   * it with bit `bit` (0-7) flipped, as long as this is set (the content itself is intact).
   */
  flipBit?: { readonly path: string; readonly offset: number; readonly bit: number } | undefined;
}

/** Counters of a {@link SimFS}. */
export interface SimFSStats {
  writes: number;
  bytesWritten: number;
  fsyncs: number;
  dirFsyncs: number;
  crashes: number;
  /**
   * At crashes: sectors written since their file's last sync that kept all their writes, none
   * of them, or only some (the earlier ones); directory changes lost.
   */
  sectorsNew: number;
  sectorsOld: number;
  sectorsBetween: number;
  lostDirChanges: number;
  eios: number;
  enospcs: number;
  flippedReads: number;
  /** O_DSYNC writes still under way at a crash ({@link SimFS.dsyncLatency}): judged as unsynced writes. */
  dsyncWritesCut: number;
}

function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated ${syscall} '${path}'`), { code, syscall, path, errno: -1 });
}

/** Numbers in [0, 1) from the simulator's generator (mulberry32), seeded. */
function prng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.float();
}

/** A simulated disk and page cache (see the module comment). */
export class SimFS {
  /** Fault switches (all off by default). */
  faults: SimFaults = {};
  /**
   * How long a write through an `O_DSYNC` descriptor (callback `write`) takes: when set, the
   * write is in the page cache at once but durable only when this calls `complete` (then its
   * callback runs); a crash before that treats it as an unsynced write. Unset (the default):
   * durable when the call returns, its callback in a microtask. A simulator passes its own
   * clock here (e.g. `(complete) => loop.at(owner, ms, complete)`).
   */
  dsyncLatency: ((complete: () => void) => void) | undefined = undefined;
  readonly stats: SimFSStats = {
    writes: 0,
    bytesWritten: 0,
    fsyncs: 0,
    dirFsyncs: 0,
    crashes: 0,
    sectorsNew: 0,
    sectorsOld: 0,
    sectorsBetween: 0,
    lostDirChanges: 0,
    eios: 0,
    enospcs: 0,
    flippedReads: 0,
    dsyncWritesCut: 0,
  };
  #root: SimDir;
  #nextId = 1;
  #gen = 1;
  #nextFd = 100;
  readonly #fds = new Map<number, Fd>();
  readonly #locks = new Set<string>();
  readonly #rand: () => number;

  constructor(seed: number) {
    this.#rand = prng(seed);
    this.#root = this.#newDir();
  }

  /** The file system as the current process sees it. After {@link SimFS.crash}, take a new one. */
  io(): WalIO {
    const gen = this.#gen;
    const live = (): void => {
      if (gen !== this.#gen) throw fsError("EIO", "call from a crashed process", "");
    };
    const p = <T>(f: () => T): Promise<T> => {
      try {
        live();
        return Promise.resolve(f());
      } catch (e) {
        return Promise.reject(e);
      }
    };
    return {
      open: (path, flags, _mode) => p(() => this.#handle(this.#open(path, flags, gen))),
      readdir: (path) => p(() => [...this.#dir(path).entries.keys()].sort()),
      mkdir: (path, _o) => p(() => this.#mkdirp(path)),
      rename: (from, to) => p(() => this.#rename(from, to)),
      unlink: (path) => p(() => this.#unlink(path, "file")),
      rm: (path, _o) => p(() => this.#rm(path)),
      rmdir: (path) => p(() => this.#unlink(path, "dir")),
      copyFile: (from, to) => p(() => this.#copyFile(from, to)),
      write: (fd, buffer, offset, length, position, cb: WriteCallback) => {
        let err: NodeJS.ErrnoException | null = null;
        const latency = this.dsyncLatency;
        let inFlight: { op: WriteOp; file: SimFile; path: string } | undefined;
        try {
          live();
          const f = this.#fd(fd);
          const op = this.#write(f, buffer.subarray(offset, offset + length), position, f.dsync && latency === undefined);
          if (f.dsync && latency !== undefined) {
            op.inFlight = true;
            inFlight = { op, file: this.#asFile(f), path: f.path };
          }
        } catch (e) {
          err = e as NodeJS.ErrnoException;
        }
        if (inFlight !== undefined && latency !== undefined) {
          const { op, file, path } = inFlight;
          latency(() => {
            // Durable now, unless the process crashed first (then the crash judged it unsynced,
            // and the dead process's call fails), or an fsync that failed meanwhile
            // (`faults.eio`) lost this write's pages; a sync may have made it durable already.
            if (gen !== this.#gen) return cb(fsError("EIO", "write of a crashed process", path), 0);
            if (file.lost.some(([a, b]) => a <= op.off && op.off + op.bytes.length <= b)) return cb(fsError("EIO", "write", path), 0);
            op.durable = true;
            cb(null, length);
          });
          return;
        }
        queueMicrotask(() => cb(err, err === null ? length : 0));
      },
      fdatasync: (fd, cb) => {
        let err: NodeJS.ErrnoException | null = null;
        try {
          live();
          this.#sync(this.#fd(fd));
        } catch (e) {
          err = e as NodeJS.ErrnoException;
        }
        queueMicrotask(() => cb(err));
      },
      // The inline write path (WalOptions.inlineWrites): durable at once through O_DSYNC (the
      // simulated latency is the callback path's), failures thrown.
      writeSync: (fd, buffer, offset, length, position) => {
        live();
        const f = this.#fd(fd);
        this.#write(f, buffer.subarray(offset, offset + length), position, f.dsync);
        return length;
      },
      fdatasyncSync: (fd) => {
        live();
        this.#sync(this.#fd(fd));
      },
      openSync: (path, flags) => {
        live();
        return this.#open(path, flags, gen);
      },
      readSync: (fd, buffer, offset, length, position) => {
        live();
        return this.#read(this.#fd(fd), buffer, offset, length, position);
      },
      fstatSync: (fd) => {
        live();
        return { size: this.#sizeOf(this.#fd(fd).node) };
      },
      closeSync: (fd) => {
        this.#fds.delete(fd);
      },
      readFileSync: (path) => {
        live();
        const f = this.#file(path);
        const out = f.buf.slice(0, f.size);
        this.#maybeFlip(path, out, 0, out.length);
        return out;
      },
      constants: { O_RDWR, O_DSYNC },
      lockDir: (dir) => p(() => this.#lock(`dir:${this.#lookup(dir).id}`, dir, gen)),
      lockDirCreation: (dir) => p(() => this.#lock(`create:${this.#norm(dir)}`, dir, gen)),
    };
  }

  /**
   * A power loss: the page cache and every process are gone. Each directory keeps a random
   * prefix of its unsynced changes; each file its durable content plus each unsynced write
   * kept, dropped or torn by sector, and each unsynced truncate kept or dropped.
   */
  crash(): void {
    this.stats.crashes++;
    this.#gen++;
    this.#fds.clear();
    this.#locks.clear();
    const seen = new Set<number>();
    const visit = (d: SimDir): void => {
      this.#crashDir(d);
      for (const n of d.entries.values()) {
        if (seen.has(n.id)) continue;
        seen.add(n.id);
        if (n.kind === "dir") visit(n);
        else this.#crashFile(n);
      }
    };
    visit(this.#root);
  }

  /** Syncs everything (files and directories), as a clean shutdown of the machine would. */
  syncAll(): void {
    const visit = (d: SimDir): void => {
      d.durable = new Map(d.entries);
      d.pending = [];
      for (const n of d.entries.values()) {
        if (n.kind === "dir") visit(n);
        else this.#syncFile(n);
      }
    };
    visit(this.#root);
  }

  /** Whether `path` exists (as the running processes see it). */
  exists(path: string): boolean {
    return this.#find(path) !== undefined;
  }

  /** The current content of file `path` (a copy). */
  readFile(path: string): Uint8Array {
    const f = this.#file(path);
    return f.buf.slice(0, f.size);
  }

  /** Replaces the content of file `path`, durably (for planting damage in tests). */
  writeFileDurable(path: string, data: Uint8Array): void {
    const f = this.#file(path);
    f.buf = data.slice();
    f.size = data.length;
    f.durable = data.slice();
    f.pending = [];
  }

  /** The names in directory `path`, sorted. */
  list(path: string): string[] {
    return [...this.#dir(path).entries.keys()].sort();
  }

  // ---------------------------------------------------------------------------------------------

  #newDir(): SimDir {
    return { kind: "dir", id: this.#nextId++, entries: new Map(), durable: new Map(), pending: [] };
  }

  #newFile(): SimFile {
    return { kind: "file", id: this.#nextId++, buf: new Uint8Array(0), size: 0, durable: new Uint8Array(0), pending: [], lost: [] };
  }

  #norm(path: string): string {
    const p = posix.resolve("/", path);
    return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
  }

  #split(path: string): { parent: SimDir; name: string; full: string } {
    const full = this.#norm(path);
    if (full === "/") throw fsError("EINVAL", "open", path);
    const parent = this.#find(posix.dirname(full));
    if (parent === undefined) throw fsError("ENOENT", "open", path);
    if (parent.kind !== "dir") throw fsError("ENOTDIR", "open", path);
    return { parent, name: posix.basename(full), full };
  }

  #find(path: string): SimNode | undefined {
    const full = this.#norm(path);
    let n: SimNode = this.#root;
    for (const part of full.split("/")) {
      if (part === "") continue;
      if (n.kind !== "dir") return undefined;
      const next = n.entries.get(part);
      if (next === undefined) return undefined;
      n = next;
    }
    return n;
  }

  #lookup(path: string): SimNode {
    const n = this.#find(path);
    if (n === undefined) throw fsError("ENOENT", "stat", path);
    return n;
  }

  #dir(path: string): SimDir {
    const n = this.#lookup(path);
    if (n.kind !== "dir") throw fsError("ENOTDIR", "scandir", path);
    return n;
  }

  #file(path: string): SimFile {
    const n = this.#lookup(path);
    if (n.kind !== "file") throw fsError("EISDIR", "read", path);
    return n;
  }

  #fd(fd: number): Fd {
    const f = this.#fds.get(fd);
    if (f === undefined || f.gen !== this.#gen) throw fsError("EBADF", "fd", String(fd));
    return f;
  }

  #link(d: SimDir, name: string, node: SimNode): void {
    d.entries.set(name, node);
    d.pending.push({ t: "link", name, node });
  }

  #unlinkEntry(d: SimDir, name: string): void {
    d.entries.delete(name);
    d.pending.push({ t: "unlink", name });
  }

  #open(path: string, flags: string | number, gen: number): number {
    let create = false;
    let trunc = false;
    let excl = false;
    let dsync = false;
    if (typeof flags === "number") {
      dsync = (flags & O_DSYNC) !== 0;
    } else {
      create = flags.startsWith("w") || flags.startsWith("a");
      trunc = flags.startsWith("w");
      excl = flags.includes("x");
    }
    let node = this.#find(path);
    if (node !== undefined && excl) throw fsError("EEXIST", "open", path);
    if (node === undefined) {
      if (!create) throw fsError("ENOENT", "open", path);
      const { parent, name } = this.#split(path);
      node = this.#newFile();
      this.#link(parent, name, node);
    } else if (trunc && node.kind === "file") {
      this.#truncate(node, 0);
    }
    const fd = this.#nextFd++;
    this.#fds.set(fd, { node, path: this.#norm(path), dsync, gen });
    return fd;
  }

  #handle(fd: number): WalFileHandle {
    const gen = this.#gen;
    const live = (): Fd => {
      if (gen !== this.#gen) throw fsError("EIO", "call from a crashed process", "");
      return this.#fd(fd);
    };
    const p = <T>(f: () => T): Promise<T> => {
      try {
        return Promise.resolve(f());
      } catch (e) {
        return Promise.reject(e);
      }
    };
    return {
      fd,
      read: (buffer, offset, length, position) => p(() => ({ bytesRead: this.#read(live(), buffer, offset, length, position) })),
      write: (buffer, offset, length, position) =>
        p(() => {
          const f = live();
          this.#write(f, buffer.subarray(offset, offset + length), position, f.dsync);
          return { bytesWritten: length };
        }),
      truncate: (length) => p(() => this.#truncate(this.#asFile(live()), length)),
      sync: () => p(() => this.#sync(live())),
      datasync: () => p(() => this.#sync(live())),
      stat: () => p(() => ({ size: this.#sizeOf(live().node) })),
      close: () =>
        p(() => {
          this.#fds.delete(fd);
        }),
    };
  }

  #asFile(f: Fd): SimFile {
    if (f.node.kind !== "file") throw fsError("EISDIR", "write", f.path);
    return f.node;
  }

  #sizeOf(n: SimNode): number {
    return n.kind === "file" ? n.size : 4096;
  }

  #read(f: Fd, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const file = this.#asFile(f);
    const n = Math.max(0, Math.min(length, file.size - position));
    buffer.set(file.buf.subarray(position, position + n), offset);
    this.#maybeFlip(f.path, buffer, offset, n, position);
    return n;
  }

  #maybeFlip(path: string, buffer: Uint8Array, offset: number, n: number, position = 0): void {
    const fb = this.faults.flipBit;
    if (fb !== undefined && this.#norm(fb.path) === this.#norm(path) && fb.offset >= position && fb.offset < position + n) {
      buffer[offset + fb.offset - position]! ^= 1 << (fb.bit & 7);
      this.stats.flippedReads++;
    }
    if (n === 0 || this.faults.flipBitsOnRead === undefined || !this.faults.flipBitsOnRead(path)) return;
    const at = offset + Math.floor(this.#rand() * n);
    buffer[at]! ^= 1 << Math.floor(this.#rand() * 8);
    this.stats.flippedReads++;
  }

  /** Applies a write to the page cache; `durable`: an O_DSYNC write that is durable at once. */
  #write(f: Fd, bytes: Uint8Array, position: number, durable: boolean): WriteOp {
    const file = this.#asFile(f);
    const budget = this.faults.enospcAfterBytes;
    if (budget !== undefined && this.stats.bytesWritten + bytes.length > budget) {
      this.stats.enospcs++;
      throw fsError("ENOSPC", "write", f.path);
    }
    this.stats.writes++;
    this.stats.bytesWritten += bytes.length;
    applyWrite(file, position, bytes);
    const op: WriteOp = { t: "write", off: position, bytes: bytes.slice(), durable };
    file.pending.push(op);
    if (file.lost.length > 0) file.lost = file.lost.filter(([a, b]) => !(position <= a && b <= position + bytes.length));
    return op;
  }

  #truncate(file: SimFile, len: number): void {
    applyTruncate(file, len);
    file.pending.push({ t: "truncate", len });
  }

  #sync(f: Fd): void {
    if (this.faults.eio !== undefined && this.faults.eio(f.path)) {
      this.stats.eios++;
      if (f.node.kind === "file") {
        // Linux marks the pages clean after a failed writeback: those writes never reach the
        // disk, and the next fsync succeeds without them.
        for (const op of f.node.pending) if (op.t === "write" && !op.durable) f.node.lost.push([op.off, op.off + op.bytes.length]);
      }
      throw fsError("EIO", "fsync", f.path);
    }
    this.stats.fsyncs++;
    if (f.node.kind === "dir") {
      this.stats.dirFsyncs++;
      f.node.durable = new Map(f.node.entries);
      f.node.pending = [];
    } else {
      this.#syncFile(f.node);
    }
  }

  #syncFile(file: SimFile): void {
    const next = file.buf.slice(0, file.size);
    for (const [a, b] of file.lost) {
      for (let i = a; i < Math.min(b, next.length); i++) next[i] = i < file.durable.length ? file.durable[i]! : 0;
    }
    file.durable = next;
    file.pending = [];
  }

  #crashFile(file: SimFile): void {
    const img: SimFile = { ...file, buf: file.durable.slice(), size: file.durable.length, pending: [], lost: [] };
    const lost = (off: number, len: number): boolean => file.lost.some(([a, b]) => a <= off && off + len <= b);
    // Each sector written since the last sync holds some prefix of its writes (none: its
    // durable content; all: what the page cache holds), independently of other sectors; a
    // sector an O_DSYNC write reached holds at least everything up to that write.
    const count = new Map<number, number>();
    const floor = new Map<number, number>();
    for (const op of file.pending) {
      if (op.t === "write" && op.inFlight === true && !op.durable) this.stats.dsyncWritesCut++;
      if (op.t !== "write" || lost(op.off, op.bytes.length)) continue;
      forSectors(op.off, op.bytes.length, (sec) => {
        const n = (count.get(sec) ?? 0) + 1;
        count.set(sec, n);
        if (op.durable) floor.set(sec, n);
      });
    }
    const cutoff = new Map<number, number>();
    for (const [sec, n] of count) {
      const lo = floor.get(sec) ?? 0;
      const k = lo + Math.floor(this.#rand() * (n - lo + 1));
      cutoff.set(sec, k);
      if (k === n) this.stats.sectorsNew++;
      else if (k === 0) this.stats.sectorsOld++;
      else this.stats.sectorsBetween++;
    }
    const applied = new Map<number, number>();
    for (const op of file.pending) {
      if (op.t === "truncate") {
        if (this.#rand() < 0.5) applyTruncate(img, op.len);
        continue;
      }
      if (lost(op.off, op.bytes.length)) continue;
      forSectors(op.off, op.bytes.length, (sec, from, to) => {
        const k = applied.get(sec) ?? 0;
        applied.set(sec, k + 1);
        if (k < cutoff.get(sec)!) applyWrite(img, from, op.bytes.subarray(from - op.off, to - op.off));
      });
    }
    file.buf = img.buf;
    file.size = img.size;
    file.durable = img.buf.slice(0, img.size);
    file.pending = [];
    file.lost = [];
  }

  #crashDir(d: SimDir): void {
    const keep = Math.floor(this.#rand() * (d.pending.length + 1));
    this.stats.lostDirChanges += d.pending.length - keep;
    const entries = new Map(d.durable);
    for (let i = 0; i < keep; i++) {
      const op = d.pending[i]!;
      if (op.t === "link") entries.set(op.name, op.node);
      else if (op.t === "unlink") entries.delete(op.name);
      else {
        entries.delete(op.from);
        entries.set(op.to, op.node);
      }
    }
    d.entries = entries;
    d.durable = new Map(entries);
    d.pending = [];
  }

  #mkdirp(path: string): void {
    const full = this.#norm(path);
    let d = this.#root;
    for (const part of full.split("/")) {
      if (part === "") continue;
      const next = d.entries.get(part);
      if (next === undefined) {
        const nd = this.#newDir();
        this.#link(d, part, nd);
        d = nd;
      } else if (next.kind !== "dir") {
        throw fsError("ENOTDIR", "mkdir", path);
      } else {
        d = next;
      }
    }
  }

  #rename(from: string, to: string): void {
    const a = this.#split(from);
    const node = a.parent.entries.get(a.name);
    if (node === undefined) throw fsError("ENOENT", "rename", from);
    const b = this.#split(to);
    const existing = b.parent.entries.get(b.name);
    if (existing !== undefined && existing.kind === "dir" && (node.kind !== "dir" || existing.entries.size > 0)) throw fsError("ENOTEMPTY", "rename", to);
    if (a.parent === b.parent) {
      // One directory: the change is atomic (both names in one entry of the journal).
      a.parent.entries.delete(a.name);
      a.parent.entries.set(b.name, node);
      a.parent.pending.push({ t: "rename", from: a.name, to: b.name, node });
      return;
    }
    this.#unlinkEntry(a.parent, a.name);
    this.#link(b.parent, b.name, node);
  }

  #unlink(path: string, kind: "file" | "dir"): void {
    const { parent, name } = this.#split(path);
    const n = parent.entries.get(name);
    if (n === undefined) throw fsError("ENOENT", kind === "file" ? "unlink" : "rmdir", path);
    if (kind === "file" && n.kind === "dir") throw fsError("EISDIR", "unlink", path);
    if (kind === "dir" && n.kind !== "dir") throw fsError("ENOTDIR", "rmdir", path);
    if (kind === "dir" && n.kind === "dir" && n.entries.size > 0) throw fsError("ENOTEMPTY", "rmdir", path);
    this.#unlinkEntry(parent, name);
  }

  #rm(path: string): void {
    if (this.#find(path) === undefined) return;
    const { parent, name } = this.#split(path);
    this.#unlinkEntry(parent, name);
  }

  #copyFile(from: string, to: string): void {
    const src = this.#file(from);
    const fd = this.#open(to, "w", this.#gen);
    this.#write(this.#fd(fd), src.buf.slice(0, src.size), 0, false);
    this.#fds.delete(fd);
  }

  #lock(key: string, dir: string, gen: number): DirLock {
    if (this.#locks.has(key)) throw new WalLockedError(dir);
    this.#locks.add(key);
    let released = false;
    return {
      path: dir,
      name: key,
      release: async () => {
        if (released || gen !== this.#gen) return;
        released = true;
        this.#locks.delete(key);
      },
    };
  }
}

/** Calls `f(sector, from, to)` for each 512-byte sector piece of the range [off, off + len). */
function forSectors(off: number, len: number, f: (sector: number, from: number, to: number) => void): void {
  let p = off;
  const end = off + len;
  while (p < end) {
    const sec = Math.floor(p / SECTOR);
    const next = Math.min(end, (sec + 1) * SECTOR);
    f(sec, p, next);
    p = next;
  }
}

function applyWrite(file: SimFile, off: number, bytes: Uint8Array): void {
  const end = off + bytes.length;
  if (end > file.buf.length) {
    const nb = new Uint8Array(Math.max(end, 2 * file.buf.length));
    nb.set(file.buf.subarray(0, file.size));
    file.buf = nb;
  }
  if (off > file.size) file.buf.fill(0, file.size, off);
  file.buf.set(bytes, off);
  if (end > file.size) file.size = end;
}

function applyTruncate(file: SimFile, len: number): void {
  if (len > file.buf.length) {
    const nb = new Uint8Array(len);
    nb.set(file.buf.subarray(0, file.size));
    file.buf = nb;
  } else if (len > file.size) {
    file.buf.fill(0, file.size, len);
  }
  file.size = len;
}
