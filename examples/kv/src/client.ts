/**
 * A small HTTP client for the KV API, with a timeout on every request and an outcome that
 * says what is known about a failed write: `not_applied` (refused before it was submitted, or
 * the connection was refused) or `unknown` (timed out, connection lost after sending, 504).
 * It never retries on its own: a retried write could be applied twice.
 * @module
 */
import { request } from "node:http";
import { request as httpsRequest } from "node:https";

/** The answer to one request. */
export interface KvResponse {
  /** HTTP status, or 0 when no answer came. */
  status: number;
  /** The JSON body (empty when no answer came). */
  body: Record<string, unknown>;
  /** For a request without an answer: the network error code (`ECONNREFUSED`, `TIMEOUT`, ...). */
  error?: string;
}

/** HTTPS for {@link kvRequest}: the CA that signed the server's certificate, and a client certificate when the server asks for one. */
export interface ClientTls {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** What is known about the effect of a write. */
export type Outcome = "ok" | "not_applied" | "unknown";

/**
 * Sends one request to `addr` (`host:port`) and resolves with the answer, or with status 0
 * and `error` when none came within `timeoutMs`. Never rejects. A body is sent as JSON
 * (`content-type: application/json`); `tls` makes it an HTTPS request.
 */
export function kvRequest(addr: string, method: string, path: string, body: unknown, timeoutMs: number, tls?: ClientTls): Promise<KvResponse> {
  const i = addr.lastIndexOf(":");
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const send = tls === undefined ? request : httpsRequest;
  return new Promise<KvResponse>((resolve) => {
    let done = false;
    const finish = (r: KvResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = send(
      {
        host: addr.slice(0, i),
        port: Number(addr.slice(i + 1)),
        method,
        path,
        agent: false,
        headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": payload.length },
        ...(tls === undefined ? {} : { ca: tls.ca, ...(tls.cert === undefined ? {} : { cert: tls.cert }), ...(tls.key === undefined ? {} : { key: tls.key }) }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
          } catch {
            parsed = {};
          }
          finish({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on("error", (err: NodeJS.ErrnoException) => finish({ status: 0, body: {}, error: err.code ?? err.message }));
      },
    );
    const timer = setTimeout(() => {
      finish({ status: 0, body: {}, error: "TIMEOUT" });
      req.destroy();
    }, timeoutMs);
    req.on("error", (err: NodeJS.ErrnoException) => finish({ status: 0, body: {}, error: err.code ?? err.message }));
    req.end(payload);
  });
}

/**
 * Every key with `prefix` and its value, read page by page (`GET /kv?prefix=&after=&limit=1000`,
 * `serializable` reads a member's local state). Resolves with undefined if a page fails.
 * Bounded: at most `maxPages` pages.
 */
export async function listAll(
  addr: string,
  prefix: string,
  opts: { serializable?: boolean; timeoutMs?: number; maxPages?: number; tls?: ClientTls } = {},
): Promise<{ kvs: Map<string, string>; index: number } | undefined> {
  const kvs = new Map<string, string>();
  let after: string | undefined;
  let index = 0;
  for (let page = 0; page < (opts.maxPages ?? 10_000); page++) {
    const q = new URLSearchParams({ prefix, limit: "1000" });
    if (after !== undefined) q.set("after", after);
    if (opts.serializable === true) q.set("serializable", "");
    const r = await kvRequest(addr, "GET", `/kv?${q.toString()}`, undefined, opts.timeoutMs ?? 5000, opts.tls);
    if (r.status !== 200) return undefined;
    if (page === 0) index = r.body["index"] as number;
    for (const kv of r.body["kvs"] as { key: string; value: string }[]) kvs.set(kv.key, kv.value);
    if (r.body["more"] !== true) return { kvs, index };
    after = r.body["next"] as string;
  }
  return undefined;
}

/**
 * What a write's answer says about its effect. 200 and 412 are definite answers (`ok`: the
 * command was applied, a failed compare included).
 */
export function writeOutcome(r: KvResponse): Outcome {
  if (r.status === 200 || r.status === 412) return "ok";
  if (r.body["outcome"] === "unknown") return "unknown";
  if (r.status === 0) return r.error === "ECONNREFUSED" ? "not_applied" : "unknown";
  if (r.body["outcome"] === "not_applied") return "not_applied";
  if (r.status >= 400 && r.status < 500) return "not_applied";
  return "unknown";
}
