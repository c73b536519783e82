/**
 * One control request (not load): a JSON request to 127.0.0.1 with a timeout, on a fresh
 * connection, used to ask members for their status. Never throws for HTTP errors or network
 * failures: the caller polls and decides.
 * @module
 */
import http from "node:http";

/** The answer of {@link httpJson}: `status` 0 when no answer came (refused, timeout). */
export interface JsonAnswer {
  status: number;
  body: unknown;
}

/** Sends `method url` with an optional JSON body; resolves with the status and parsed body. */
export function httpJson(method: string, url: string, body: unknown, timeoutMs: number): Promise<JsonAnswer> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    let done = false;
    const finish = (a: JsonAnswer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = http.request(
      url,
      { method, agent: false, headers: payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let parsed: unknown = undefined;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            // not JSON: body stays undefined
          }
          finish({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on("error", () => finish({ status: 0, body: undefined }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish({ status: 0, body: undefined });
    }, timeoutMs);
    req.on("error", () => finish({ status: 0, body: undefined }));
    req.end(payload);
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
