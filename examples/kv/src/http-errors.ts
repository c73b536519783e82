/**
 * Errors to HTTP answers. Raft's and the node's errors are recognised by their stable `code`
 * string (not their class), so that codes added by newer versions of `@tsraft/node` map here
 * before this code imports them.
 *
 * | code | answer |
 * |---|---|
 * | `TSRAFT_NO_LEADER` | 503 `no_leader`, `outcome: not_applied` |
 * | `TSRAFT_PROPOSAL_DROPPED` | 503 `proposal_dropped`, `outcome: not_applied` |
 * | `TSRAFT_TIMEOUT` | 504 `timeout` (a write: `outcome: unknown`) |
 * | `TSRAFT_NODE_STOPPED` | 503 `stopping` (a write: `outcome: unknown`) |
 * | `TSRAFT_TRANSFER` | 400 `bad_transfer` |
 * | `TSRAFT_CONF_CHANGE` | 409 `bad_conf_change` |
 * | `TSRAFT_UNSAFE_CONF_CHANGE` | 409 `unsafe_reconfig`, `outcome: not_applied` |
 * | `TSRAFT_CONF_CHANGE_REFUSED` | 409 `conf_change_pending`, `outcome: not_applied` |
 * | `TSRAFT_NOT_LEADER` | 421 `not_leader`, `outcome: not_applied`, `leader: {id, http}` |
 * | `TSRAFT_ENTRY_REFUSED` | 422 `refused`, `outcome: not_applied` (committed, changed nothing) |
 * | anything else | 500 `internal` (a bug: logged) |
 * @module
 */
import { HttpError } from "./errors.js";

/** How to find a member's HTTP address, for `not_leader` answers. */
export type HttpAddrOf = (id: bigint) => string | undefined;

function codeOf(err: unknown): string | undefined {
  if (err === null || typeof err !== "object") return undefined;
  const c = (err as { code?: unknown }).code;
  return typeof c === "string" ? c : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The answer for `err`. `write`: the request was a write (or a conf change), whose outcome is
 * unknown after a timeout or a stop.
 */
export function toHttpError(err: unknown, write: boolean, httpAddrOf: HttpAddrOf): HttpError {
  if (err instanceof HttpError) return err;
  const msg = messageOf(err);
  const unknown = write ? { outcome: "unknown" } : {};
  switch (codeOf(err)) {
    case "TSRAFT_NO_LEADER":
      return new HttpError(503, "no_leader", msg, { outcome: "not_applied" });
    case "TSRAFT_PROPOSAL_DROPPED":
      return new HttpError(503, "proposal_dropped", msg, { outcome: "not_applied" });
    case "TSRAFT_TIMEOUT":
      return new HttpError(504, "timeout", msg, unknown);
    case "TSRAFT_NODE_STOPPED":
      return new HttpError(503, "stopping", msg, unknown);
    case "TSRAFT_TRANSFER":
      return new HttpError(400, "bad_transfer", msg);
    case "TSRAFT_CONF_CHANGE":
      return new HttpError(409, "bad_conf_change", msg);
    case "TSRAFT_UNSAFE_CONF_CHANGE":
      return new HttpError(409, "unsafe_reconfig", msg, { outcome: "not_applied" });
    case "TSRAFT_CONF_CHANGE_REFUSED":
      return new HttpError(409, "conf_change_pending", msg, { outcome: "not_applied" });
    case "TSRAFT_NOT_LEADER":
      return notLeader(msg, (err as { leader?: unknown }).leader, httpAddrOf);
    case "TSRAFT_ENTRY_REFUSED":
      return new HttpError(422, "refused", msg, { outcome: "not_applied" });
    default:
      return new HttpError(500, "internal", `internal error: ${msg}`, write ? { outcome: "unknown" } : {});
  }
}

/**
 * 421 `not_leader`: this member cannot do it; the leader (when known) can, at `leader.http`.
 * Nothing was proposed.
 */
export function notLeader(msg: string, leader: unknown, httpAddrOf: HttpAddrOf): HttpError {
  const id = typeof leader === "bigint" && leader > 0n ? leader : undefined;
  return new HttpError(421, "not_leader", msg, {
    outcome: "not_applied",
    leader: id === undefined ? null : { id: id.toString(), http: httpAddrOf(id) ?? null },
  });
}
