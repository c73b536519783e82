/**
 * Random HTTP requests for the fuzz test, sent over raw sockets so that anything can be sent:
 * any method, a raw target (percent escapes good and bad, dot segments, raw UTF-8, huge), any
 * content type, bodies that are JSON of every shape, bytes, or large. Seeded, so a failure can
 * be replayed (timing aside).
 */
import { connect } from "node:net";
import { Prng as Rng } from "@tsraft/raft/testing";

/** One generated request. */
export interface FuzzRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer | undefined;
}

/** The status of the answer (0: none: the connection closed or failed first) and its first bytes. */
export interface FuzzAnswer {
  status: number;
  /** The first 600 bytes of the answer (status line, headers, start of the body). */
  head: string;
  error?: string;
}

/** The seedable generator of the fuzzer: the simulator's `Prng`. */
export { Rng };

const METHODS = ["GET", "GET", "GET", "PUT", "PUT", "PUT", "POST", "POST", "DELETE", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO"];
const BASES = [
  "/kv/",
  "/kv/",
  "/kv/",
  "/kv",
  "/kv",
  "/members",
  "/members/",
  "/members/5/promote",
  "/transfer-leader",
  "/status",
  "/health",
  "/admin/partition",
  "/",
  "",
  "*",
  "http://h/kv/",
  "/KV/",
];
const PIECES = [
  "a",
  "b",
  "key",
  "/",
  "//",
  ".",
  "..",
  "./",
  "../",
  "%",
  "%2",
  "%zz",
  "%ff",
  "%c3%28",
  "%ed%a0%80",
  "%2F",
  "%2e%2e",
  "%00",
  "%E2%82%AC",
  "%F0%9F%98%80",
  "+",
  "?",
  "?x",
  ";",
  "~",
  "%25",
  "*",
  "'",
  "__proto__",
  "constructor",
  "9999999999999999999999",
  "18446744073709551616",
  "-1",
  "0",
  "5",
];
/** Raw characters that HTTP does not allow in a target (Node's parser answers 400 itself); sent now and then. */
const RAW_PIECES = ["é", "€", "😀", "\u0000", " ", "#", "\\", '"', "<", "{", "\u007f"];
const QUERY_NAMES = ["prefix", "after", "limit", "serializable", "prev", "x", "", "%zz", "prefix", "limit"];
const QUERY_VALUES = ["", "a", "%", "%zz", "0", "1", "100", "1000", "1001", "-5", "1e3", "99999999999", "%E2%82%AC", "+", "..", "__proto__"];
const CONTENT_TYPES = [
  "application/json",
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "application/jsonx",
  "",
  "\u00e9",
];
const ADDRS = ["127.0.0.1:1", "garbage", "", "h:0", "h:99999", "h:1e3", "[::1]:80", " h:1", "x".repeat(300) + ":1", "localhost:65535", 5, null, true, {}];
const IDS = ["5", "7", 9, "0", 0, -1, "18446744073709551616", "18446744073709551615", 2 ** 53, 1.5, "abc", null, [], {}, "00005"];

function randomString(r: Rng, max: number): string {
  const n = r.int(max);
  let s = "";
  for (let i = 0; i < n; i++) s += r.chance(0.8) ? String.fromCharCode(0x20 + r.int(95)) : String.fromCharCode(r.int(0x10000));
  return s;
}

function randomJson(r: Rng, depth: number): unknown {
  const k = r.int(depth > 3 ? 5 : 8);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick([0, -1, 1.5, 2 ** 64, 1e308, 7]);
    case 3:
      return randomString(r, 20);
    case 4:
      return r.chance(0.1) ? "v".repeat(r.int(200_000)) : randomString(r, 50);
    case 5:
      return Array.from({ length: r.int(4) }, () => randomJson(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(4); i > 0; i--)
        o[r.pick(["value", "prev", "id", "raftAddr", "httpAddr", "to", "block", "learner", "__proto__", "x", "quota"])] = randomJson(r, depth + 1);
      return o;
    }
  }
}

/** A body that is mostly plausible for the route, often not. */
function randomBody(r: Rng, base: string): Buffer | undefined {
  const k = r.int(12);
  if (k === 0) return undefined;
  if (k === 1) return Buffer.from(randomString(r, 100), "utf8");
  if (k === 2) return Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
  if (k === 3) return Buffer.alloc(r.chance(0.5) ? 2 * 1024 * 1024 : 1024 * 1024 + 70 * 1024, 0x61); // over the limit
  if (k === 4) return Buffer.from("{".repeat(r.int(5000)));
  if (k === 5) return Buffer.from(JSON.stringify(randomJson(r, 0)) ?? "null");
  if (base.startsWith("/members"))
    return Buffer.from(
      JSON.stringify({
        id: r.pick(IDS),
        raftAddr: r.pick(ADDRS),
        httpAddr: r.pick(ADDRS),
        ...(r.chance(0.3) ? { learner: r.pick([true, false, "yes"]) } : {}),
      }),
    );
  if (base === "/transfer-leader") return Buffer.from(JSON.stringify({ to: r.pick(IDS) }));
  const body: Record<string, unknown> = { value: r.chance(0.9) ? randomString(r, 40) : randomJson(r, 1) };
  if (r.chance(0.3)) body["prev"] = r.pick([null, "x", 5, randomString(r, 5)]);
  return Buffer.from(JSON.stringify(body));
}

function randomTarget(r: Rng): { base: string; target: string } {
  const base = r.pick(BASES);
  let t = base;
  const pieces = r.chance(0.05) ? 2000 + r.int(4000) : r.int(6);
  for (let i = 0; i < pieces; i++) t += r.chance(0.03) ? r.pick(RAW_PIECES) : r.pick(PIECES);
  if (r.chance(0.4)) {
    const q: string[] = [];
    for (let i = 1 + r.int(3); i > 0; i--) q.push(r.chance(0.2) ? r.pick(QUERY_NAMES) : `${r.pick(QUERY_NAMES)}=${r.pick(QUERY_VALUES)}`);
    t += `?${q.join("&")}`;
  }
  return { base, target: t };
}

/** One random request. */
export function randomRequest(r: Rng): FuzzRequest {
  const method = r.pick(METHODS);
  const { base, target } = randomTarget(r);
  const body = method === "GET" && r.chance(0.8) ? undefined : randomBody(r, base);
  const headers: [string, string][] = [];
  const ct = r.pick(CONTENT_TYPES);
  if (ct !== "" && (body !== undefined || r.chance(0.3))) headers.push(["content-type", ct]);
  if (r.chance(0.1)) headers.push(["origin", "http://evil.example"]);
  if (r.chance(0.05)) headers.push(["transfer-encoding", "chunked"]);
  return { method, target, headers, body };
}

/** Sends `q` to `addr` on a fresh connection (`Connection: close`) and reads the status line. Never rejects. */
export function sendRaw(addr: string, q: FuzzRequest, timeoutMs: number): Promise<FuzzAnswer> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve) => {
    let done = false;
    let got = Buffer.alloc(0);
    const finish = (a: FuzzAnswer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(a);
    };
    const sock = connect(Number(addr.slice(i + 1)), addr.slice(0, i));
    const timer = setTimeout(() => finish({ status: 0, head: got.subarray(0, 600).toString("latin1"), error: "TIMEOUT" }), timeoutMs);
    const chunked = q.headers.some(([k]) => k === "transfer-encoding");
    let head = `${q.method} ${q.target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n`;
    for (const [k, v] of q.headers) head += `${k}: ${v}\r\n`;
    if (q.body !== undefined && !chunked) head += `content-length: ${q.body.length}\r\n`;
    head += "\r\n";
    sock.on("connect", () => {
      sock.write(Buffer.from(head, "utf8"));
      if (q.body !== undefined)
        sock.write(chunked ? Buffer.concat([Buffer.from(`${q.body.length.toString(16)}\r\n`), q.body, Buffer.from("\r\n0\r\n\r\n")]) : q.body);
    });
    const answer = (error: string): FuzzAnswer => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got.subarray(0, 64).toString("latin1"));
      const headText = got.subarray(0, 600).toString("latin1");
      return m === null ? { status: 0, head: headText, error } : { status: Number(m[1]), head: headText };
    };
    sock.on("data", (c: Buffer) => {
      if (got.length < 64 * 1024) got = Buffer.concat([got, c]);
    });
    // The server closes after its answer (connection: close): the answer is what came before.
    sock.on("error", (e: NodeJS.ErrnoException) => finish(answer(e.code ?? e.message)));
    sock.on("close", () => finish(answer("CLOSED")));
  });
}
