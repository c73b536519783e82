/**
 * The safety checks of a whole-stack run, fed by the harness as things happen (the names are
 * those of the RawNode simulator's invariants, `INVARIANTS` of `@tsraft/raft/testing`, where
 * the rule is the same):
 *
 * | name                     | rule                                                                          |
 * |--------------------------|-------------------------------------------------------------------------------|
 * | election-safety          | at most one leader per term                                                   |
 * | one-vote-per-term        | a node grants its vote to at most one candidate per term, across crashes (so a vote lost with an unsynced tail is a double vote) |
 * | state-machine-safety     | every member applies the same entry at each index, in index order per incarnation |
 * | state-machine-agreement  | members that applied the same index have the same state (the application's fingerprint), a restored snapshot included |
 * | acknowledged-write       | a proposal whose promise resolved is applied at its index, with its data, on every member that gets there (after any crashes) |
 * | liveness                 | after faults heal, a new proposal is applied by every member that could restart |
 * | promises-settle          | every promise of a live node settles (resolved, rejected or timed out)         |
 * | restart                  | a member restarts on what its disk kept (a typed refusal of a bit flipped on reading it at the open is counted apart) |
 * | node-failed              | no live node stops on a fatal error (no disk fault is injected that should stop it) |
 * | linearizable             | the client history is linearizable (the workload's checker)                    |
 * | integrity                | every entry a member applies carries data a client proposed (a bit flipped on the disk, taken as data, is caught here) |
 * | disk-full                | a member whose WAL write failed with ENOSPC stops at once with a `WalNoSpaceError` (and loses nothing it acknowledged: acknowledged-write) |
 * @module
 */
import type { NodeId } from "@tsraft/raftpb";

/** A broken rule, with when and where. */
export interface Violation {
  invariant: string;
  detail: string;
  /** Virtual ms. */
  t: number;
}

interface Applied {
  node: NodeId;
  data: string;
  fingerprint: string;
}

/** See the module comment. Records the first violation of a run (the run stops there). */
export class StackChecker {
  violation: Violation | undefined;
  private readonly leaders = new Map<number, NodeId>();
  private readonly votes = new Map<string, NodeId>();
  private readonly applied = new Map<number, Applied>();
  /** Acknowledged writes: index to data. */
  readonly acked = new Map<number, string>();
  /** The data of every write a client proposed (writes carry unique data). */
  private readonly proposals = new Set<string>();
  /** Per node incarnation: the last index applied. */
  private readonly lastApplied = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  /** Raises a violation (the first one is kept). */
  fail(invariant: string, detail: string): void {
    this.violation ??= { invariant, detail, t: this.now() };
  }

  /** `node` became leader of `term`. */
  leader(node: NodeId, term: number): void {
    const had = this.leaders.get(term);
    if (had === undefined) this.leaders.set(term, node);
    else if (had !== node) this.fail("election-safety", `nodes ${had} and ${node} both leaders of term ${term}`);
  }

  /** `voter` sent a vote granted to `candidate` in `term` (not a pre-vote). */
  voteGranted(voter: NodeId, candidate: NodeId, term: number): void {
    const k = `${voter}/${term}`;
    const had = this.votes.get(k);
    if (had === undefined) this.votes.set(k, candidate);
    else if (had !== candidate) this.fail("one-vote-per-term", `node ${voter} voted for ${had} and for ${candidate} in term ${term}`);
  }

  /** A client proposed a write of `data`. */
  proposed(data: string): void {
    this.proposals.add(data);
  }

  /** Incarnation `inc` of `node` hands `data` at `index` to its state machine (before the state machine sees it). */
  applying(node: NodeId, inc: string, index: number, data: string): void {
    if (!this.proposals.has(data))
      this.fail("integrity", `node ${node} (${inc}) applied at ${index} data no client proposed: ${JSON.stringify(data.slice(0, 80))}`);
  }

  /** Incarnation `inc` of `node` applied `data` at `index`; its state's fingerprint after it. */
  apply(node: NodeId, inc: string, index: number, data: string, fingerprint: string): void {
    const last = this.lastApplied.get(inc) ?? 0;
    if (index <= last) this.fail("state-machine-safety", `node ${node} (${inc}) applied ${index} after ${last}`);
    this.lastApplied.set(inc, index);
    this.compare(node, index, data, fingerprint);
  }

  /** Incarnation `inc` of `node` restored a snapshot at `index`. */
  restore(node: NodeId, inc: string, index: number, fingerprint: string): void {
    this.lastApplied.set(inc, index);
    const a = this.applied.get(index);
    if (a !== undefined && a.fingerprint !== fingerprint) {
      this.fail(
        "state-machine-agreement",
        `node ${node} restored a snapshot at ${index} whose state ${fingerprint} differs from node ${a.node}'s ${a.fingerprint}`,
      );
    }
  }

  /** A proposal of `data` resolved as applied at `index`. */
  ack(index: number, data: string): void {
    const had = this.acked.get(index);
    if (had !== undefined && had !== data) this.fail("acknowledged-write", `two writes acknowledged at index ${index}`);
    this.acked.set(index, data);
    const a = this.applied.get(index);
    if (a !== undefined && a.data !== data) this.fail("acknowledged-write", `write acknowledged at ${index} but node ${a.node} applied other data there`);
  }

  /** The highest index applied anywhere. */
  maxApplied(): number {
    let m = 0;
    for (const i of this.applied.keys()) if (i > m) m = i;
    return m;
  }

  private compare(node: NodeId, index: number, data: string, fingerprint: string): void {
    const a = this.applied.get(index);
    if (a === undefined) {
      this.applied.set(index, { node, data, fingerprint });
      const ack = this.acked.get(index);
      if (ack !== undefined && ack !== data) this.fail("acknowledged-write", `write acknowledged at ${index} lost: node ${node} applied other data there`);
      return;
    }
    if (a.data !== data) {
      const what = this.acked.has(index) ? "acknowledged-write" : "state-machine-safety";
      this.fail(
        what,
        `nodes ${a.node} and ${node} applied different entries at index ${index}${what === "acknowledged-write" ? " (the first was acknowledged)" : ""}`,
      );
    } else if (a.fingerprint !== fingerprint) {
      this.fail("state-machine-agreement", `nodes ${a.node} and ${node} have different states after applying index ${index}`);
    }
  }
}
