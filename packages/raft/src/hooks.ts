/**
 * Plain callbacks through which raft tells the application what it otherwise only logs.
 * They run synchronously inside the raft call that caused them (a `step`, a `propose`), must
 * not call back into the node, and should only record (an error thrown from one propagates
 * out of that call). Unset hooks cost one property read.
 * @module
 */
import type { Entry } from "@tsraft/raftpb";

/** A conf change a leader refused, for {@link RaftHooks.confChangeRefused}. */
export interface ConfChangeRefusal {
  /** The entry as proposed (EntryConfChange or EntryConfChangeV2, its data the encoded change). */
  entry: Entry;
  /** Why, in the words of raft's log line (e.g. "possible unapplied conf change at index 7 (applied to 5)"). */
  reason: string;
}

/** The hooks of {@link Config.hooks}. */
export interface RaftHooks {
  /**
   * A leader refused a proposed conf change (another one is not applied yet, or it does not
   * fit the joint state) and put an empty normal entry in its place, as etcd does. Without
   * this hook the proposer learns nothing (etcd-io/raft#453); with it, it can fail the request.
   */
  confChangeRefused?(refusal: ConfChangeRefusal): void;
}
