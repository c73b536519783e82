/**
 * The largest term and index raft accepts, from a peer or from storage, and reaches itself.
 *
 * Terms and indexes are JavaScript numbers, exact up to 2^53-1 (`Number.MAX_SAFE_INTEGER`),
 * which is also the largest value @tsraft/raftpb encodes and decodes. Raft computes `term + 1`
 * (a campaign), `lastIndex + n` (a leader appending n entries) and `index + entries.length`
 * (an append): a value at the decoder's bound would make those inexact or unencodable, and a
 * single forged message would then crash every node that adopted it, at every restart. So raft
 * keeps a margin of 2^32 below 2^53-1: more than any array's length (at most 2^32-1), so every
 * such sum stays an exact integer that the codec encodes.
 *
 * - A message whose term, logTerm, index, commit, rejectHint, entry index or term, or snapshot
 *   index or term is above these bounds is refused by `RawNode.step()` with
 *   `InvalidMessageError`, before anything changes.
 * - A Storage holding such values at startup is refused by `new RawNode()` with
 *   `StorageStateError`.
 * - A node at term {@link MAX_TERM} does not campaign, and one whose log ends at
 *   {@link MAX_INDEX} neither campaigns nor (as leader) accepts proposals: its own increments
 *   never leave the bounds either. Reaching them from 0 takes 28 million years at one
 *   election per 100 ms, and 285 years at a million entries per second.
 * @module
 */

/** Room kept between the bounds and 2^53-1: 2^32, more than any array's length. */
const MARGIN = 2 ** 32;

/** The largest term raft accepts or reaches: 2^53-1 - 2^32 (9,007,194,959,773,695). */
export const MAX_TERM: number = Number.MAX_SAFE_INTEGER - MARGIN;

/** The largest log index raft accepts or reaches: 2^53-1 - 2^32, as {@link MAX_TERM}. */
export const MAX_INDEX: number = Number.MAX_SAFE_INTEGER - MARGIN;

/** Whether `v` is an integer in `[0, max]` (false for NaN, fractions and negatives). */
export function inRange(v: number, max: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= max;
}
