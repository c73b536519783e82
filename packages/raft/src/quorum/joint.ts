/**
 * Joint quorums: during a membership change through joint consensus (Raft thesis §4.3) every
 * decision needs a majority of the incoming configuration *and* a majority of the outgoing one.
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";
import { MajorityConfig } from "./majority.js";
import { compareNodeIds, type AckedIndexer, type VoteLookup, type VoteResult } from "./types.js";

const EMPTY = new MajorityConfig();

/**
 * An immutable pair of majority configurations. Outside of a membership change `outgoing` is
 * empty, and since an empty majority commits "everything" and wins every vote, the pair then
 * behaves exactly like `incoming` alone.
 */
export class JointConfig {
  /** The new configuration, `C_new` in the thesis; always the one changes apply to. */
  readonly incoming: MajorityConfig;
  /** The old configuration, `C_old`; empty unless the configuration is joint. */
  readonly outgoing: MajorityConfig;
  /** Cached union of the two, built on first use. */
  #ids: ReadonlySet<NodeId> | undefined;
  #sorted: readonly NodeId[] | undefined;
  /** Cached {@link soleVoter}: null until computed. */
  #sole: NodeId | undefined | null = null;

  /** Makes the joint configuration `incoming && outgoing` (`outgoing` empty by default). */
  constructor(incoming: MajorityConfig = EMPTY, outgoing: MajorityConfig = EMPTY) {
    this.incoming = incoming;
    this.outgoing = outgoing;
  }

  /** Whether this is a joint configuration, that is whether `outgoing` is non-empty. */
  isJoint(): boolean {
    return this.outgoing.size > 0;
  }

  /** The union of the voters of both halves. Owned by the configuration: do not modify. */
  ids(): ReadonlySet<NodeId> {
    if (this.#ids === undefined) this.#ids = new Set([...this.incoming, ...this.outgoing]);
    return this.#ids;
  }

  /** The union of the voters of both halves, ascending. Owned by the configuration. */
  sortedIds(): readonly NodeId[] {
    if (this.#sorted === undefined) this.#sorted = Array.from(this.ids()).sort(compareNodeIds);
    return this.#sorted;
  }

  /**
   * The voter that alone makes a quorum of every half, if there is one: the one voter of
   * `incoming`, when `outgoing` is empty or holds that same voter alone. Undefined otherwise
   * (no voters, two or more, or halves with different voters).
   */
  soleVoter(): NodeId | undefined {
    if (this.#sole !== null) return this.#sole;
    let sole: NodeId | undefined;
    if (this.incoming.size === 1) {
      const id = this.incoming.sortedIds()[0]!;
      if (this.outgoing.size === 0 || (this.outgoing.size === 1 && this.outgoing.has(id))) sole = id;
    }
    this.#sole = sole;
    return sole;
  }

  /** Whether `id` is a voter in either half. */
  has(id: NodeId): boolean {
    return this.incoming.has(id) || this.outgoing.has(id);
  }

  /** Renders as etcd does: `(1 2 3)&&(1 2 4)` when joint, else `(1 2 3)`. */
  toString(): string {
    const inc = this.incoming.toString();
    return this.outgoing.size > 0 ? `${inc}&&${this.outgoing.toString()}` : inc;
  }

  /**
   * The largest index committed in both halves: the smaller of the two majorities' committed
   * indexes. No allocation.
   */
  committedIndex(acked: AckedIndexer): number {
    const a = this.incoming.committedIndex(acked);
    const b = this.outgoing.committedIndex(acked);
    return a < b ? a : b;
  }

  /**
   * `'won'` when both halves won, `'lost'` when either lost, `'pending'` otherwise.
   */
  voteResult(votes: VoteLookup): VoteResult {
    const a = this.incoming.voteResult(votes);
    const b = this.outgoing.voteResult(votes);
    if (a === b) return a;
    if (a === "lost" || b === "lost") return "lost";
    return "pending";
  }

  /** etcd's `JointConfig.Describe`: {@link MajorityConfig.describe} over the union of voters. */
  describe(acked: AckedIndexer): string {
    return new MajorityConfig(this.ids()).describe(acked);
  }
}
