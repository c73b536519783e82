/**
 * The checks `new RawNode()` makes on what it takes from the Storage at start, as
 * message-checks.ts does for messages: terms and indexes within the bounds (see bounds.ts),
 * and a commit index inside the stored log. A storage that fails them could only crash the
 * node later (a campaign at a term no codec can write) or make it panic.
 * @module
 */
import { isEmptyHardState } from "@tsraft/raftpb";
import type { HardState } from "@tsraft/raftpb";
import { MAX_INDEX, MAX_TERM, inRange } from "./bounds.js";
import { StorageStateError } from "./errors.js";
import type { RaftLog } from "./log.js";

/**
 * Checks what raft takes from the storage at start: terms and indexes within the bounds (see
 * bounds.ts), and a commit index inside the stored log.
 * @throws {@link StorageStateError} naming the value.
 */
export function checkStorageState(log: RaftLog, hs: HardState): void {
  const first = log.firstIndex();
  const last = log.lastIndex();
  if (!inRange(last, MAX_INDEX)) throw new StorageStateError("lastIndex", `${last} is not an integer in [0, ${MAX_INDEX}]`);
  if (!inRange(first, last + 1)) throw new StorageStateError("firstIndex", `${first} is not an integer in [0, lastIndex + 1 = ${last + 1}]`);
  if (!inRange(hs.term, MAX_TERM)) throw new StorageStateError("hardState.term", `${hs.term} is not an integer in [0, ${MAX_TERM}]`);
  const lastTerm = log.lastTerm();
  if (!inRange(lastTerm, MAX_TERM)) throw new StorageStateError("term(lastIndex)", `${lastTerm} is not an integer in [0, ${MAX_TERM}]`);
  const empty = isEmptyHardState(hs);
  if (!empty && !(Number.isInteger(hs.commit) && hs.commit >= first - 1 && hs.commit <= last)) {
    throw new StorageStateError(
      "hardState.commit",
      `${hs.commit} is out of range [${first - 1}, ${last}] (the snapshot index to the last index). Was the raft log corrupted, truncated, or lost?`,
    );
  }
}
