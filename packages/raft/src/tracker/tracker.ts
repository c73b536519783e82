/**
 * The leader's tracker of the configuration, every peer's progress and the votes of an election.
 * @module
 */
import type { ConfState, NodeId } from "@tsraft/raftpb";
import { JointConfig } from "../quorum/joint.js";
import { compareNodeIds, type VoteLookup, type VoteResult } from "../quorum/types.js";
import { ProgressMap, type Progress } from "./progress.js";

/**
 * A membership configuration (etcd-io/raft `tracker.Config`). Treat as immutable: the conf
 * change machinery (`Changer`) returns a new one for every change.
 *
 * Invariants (checked by `checkInvariants` in confchange): a learner is never a voter in either
 * half; `learnersNext` holds only outgoing voters that become learners when the joint
 * configuration is left, and is empty (as is `autoLeave` false) when not joint.
 */
export interface TrackerConfig {
  /** The voters; joint while a membership change is in progress. */
  voters: JointConfig;
  /**
   * Whether the joint configuration is left automatically (by the leader proposing an empty
   * ConfChangeV2) once it is committed. Only true while joint.
   */
  autoLeave: boolean;
  /** Peers that receive the log but do not vote. Disjoint from both halves of `voters`. */
  learners: Set<NodeId>;
  /**
   * Outgoing voters demoted to learners by the pending change; they move to `learners` when
   * the joint configuration is left (a peer is never a voter and a learner at once).
   */
  learnersNext: Set<NodeId>;
}

/** A new empty configuration: no voters, no learners. */
export function emptyConfig(): TrackerConfig {
  return { voters: new JointConfig(), autoLeave: false, learners: new Set(), learnersNext: new Set() };
}

/** The ids of a set, ascending, as a new array. */
function sortedSet(s: ReadonlySet<NodeId>): NodeId[] {
  return Array.from(s).sort(compareNodeIds);
}

/**
 * Renders a configuration as etcd does:
 * `voters=(1 2 3)&&(1 2) learners=(4) learners_next=(3) autoleave`, omitting the empty parts.
 */
export function describeConfig(c: TrackerConfig): string {
  let s = `voters=${c.voters.toString()}`;
  if (c.learners.size > 0) s += ` learners=(${sortedSet(c.learners).join(" ")})`;
  if (c.learnersNext.size > 0) s += ` learners_next=(${sortedSet(c.learnersNext).join(" ")})`;
  if (c.autoLeave) s += " autoleave";
  return s;
}

/** The {@link ConfState} describing a configuration, every id list ascending. */
export function configToConfState(c: TrackerConfig): ConfState {
  return {
    voters: c.voters.incoming.slice(),
    learners: sortedSet(c.learners),
    votersOutgoing: c.voters.outgoing.slice(),
    learnersNext: sortedSet(c.learnersNext),
    autoLeave: c.autoLeave,
  };
}

/** The result of {@link ProgressTracker.tallyVotes}. */
export interface VoteTally {
  /** Votes granted by voters that have a progress. */
  granted: number;
  /** Votes rejected by voters that have a progress. */
  rejected: number;
  /** The outcome under the current (possibly joint) configuration. */
  result: VoteResult;
}

/**
 * Tracks the active configuration, the progress of each peer (voters and learners) and the
 * votes received in the current election (etcd-io/raft `tracker.ProgressTracker`).
 *
 * The configuration and the progress map are replaced together after a conf change
 * (`tracker.config = r.config; tracker.progress = r.progress`, with `r` from `Changer`).
 */
export class ProgressTracker {
  /** The active configuration. */
  config: TrackerConfig;
  #progress: ProgressMap;
  /** The votes received in the current election: `true` granted, `false` rejected. */
  votes: Map<NodeId, boolean>;
  /** The size of each peer's inflights window (`maxInflightMsgs`). Invariant: > 0. */
  readonly maxInflight: number;
  /** The byte budget of each peer's inflights window; 0 means no limit. */
  readonly maxInflightBytes: number;
  /** Votes by `recentActive` of each voter's progress, for {@link quorumActive}. */
  readonly #activeLookup: VoteLookup;

  /** Makes a tracker with an empty configuration. */
  constructor(maxInflight: number, maxInflightBytes = 0) {
    this.config = emptyConfig();
    this.#progress = new ProgressMap();
    this.votes = new Map();
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
    this.#activeLookup = {
      get: (id: NodeId): boolean | undefined => {
        const pr = this.#progress.get(id);
        return pr === undefined || pr.isLearner ? undefined : pr.recentActive;
      },
    };
  }

  /**
   * The progress of every peer in the configuration. Assigning a plain `Map` copies its entries
   * into a {@link ProgressMap} (the {@link Progress} objects themselves are shared).
   */
  get progress(): ProgressMap {
    return this.#progress;
  }

  set progress(m: ReadonlyMap<NodeId, Progress>) {
    this.#progress = m instanceof ProgressMap ? m : new ProgressMap(m);
  }

  /** The configuration as a {@link ConfState}, every id list ascending. */
  confState(): ConfState {
    return configToConfState(this.config);
  }

  /** Whether the configuration is exactly one voter (and not joint). */
  isSingleton(): boolean {
    const v = this.config.voters;
    return v.incoming.size === 1 && v.outgoing.size === 0;
  }

  /**
   * The largest index acknowledged (`match`) by a quorum of the (possibly joint) voters. No
   * allocation: called on every MsgAppResp.
   */
  committed(): number {
    return this.config.voters.committedIndex(this.#progress);
  }

  /**
   * Calls `fn` for every peer with a progress (voters and learners), ascending by id. The id
   * order is cached and recomputed only when the set of ids changes.
   */
  visit(fn: (id: NodeId, pr: Progress) => void): void {
    const prs = this.#progress;
    const ids = prs.sortedIds();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const pr = prs.get(id);
      if (pr !== undefined) fn(id, pr);
    }
  }

  /**
   * Whether the voters heard from recently (`recentActive`) would win a vote: the leader's
   * check-quorum test.
   */
  quorumActive(): boolean {
    return this.config.voters.voteResult(this.#activeLookup) === "won";
  }

  /** The voters of both halves, ascending, as a new array. */
  voterNodes(): NodeId[] {
    return this.config.voters.sortedIds().slice();
  }

  /** The learners, ascending, as a new array. */
  learnerNodes(): NodeId[] {
    return sortedSet(this.config.learners);
  }

  /** Forgets the votes of the last election. */
  resetVotes(): void {
    this.votes.clear();
  }

  /** Records the vote of `id`; the first vote of a peer counts, later ones are ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /**
   * Counts the votes of peers in the configuration (learners excluded; informational) and
   * returns the election's outcome.
   */
  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.#progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }

  /** Renders the configuration and the progress map (for logs and scripts). */
  toString(): string {
    return `${describeConfig(this.config)}\n${this.#progress.toString()}`;
  }
}
