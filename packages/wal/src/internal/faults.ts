/**
 * Test-only fault switches of the WAL and DiskStorage. Each breaks one durability rule so that
 * tests can prove the simulated disk's checks catch the violation (`test/sim-fs.test.ts`).
 * Not exported from the package (no `exports` entry reaches this file); tests import it by
 * path. All are off unless a test turns them on.
 * @module
 */

/** The switches; every one is false in normal operation. */
export interface WalFaultSwitches {
  /** The WAL resolves a save that must sync once it is written, without syncing it. */
  ackBeforeSync: boolean;
  /** DiskStorage serves (to raft) the entries of a save before the save is durable. */
  serveBeforeDurable: boolean;
}

/** The process-wide switches. */
export const walFaults: WalFaultSwitches = {
  ackBeforeSync: false,
  serveBeforeDurable: false,
};

/** Turns every switch off. */
export function resetWalFaults(): void {
  walFaults.ackBeforeSync = false;
  walFaults.serveBeforeDurable = false;
}
