/**
 * One member of a simulated cluster: its disk (a {@link SimFS} that outlives crashes), and its
 * current incarnation (a DiskStorage opened on what the disk kept, a RaftNode on the simulated
 * scheduler, the application's state machine). A crash is a power loss: the process with its
 * timers and page cache is gone (`SimFS.crash()`); a restart is `DiskStorage.open` and a new
 * RaftNode, as a real member restarts.
 * @module
 */
import { RaftNode } from "@tsraft/node";
import { setKnobs, type RaftNodeKnobs } from "@tsraft/node/testing";
import { MessageType } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import type { Prng } from "@tsraft/raft/testing";
import { DiskStorage, isWalError, type DiskStorageOptions, type WalIO } from "@tsraft/wal";
import { errorCode } from "@tsraft/raft";
import { SimFS, setWalFaults, type WalFaultSwitches } from "@tsraft/wal/testing";
import type { StackChecker } from "./checks.js";
import { Owner, type SimLoop } from "./sim-loop.js";
import type { SimNetwork } from "./sim-network.js";
import type { StackStateMachine } from "./state-machine.js";
import type { Trace } from "./trace.js";

const ZERO_HS: HardState = { term: 0, vote: 0n, commit: 0 };
const dec = new TextDecoder();

/** What a proposal's promise resolves with: the index it was applied at, and the state machine's result. */
export interface AppliedResult<O> {
  index: number;
  out: O;
}

/** The settings a member runs with (the same for every member of a run). */
export interface MemberSettings {
  /** Virtual ms per tick. */
  tickMs: number;
  electionTick: number;
  requestTimeoutMs: number;
  /** Take a snapshot every this many applied entries. */
  snapshotEntries: number;
  segmentSizeBytes: number;
  /** Virtual ms an fsync takes, drawn uniformly in [lo, hi] per call. */
  syncMs: readonly [number, number];
  nodeKnobs: RaftNodeKnobs;
  walFaults: Partial<WalFaultSwitches>;
  /**
   * Probability that a restart reads one flipped bit (a bad spot on the way from the disk,
   * present for the whole of `DiskStorage.open`) in a sealed WAL segment (one before the last)
   * or a snapshot file, when the disk has one. The open must refuse it with a typed error of
   * `@tsraft/wal` (the member stays down, counted as a refusal), or go on if the flip fell on
   * bytes it does not use; the `integrity` check catches flipped data that gets applied.
   */
  flipOnRestart: number;
  /**
   * Open each member's storage with the WAL's `inlineWrites` (saves written and synced on the
   * process's thread): they then take no virtual time, so a crash never lands during one.
   * Default false.
   */
  inlineWrites?: boolean;
  /**
   * The WAL's `largeWriteBytes` (batches from this size written in chunks while encoded, then
   * one fdatasync); undefined leaves the WAL's default (512 KiB, which these schedules' batches
   * rarely reach).
   */
  largeWriteBytes?: number;
}

/** How long (virtual ms) a node may go on after its WAL met ENOSPC before the `disk-full` check fails. */
export const DISK_FULL_GRACE_MS = 100;

/** See the module comment. */
export class SimMember<SM extends StackStateMachine<O>, O> {
  readonly fs: SimFS;
  owner: Owner | undefined;
  node: RaftNode<AppliedResult<O>> | undefined;
  sm: SM | undefined;
  /** Incarnations started so far. */
  incarnations = 0;
  /** Set when the disk's log was refused at a restart for a bit flipped on reading it: the member stays down. */
  refused: string | undefined;
  /** Why: a bit flip refused by the open (the only refusal that is not a violation). */
  refusedFor: "bit-flip" | undefined;
  /** Whether an injected ENOSPC is armed or was met by this incarnation: the node must stop with a WalNoSpaceError then. */
  noSpaceInjected = false;
  private noSpaceReported: Owner | undefined;
  /** Restarts that read a flipped bit (see `MemberSettings.flipOnRestart`). */
  flips = 0;
  /** Whether an injected EIO failed an fsync of this incarnation: the node must stop then (or, for a snapshot file, may go on). */
  eioInjected = false;
  /** Called when the node stopped after an injected EIO (the process exits: the harness crashes and restarts it). */
  onFailed: ((m: SimMember<SM, O>) => void) | undefined;
  /** Called after a live incarnation sent messages (the harness's crash-after-send campaign). */
  onSent: ((m: SimMember<SM, O>, msgs: readonly Message[]) => void) | undefined;

  constructor(
    readonly id: NodeId,
    readonly peers: readonly NodeId[],
    private readonly settings: MemberSettings,
    private readonly loop: SimLoop,
    private readonly net: SimNetwork,
    private readonly trace: Trace,
    private readonly checker: StackChecker,
    private readonly rand: Prng,
    private readonly makeStateMachine: () => SM,
    /** The member's own generator for the bit flips (apart from `rand`, so seeds without a flip run as before). */
    private readonly flipRand: Prng,
  ) {
    this.fs = new SimFS(rand.next32());
  }

  /** Whether the member runs now. */
  get up(): boolean {
    return this.owner?.alive === true && this.node !== undefined;
  }

  /** Prepares the disk (the data directory, synced) as a provisioning step would. */
  async provision(): Promise<void> {
    await this.fs.io().mkdir("/data", { recursive: true });
    this.fs.syncAll();
  }

  /** Starts an incarnation on what the disk kept. Returns false if the disk's log was refused. */
  async start(): Promise<boolean> {
    const inc = `${this.id}.${++this.incarnations}`;
    const owner = new Owner(inc);
    const io = this.tracedIO(owner);
    const opts: DiskStorageOptions = {
      io,
      segmentSizeBytes: this.settings.segmentSizeBytes,
      zeroAheadBytes: 0,
      inlineWrites: this.settings.inlineWrites ?? false,
      ...(this.settings.largeWriteBytes !== undefined ? { largeWriteBytes: this.settings.largeWriteBytes } : {}),
    };
    setWalFaults(opts, this.settings.walFaults);
    let storage: DiskStorage;
    const flipped = this.armFlip();
    const flipsBefore = this.fs.stats.flippedReads;
    try {
      storage = await DiskStorage.open("/data", opts);
    } catch (e) {
      const readFlip = this.fs.stats.flippedReads > flipsBefore;
      this.fs.faults.flipBit = undefined;
      if (readFlip && isWalError(e)) {
        // The open refused what it read: the member stays down (an operator's case), never runs on it.
        this.refused = `${(e as Error).message} (a bit flipped on reading ${flipped})`;
        this.refusedFor = "bit-flip";
        this.trace.add(this.loop.now, "refused", this.id, this.refused);
        return false;
      }
      this.checker.fail(
        "restart",
        `member ${this.id} cannot restart on what its disk kept: ${String(e)}${readFlip ? ` (a bit flipped on reading ${flipped})` : ""}`,
      );
      return false;
    }
    this.fs.faults.flipBit = undefined; // the bad spot was on the way from the disk at the open
    const sm = this.makeStateMachine();
    const s = this.settings;
    const options = {
      raft: { id: this.id, electionTick: s.electionTick, heartbeatTick: 1, storage, preVote: true, checkQuorum: true, random: this.rand.fork() },
      tickMs: s.tickMs,
      requestTimeoutMs: s.requestTimeoutMs,
      readRetryMs: s.tickMs * 5,
      scheduler: this.loop.schedulerFor(owner),
      persist: (p: { hardState?: HardState; entries: readonly Entry[]; snapshot?: Snapshot }) => storage.save(p.hardState ?? ZERO_HS, p.entries, p.snapshot),
      send: (msgs: Message[]) => {
        if (!owner.alive) return;
        for (const m of msgs) if (m.type === MessageType.MsgVoteResp && !m.reject) this.checker.voteGranted(this.id, m.to, m.term);
        this.net.send(this.id, msgs);
        this.onSent?.(this, msgs);
      },
      apply: (e: { index: number; data: Uint8Array }): AppliedResult<O> => {
        const data = owner.alive ? dec.decode(e.data) : "";
        if (owner.alive) this.checker.applying(this.id, inc, e.index, data);
        const out = sm.apply(e.index, e.data);
        if (owner.alive) {
          this.checker.apply(this.id, inc, e.index, data, sm.fingerprint());
          this.trace.fold(`${inc} applied ${e.index}`);
        }
        return { index: e.index, out };
      },
      restore: async (snap: Snapshot) => {
        await sm.restore(snap.data ?? new Uint8Array(0));
        if (owner.alive) this.checker.restore(this.id, inc, snap.metadata.index, sm.fingerprint());
      },
      snapshot: {
        entries: s.snapshotEntries,
        take: () => sm.snapshot(),
        save: async (x: { index: number; confState: ConfState; data: Uint8Array }) => {
          await storage.createSnapshot(x.index, x.confState, x.data);
          await storage.compact(x.index);
        },
      },
      onLeaderChange: (lead: NodeId, state: string, term: number) => {
        if (!owner.alive) return;
        if (state === "leader") this.checker.leader(this.id, term);
        this.trace.add(this.loop.now, "leader", this.id, `${state} lead=${lead} t${term}`);
      },
      onFatal: (err: unknown) => {
        if (!owner.alive) return; // the process crashed: its writes fail with EIO
        this.trace.add(this.loop.now, "fail", this.id, String(err));
        const noSpace = errorCode(err) === "TSRAFT_WAL_NO_SPACE";
        if (this.noSpaceInjected && !noSpace && !this.eioInjected && /ENOSPC/.test(String(err))) {
          this.checker.fail("disk-full", `member ${this.id} (${inc}) stopped on ENOSPC without a WalNoSpaceError: ${String(err)}`);
        } else if ((this.eioInjected || (this.noSpaceInjected && noSpace)) && this.onFailed !== undefined) this.onFailed(this);
        else this.checker.fail("node-failed", `member ${this.id} (${inc}) stopped: ${String(err)}`);
      },
    };
    setKnobs(options, this.settings.nodeKnobs);
    const node = new RaftNode<AppliedResult<O>>(options);
    this.owner = owner;
    this.node = node;
    this.sm = sm;
    this.net.attach(this.id, {
      owner,
      step: (m) => node.step(m),
      reportSnapshot: (to, ok) => node.reportSnapshot(to, ok ? "finish" : "failure"),
    });
    this.trace.add(this.loop.now, "restart", this.id, inc);
    await node.start({ bootstrap: this.peers.map((id) => ({ id })) });
    return true;
  }

  /**
   * Makes the next fsync of this member's disk fail with EIO (its unsynced pages are lost for
   * good, as on Linux). The node must stop (never trust a retried fsync) or, for a snapshot
   * file, may log the failure and go on.
   */
  injectEio(): void {
    let armed = true;
    this.fs.faults.eio = () => {
      if (!armed) return false;
      armed = false;
      this.eioInjected = true;
      this.trace.add(this.loop.now, "fail", this.id, "fsync: EIO (injected)");
      return true;
    };
  }

  /**
   * Fills the disk: writes fail with ENOSPC after up to 1 KiB more. The node must stop
   * with a `WalNoSpaceError` (the `disk-full` check) and lose nothing it acknowledged; the
   * space is freed when its process is gone (an operator's cleanup before the restart).
   */
  injectEnospc(): void {
    this.noSpaceInjected = true;
    this.fs.faults.enospcAfterBytes = this.fs.stats.bytesWritten + this.rand.range(0, 1024);
    this.trace.add(this.loop.now, "fail", this.id, "disk almost full (injected)");
  }

  /**
   * With probability `flipOnRestart`, a bad spot for this restart's open: one bit of a sealed
   * segment or a snapshot file, read flipped. Returns the file, or undefined when none is armed.
   */
  private armFlip(): string | undefined {
    if (this.settings.flipOnRestart <= 0 || !this.flipRand.chance(this.settings.flipOnRestart)) return undefined;
    const ls = (dir: string, ext: string): string[] =>
      this.fs.exists(dir)
        ? this.fs
            .list(dir)
            .filter((f) => f.endsWith(ext))
            .map((f) => `${dir}/${f}`)
        : [];
    const targets = [...ls("/data/wal", ".wal").slice(0, -1), ...ls("/data/snap", ".snap")];
    if (targets.length === 0) return undefined;
    const path = this.flipRand.pick(targets);
    const size = this.fs.readFile(path).length;
    if (size === 0) return undefined;
    const offset = this.flipRand.int(size);
    this.fs.faults.flipBit = { path, offset, bit: this.flipRand.int(8) };
    this.flips++;
    this.trace.add(this.loop.now, "fail", this.id, `bit flip on reading ${path}@${offset} (injected)`);
    return `${path}@${offset}`;
  }

  /** A power loss: the process and its page cache are gone. Returns the sectors and directory changes lost. */
  crash(): number {
    if (this.owner !== undefined) this.owner.alive = false;
    this.net.attach(this.id, undefined);
    // An injected EIO not met yet goes with the process (it was this process's fsync that was to fail).
    this.fs.faults.eio = undefined;
    this.eioInjected = false;
    // A full disk: space is freed before the restart.
    this.fs.faults.enospcAfterBytes = undefined;
    this.noSpaceInjected = false;
    const st = this.fs.stats;
    const before = st.sectorsOld + st.sectorsBetween + st.lostDirChanges;
    this.fs.crash();
    const lost = st.sectorsOld + st.sectorsBetween + st.lostDirChanges - before;
    this.trace.add(this.loop.now, "crash", this.id, `lost ${lost} unsynced sectors or directory changes`);
    this.node = undefined;
    this.sm = undefined;
    return lost;
  }

  /** The WAL's write failed with ENOSPC: the node must have stopped within {@link DISK_FULL_GRACE_MS} (the `disk-full` check). */
  private noSpaceMet(owner: Owner): void {
    if (this.noSpaceReported === owner) return;
    this.noSpaceReported = owner;
    this.trace.add(this.loop.now, "fail", this.id, "write: ENOSPC");
    const at = this.loop.now;
    this.loop.at(owner, DISK_FULL_GRACE_MS, () => {
      // The incarnation is still running (a stop crashes it at once: this event dies with it).
      if (this.up && this.owner === owner) {
        this.checker.fail("disk-full", `member ${this.id} (${owner.name}) met ENOSPC at ${at} ms and was still running ${DISK_FULL_GRACE_MS} ms later`);
      }
    });
  }

  /**
   * The disk as this incarnation's process sees it: an fsync, and a write through O_DSYNC,
   * takes `syncMs` virtual ms (drawn per call), so there is a window in which written data is
   * not durable yet and a crash loses (or tears) it; both are recorded in the trace as `fsync`
   * when they complete. One still under way when the process crashes never completes.
   */
  private tracedIO(owner: Owner): WalIO {
    const io = this.fs.io();
    const [lo, hi] = this.settings.syncMs;
    // A write through O_DSYNC (a synced save) takes as long as an fsync: durable when it
    // completes, so a crash during it keeps, drops or tears it (SimFS.dsyncLatency).
    this.fs.dsyncLatency = (complete) =>
      this.loop.at(owner, this.rand.range(lo, hi), () => {
        this.trace.add(this.loop.now, "fsync", this.id, "O_DSYNC write");
        complete();
      });
    return {
      ...io,
      write: (fd, buffer, offset, length, position, cb) => {
        io.write(fd, buffer, offset, length, position, (err, n) => {
          if (err?.code === "ENOSPC" && owner.alive) this.noSpaceMet(owner);
          cb(err, n);
        });
      },
      fdatasync: (fd, cb) => {
        this.loop.at(owner, this.rand.range(lo, hi), () => {
          this.trace.add(this.loop.now, "fsync", this.id, "");
          io.fdatasync(fd, cb);
        });
      },
      // The inline path (`inlineWrites`): no virtual time passes; an O_DSYNC write is durable
      // when it returns.
      writeSync: (fd, buffer, offset, length, position) => {
        try {
          return io.writeSync!(fd, buffer, offset, length, position);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOSPC" && owner.alive) this.noSpaceMet(owner);
          throw e;
        }
      },
      fdatasyncSync: (fd) => {
        this.trace.add(this.loop.now, "fsync", this.id, "inline");
        io.fdatasyncSync!(fd);
      },
    };
  }
}
