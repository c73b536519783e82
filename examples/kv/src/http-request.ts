/**
 * Reading an HTTP request strictly: the target from the raw `req.url` (no dot-segment
 * resolution, no lenient decoding), percent-decoding that refuses bad escapes and bad UTF-8,
 * query parameters checked against what a route takes, ids as uint64, and bodies that must be
 * JSON objects sent as `application/json`. Every client mistake is an {@link HttpError} 4xx
 * with a code; nothing here throws anything else.
 *
 * Why `application/json` is required: a web page can make a browser send a cross-origin POST
 * with `text/plain` (or no body) without asking first; with any other content type the browser
 * must send a CORS preflight (OPTIONS), which this server never grants. So a page on another
 * origin cannot change the cluster through a browser on the host.
 * @module
 */
import type { IncomingMessage } from "node:http";
import { MAX_BODY_BYTES } from "./command.js";
import { HttpError } from "./errors.js";

/** A request target split into the raw path and the decoded query parameters. */
export interface RequestTarget {
  /** The path exactly as sent (percent escapes and dot segments untouched). */
  rawPath: string;
  /** Query parameters, decoded (`+` is a space, as in HTML forms); each name at most once. */
  query: Map<string, string>;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * Decodes percent escapes strictly: `%` must be followed by two hex digits, and the bytes must
 * be UTF-8. Characters 0x80-0xFF stand for raw bytes (Node hands raw non-ASCII bytes of a
 * request target over as latin1), so raw UTF-8 in a path decodes as it was meant.
 * @throws {@link HttpError} 400 `bad_encoding`, naming `what`.
 */
export function percentDecode(s: string, what: string, plusIsSpace = false): string {
  if (!/[%+\u0080-\uffff]/.test(s)) return s;
  const bytes = new Uint8Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const h = s.slice(i + 1, i + 3);
      if (!HEX.test(h)) throw new HttpError(400, "bad_encoding", `${what}: '%' must be followed by two hex digits`);
      bytes[n++] = parseInt(h, 16);
      i += 2;
    } else if (c === 0x2b && plusIsSpace) {
      bytes[n++] = 0x20;
    } else if (c > 0xff) {
      throw new HttpError(400, "bad_encoding", `${what}: not a byte string`);
    } else {
      bytes[n++] = c;
    }
  }
  try {
    return strictUtf8.decode(bytes.subarray(0, n));
  } catch {
    throw new HttpError(400, "bad_encoding", `${what}: not UTF-8 once decoded`);
  }
}

function parseQuery(raw: string): Map<string, string> {
  const q = new Map<string, string>();
  for (const part of raw.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq), "query parameter name", true);
    const value = eq < 0 ? "" : percentDecode(part.slice(eq + 1), `query parameter ${JSON.stringify(name)}`, true);
    if (q.has(name)) throw new HttpError(400, "bad_query", `query parameter ${JSON.stringify(name)} given twice`);
    q.set(name, value);
  }
  return q;
}

/**
 * Splits a raw request target (origin-form `/p?q`, or absolute-form `http://h/p?q` as proxies
 * send it) into the raw path and the query.
 * @throws {@link HttpError} 400 `bad_target` or `bad_query`/`bad_encoding`.
 */
export function parseTarget(url: string | undefined): RequestTarget {
  let t = url ?? "";
  const abs = /^https?:\/\/[^/?#]*/i.exec(t);
  if (abs !== null) t = t.slice(abs[0].length) || "/";
  if (!t.startsWith("/") || t.includes("#")) throw new HttpError(400, "bad_target", "the request target must be a path (/...) without a fragment");
  const qi = t.indexOf("?");
  return qi < 0 ? { rawPath: t, query: new Map() } : { rawPath: t.slice(0, qi), query: parseQuery(t.slice(qi + 1)) };
}

/**
 * Checks that the query holds only parameters in `allowed`.
 * @throws {@link HttpError} 400 `bad_query` naming the first other one.
 */
export function allowQuery(query: Map<string, string>, allowed: readonly string[]): void {
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      throw new HttpError(
        400,
        "bad_query",
        `unknown query parameter ${JSON.stringify(name.slice(0, 64))}${allowed.length > 0 ? ` (this route takes ${allowed.join(", ")})` : ""}`,
      );
    }
  }
}

const UINT64_MAX = 0xffffffffffffffffn;

/**
 * A member id: a positive uint64, as a decimal string or a JSON number (a number only up to
 * 2^53-1, beyond which JSON numbers lose digits).
 * @throws {@link HttpError} 400 `bad_id`.
 */
export function parseMemberId(v: unknown, what: string): bigint {
  let id: bigint | undefined;
  if (typeof v === "string" && /^[0-9]{1,20}$/.test(v)) id = BigInt(v);
  else if (typeof v === "number" && Number.isSafeInteger(v)) id = BigInt(v);
  if (id === undefined || id < 1n || id > UINT64_MAX) {
    throw new HttpError(400, "bad_id", `${what} must be an integer in 1..2^64-1 (a string beyond 2^53-1)`);
  }
  return id;
}

/** Whether the request says its body is JSON (`application/json`, parameters allowed). */
export function isJsonContentType(req: IncomingMessage): boolean {
  const ct = req.headers["content-type"];
  return typeof ct === "string" && /^application\/json\s*(;|$)/i.test(ct.trim());
}

/**
 * Reads a JSON object body. The content type must be `application/json` (see the module
 * comment), even when the body is empty (`{}` is then assumed).
 * @throws {@link HttpError} 415 `unsupported_media_type`, 413 `too_large`, 400 `bad_json`,
 * 400 `bad_request` (not an object), 400 `aborted` (the body was cut off).
 */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!isJsonContentType(req)) {
    throw new HttpError(415, "unsupported_media_type", "request bodies must be sent as content-type: application/json");
  }
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, "too_large", `body over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of req as AsyncIterable<Buffer>) {
      n += c.length;
      if (n > MAX_BODY_BYTES) throw new HttpError(413, "too_large", `body over ${MAX_BODY_BYTES} bytes`);
      chunks.push(c);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client went away (or the connection broke) in the middle of its body: its doing, and
    // nobody is left to answer; not an internal error.
    throw new HttpError(400, "aborted", "the request body was cut off");
  }
  if (n === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(strictUtf8.decode(Buffer.concat(chunks, n)));
  } catch {
    throw new HttpError(400, "bad_json", "body is not UTF-8 JSON");
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new HttpError(400, "bad_request", "body must be a JSON object");
  return v as Record<string, unknown>;
}
