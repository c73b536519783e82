/**
 * The HTTP JSON API of a KV member.
 *
 * | request | answer |
 * |---|---|
 * | `GET /kv/:key` | linearizable read (ReadIndex): `{key, value, index}`, 404 if absent |
 * | `GET /kv/:key?serializable` | this member's local state, possibly stale |
 * | `GET /kv?prefix=P` | every key starting with P (linearizable; `&serializable` too) |
 * | `PUT /kv/:key` `{value}` | write; `{value, prev}` compare-and-set (`prev: null`: only if absent); 412 if the condition fails |
 * | `DELETE /kv/:key` | delete (`?prev=V` compare-and-delete) |
 * | `GET /status` | raft and service status |
 * | `GET /members`, `POST /members {id, raftAddr, httpAddr}`, `DELETE /members/:id` | membership |
 * | `POST /transfer-leader {to}` | leader transfer |
 * | `GET /health` | 200 when a leader is known, else 503 |
 * | `POST /admin/partition {block: [ids]}` | fault injection (only with `--fault-injection`) |
 *
 * Writes answer once applied on this member; a follower forwards them to the leader through
 * raft (proposal forwarding), and ReadIndex requests likewise. Every answer carries the
 * leader (`leader: {id, http}` and the `X-Raft-Leader` header). Errors: 503 `no_leader` (not
 * submitted; retry, possibly at the leader's address), 503 `proposal_dropped` (not submitted),
 * 504 `timeout` (a write's outcome is then unknown), 400/404/409/412 as usual.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ConfChangeError, ProposalDroppedError } from "@tsraft/raft";
import { ConfChangeType } from "@tsraft/raftpb";
import type { NodeId } from "@tsraft/raftpb";
import { NoLeaderError, NodeStoppedError, RequestTimeoutError, TransferError } from "@tsraft/node";
import type { KvServer } from "./server.js";
import { encodeCommand, encodeMemberAddr } from "./state-machine.js";
import type { Command } from "./state-machine.js";

const MAX_BODY = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_BODY) throw new HttpError(413, "too_large", `body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  if (n === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new HttpError(400, "bad_json", "body is not JSON");
  }
}

function leaderOf(s: KvServer): { id: string; http: string | null } | null {
  const lead = s.node.leader();
  if (lead === 0n) return null;
  return { id: lead.toString(), http: s.httpAddrOf(lead) ?? null };
}

/** Maps an error from the raft node to an HTTP error; `write` tells whether the outcome may be unknown. */
function fromRaftError(err: unknown, write: boolean): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof NoLeaderError) return new HttpError(503, "no_leader", err.message, { outcome: "not_applied" });
  if (err instanceof ProposalDroppedError) return new HttpError(503, "proposal_dropped", err.message, { outcome: "not_applied" });
  if (err instanceof RequestTimeoutError) return new HttpError(504, "timeout", err.message, write ? { outcome: "unknown" } : {});
  if (err instanceof NodeStoppedError) return new HttpError(503, "stopping", err.message, write ? { outcome: "unknown" } : {});
  if (err instanceof TransferError) return new HttpError(400, "bad_transfer", err.message);
  if (err instanceof ConfChangeError) return new HttpError(409, "bad_conf_change", err.message);
  return new HttpError(500, "internal", err instanceof Error ? err.message : String(err));
}

function parseId(v: unknown, what: string): NodeId {
  if ((typeof v === "string" && /^\d+$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v))) {
    const id = BigInt(v);
    if (id > 0n) return id;
  }
  throw new HttpError(400, "bad_id", `${what} must be a positive integer`);
}

function isStringOrNull(v: unknown): v is string | null {
  return v === null || typeof v === "string";
}

/** Handles one request; never throws (errors become JSON answers). */
export async function handleHttp(s: KvServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let status = 200;
  let body: Record<string, unknown>;
  try {
    const r = await route(s, req);
    status = r.status;
    body = r.body;
  } catch (e) {
    const err = e instanceof HttpError ? e : fromRaftError(e, false);
    status = err.status;
    body = { error: err.message, code: err.code, ...err.extra };
  }
  const leader = leaderOf(s);
  body["leader"] = leader;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", "x-raft-leader": leader?.id ?? "" });
  res.end(json(body) + "\n");
}

async function route(s: KvServer, req: IncomingMessage): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(req.url ?? "/", "http://x");
  const path = url.pathname;
  const method = req.method ?? "GET";
  const serializable = url.searchParams.has("serializable");

  if (path.startsWith("/kv/") && path.length > 4) {
    const key = decodeURIComponent(path.slice(4));
    if (method === "GET") return getKey(s, key, serializable);
    if (method === "PUT") {
      const b = (await readBody(req)) as Record<string, unknown>;
      if (typeof b.value !== "string") throw new HttpError(400, "bad_request", "want {value: string} (and optionally prev: string|null)");
      const cmd: Command = { op: "put", key, value: b.value };
      if ("prev" in b) {
        if (!isStringOrNull(b.prev)) throw new HttpError(400, "bad_request", "prev must be a string or null");
        cmd.prev = b.prev;
      }
      return write(s, cmd);
    }
    if (method === "DELETE") {
      const cmd: Command = { op: "del", key };
      const prev = url.searchParams.get("prev");
      if (prev !== null) cmd.prev = prev;
      return write(s, cmd);
    }
    throw new HttpError(405, "method", `${method} not allowed on /kv/:key`);
  }
  if (path === "/kv" && method === "GET") {
    const index = serializable ? s.node.appliedIndex() : await s.node.readIndex();
    return { status: 200, body: { kvs: s.sm.list(url.searchParams.get("prefix") ?? ""), index } };
  }
  if (path === "/status" && method === "GET") return { status: 200, body: statusOf(s) };
  if (path === "/health" && method === "GET") {
    const ok = s.node.leader() !== 0n;
    return { status: ok ? 200 : 503, body: { ok } };
  }
  if (path === "/members" && method === "GET") return { status: 200, body: { members: s.members() } };
  if (path === "/members" && method === "POST") return addMember(s, (await readBody(req)) as Record<string, unknown>);
  if (path.startsWith("/members/") && method === "DELETE") return removeMember(s, parseId(path.slice(9), "member id"));
  if (path === "/transfer-leader" && method === "POST") {
    const b = (await readBody(req)) as Record<string, unknown>;
    const to = parseId(b.to, "to");
    const t0 = Date.now();
    try {
      await s.node.transferLeader(to);
    } catch (e) {
      throw fromRaftError(e, false);
    }
    return { status: 200, body: { ok: true, ms: Date.now() - t0 } };
  }
  if (path === "/admin/partition" && method === "POST") {
    if (!s.cfg.faultInjection) throw new HttpError(403, "disabled", "fault injection is disabled (start with --fault-injection)");
    const b = (await readBody(req)) as Record<string, unknown>;
    if (!Array.isArray(b.block)) throw new HttpError(400, "bad_request", "want {block: [ids]}");
    const ids = b.block.map((x) => parseId(x, "block[]"));
    s.transport.setBlocked(ids);
    s.log.warn("fault injection: traffic blocked", { block: ids });
    return { status: 200, body: { ok: true, blocked: ids } };
  }
  throw new HttpError(404, "not_found", `no route for ${method} ${path}`);
}

async function getKey(s: KvServer, key: string, serializable: boolean): Promise<{ status: number; body: Record<string, unknown> }> {
  const index = serializable ? s.node.appliedIndex() : await s.node.readIndex();
  const value = s.sm.get(key);
  if (value === null) return { status: 404, body: { key, value: null, index, error: "not found", code: "not_found" } };
  return { status: 200, body: { key, value, index } };
}

async function write(s: KvServer, cmd: Command): Promise<{ status: number; body: Record<string, unknown> }> {
  let r;
  try {
    r = await s.node.propose(encodeCommand(cmd));
  } catch (e) {
    throw fromRaftError(e, true);
  }
  if (!r.ok) {
    return { status: 412, body: { ok: false, key: cmd.key, current: r.prev, index: r.index, error: "compare failed", code: "compare_failed" } };
  }
  return { status: 200, body: { ok: true, key: cmd.key, prev: r.prev, index: r.index } };
}

async function addMember(s: KvServer, b: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const id = parseId(b.id, "id");
  if (typeof b.raftAddr !== "string" || typeof b.httpAddr !== "string") throw new HttpError(400, "bad_request", "want {id, raftAddr, httpAddr}");
  const cs = s.node.status().config;
  if (cs.voters.includes(id) || cs.learners.includes(id)) throw new HttpError(409, "exists", `member ${id} already exists`);
  const type = b.learner === true ? ConfChangeType.ConfChangeAddLearnerNode : ConfChangeType.ConfChangeAddNode;
  try {
    const conf = await s.node.proposeConfChange({ type, nodeId: id, id: 0n, context: encodeMemberAddr({ raft: b.raftAddr, http: b.httpAddr }) });
    return { status: 200, body: { ok: true, voters: conf.voters, learners: conf.learners, members: s.members() } };
  } catch (e) {
    throw fromRaftError(e, true);
  }
}

async function removeMember(s: KvServer, id: NodeId): Promise<{ status: number; body: Record<string, unknown> }> {
  const cs = s.node.status().config;
  if (!cs.voters.includes(id) && !cs.learners.includes(id)) throw new HttpError(404, "not_found", `member ${id} does not exist`);
  try {
    const conf = await s.node.proposeConfChange({ type: ConfChangeType.ConfChangeRemoveNode, nodeId: id, id: 0n });
    return { status: 200, body: { ok: true, voters: conf.voters, learners: conf.learners } };
  } catch (e) {
    throw fromRaftError(e, true);
  }
}

function statusOf(s: KvServer): Record<string, unknown> {
  const st = s.node.status();
  const progress: Record<string, unknown> = {};
  if (st.progress !== undefined) for (const [id, p] of st.progress) progress[id.toString()] = { match: p.match, next: p.next, state: p.state };
  return {
    id: s.cfg.id.toString(),
    raftState: st.softState.raftState,
    term: st.hardState.term,
    commit: st.hardState.commit,
    applied: s.node.appliedIndex(),
    snapshotIndex: st.snapshotIndex,
    firstIndex: s.storage.firstIndex(),
    lastIndex: s.storage.lastIndex(),
    keys: s.sm.size(),
    members: s.members(),
    progress,
    counters: s.counters,
    transport: s.transport.stats(),
    blocked: s.transport.blockedPeers(),
    pid: process.pid,
  };
}
