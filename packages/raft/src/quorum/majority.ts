/**
 * Majority quorums: a decision (an index being committed, a candidate winning) needs more than
 * half of the voters. Raft thesis §3.4 (elections) and §3.6 (commitment).
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";
import { INFINITE_INDEX, compareNodeIds, type AckedIndexer, type VoteLookup, type VoteResult } from "./types.js";

/** Up to this many voters, {@link MajorityConfig.committedIndex} sorts with an insertion sort. */
const INSERTION_SORT_MAX = 16;

/**
 * An immutable set of voters that decides by majority.
 *
 * Built once per configuration (by the conf change machinery), then queried on every
 * `MsgAppResp` (`committedIndex`) and vote (`voteResult`). The ids are kept sorted in an array,
 * and a scratch `Float64Array` of the same length is reused by `committedIndex`, so neither query
 * allocates. (The scratch array makes `committedIndex` non-reentrant; an {@link AckedIndexer}
 * must not call back into the same configuration.)
 */
export class MajorityConfig implements Iterable<NodeId> {
  /** The voter ids, ascending. Invariant: no duplicates. */
  readonly #ids: readonly NodeId[];
  /** Membership lookup for {@link has}. */
  readonly #set: ReadonlySet<NodeId>;
  /** Scratch space for the acknowledged indexes; length === #ids.length. */
  readonly #scratch: Float64Array;

  /** Makes a majority configuration of the given ids (duplicates are ignored). */
  constructor(ids: Iterable<NodeId> = []) {
    const set = new Set(ids);
    this.#set = set;
    this.#ids = Array.from(set).sort(compareNodeIds);
    this.#scratch = new Float64Array(this.#ids.length);
  }

  /** The number of voters. */
  get size(): number {
    return this.#ids.length;
  }

  /** Whether `id` is a voter of this configuration. */
  has(id: NodeId): boolean {
    return this.#set.has(id);
  }

  /** Iterates the voter ids in ascending order. */
  [Symbol.iterator](): Iterator<NodeId> {
    return this.#ids[Symbol.iterator]();
  }

  /** The voter ids, ascending, as a new array the caller owns. */
  slice(): NodeId[] {
    return this.#ids.slice();
  }

  /**
   * The voter ids, ascending, without copying: the returned array is owned by the
   * configuration and must not be modified.
   */
  sortedIds(): readonly NodeId[] {
    return this.#ids;
  }

  /** Renders the configuration as etcd does: `(1 2 3)`, `()` when empty. */
  toString(): string {
    return `(${this.#ids.join(" ")})`;
  }

  /**
   * The largest index that a majority of the voters acknowledged: the "median" of the
   * acknowledged indexes (a voter nothing is known about counts as 0). For an empty
   * configuration returns {@link INFINITE_INDEX}, so that in a joint configuration an empty half
   * defers to the other.
   *
   * Hot path (every `MsgAppResp` on the leader): no allocation; an insertion sort for up to 16
   * voters, the native typed-array sort beyond.
   */
  committedIndex(acked: AckedIndexer): number {
    const ids = this.#ids;
    const n = ids.length;
    if (n === 0) return INFINITE_INDEX;
    const srt = this.#scratch;
    for (let i = 0; i < n; i++) {
      const idx = acked.ackedIndex(ids[i]!);
      srt[i] = idx === undefined ? 0 : idx;
    }
    if (n <= INSERTION_SORT_MAX) {
      for (let i = 1; i < n; i++) {
        const v = srt[i]!;
        let j = i - 1;
        while (j >= 0 && srt[j]! > v) {
          srt[j + 1] = srt[j]!;
          j--;
        }
        srt[j + 1] = v;
      }
    } else {
      srt.sort();
    }
    // Ascending order: the element at n - (n/2 + 1) is acknowledged by itself and every voter
    // above it, that is by n/2 + 1 voters, a majority; no larger index is.
    return srt[n - ((n >> 1) + 1)]!;
  }

  /**
   * Tallies the votes of this configuration's voters (votes of others are ignored): `'won'`
   * once a majority granted, `'lost'` once a majority can no longer be reached, `'pending'`
   * otherwise. An empty configuration wins every vote (which suits joint configurations).
   */
  voteResult(votes: VoteLookup): VoteResult {
    const ids = this.#ids;
    const n = ids.length;
    if (n === 0) return "won";
    let granted = 0;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const v = votes.get(ids[i]!);
      if (v === undefined) missing++;
      else if (v) granted++;
    }
    const q = (n >> 1) + 1;
    if (granted >= q) return "won";
    if (granted + missing >= q) return "pending";
    return "lost";
  }

  /**
   * A multi-line picture of the acknowledged indexes, as etcd's `MajorityConfig.Describe`
   * prints it for its datadriven tests: one line per voter, ascending by id, with a bar whose
   * length is the number of voters with a strictly smaller index (`?` when unknown), e.g.
   *
   * ```
   *        idx
   * xx>     12    (id=1)
   * x>       5    (id=2)
   * ?        0    (id=3)
   * ```
   */
  describe(acked: AckedIndexer): string {
    const n = this.#ids.length;
    if (n === 0) return "<empty majority quorum>";
    const info = this.#ids.map((id) => {
      const idx = acked.ackedIndex(id);
      return { id, idx: idx === undefined ? 0 : idx, ok: idx !== undefined, bar: 0 };
    });
    const byIdx = info.slice().sort((a, b) => a.idx - b.idx || compareNodeIds(a.id, b.id));
    // The i-th smallest index gets bar i; equal indexes get equal bars.
    for (let i = 1; i < n; i++) {
      byIdx[i]!.bar = byIdx[i - 1]!.idx < byIdx[i]!.idx ? i : byIdx[i - 1]!.bar;
    }
    let out = " ".repeat(n) + "    idx\n";
    for (const t of info) {
      out += t.ok ? "x".repeat(t.bar) + ">" + " ".repeat(n - t.bar) : "?" + " ".repeat(n);
      out += ` ${String(t.idx).padStart(5)}    (id=${t.id})\n`;
    }
    return out;
  }
}
