/**
 * Applying membership changes to a tracker's configuration: one voter at a time (`simple`), or
 * any set of changes through a joint configuration (`enterJoint`, then `leaveJoint`), as in
 * Raft thesis §4.1 and §4.3. Learners follow etcd-io/raft's rules: a voter demoted while it is
 * still an outgoing voter is staged in `learnersNext` until the joint configuration is left, so
 * that no peer is a voter and a learner at once.
 * @module
 */
import { ConfChangeType, type ConfChangeSingle, type NodeId } from "@tsraft/raftpb";
import { ConfChangeError } from "../errors.js";
import { JointConfig } from "../quorum/joint.js";
import { MajorityConfig } from "../quorum/majority.js";
import { Inflights } from "../tracker/inflights.js";
import { Progress, ProgressMap } from "../tracker/progress.js";
import type { TrackerConfig } from "../tracker/tracker.js";

/**
 * What a {@link Changer} starts from: a configuration and its progress map (a
 * `ProgressTracker` is one), and the inflights limits for peers it adds.
 */
export interface ChangerBase {
  /** The configuration to change. Never modified. */
  readonly config: TrackerConfig;
  /** Its progress map. Never modified (changed peers are cloned). */
  readonly progress: ReadonlyMap<NodeId, Progress>;
  /** Inflights window size of added peers. */
  readonly maxInflight: number;
  /** Inflights byte budget of added peers (0: no limit). */
  readonly maxInflightBytes: number;
}

/** A changed configuration and its matching progress map, both new objects. */
export interface ChangeResult {
  /** The new configuration. */
  config: TrackerConfig;
  /** The new progress map: a copy of the old one, with added peers and without removed ones. */
  progress: ProgressMap;
}

/** The mutable working copy a change is applied to. */
interface Work {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
  prs: ProgressMap;
}

/**
 * Computes configuration changes on top of a tracker's configuration (etcd-io/raft
 * `confchange.Changer`). Every method works on copies and returns a new {@link ChangeResult};
 * the base is never modified, and on error nothing changes.
 */
export class Changer {
  /** The configuration the changes apply to. */
  readonly tracker: ChangerBase;
  /** The leader's last log index: peers added by a change start probing at `max(lastIndex, 1)`. */
  readonly lastIndex: number;

  /** Makes a changer over `tracker` (which it never modifies). */
  constructor(tracker: ChangerBase, lastIndex: number) {
    this.tracker = tracker;
    this.lastIndex = lastIndex;
  }

  /**
   * Enters a joint configuration: the current voters become the outgoing half, and `ccs` are
   * applied to the incoming half (`C_old` -> `C_old,new`, thesis §4.3). `autoLeave` is recorded
   * in the result.
   * @throws {@link ConfChangeError} if the configuration is already joint ("config is already
   * joint"), has no voters ("can't make a zero-voter config joint"), the changes would remove
   * every voter ("removed all voters"), or a change has an unknown type.
   */
  enterJoint(autoLeave: boolean, ccs: readonly ConfChangeSingle[]): ChangeResult {
    const w = this.#checkAndCopy();
    if (w.outgoing.size > 0) throw new ConfChangeError("config is already joint");
    if (w.incoming.size === 0) {
      // Adding voters to an empty configuration is allowed (bootstrap, tests), but not joint.
      throw new ConfChangeError("can't make a zero-voter config joint");
    }
    for (const id of w.incoming) w.outgoing.add(id);
    this.#apply(w, ccs);
    w.autoLeave = autoLeave;
    return finish(w);
  }

  /**
   * Leaves a joint configuration: the outgoing half is dropped, staged learners
   * (`learnersNext`) become learners, and peers that were only outgoing voters lose their
   * progress (`C_old,new` -> `C_new`, thesis §4.3).
   * @throws {@link ConfChangeError} "can't leave a non-joint config".
   */
  leaveJoint(): ChangeResult {
    const w = this.#checkAndCopy();
    if (w.outgoing.size === 0) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of w.learnersNext) {
      w.learners.add(id);
      w.prs.get(id)!.isLearner = true;
    }
    w.learnersNext.clear();
    for (const id of w.outgoing) {
      if (!w.incoming.has(id) && !w.learners.has(id)) w.prs.delete(id);
    }
    w.outgoing.clear();
    w.autoLeave = false;
    return finish(w);
  }

  /**
   * Applies `ccs` without a joint configuration; together they may change the set of voters
   * by at most one (adding, removing, promoting or demoting one voter), which keeps every
   * majority of the old configuration overlapping every majority of the new (thesis §4.1).
   * @throws {@link ConfChangeError} if the configuration is joint ("can't apply simple config
   * change in joint config"), the changes remove every voter ("removed all voters"), change more
   * than one voter ("more than one voter changed without entering joint config"), or a change
   * has an unknown type.
   */
  simple(ccs: readonly ConfChangeSingle[]): ChangeResult {
    const w = this.#checkAndCopy();
    if (w.outgoing.size > 0) throw new ConfChangeError("can't apply simple config change in joint config");
    this.#apply(w, ccs);
    if (symdiff(this.tracker.config.voters.incoming, w.incoming) > 1) {
      throw new ConfChangeError("more than one voter changed without entering joint config");
    }
    return finish(w);
  }

  /** Checks the base's invariants and copies it into a working state. */
  #checkAndCopy(): Work {
    const { config, progress } = this.tracker;
    checkInvariants(config, progress);
    const prs = new ProgressMap();
    const ids = progress instanceof ProgressMap ? progress.sortedIds() : Array.from(progress.keys());
    for (const id of ids) prs.set(id, progress.get(id)!.clone());
    return {
      incoming: new Set(config.voters.incoming),
      outgoing: new Set(config.voters.outgoing),
      learners: new Set(config.learners),
      learnersNext: new Set(config.learnersNext),
      autoLeave: config.autoLeave,
      prs,
    };
  }

  /**
   * Applies each change to the incoming half (the outgoing half, if any, is never touched).
   * Changes naming node 0 are ignored: etcd zeroes the node id of a change it decided, after
   * raft, not to apply.
   */
  #apply(w: Work, ccs: readonly ConfChangeSingle[]): void {
    for (const cc of ccs) {
      if (cc.nodeId === 0n) continue;
      switch (cc.type) {
        case ConfChangeType.ConfChangeAddNode:
          this.#makeVoter(w, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeAddLearnerNode:
          this.#makeLearner(w, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeRemoveNode:
          remove(w, cc.nodeId);
          break;
        case ConfChangeType.ConfChangeUpdateNode:
          break;
        default:
          throw new ConfChangeError(`unexpected conf type ${String(cc.type)}`);
      }
    }
    if (w.incoming.size === 0) throw new ConfChangeError("removed all voters");
  }

  /** Adds `id` as an incoming voter, or promotes it (keeping its progress). */
  #makeVoter(w: Work, id: NodeId): void {
    const pr = w.prs.get(id);
    if (pr === undefined) {
      this.#initProgress(w, id, false);
      return;
    }
    pr.isLearner = false;
    w.learners.delete(id);
    w.learnersNext.delete(id);
    w.incoming.add(id);
  }

  /**
   * Adds `id` as a learner, or demotes it (keeping its progress). A peer that is still an
   * outgoing voter cannot be a learner yet: it is staged in `learnersNext` and becomes a learner
   * when the joint configuration is left.
   */
  #makeLearner(w: Work, id: NodeId): void {
    const pr = w.prs.get(id);
    if (pr === undefined) {
      this.#initProgress(w, id, true);
      return;
    }
    if (pr.isLearner) return;
    remove(w, id);
    w.prs.set(id, pr); // keep the progress
    if (w.outgoing.has(id)) {
      w.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      w.learners.add(id);
    }
  }

  /** Adds a new peer with a fresh progress probing from the last index. */
  #initProgress(w: Work, id: NodeId, isLearner: boolean): void {
    if (isLearner) w.learners.add(id);
    else w.incoming.add(id);
    w.prs.set(
      id,
      new Progress({
        // Probing from the last index is optimistic (the new peer likely has no log and will
        // need a snapshot), but cheap: the first rejection brings next down. Invariant:
        // match < next.
        next: Math.max(this.lastIndex, 1),
        match: 0,
        inflights: new Inflights(this.tracker.maxInflight, this.tracker.maxInflightBytes),
        isLearner,
        // A new peer counts as active, or check-quorum could depose the leader before the peer
        // had a chance to answer.
        recentActive: true,
      }),
    );
  }
}

/** Removes `id` from the incoming half and the learners; keeps its progress if it is outgoing. */
function remove(w: Work, id: NodeId): void {
  if (!w.prs.has(id)) return;
  w.incoming.delete(id);
  w.learners.delete(id);
  w.learnersNext.delete(id);
  if (!w.outgoing.has(id)) w.prs.delete(id);
}

/** Builds the immutable result from a working state, checking its invariants. */
function finish(w: Work): ChangeResult {
  const config: TrackerConfig = {
    voters: new JointConfig(new MajorityConfig(w.incoming), new MajorityConfig(w.outgoing)),
    autoLeave: w.autoLeave,
    learners: w.learners,
    learnersNext: w.learnersNext,
  };
  checkInvariants(config, w.prs);
  return { config, progress: w.prs };
}

/** The size of the symmetric difference of two id sets. */
function symdiff(a: MajorityConfig, b: ReadonlySet<NodeId>): number {
  let n = 0;
  for (const id of a) if (!b.has(id)) n++;
  for (const id of b) if (!a.has(id)) n++;
  return n;
}

/**
 * Checks that a configuration and a progress map fit together:
 * - every voter (either half), learner and staged learner has a progress, and every progress
 *   belongs to one of them;
 * - voters are not marked as learners;
 * - a staged learner (`learnersNext`) is an outgoing voter not yet marked as a learner;
 * - a learner is in neither half of the voters and is marked as a learner;
 * - when not joint, `learnersNext` is empty and `autoLeave` is false.
 *
 * The empty configuration is valid (bootstrap starts from it).
 * @throws {@link ConfChangeError} naming the first broken rule (etcd's wording where etcd checks
 * the same rule).
 */
export function checkInvariants(cfg: TrackerConfig, prs: ReadonlyMap<NodeId, Progress>): void {
  const { incoming, outgoing } = cfg.voters;
  for (const ids of [incoming, outgoing, cfg.learners, cfg.learnersNext]) {
    for (const id of ids) {
      if (!prs.has(id)) throw new ConfChangeError(`no progress for ${id}`);
    }
  }
  // A staged learner was staged because it is still a voter in the outgoing config.
  for (const id of cfg.learnersNext) {
    if (!outgoing.has(id)) throw new ConfChangeError(`${id} is in LearnersNext, but not Voters[1]`);
    if (prs.get(id)!.isLearner) {
      throw new ConfChangeError(`${id} is in LearnersNext, but is already marked as learner`);
    }
  }
  // Learners and voters never intersect.
  for (const id of cfg.learners) {
    if (outgoing.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[1]`);
    if (incoming.has(id)) throw new ConfChangeError(`${id} is in Learners and Voters[0]`);
    if (!prs.get(id)!.isLearner) throw new ConfChangeError(`${id} is in Learners, but is not marked as learner`);
  }
  // Beyond etcd's checks: no orphan progress, and no voter marked as a learner.
  for (const [id, pr] of prs) {
    const voter = incoming.has(id) || outgoing.has(id);
    if (!voter && !cfg.learners.has(id)) {
      throw new ConfChangeError(`${id} has a progress, but is neither voter nor learner`);
    }
    if (voter && pr.isLearner) throw new ConfChangeError(`${id} is a voter, but is marked as learner`);
  }
  if (outgoing.size === 0) {
    if (cfg.learnersNext.size > 0) throw new ConfChangeError("LearnersNext must be empty when not joint");
    if (cfg.autoLeave) throw new ConfChangeError("AutoLeave must be false when not joint");
  }
}
