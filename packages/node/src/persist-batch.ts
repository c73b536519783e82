/**
 * Group commit: consecutive MsgStorageAppend messages of raft (one per Ready, queued while the
 * previous write was in flight) merged into one {@link PersistRequest}, so that many Readies
 * share one write and one fsync.
 * @module
 */
import { NONE, isEmptyHardState } from "@tsraft/raftpb";
import type { Entry, HardState, Message, Snapshot } from "@tsraft/raftpb";
import type { PersistRequest } from "./raft-node.js";

/** Bytes of entry payloads past which a batch takes no more appends (the rest wait for the next write). */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Merges MsgStorageAppend messages, in the order raft made them.
 *
 * Invariant: the entries of `parts`, in order, are a contiguous run of indexes; an append whose
 * first entry is at or before the run's end replaces the run from there on (a new leader
 * overwrote a suffix), as the storage would have done had the appends been written one by one.
 * The parts are raft's arrays as they came (fresh per message, never changed after), joined
 * only when there are several: a batch of one append copies nothing (measured in `pnpm bench
 * driver-3node` at C = 4,096: pushing every entry into a growing array cost 75 bytes per
 * proposal across the three members).
 */
export class PersistBatch {
  private parts: (readonly Entry[])[] = [];
  private entryCount = 0;
  private hardState: HardState | undefined;
  private snapshot: Snapshot | undefined;
  private bytes = 0;
  private count = 0;
  /** The messages to deliver once the batch is durable, in order. */
  readonly responses: Message[] = [];

  /** @param persisted the HardState of the last write before this batch (to tell if term or vote change) */
  constructor(private readonly persisted: HardState) {}

  /** Whether `m` may join the batch: a snapshot only opens a batch, and the batch has room. */
  accepts(m: Message): boolean {
    if (this.count === 0) return true;
    return m.snapshot === undefined && this.bytes < MAX_BATCH_BYTES;
  }

  /** Adds one MsgStorageAppend. */
  add(m: Message): void {
    this.count++;
    if (m.snapshot !== undefined && m.snapshot.metadata.index > 0) this.snapshot = m.snapshot;
    const ents = m.entries;
    if (ents.length > 0) {
      if (this.entryCount > 0) this.cutAt(ents[0]!.index);
      this.parts.push(ents);
      this.entryCount += ents.length;
      for (let i = 0; i < ents.length; i++) {
        const d = ents[i]!.data;
        this.bytes += d === undefined ? 0 : d.length;
      }
    }
    // raft sets term/vote/commit on the message only when the Ready had a HardState (its term
    // is never 0 then).
    if (m.term !== 0) this.hardState = { term: m.term, vote: m.vote ?? NONE, commit: m.commit };
    const r = m.responses;
    if (r !== undefined) for (let i = 0; i < r.length; i++) this.responses.push(r[i]!);
  }

  /** Drops the entries at and after `index` (an append from there on replaces them). */
  private cutAt(index: number): void {
    const keep = index - this.parts[0]![0]!.index;
    if (keep >= this.entryCount) return;
    let n = 0;
    const parts: (readonly Entry[])[] = [];
    for (const p of this.parts) {
      if (n >= keep) break;
      parts.push(n + p.length <= keep ? p : p.slice(0, keep - n));
      n += Math.min(p.length, keep - n);
    }
    this.parts = parts;
    this.entryCount = n;
  }

  /** The batch's entries, in one array (raft's own when the batch has one part). */
  private entries(): readonly Entry[] {
    const parts = this.parts;
    if (parts.length === 0) return [];
    if (parts.length === 1) return parts[0]!;
    const out: Entry[] = new Array<Entry>(this.entryCount);
    let k = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) out[k++] = p[i]!;
    return out;
  }

  /** The snapshot in the batch (it opens the batch), if any. */
  get snapshotToInstall(): Snapshot | undefined {
    return this.snapshot;
  }

  /**
   * Whether the batch only moves the commit index (no entries, no snapshot, term and vote
   * unchanged): nothing in it needs to be durable before its responses are delivered.
   */
  get commitOnly(): boolean {
    const hs = this.hardState;
    return this.entryCount === 0 && this.snapshot === undefined && hs !== undefined && hs.term === this.persisted.term && hs.vote === this.persisted.vote;
  }

  /** Gives the batch an older, not yet written HardState to write, when it has none of its own. */
  carry(hs: HardState): void {
    if (this.hardState === undefined) this.hardState = hs;
  }

  /** The HardState the batch leaves on disk. */
  get hardStateAfter(): HardState {
    return this.hardState ?? this.persisted;
  }

  /** How many MsgStorageAppend messages the batch holds. */
  get size(): number {
    return this.count;
  }

  /** What to persist, or undefined when there is nothing to write (only responses to deliver). */
  request(): PersistRequest | undefined {
    const hs = this.hardState;
    if (this.entryCount === 0 && hs === undefined && this.snapshot === undefined) return undefined;
    const p = this.persisted;
    const mustSync = this.entryCount > 0 || this.snapshot !== undefined || (hs !== undefined && (hs.term !== p.term || hs.vote !== p.vote));
    const req: PersistRequest = { entries: this.entries(), mustSync };
    if (hs !== undefined && !isEmptyHardState(hs)) req.hardState = hs;
    if (this.snapshot !== undefined) req.snapshot = this.snapshot;
    return req;
  }
}
