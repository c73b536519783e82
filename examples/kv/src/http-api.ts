/**
 * The HTTP JSON API of a KV member: the routing, and the one place where every answer is
 * built and serialised, inside the error handling (a failure to build an answer becomes a 500
 * answer and a log line, never an exception outside the handler).
 *
 * | request | answer |
 * |---|---|
 * | `GET /kv/:key` (`?serializable`) | `{key, value, index}`, 404 `not_found` |
 * | `PUT /kv/:key` `{value, prev?}` | 200 `{ok, key, prev, index}`; 412 `compare_failed`; 507 `no_space` |
 * | `DELETE /kv/:key` (`?prev=v`) | 200 `{ok, key, prev, index}`; 412 `compare_failed` |
 * | `GET /kv?prefix=&after=&limit=` (`&serializable`) | `{kvs: [{key, value}], more, next, index}` |
 * | `GET /status`, `GET /health`, `GET /members`, `GET /members/:id` | status |
 * | `GET /metrics` | Prometheus text format (`@tsraft/prometheus`: etcd's metric names with `tsraft_`) |
 * | `GET /dashboard` | a self-contained HTML page that polls `/status` and `/metrics` (dashboard.ts) |
 * | `POST /members {id, raftAddr, httpAddr, learner?}` | adds a learner (leader only) |
 * | `POST /members/:id/promote` | learner to voter if caught up, else 409 `not_ready` (leader only) |
 * | `DELETE /members/:id` | removes a member (leader only) |
 * | `POST /transfer-leader {to}` | leader transfer |
 * | `POST /admin/partition {block: [ids]}` | fault injection (`--fault-injection` only) |
 *
 * Keys are the raw path after `/kv/`, percent-decoded strictly, with no dot-segment
 * resolution (`/kv/a/../b` is the key `a/../b`). Request bodies must be `application/json`
 * (415 otherwise); preflights (OPTIONS) are refused without CORS headers. Errors: see
 * http-errors.ts and the README.
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, isWellFormed, utf8Length } from "./command.js";
import type { Command } from "./command.js";
import { DASHBOARD_HTML } from "./dashboard.js";
import { HttpError } from "./errors.js";
import { toHttpError } from "./http-errors.js";
import { allowQuery, parseMemberId, parseTarget, percentDecode, readJsonObject } from "./http-request.js";
import type { RequestTarget } from "./http-request.js";
import { addMember, promoteMember, readiness, removeMember } from "./membership.js";
import type { KvServer } from "./server.js";

/** Keys per range page when `limit` is not given. */
export const DEFAULT_RANGE_LIMIT = 100;
/** The largest `limit` of a range page. */
export const MAX_RANGE_LIMIT = 1000;

type Answer = { status: number; body: Record<string, unknown> };

/**
 * The JSON of an answer, bigints as decimal strings (member ids, e.g. `blocked` in /status). @internal Most answers hold none and are written
 * without a replacer, which V8 calls for every value (about 2% of a leader's CPU per read in
 * 1-client reads, perf); JSON.stringify throws a TypeError at a bigint, and only then is the
 * answer written again with the replacer. The text is the same either way.
 */
export function answerJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === "bigint" ? x.toString() : x));
  }
}

function leaderOf(s: KvServer): { id: string; http: string | null } | null {
  const lead = s.node.leader();
  if (lead === 0n) return null;
  return { id: lead.toString(), http: s.httpAddrOf(lead) ?? null };
}

/** Writes `status` and `body` as JSON; the caller catches what this throws. */
function send(s: KvServer, req: IncomingMessage, res: ServerResponse, a: Answer): void {
  const body = a.body;
  if (!("leader" in body)) body["leader"] = leaderOf(s);
  const text = answerJson(body) + "\n";
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-content-type-options": "nosniff",
    "x-raft-leader": String(s.node.leader() === 0n ? "" : s.node.leader()),
    // A length instead of chunked framing: one write, no chunk headers for the client to parse.
    "content-length": String(Buffer.byteLength(text)),
  };
  if (a.status === 405) headers["allow"] = "GET, PUT, POST, DELETE";
  // An answer given before the body was read: close, rather than read what the client still sends.
  if (!req.complete) headers["connection"] = "close";
  res.writeHead(a.status, headers);
  res.end(text);
}

/**
 * Handles one request. Never rejects: a client's mistake is a 4xx, raft's refusals are 503/504
 * and friends, and anything unexpected (a bug) is logged and answered 500.
 */
export async function handleHttp(s: KvServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method === "GET" && (req.url === "/metrics" || req.url?.startsWith("/metrics?") === true)) return serveMetrics(s, res);
  if (req.method === "GET" && req.url === "/dashboard") return serveDashboard(res);
  let a: Answer;
  try {
    a = await route(s, req);
  } catch (e) {
    const err = toHttpError(e, isWrite(req), (id) => s.httpAddrOf(id));
    if (err.status === 500) {
      s.counters.internalErrors++;
      s.log.error("internal error while handling a request", {
        method: req.method,
        url: req.url?.slice(0, 200),
        error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      });
    }
    a = { status: err.status, body: { error: err.message, code: err.code, ...err.extra } };
  }
  if (res.headersSent || res.destroyed) return;
  try {
    send(s, req, res, a);
  } catch (e) {
    s.counters.internalErrors++;
    s.log.error("could not send an answer", { status: a.status, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    if (res.headersSent) res.destroy();
    else {
      res.writeHead(500, { "content-type": "application/json", connection: "close" });
      res.end('{"error":"internal error while building the answer","code":"internal"}\n');
    }
  }
}

/** `GET /metrics`: the member's metrics in Prometheus' text format (a scrape never fails the member). */
async function serveMetrics(s: KvServer, res: ServerResponse): Promise<void> {
  let text: string;
  try {
    text = await s.metrics.registry.metrics();
  } catch (e) {
    s.counters.internalErrors++;
    s.log.error("could not collect the metrics", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    if (!res.headersSent && !res.destroyed) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("could not collect the metrics\n");
    }
    return;
  }
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, {
    "content-type": s.metrics.registry.contentType,
    "content-length": String(Buffer.byteLength(text)),
    "x-content-type-options": "nosniff",
  });
  res.end(text);
}

/** `GET /dashboard`: the page, with a policy that lets it load nothing from elsewhere. */
function serveDashboard(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "content-length": String(Buffer.byteLength(DASHBOARD_HTML)),
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
  });
  res.end(DASHBOARD_HTML);
}

function isWrite(req: IncomingMessage): boolean {
  return req.method !== "GET" && req.method !== "HEAD";
}

function methodNotAllowed(method: string, path: string): HttpError {
  return new HttpError(405, "method", `${method} not allowed on ${path.slice(0, 100)}`);
}

async function route(s: KvServer, req: IncomingMessage): Promise<Answer> {
  const t = parseTarget(req.url);
  const method = req.method ?? "GET";
  const p = t.rawPath;
  if (method === "OPTIONS") throw new HttpError(405, "method", "OPTIONS (CORS preflight) is not allowed: this API grants no cross-origin access");
  if (p.startsWith("/kv/")) return kvRoute(s, req, t, method);
  if (p === "/kv") {
    if (method !== "GET") throw methodNotAllowed(method, p);
    return range(s, t);
  }
  if (p === "/status" || p === "/health") {
    if (method !== "GET") throw methodNotAllowed(method, p);
    allowQuery(t.query, []);
    if (p === "/status") return { status: 200, body: statusOf(s) };
    const ok = s.node.leader() !== 0n;
    return { status: ok ? 200 : 503, body: ok ? { ok } : { ok, code: "no_leader", error: "no leader known" } };
  }
  if (p === "/members" || p.startsWith("/members/")) return membersRoute(s, req, t, method);
  if (p === "/transfer-leader") return transferRoute(s, req, t, method);
  if (p === "/admin/partition") return partitionRoute(s, req, t, method);
  throw new HttpError(404, "not_found", `no route for ${method} ${p.slice(0, 100)}`);
}

/** `/members`, `/members/:id`, `/members/:id/promote`. */
async function membersRoute(s: KvServer, req: IncomingMessage, t: RequestTarget, method: string): Promise<Answer> {
  allowQuery(t.query, []);
  if (t.rawPath === "/members") {
    if (method === "GET") return { status: 200, body: { members: s.members() } };
    if (method !== "POST") throw methodNotAllowed(method, t.rawPath);
    const b = await readJsonObject(req);
    const id = parseMemberId(b["id"], "id");
    const r = await addMember(s, id, b);
    return {
      status: 200,
      body: {
        ok: true,
        id: id.toString(),
        role: "learner",
        promote: r.promote,
        voters: r.confState.voters,
        learners: r.confState.learners,
        members: s.members(),
      },
    };
  }
  const m = /^\/members\/([^/]+)(\/promote)?$/.exec(t.rawPath);
  if (m === null) throw new HttpError(404, "not_found", `no route for ${method} ${t.rawPath.slice(0, 100)}`);
  const id = parseMemberId(m[1], "member id");
  if (m[2] !== undefined) {
    if (method !== "POST") throw methodNotAllowed(method, t.rawPath);
    await readJsonObject(req);
    const cs = await promoteMember(s, id);
    return { status: 200, body: { ok: true, id: id.toString(), role: "voter", voters: cs.voters, learners: cs.learners } };
  }
  if (method === "GET") {
    const rec = s.members().find((x) => x.id === id.toString());
    if (rec === undefined) throw new HttpError(404, "not_found", `member ${id} does not exist`);
    return { status: 200, body: { member: rec, ...(rec.role === "learner" ? { readiness: readiness(s, id) } : {}) } };
  }
  if (method !== "DELETE") throw methodNotAllowed(method, t.rawPath);
  const cs = await removeMember(s, id);
  return { status: 200, body: { ok: true, voters: cs.voters, learners: cs.learners } };
}

/** `POST /transfer-leader {to}`. */
async function transferRoute(s: KvServer, req: IncomingMessage, t: RequestTarget, method: string): Promise<Answer> {
  if (method !== "POST") throw methodNotAllowed(method, t.rawPath);
  allowQuery(t.query, []);
  const to = parseMemberId((await readJsonObject(req))["to"], "to");
  const t0 = Date.now();
  await s.node.transferLeader(to);
  return { status: 200, body: { ok: true, ms: Date.now() - t0 } };
}

/** `POST /admin/partition {block: [ids]}` (fault injection). */
async function partitionRoute(s: KvServer, req: IncomingMessage, t: RequestTarget, method: string): Promise<Answer> {
  if (method !== "POST") throw methodNotAllowed(method, t.rawPath);
  allowQuery(t.query, []);
  if (!s.cfg.faultInjection) throw new HttpError(403, "disabled", "fault injection is disabled (start with --fault-injection)");
  const b = await readJsonObject(req);
  if (!Array.isArray(b["block"]) || b["block"].length > 1000) throw new HttpError(400, "bad_request", "want {block: [ids]}");
  const ids = (b["block"] as unknown[]).map((x) => parseMemberId(x, "block[]"));
  s.transport.setBlocked(ids);
  s.log.warn("fault injection: traffic blocked", { block: ids });
  return { status: 200, body: { ok: true, blocked: ids } };
}

function keyOf(rawPath: string): string {
  const key = percentDecode(rawPath.slice(4), "key");
  if (key.length === 0) throw new HttpError(400, "bad_key", "the key is empty");
  if (utf8Length(key) > MAX_KEY_BYTES) throw new HttpError(400, "bad_key", `the key is over ${MAX_KEY_BYTES} bytes`);
  return key;
}

function checkValue(v: unknown, what: string): void {
  if (typeof v !== "string" || !isWellFormed(v)) throw new HttpError(400, "bad_value", `${what} must be a string (no lone surrogates)`);
  if (utf8Length(v) > MAX_VALUE_BYTES) throw new HttpError(413, "too_large", `${what} is over ${MAX_VALUE_BYTES} bytes`);
}

async function kvRoute(s: KvServer, req: IncomingMessage, t: RequestTarget, method: string): Promise<Answer> {
  const key = keyOf(t.rawPath);
  if (method === "GET") {
    allowQuery(t.query, ["serializable"]);
    const index = t.query.has("serializable") ? s.node.appliedIndex() : await s.node.readIndex();
    const value = s.sm.get(key);
    if (value === null) return { status: 404, body: { key, value: null, index, error: "not found", code: "not_found" } };
    return { status: 200, body: { key, value, index } };
  }
  if (method === "PUT") {
    allowQuery(t.query, []);
    const b = await readJsonObject(req);
    for (const f of Object.keys(b))
      if (f !== "value" && f !== "prev") throw new HttpError(400, "bad_request", `unknown field ${JSON.stringify(f.slice(0, 40))} (want {value, prev?})`);
    checkValue(b["value"], "value");
    const cmd: Command = { op: "put", key, value: b["value"] as string, quota: s.cfg.quotaBytes };
    if ("prev" in b) {
      if (b["prev"] !== null) checkValue(b["prev"], "prev");
      cmd.prev = b["prev"] as string | null;
    }
    return write(s, cmd);
  }
  if (method === "DELETE") {
    allowQuery(t.query, ["prev"]);
    const prev = t.query.get("prev");
    return write(s, prev === undefined ? { op: "del", key } : { op: "del", key, prev });
  }
  throw methodNotAllowed(method, "/kv/:key");
}

async function write(s: KvServer, cmd: Command): Promise<Answer> {
  if (cmd.op === "put") {
    // A cheap early refusal from this member's (possibly stale) state; the authority is apply.
    const cur = s.sm.get(cmd.key);
    const delta = cur === null ? utf8Length(cmd.key) + utf8Length(cmd.value) : utf8Length(cmd.value) - utf8Length(cur);
    if (delta > 0 && s.sm.usedBytes() + delta > cmd.quota) {
      s.earlyNoSpaceAt = s.sm.changes();
      throw noSpace(s.sm.usedBytes(), cmd.quota, undefined);
    }
  }
  const r = await s.propose(cmd);
  switch (r.code) {
    case "ok":
      return { status: 200, body: { ok: true, key: cmd.key, prev: r.prev, index: r.index } };
    case "compare_failed":
      return { status: 412, body: { ok: false, key: cmd.key, current: r.current, index: r.index, error: "compare failed", code: "compare_failed" } };
    case "no_space":
      throw noSpace(r.usedBytes, r.quota, r.index);
    case "bad_command":
      throw new HttpError(422, "bad_command", `refused at apply: ${r.reason}`, { outcome: "not_applied", index: r.index });
  }
}

function noSpace(usedBytes: number, quota: number, index: number | undefined): HttpError {
  return new HttpError(
    507,
    "no_space",
    `the write would take keys and values over the quota of ${quota} bytes (used: ${usedBytes}); delete keys to make room`,
    {
      ok: false,
      outcome: "not_applied",
      usedBytes,
      quota,
      ...(index === undefined ? {} : { index }),
    },
  );
}

async function range(s: KvServer, t: RequestTarget): Promise<Answer> {
  allowQuery(t.query, ["prefix", "after", "limit", "serializable"]);
  const limitText = t.query.get("limit");
  let limit = DEFAULT_RANGE_LIMIT;
  if (limitText !== undefined) {
    limit = /^[0-9]{1,7}$/.test(limitText) ? Number(limitText) : 0;
    if (limit < 1 || limit > MAX_RANGE_LIMIT) throw new HttpError(400, "bad_query", `limit must be an integer in 1..${MAX_RANGE_LIMIT}`);
  }
  const index = t.query.has("serializable") ? s.node.appliedIndex() : await s.node.readIndex();
  const page = s.sm.range(t.query.get("prefix") ?? "", t.query.get("after"), limit);
  return { status: 200, body: { kvs: page.kvs, more: page.more, next: page.next, index } };
}

function statusOf(s: KvServer): Record<string, unknown> {
  const st = s.node.status();
  const progress: Record<string, unknown> = {};
  if (st.progress !== undefined) {
    for (const [id, p] of st.progress)
      progress[id.toString()] = { match: p.match, next: p.next, state: p.state, recentActive: p.recentActive, isLearner: p.isLearner };
  }
  const alarm = s.sm.spaceAlarm();
  return {
    id: s.cfg.id.toString(),
    clusterId: s.clusterId,
    peerAuth: s.transport.authMode,
    raftState: st.softState.raftState,
    term: st.hardState.term,
    commit: st.hardState.commit,
    applied: s.node.appliedIndex(),
    snapshotIndex: st.snapshotIndex,
    firstIndex: s.storage.firstIndex(),
    lastIndex: s.storage.lastIndex(),
    keys: s.sm.size(),
    quota: { bytes: s.cfg.quotaBytes, usedBytes: s.sm.usedBytes(), alarm },
    alarms: alarm !== null || s.earlyNoSpaceAt === s.sm.changes() ? ["no_space"] : [],
    members: s.members(),
    progress,
    counters: s.counters,
    transport: s.transport.stats(),
    blocked: s.transport.blockedPeers(),
    eventLoop: s.loop.report(),
    rssBytes: process.memoryUsage.rss(),
    pid: process.pid,
  };
}
