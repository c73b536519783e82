/**
 * Membership changes, learner first (etcd's `member add --learner` then `member promote`,
 * made the only way in): POST /members adds the new member as a **learner**, which receives
 * the log but does not vote or count for quorum, so a member that never starts (a typo, a
 * machine that is not there yet) cannot take the cluster's quorum away. The leader promotes a
 * learner to voter once it has caught up: its match index within {@link PROMOTE_MAX_LAG} of
 * the leader's last index, in the replicate state, and heard from within the last election
 * timeout. {@link AutoPromoter} does it on its own; POST /members/:id/promote does it now or
 * answers 409 `not_ready`.
 *
 * Membership requests are answered by the leader only (the readiness of a learner is the
 * leader's view, and RaftNode's strict reconfiguration check runs there); other members answer
 * 421 `not_leader` with the leader's address.
 * @module
 */
import type { Logger } from "@tsraft/raft";
import { ConfChangeType } from "@tsraft/raftpb";
import type { ConfState } from "@tsraft/raftpb";
import type { RaftNode } from "@tsraft/node";
import { isHostPort } from "./addr.js";
import { encodeMemberContext } from "./command.js";
import type { MemberAddr } from "./command.js";
import { HttpError } from "./errors.js";
import { notLeader } from "./http-errors.js";
import type { CommandResult, MemberRecord } from "./state-machine.js";

/** A learner is promoted only if its match index is at most this many entries behind the leader's last index. */
export const PROMOTE_MAX_LAG = 64;
/** How often the leader looks for learners to promote, in ms. */
export const PROMOTE_CHECK_MS = 500;
/**
 * The most members (voters and learners) POST /members lets the cluster have: the leader sends
 * to each of them every heartbeat, so their number must not be a client's to choose.
 */
export const MAX_MEMBERS = 32;

/** What membership needs from the server. */
export interface MembershipHost {
  readonly node: RaftNode<CommandResult>;
  readonly log: Logger;
  /** The members as the replicated state records them. */
  memberRecords(): Map<string, MemberRecord>;
  /** A member's HTTP address, if known. */
  httpAddrOf(id: bigint): string | undefined;
}

/** Whether a learner can be promoted now, and the figures that decided it. */
export interface Readiness {
  ready: boolean;
  /** Why not, when not ready. */
  why?: string;
  match: number;
  lastIndex: number;
  recentActive: boolean;
  state: string;
}

/**
 * Throws 421 `not_leader` unless this member leads.
 * @throws {@link HttpError}
 */
export function requireLeader(h: MembershipHost): void {
  const st = h.node.basicStatus().softState;
  if (st.raftState !== "leader") {
    throw notLeader("membership changes are made by the leader; send the request there", st.lead, (id) => h.httpAddrOf(id));
  }
}

function inConfig(cs: ConfState, id: bigint): "voter" | "learner" | undefined {
  if (cs.voters.includes(id) || cs.votersOutgoing.includes(id)) return "voter";
  if (cs.learners.includes(id) || cs.learnersNext.includes(id)) return "learner";
  return undefined;
}

/** The leader's view of learner `id` (not ready when this member does not lead). */
export function readiness(h: MembershipHost, id: bigint): Readiness {
  const st = h.node.status();
  const lastIndex = st.progress?.get(st.id)?.match ?? 0;
  const p = st.progress?.get(id);
  if (p === undefined)
    return { ready: false, why: "this member does not lead, or has no progress for it", match: 0, lastIndex, recentActive: false, state: "none" };
  const base = { match: p.match, lastIndex, recentActive: p.recentActive, state: p.state };
  if (!p.recentActive) return { ready: false, why: "not heard from within the last election timeout", ...base };
  if (p.state !== "replicate") return { ready: false, why: `catching up (${p.state})`, ...base };
  if (lastIndex - p.match > PROMOTE_MAX_LAG) return { ready: false, why: `${lastIndex - p.match} entries behind (at most ${PROMOTE_MAX_LAG})`, ...base };
  return { ready: true, ...base };
}

/**
 * POST /members `{id, raftAddr, httpAddr, learner?}`: adds a learner; with `learner: true` it
 * stays one, otherwise it is promoted once caught up.
 * @throws {@link HttpError} 400 for bad fields, 421 off the leader, 409 `exists` or
 * `too_many_members` (see {@link MAX_MEMBERS}); the node's errors.
 */
export async function addMember(h: MembershipHost, id: bigint, b: Record<string, unknown>): Promise<{ confState: ConfState; promote: boolean }> {
  if (!isHostPort(b["raftAddr"]) || !isHostPort(b["httpAddr"])) {
    throw new HttpError(400, "bad_addr", "raftAddr and httpAddr must be host:port (host: letters, digits, '.', '-', '_'; port 1..65535)");
  }
  if (b["learner"] !== undefined && typeof b["learner"] !== "boolean") throw new HttpError(400, "bad_request", "learner must be a boolean");
  requireLeader(h);
  const cs = h.node.status().config;
  if (inConfig(cs, id) !== undefined) throw new HttpError(409, "exists", `member ${id} already exists`);
  const count = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]).size;
  if (count >= MAX_MEMBERS)
    throw new HttpError(409, "too_many_members", `the cluster has ${count} members, the most POST /members adds up to (remove some first)`);
  const promote = b["learner"] !== true;
  const addr: MemberAddr = { raft: b["raftAddr"], http: b["httpAddr"] };
  const confState = await h.node.proposeConfChange({
    type: ConfChangeType.ConfChangeAddLearnerNode,
    nodeId: id,
    id: 0n,
    context: encodeMemberContext(addr, promote),
  });
  h.log.info("member added as a learner", { id, addr, promote });
  return { confState, promote };
}

/**
 * Promotes learner `id` to voter if it is ready.
 * @throws {@link HttpError} 421 off the leader, 404 `not_found`, 409 `not_learner`, 409 `not_ready`; the node's errors.
 */
export async function promoteMember(h: MembershipHost, id: bigint): Promise<ConfState> {
  requireLeader(h);
  const role = inConfig(h.node.status().config, id);
  if (role === undefined) throw new HttpError(404, "not_found", `member ${id} does not exist`);
  if (role === "voter") throw new HttpError(409, "not_learner", `member ${id} is a voter already`);
  const r = readiness(h, id);
  if (!r.ready) throw new HttpError(409, "not_ready", `learner ${id} is not ready to vote: ${r.why ?? ""}`, { readiness: r });
  const addr = h.memberRecords().get(id.toString())?.addr ?? null;
  const confState = await h.node.proposeConfChange({
    type: ConfChangeType.ConfChangeAddNode,
    nodeId: id,
    id: 0n,
    ...(addr === null ? {} : { context: encodeMemberContext(addr, false) }),
  });
  h.log.info("learner promoted to voter", { id, match: r.match, lastIndex: r.lastIndex });
  return confState;
}

/**
 * Removes member `id`.
 * @throws {@link HttpError} 421 off the leader, 404 `not_found`; the node's errors.
 */
export async function removeMember(h: MembershipHost, id: bigint): Promise<ConfState> {
  requireLeader(h);
  if (inConfig(h.node.status().config, id) === undefined) throw new HttpError(404, "not_found", `member ${id} does not exist`);
  return h.node.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id, id: 0n });
}

/**
 * On the leader, every {@link PROMOTE_CHECK_MS}: promotes one ready learner that was added to
 * be promoted (one conf change at a time). Failures are logged, never thrown; the next check
 * tries again.
 */
export class AutoPromoter {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** Promotions made. */
  promoted = 0;

  constructor(private readonly h: MembershipHost) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), PROMOTE_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check (exposed for tests). Never rejects. */
  async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const st = this.h.node.basicStatus().softState;
      if (st.raftState !== "leader") return;
      const cs = this.h.node.status().config;
      for (const [idText, rec] of this.h.memberRecords()) {
        const id = BigInt(idText);
        if (!rec.promote || !cs.learners.includes(id) || !readiness(this.h, id).ready) continue;
        await promoteMember(this.h, id);
        this.promoted++;
        return;
      }
    } catch (err) {
      this.h.log.warn("automatic promotion failed; will retry", { error: err instanceof Error ? err.message : String(err) });
    } finally {
      this.busy = false;
    }
  }
}
