/**
 * The safety invariants the simulator checks after every event, each with a name and a
 * message that says what broke. The checker keeps a global view built from what every node
 * has shown so far: the leader of each term, every (index, term) entry seen and the term
 * before it, the committed prefix, what each node persisted, and what was applied where.
 *
 * | name                     | rule                                                                    |
 * |--------------------------|-------------------------------------------------------------------------|
 * | election-safety          | at most one leader per term (Raft §5.2)                                  |
 * | one-vote-per-term        | a node never votes for two candidates in one term, even across restarts |
 * | log-matching             | two logs with an entry of the same index and term hold the same entry there and are identical before it (§5.3) |
 * | committed-entry-stable   | an entry a node saw committed never changes or disappears on any node    |
 * | leader-completeness      | an entry committed in term T is in the log of every leader of a term >= T (§5.4) |
 * | state-machine-safety     | nodes apply the same entry at each index, each node in index order (§5.4.3) |
 * | monotonic                | term, commit and applied never go backwards in one incarnation; the persisted term and commit never go backwards at all |
 * | quorum-commit            | a leader commits, and a node applies or snapshots, only entries that a quorum of the configuration has persisted |
 *
 * The liveness check (after faults heal) and the optional state-machine-agreement check are
 * run by the simulator.
 * @module
 */
import { NONE, bytesEqual } from "@tsraft/raftpb";
import type { Entry, HardState, NodeId, Snapshot } from "@tsraft/raftpb";
import { NO_LIMIT } from "../log.js";
import type { StateType } from "../raft.js";
import type { SimNode } from "./sim-node.js";

/** The names of the invariants checked by {@link InvariantChecker}, with their rule. */
export const INVARIANTS = {
  "election-safety": "at most one leader per term",
  "one-vote-per-term": "a node votes for at most one candidate per term, even across restarts",
  "log-matching": "logs that share an entry (same index and term) are identical up to it",
  "committed-entry-stable": "a committed entry never changes or disappears",
  "leader-completeness": "an entry committed in a term is in the log of the leader of every later term",
  "state-machine-safety": "every node applies the same entry at each index, in index order",
  monotonic: "term, commit and applied never go backwards",
  "quorum-commit": "only entries persisted by a quorum are committed, applied or snapshotted",
  liveness: "after faults heal, a new proposal is applied by every live member within the bound",
  "state-machine-agreement": "state machines that applied the same index have the same snapshot",
  "conf-change": "every committed conf change can be applied",
  "read-linearizable": "a ReadIndex answer is a committed index covering every entry committed before the read was asked",
  "learner-never-campaigns": "a node that knows it is a learner never becomes a candidate or leader",
  panic: "raft never throws an unexpected error",
} as const;

/** The name of a built-in invariant. */
export type InvariantName = keyof typeof INVARIANTS;

/** Where a violation was found, and how to replay it. */
export interface ViolationContext {
  seed: number | undefined;
  step: number;
  event: number;
  replay: string | undefined;
}

/** Thrown when a run breaks an invariant. The message says what, where, and how to replay it. */
export class InvariantViolation extends Error {
  /** The invariant broken (one of {@link INVARIANTS}, or a custom invariant's name). */
  readonly invariant: string;
  /** What broke, without the context lines. */
  readonly detail: string;
  /** The schedule's seed, step and event count at the violation. */
  readonly seed: number | undefined;
  readonly step: number;
  readonly event: number;
  /** The one-line command that replays the run, if known. */
  readonly replay: string | undefined;

  constructor(invariant: string, detail: string, ctx: ViolationContext, context: string) {
    super(
      `invariant "${invariant}" violated at step ${ctx.step} (event ${ctx.event})${ctx.seed === undefined ? "" : ` of seed ${ctx.seed}`}: ${detail}` +
        (ctx.replay === undefined ? "" : `\nreplay: ${ctx.replay}`) +
        (context === "" ? "" : `\n${context}`),
    );
    this.name = "InvariantViolation";
    this.invariant = invariant;
    this.detail = detail;
    this.seed = ctx.seed;
    this.step = ctx.step;
    this.event = ctx.event;
    this.replay = ctx.replay;
  }
}

/**
 * Raises a violation: the simulator adds the context (seed, step, recent events, logs) and
 * throws, unless the invariant is ignored (then it returns and checking goes on).
 */
export type FailFn = (invariant: string, detail: string, slots: readonly number[]) => void;

/** Terms stay below this in a simulated run (they are packed with the index into one key). */
const TERM_SPACE = 0x10_0000;

function key(index: number, term: number): number {
  return index * TERM_SPACE + term;
}

const NO_BYTES = new Uint8Array(0);

/** Same entry: same index, term, type and payload (an absent payload equals an empty one). */
export function sameEntry(a: Entry, b: Entry): boolean {
  return a === b || (a.index === b.index && a.term === b.term && a.type === b.type && bytesEqual(a.data ?? NO_BYTES, b.data ?? NO_BYTES));
}

function fmtEntry(e: Entry): string {
  return `${e.index}/${e.term}`;
}

/** The voters of a configuration, as the checker reads them (a tracker's `JointConfig`). */
export interface CheckedConfig {
  readonly voters: {
    readonly incoming: Iterable<NodeId> & { readonly size: number };
    readonly outgoing: Iterable<NodeId> & { readonly size: number };
    toString(): string;
  };
}

/** The part of a node's raft log the checker reads (tsraft's `RaftLog`). */
export interface CheckedLog {
  readonly committed: number;
  readonly applied: number;
  /** Compared by identity and length, to skip checking an unchanged log. */
  readonly unstable: { readonly entries: readonly Entry[] };
  readonly storage: { firstIndex(): number; lastIndex(): number };
  firstIndex(): number;
  lastIndex(): number;
  zeroTermOnOutOfBounds(i: number): number;
  slice(lo: number, hi: number, maxSize: number): readonly Entry[];
}

/**
 * What the checker reads of a node: a {@link SimNode}, or a view of a node of another
 * implementation built by a test (the mixed tsraft/etcd clusters of packages/raft-test).
 */
export interface CheckedNode {
  readonly slot: number;
  readonly id: NodeId;
  readonly incarnation: number;
  /** The last index applied to the state machine in this incarnation. */
  readonly applied: number;
  readonly storage: { snapshot(): Snapshot };
  /** The running node; undefined while it is down. */
  readonly node:
    | {
        readonly raft: {
          readonly term: number;
          readonly vote: NodeId;
          readonly state: StateType;
          readonly raftLog: CheckedLog;
          readonly trk: { readonly config: CheckedConfig };
        };
      }
    | undefined;
}

/** What the checker remembers of one node. */
class Observed {
  incarnation = -1;
  term = 0;
  vote: NodeId = NONE;
  commit = 0;
  raftApplied = 0;
  state: StateType = "follower";
  config: CheckedConfig | undefined = undefined;
  // Log signature: when none of these changed, the log is not checked again.
  first = -1;
  last = -1;
  lastTerm = -1;
  unstable: unknown = undefined;
  unstableLen = -1;
  storageFirst = -1;
  storageLast = -1;
  /** The last index applied to the state machine in this incarnation. */
  appIndex = 0;
  // What the storage holds (survives restarts).
  durableTerm = 0;
  durableVote: NodeId = NONE;
  durableCommit = 0;
  durableSnapshot = 0;
}

/**
 * Checks the safety invariants over a cluster's events. The simulator calls `observe(node)`
 * after every event on a running node, and the other hooks from the application loop.
 */
export class InvariantChecker {
  readonly #fail: FailFn;
  readonly #obs: Observed[] = [];
  /** The leader of each term. */
  readonly #leaders = new Map<number, NodeId>();
  /** Every entry seen in some log, by (index, term), with the term of the entry before it. */
  readonly #seen = new Map<number, { e: Entry; prevTerm: number }>();
  /** The committed prefix as seen so far: index -> entry. */
  readonly #committed: (Entry | undefined)[] = [];
  #maxCommitted = 0;
  /** The term certified as committed by a leader that had a quorum of persisted copies, by index. */
  readonly #certified: number[] = [];
  /** The term of the leader that first committed each index (0 for the bootstrap entries). */
  readonly #commitTerm: number[] = [];
  /** The entry first applied at each index. */
  readonly #applied: (Entry | undefined)[] = [];
  /** For each (index, term), the bit mask of the slots that persisted it. */
  readonly #holders = new Map<number, number>();
  /** State machine digests by applied index (only with checkStateMachines). */
  readonly #smDigests = new Map<number, { digest: string; slot: number }>();

  /**
   * @param fail raises a violation.
   * @param bootstrapped the number of entries every initial member bootstraps with (they are
   *   committed by construction, not by a quorum).
   * @param digest the state machine digest function, when state machines are compared.
   */
  constructor(
    fail: FailFn,
    bootstrapped: number,
    private readonly digest?: (n: SimNode) => string,
  ) {
    this.#fail = fail;
    for (let i = 1; i <= bootstrapped; i++) {
      this.#certified[i] = 1;
      this.#commitTerm[i] = 0;
    }
  }

  #o(n: CheckedNode): Observed {
    let o = this.#obs[n.slot];
    if (o === undefined) this.#obs[n.slot] = o = new Observed();
    return o;
  }

  /** The highest index known committed. */
  get maxCommitted(): number {
    return this.#maxCommitted;
  }

  /** A node (re)started: its in-memory cursors start over from its storage. */
  started(n: CheckedNode): void {
    const o = this.#o(n);
    const r = n.node!.raft;
    o.incarnation = n.incarnation;
    o.term = r.term;
    o.vote = r.vote;
    o.commit = r.raftLog.committed;
    o.raftApplied = r.raftLog.applied;
    o.state = r.state;
    o.config = r.trk.config;
    o.first = -1;
    o.appIndex = n.applied;
    const s = n.storage.snapshot().metadata;
    if (s.index > 0) this.#checkCommittedPoint(n, s.index, s.term, "the snapshot it restarted from");
    this.observe(n);
  }

  /**
   * Checks a running node after an event on it. The log is checked again only when its shape
   * changed (bounds, last term, commit, unstable part, storage bounds), unless `full`: the
   * simulator asks for a full check of every node at the end of each step, which also catches
   * an entry changed in place in the storage.
   */
  observe(n: CheckedNode, full = false): void {
    const r = n.node!.raft;
    const o = this.#o(n);
    const log = r.raftLog;
    const commit = log.committed;
    const slot = n.slot;
    if (r.term < o.term) this.#fail("monotonic", `node ${n.id}'s term went back from ${o.term} to ${r.term}`, [slot]);
    if (commit < o.commit) this.#fail("monotonic", `node ${n.id}'s commit index went back from ${o.commit} to ${commit}`, [slot]);
    if (log.applied < o.raftApplied) this.#fail("monotonic", `node ${n.id}'s applied index went back from ${o.raftApplied} to ${log.applied}`, [slot]);
    if (r.term === o.term && o.vote !== NONE && r.vote !== o.vote) {
      this.#fail("one-vote-per-term", `node ${n.id} voted for ${o.vote} and then for ${r.vote} in term ${r.term}`, [slot]);
    }
    if (r.state === "leader") {
      const l = this.#leaders.get(r.term);
      if (l === undefined) this.#leaders.set(r.term, n.id);
      else if (l !== n.id) this.#fail("election-safety", `nodes ${l} and ${n.id} are both leaders of term ${r.term}`, [Number(l) - 1, slot]);
    }
    const unstable = log.unstable.entries;
    const st = log.storage;
    const last = log.lastIndex();
    const first = log.firstIndex();
    const lastTerm = log.zeroTermOnOutOfBounds(last);
    if (
      full ||
      first !== o.first ||
      last !== o.last ||
      lastTerm !== o.lastTerm ||
      commit !== o.commit ||
      r.state !== o.state ||
      unstable !== o.unstable ||
      unstable.length !== o.unstableLen ||
      st.lastIndex() !== o.storageLast ||
      st.firstIndex() !== o.storageFirst
    ) {
      this.#checkLog(n, first, last);
      o.first = first;
      o.last = last;
      o.lastTerm = lastTerm;
      o.unstable = unstable;
      o.unstableLen = unstable.length;
      o.storageFirst = st.firstIndex();
      o.storageLast = st.lastIndex();
    }
    // A leader's commit advance (it may have stepped down in the same event, say after handing
    // leadership over; a commit learned from a newer leader is certified already).
    if ((r.state === "leader" || o.state === "leader") && commit > o.commit) this.#certify(n, o.commit, commit, o.config);
    o.term = r.term;
    o.vote = r.vote;
    o.commit = commit;
    o.raftApplied = log.applied;
    o.state = r.state;
    o.config = r.trk.config;
  }

  /** Log matching, committed entries, and (on a leader) completeness, over `n`'s whole log. */
  #checkLog(n: CheckedNode, first: number, last: number): void {
    const r = n.node!.raft;
    const log = r.raftLog;
    const commit = log.committed;
    let prevTerm = log.zeroTermOnOutOfBounds(first - 1);
    if (first > 1) this.#checkCommittedPoint(n, first - 1, prevTerm, "its log's first index - 1 (its snapshot)");
    if (last >= first) {
      const ents = log.slice(first, last + 1, NO_LIMIT);
      for (let k = 0; k < ents.length; k++) {
        const e = ents[k]!;
        const i = first + k;
        if (e.index !== i) this.#fail("log-matching", `node ${n.id}'s log holds entry ${fmtEntry(e)} at index ${i}`, [n.slot]);
        if (e.term >= TERM_SPACE) throw new Error(`simulator: term ${e.term} too large`);
        const kk = key(i, e.term);
        const seen = this.#seen.get(kk);
        if (seen === undefined) {
          this.#seen.set(kk, { e, prevTerm });
        } else if (seen.prevTerm !== prevTerm || !sameEntry(seen.e, e)) {
          this.#fail(
            "log-matching",
            seen.prevTerm !== prevTerm
              ? `node ${n.id} has entry ${fmtEntry(e)} after an entry of term ${prevTerm}, but another log had it after one of term ${seen.prevTerm}`
              : `node ${n.id} has a different entry ${fmtEntry(e)} (type ${e.type}, ${e.data?.length ?? 0} bytes) than another log (type ${seen.e.type}, ${seen.e.data?.length ?? 0} bytes)`,
            [n.slot],
          );
        }
        if (i <= commit) {
          const c = this.#committed[i];
          if (c === undefined) {
            this.#committed[i] = e;
            if (i > this.#maxCommitted) this.#maxCommitted = i;
          } else if (!sameEntry(c, e)) {
            this.#fail("committed-entry-stable", `node ${n.id} has entry ${fmtEntry(e)} at committed index ${i}, where ${fmtEntry(c)} was committed`, [n.slot]);
          }
        }
        prevTerm = e.term;
      }
    }
    if (r.state !== "leader") return;
    // Leader completeness (§5.4): an entry committed in term T is in the log of every leader
    // of a term >= T. (A stale leader of a lower term may lack it.)
    for (let i = Math.max(first, 1); i <= this.#maxCommitted; i++) {
      const c = this.#committed[i];
      const ct = this.#commitTerm[i];
      if (c === undefined || ct === undefined || ct > r.term) continue;
      const t = i <= last ? log.zeroTermOnOutOfBounds(i) : 0;
      if (t !== c.term) {
        this.#fail(
          "leader-completeness",
          `node ${n.id}, leader of term ${r.term}, ${i > last ? `lacks entry ${fmtEntry(c)} (its last index is ${last})` : `has ${i}/${t} where ${fmtEntry(c)} was`} committed in term ${ct}`,
          [n.slot],
        );
      }
    }
  }

  /** Index `i` of term `term` is the boundary of a snapshot: it must match the committed prefix. */
  #checkCommittedPoint(n: CheckedNode, i: number, term: number, what: string): void {
    const c = this.#committed[i];
    if (c !== undefined && c.term !== term) {
      this.#fail("committed-entry-stable", `node ${n.id}'s ${what} is at ${i}/${term}, where ${fmtEntry(c)} was committed`, [n.slot]);
    }
    if (this.#certified[i] === undefined && c === undefined) {
      this.#fail("quorum-commit", `node ${n.id}'s ${what} is at ${i}/${term}, which was never committed by a quorum`, [n.slot]);
    }
  }

  /**
   * Leader `n` moved its commit index from `from` to `to`: a quorum must have persisted each
   * entry. Records the term each index was first committed in.
   */
  #certify(n: CheckedNode, from: number, to: number, before: CheckedConfig | undefined): void {
    const r = n.node!.raft;
    const after = r.trk.config;
    for (let i = from + 1; i <= to; i++) {
      const t = r.raftLog.zeroTermOnOutOfBounds(i);
      if (this.#certified[i] === t) continue;
      if (!this.#hasQuorum(i, t, after) && (before === undefined || !this.#hasQuorum(i, t, before))) {
        this.#fail(
          "quorum-commit",
          `leader ${n.id} (term ${r.term}) committed ${i}/${t}, but only ${this.#holdersOf(i, t)} persisted it (voters ${after.voters.toString()})`,
          [n.slot],
        );
      }
      this.#certified[i] = t;
      if (this.#commitTerm[i] === undefined) this.#commitTerm[i] = r.term;
    }
  }

  #isHolder(slot: number, i: number, mask: number): boolean {
    return (mask & (1 << slot)) !== 0 || (this.#obs[slot]?.durableSnapshot ?? 0) >= i;
  }

  #hasQuorum(i: number, t: number, cfg: CheckedConfig): boolean {
    const mask = this.#holders.get(key(i, t)) ?? 0;
    const majority = (ids: Iterable<NodeId>, size: number): boolean => {
      if (size === 0) return true;
      let n = 0;
      for (const id of ids) if (this.#isHolder(Number(id) - 1, i, mask)) n++;
      return n > size / 2;
    };
    const v = cfg.voters;
    return v.incoming.size > 0 && majority(v.incoming, v.incoming.size) && majority(v.outgoing, v.outgoing.size);
  }

  #holdersOf(i: number, t: number): string {
    const mask = this.#holders.get(key(i, t)) ?? 0;
    const ids: string[] = [];
    for (let s = 0; s < this.#obs.length; s++) if (this.#isHolder(s, i, mask)) ids.push(String(s + 1));
    return ids.length === 0 ? "no node" : `nodes ${ids.join(",")}`;
  }

  /** `n` persisted a snapshot, entries and/or a HardState. */
  persisted(n: CheckedNode, snap: Snapshot | undefined, ents: readonly Entry[], hs: HardState | undefined): void {
    const o = this.#o(n);
    const bit = 1 << n.slot;
    if (snap !== undefined && snap.metadata.index > o.durableSnapshot) o.durableSnapshot = snap.metadata.index;
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k]!;
      const kk = key(e.index, e.term);
      this.#holders.set(kk, (this.#holders.get(kk) ?? 0) | bit);
    }
    if (hs === undefined) return;
    if (hs.term < o.durableTerm) this.#fail("monotonic", `node ${n.id} persisted term ${hs.term} after term ${o.durableTerm}`, [n.slot]);
    if (hs.commit < o.durableCommit) this.#fail("monotonic", `node ${n.id} persisted commit ${hs.commit} after commit ${o.durableCommit}`, [n.slot]);
    if (hs.term === o.durableTerm && o.durableVote !== NONE && hs.vote !== o.durableVote) {
      this.#fail(
        "one-vote-per-term",
        hs.vote === NONE
          ? `node ${n.id} forgot its vote for ${o.durableVote} in term ${hs.term} (it persisted vote 0 after it)`
          : `node ${n.id} persisted a vote for ${hs.vote} in term ${hs.term}, after persisting a vote for ${o.durableVote}`,
        [n.slot],
      );
    }
    o.durableTerm = hs.term;
    o.durableVote = hs.vote;
    o.durableCommit = hs.commit;
  }

  /** `n`'s state machine was replaced by snapshot `snap`. */
  restoredSnapshot(n: CheckedNode, snap: Snapshot): void {
    const o = this.#o(n);
    const { index, term } = snap.metadata;
    if (index < o.appIndex) this.#fail("monotonic", `node ${n.id} restored a snapshot at ${index} after applying up to ${o.appIndex}`, [n.slot]);
    this.#checkCommittedPoint(n, index, term, "snapshot");
    o.appIndex = index;
  }

  /** `n` applies committed entry `e` to its state machine. */
  applied(n: CheckedNode, e: Entry): void {
    const o = this.#o(n);
    if (e.index !== o.appIndex + 1) {
      this.#fail("state-machine-safety", `node ${n.id} applies entry ${fmtEntry(e)} after applying up to ${o.appIndex}`, [n.slot]);
    }
    const prev = this.#applied[e.index];
    if (prev === undefined) this.#applied[e.index] = e;
    else if (!sameEntry(prev, e)) {
      this.#fail("state-machine-safety", `node ${n.id} applies entry ${fmtEntry(e)} at index ${e.index}, where ${fmtEntry(prev)} was applied before`, [n.slot]);
    }
    if (this.#certified[e.index] !== e.term) {
      this.#fail("quorum-commit", `node ${n.id} applies entry ${fmtEntry(e)}, which no leader committed with a quorum of persisted copies`, [n.slot]);
    }
    o.appIndex = e.index;
  }

  /** `n` finished applying a batch: compare its state machine with others at the same index. */
  stateMachineAt(n: SimNode): void {
    if (this.digest === undefined) return;
    const d = this.digest(n);
    const prev = this.#smDigests.get(n.applied);
    if (prev === undefined) this.#smDigests.set(n.applied, { digest: d, slot: n.slot });
    else if (prev.digest !== d) {
      this.#fail("state-machine-agreement", `nodes ${prev.slot + 1} and ${n.id} applied up to index ${n.applied} but their state machine snapshots differ`, [
        prev.slot,
        n.slot,
      ]);
    }
  }

  /** One line about the committed prefix, for reports. */
  describeCommitted(): string {
    const parts: string[] = [];
    let i = 1;
    while (i <= this.#maxCommitted) {
      const c = this.#committed[i];
      if (c === undefined) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 <= this.#maxCommitted && this.#committed[j + 1]?.term === c.term) j++;
      parts.push(j === i ? `${i}@${c.term}` : `${i}-${j}@${c.term}`);
      i = j + 1;
    }
    return `committed: ${parts.join(" ") || "(none)"}`;
  }

  /** The leader of each term seen, for reports. */
  describeLeaders(): string {
    return `leaders: ${[...this.#leaders].map(([t, id]) => `t${t}=${id}`).join(" ") || "(none)"}`;
  }
}
