/**
 * Test-only fault switches of the WAL and DiskStorage. Each breaks one durability rule so that
 * tests can prove the simulated disk's checks catch the violation (`test/sim-fs.test.ts`).
 * Not exported from the package index: `@tsraft/wal/testing` exports `setWalFaults` for tests
 * of other packages (the whole-stack simulator). All are off unless a test turns them on.
 *
 * The switches are per-storage testing knobs, as raft's are per node: attached to one options
 * object (`setWalFaults(options, ...)`), they reach only the WAL and DiskStorage opened with it
 * (DiskStorage carries them to the options it opens its WAL with). Nothing is process-wide.
 * @module
 */

/** The switches; every one is false in normal operation. */
export interface WalFaultSwitches {
  /** The WAL resolves a save that must sync once it is written, without syncing it. */
  readonly ackBeforeSync: boolean;
  /** DiskStorage serves (to raft) the entries of a save before the save is durable. */
  readonly serveBeforeDurable: boolean;
  /**
   * The WAL takes a write that failed with ENOSPC for done: the batch's saves resolve (as if
   * written and synced) and the WAL goes on, instead of failing with `WalNoSpaceError`.
   */
  readonly swallowNoSpace: boolean;
  /**
   * The reader does not check the CRC of the records of a segment before the last one (a
   * sealed segment), so a bit flipped on the way from the disk is taken as data.
   */
  readonly skipSealedCrc: boolean;
  /**
   * The WAL writes no sync markers, so the reader judges damage in the last segment without
   * them (as before 2026-12-02): a crash can leave a log it refuses.
   */
  readonly noSyncMarkers: boolean;
  /**
   * `WAL.close` does not seal the tail (no final marker), so damage inside the last synced batch
   * found at the next open is cut as a torn write, as before 2026-12-03.
   */
  readonly noSeal: boolean;
}

/** Every switch off: what every storage has unless a test attaches switches to its options. */
export const NO_WAL_FAULTS: WalFaultSwitches = Object.freeze({
  ackBeforeSync: false,
  serveBeforeDurable: false,
  swallowNoSpace: false,
  skipSealedCrc: false,
  noSyncMarkers: false,
  noSeal: false,
});

const attached = new WeakMap<object, WalFaultSwitches>();

/** Turns on the switches `on` for what is opened with `options` (replacing any attached before). */
export function setWalFaults(options: object, on: Partial<WalFaultSwitches>): void {
  attached.set(options, Object.freeze({ ...NO_WAL_FAULTS, ...on }));
}

/** The switches attached to `options` ({@link NO_WAL_FAULTS} when none are, or no options). */
export function walFaultsOf(options: object | undefined): WalFaultSwitches {
  return (options === undefined ? undefined : attached.get(options)) ?? NO_WAL_FAULTS;
}

/** Attaches the switches of `from` (if any) to `to`, options built by spreading `from`. */
export function carryWalFaults(from: object, to: object): void {
  const f = attached.get(from);
  if (f !== undefined) attached.set(to, f);
}
