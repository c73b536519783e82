/**
 * A small HTTP client for the KV API, with a timeout on every request and an outcome that
 * says what is known about a failed write: `not_applied` (refused before it was submitted, or
 * the connection was refused) or `unknown` (timed out, connection lost after sending, 504).
 * It never retries on its own: a retried write could be applied twice.
 * @module
 */
import { request } from "node:http";

/** The answer to one request. */
export interface KvResponse {
  /** HTTP status, or 0 when no answer came. */
  status: number;
  /** The JSON body (empty when no answer came). */
  body: Record<string, unknown>;
  /** For a request without an answer: the network error code (`ECONNREFUSED`, `TIMEOUT`, ...). */
  error?: string;
}

/** What is known about the effect of a write. */
export type Outcome = "ok" | "not_applied" | "unknown";

/**
 * Sends one request to `addr` (`host:port`) and resolves with the answer, or with status 0
 * and `error` when none came within `timeoutMs`. Never rejects.
 */
export function kvRequest(addr: string, method: string, path: string, body: unknown, timeoutMs: number): Promise<KvResponse> {
  const i = addr.lastIndexOf(":");
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise<KvResponse>((resolve) => {
    let done = false;
    const finish = (r: KvResponse): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = request(
      {
        host: addr.slice(0, i),
        port: Number(addr.slice(i + 1)),
        method,
        path,
        agent: false,
        headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": payload.length },
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
 * What a write's answer says about its effect. 200 and 412 are definite answers (`ok`: the
 * command was applied, a failed compare included).
 */
export function writeOutcome(r: KvResponse): Outcome {
  if (r.status === 200 || r.status === 412) return "ok";
  if (r.status === 0) return r.error === "ECONNREFUSED" ? "not_applied" : "unknown";
  if (r.body["outcome"] === "not_applied") return "not_applied";
  if (r.status >= 400 && r.status < 500) return "not_applied";
  return "unknown";
}
