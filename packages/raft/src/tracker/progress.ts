/**
 * The leader's view of one follower's log: how much it is known to hold (`match`), what to send
 * next (`next`), and in which of three modes replication to it runs.
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";
import { compareNodeIds, type AckedIndexer } from "../quorum/types.js";
import type { Inflights } from "./inflights.js";

/**
 * How the leader replicates to a follower:
 * - `'probe'`: the follower's log position is unknown; the leader sends at most one append per
 *   heartbeat interval and waits for the answer, stepping `next` back on rejections.
 * - `'replicate'`: the follower is known to match; the leader streams appends optimistically,
 *   bounded by the inflights window.
 * - `'snapshot'`: the follower needs a snapshot; nothing is sent until it is reported done.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

const STATE_NAMES: Record<ProgressState, string> = {
  probe: "StateProbe",
  replicate: "StateReplicate",
  snapshot: "StateSnapshot",
};

/** etcd's name of a {@link ProgressState}: `StateProbe`, `StateReplicate`, `StateSnapshot`. */
export function progressStateString(state: ProgressState): string {
  return STATE_NAMES[state];
}

/** The fields of a new {@link Progress}; omitted ones default as noted. */
export interface ProgressInit {
  /** The next index to send. Must be > `match`. */
  next: number;
  /** The highest index known to be replicated; default 0. */
  match?: number;
  /** The flow-control window (owned by the progress from now on). */
  inflights: Inflights;
  /** Whether the peer is a learner; default false. */
  isLearner?: boolean;
  /** Whether the peer was heard from recently; default false. */
  recentActive?: boolean;
}

/**
 * The leader's record of one follower (etcd-io/raft `tracker.Progress`, v3.6 semantics).
 *
 * Invariant: `0 <= match < next`. Neither `match` nor `next` ever decreases through
 * {@link maybeUpdate}; `next` goes back only on an accepted rejection ({@link maybeDecrTo}) or a
 * state change.
 */
export class Progress {
  /** The highest index known to be in the follower's log. Invariant: match < next. */
  match: number;
  /** The index of the next entry to send. Invariant: next > match. */
  next: number;
  /**
   * The highest commit index sent to the follower (in a MsgApp or heartbeat), never above
   * `next - 1`; lets the leader send a commit-only append when the follower lags behind.
   */
  sentCommitIndex: number;
  /** The replication mode; see {@link ProgressState}. */
  state: ProgressState;
  /**
   * In `'snapshot'`: the index of the snapshot being sent; 0 otherwise.
   * Invariant: pendingSnapshot > 0 only in `'snapshot'`.
   */
  pendingSnapshot: number;
  /**
   * Whether the follower was heard from since the last check-quorum round. A peer added by a
   * configuration change starts active (confchange sets it, so that check-quorum does not count
   * it out before it could answer); a Progress made without saying starts inactive.
   */
  recentActive: boolean;
  /**
   * Whether sending appends is paused: in `'probe'` after a probe was sent until it is
   * answered (or a heartbeat response arrives); in `'replicate'` while the inflights window is
   * full.
   */
  msgAppFlowPaused: boolean;
  /** The in-flight appends, used in `'replicate'`. */
  inflights: Inflights;
  /** Whether the peer is a learner (replicated to, but not a voter). */
  isLearner: boolean;

  /** Makes a progress in `'probe'` state. */
  constructor(init: ProgressInit) {
    this.match = init.match ?? 0;
    this.next = init.next;
    this.sentCommitIndex = 0;
    this.state = "probe";
    this.pendingSnapshot = 0;
    this.recentActive = init.recentActive ?? false;
    this.msgAppFlowPaused = false;
    this.inflights = init.inflights;
    this.isLearner = init.isLearner ?? false;
  }

  /** A deep copy (the inflights window is copied too). */
  clone(): Progress {
    const c = new Progress({
      next: this.next,
      match: this.match,
      inflights: this.inflights.clone(),
      isLearner: this.isLearner,
      recentActive: this.recentActive,
    });
    c.sentCommitIndex = this.sentCommitIndex;
    c.state = this.state;
    c.pendingSnapshot = this.pendingSnapshot;
    c.msgAppFlowPaused = this.msgAppFlowPaused;
    return c;
  }

  /**
   * Moves to `state`, unpausing, clearing the pending snapshot and the inflights window.
   * `match` and `next` are left as they are.
   */
  resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  /**
   * Moves to `'probe'`. From `'snapshot'`, the snapshot is taken to have arrived, so probing
   * starts after it: `next = max(match + 1, pendingSnapshot + 1)`; otherwise `next = match + 1`.
   */
  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
    this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
  }

  /** Moves to `'replicate'` with `next = match + 1`. */
  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  /**
   * Moves to `'snapshot'` for a snapshot at `snapshotIndex`: appends pause until the snapshot
   * is reported, and `next = snapshotIndex + 1` (etcd-io/raft v3.6).
   */
  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommitIndex = snapshotIndex;
  }

  /**
   * Records that a MsgApp with `entries` entries (`bytes` bytes of them) was sent.
   * In `'replicate'`: `next` moves past them, the message enters the inflights window (by its
   * last index), and sending pauses if the window is now full. In `'probe'`: a non-empty
   * append is a probe, and sending pauses until it is answered.
   * @throws {Error} (a bug in the caller) in `'snapshot'`.
   */
  sentEntries(entries: number, bytes: number): void {
    switch (this.state) {
      case "replicate":
        if (entries > 0) {
          this.next += entries;
          this.inflights.add(this.next - 1, bytes);
        }
        this.msgAppFlowPaused = this.inflights.full();
        return;
      case "probe":
        if (entries > 0) this.msgAppFlowPaused = true;
        return;
      default:
        throw new Error(`raft: sending append in unhandled state ${progressStateString(this.state)}`);
    }
  }

  /**
   * Whether sending commit index `index` would raise the follower's commit: it is above what was
   * sent, and the follower may hold more than what was sent (the follower can only accept a
   * commit index up to `next - 1`).
   */
  canBumpCommit(index: number): boolean {
    return index > this.sentCommitIndex && this.sentCommitIndex < this.next - 1;
  }

  /** Records that commit index `commit` was sent to the follower. */
  sentCommit(commit: number): void {
    this.sentCommitIndex = commit;
  }

  /**
   * Handles an acknowledgement of index `n` (a MsgAppResp that accepted): raises `match` to `n`
   * and `next` to at least `n + 1`, and unpauses. Returns false (changing nothing) if `n` is not
   * above `match`: a stale or duplicate response.
   */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    if (this.next < n + 1) this.next = n + 1;
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * Handles a rejection of the append at index `rejected`, with the follower's hint that its
   * log may match up to `matchHint`. Returns false (changing nothing) if the rejection is stale.
   *
   * In `'replicate'`, a rejection at or below `match` is stale; otherwise `next` goes back to
   * `match + 1`. In `'probe'` and `'snapshot'`, only the answer to the latest probe (at
   * `next - 1`) counts; `next` becomes `max(min(rejected, matchHint + 1), match + 1)` and
   * sending unpauses.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommitIndex = Math.min(this.sentCommitIndex, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * Whether the leader should hold appends to this follower: in `'probe'` while a probe is
   * unanswered, in `'replicate'` while the window is full, always in `'snapshot'`.
   */
  isPaused(): boolean {
    return this.state === "snapshot" ? true : this.msgAppFlowPaused;
  }

  /**
   * Renders as etcd does, e.g. `StateReplicate match=5 next=6 paused inflight=1[full]`, with
   * ` learner`, ` paused`, ` pendingSnap=N`, ` inactive`, ` inflight=N[full]` when they apply.
   */
  toString(): string {
    let s = `${STATE_NAMES[this.state]} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += " learner";
    if (this.isPaused()) s += " paused";
    if (this.pendingSnapshot > 0) s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += " inactive";
    const n = this.inflights.count();
    if (n > 0) {
      s += ` inflight=${n}`;
      if (this.inflights.full()) s += "[full]";
    }
    return s;
  }
}

/**
 * The progress of every peer, by id. A `Map` that also keeps its ids sorted (recomputed only
 * after an id is added or removed), so the tracker visits peers in a deterministic order without
 * sorting per call, and that is an {@link AckedIndexer} over `match`, so the commit computation
 * needs no adapter object.
 *
 * Replacing the value of an existing id keeps the cached order.
 */
export class ProgressMap extends Map<NodeId, Progress> implements AckedIndexer {
  #sorted: NodeId[] | undefined = undefined;
  // The last id looked up and its progress (a hit skips hashing the bigint key).
  #lastId: NodeId | undefined = undefined;
  #lastPr: Progress | undefined = undefined;

  /** The progress of `id`. */
  override get(id: NodeId): Progress | undefined {
    if (id === this.#lastId) return this.#lastPr;
    const pr = super.get(id);
    this.#lastId = id;
    this.#lastPr = pr;
    return pr;
  }

  /** Whether `id` has a progress. */
  override has(id: NodeId): boolean {
    return this.get(id) !== undefined;
  }

  /** Makes a map of the given entries. */
  constructor(entries?: Iterable<readonly [NodeId, Progress]>) {
    super();
    if (entries !== undefined) for (const [id, pr] of entries) this.set(id, pr);
  }

  /** Sets the progress of `id`; a new id invalidates the cached order. */
  override set(id: NodeId, pr: Progress): this {
    this.#lastId = undefined;
    if (!super.has(id)) this.#sorted = undefined;
    return super.set(id, pr);
  }

  /** Removes the progress of `id`. */
  override delete(id: NodeId): boolean {
    this.#lastId = undefined;
    const had = super.delete(id);
    if (had) this.#sorted = undefined;
    return had;
  }

  /** Removes every progress. */
  override clear(): void {
    this.#lastId = undefined;
    this.#sorted = undefined;
    super.clear();
  }

  /** The ids, ascending. Owned by the map (a new array after each change of the key set). */
  sortedIds(): readonly NodeId[] {
    if (this.#sorted === undefined) this.#sorted = Array.from(this.keys()).sort(compareNodeIds);
    return this.#sorted;
  }

  /** The `match` of `id`, or `undefined` if `id` has no progress. */
  ackedIndex(id: NodeId): number | undefined {
    const pr = this.get(id);
    return pr === undefined ? undefined : pr.match;
  }

  /** A deep copy: every {@link Progress} (and its inflights) is cloned. */
  clone(): ProgressMap {
    const c = new ProgressMap();
    for (const id of this.sortedIds()) c.set(id, this.get(id)!.clone());
    return c;
  }

  /** {@link describeProgressMap} of this map. */
  override toString(): string {
    return describeProgressMap(this);
  }
}

/**
 * Renders a progress map as etcd does: one `id: progress` line per peer, ascending by id, each
 * ending in a newline (e.g. `1: StateReplicate match=11 next=12\n`).
 */
export function describeProgressMap(prs: ReadonlyMap<NodeId, Progress>): string {
  const ids = prs instanceof ProgressMap ? prs.sortedIds() : Array.from(prs.keys()).sort(compareNodeIds);
  let out = "";
  for (const id of ids) out += `${id}: ${prs.get(id)!.toString()}\n`;
  return out;
}
