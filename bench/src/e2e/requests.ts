/**
 * The requests of the e2e workload, prebuilt as bytes: a put and a linearizable read of each
 * key, for the tsraft KV service (`PUT /kv/:key {"value"}`, `GET /kv/:key`) and for etcd's
 * JSON gateway (`POST /v3/kv/put`, `POST /v3/kv/range`, keys and values base64). The same keys
 * and the same 256 stored bytes per value on both systems; etcd's request is longer on the
 * wire because of base64 (344 characters for 256 bytes).
 * @module
 */

/** The operations measured. */
export type Op = "put" | "get";

/** The request bytes of every key for one system and one operation. */
export interface RequestSet {
  /** requests[i] is the request for key i. */
  requests: Buffer[];
  /** A 2xx answer with a shorter body is an error (a read that did not return the value). */
  minBodyBytes: number;
}

/** The key of index i: `e2e-000042` (the same on both systems). */
export function keyName(i: number): string {
  return `e2e-${String(i).padStart(6, "0")}`;
}

/**
 * The value stored under key i: `bytes` printable ASCII bytes, different per key (so that the
 * JSON and base64 encodings of a value are its bytes, one character each).
 */
export function valueText(i: number, bytes: number): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let j = 0; j < bytes; j++) s += alphabet[(i * 7 + j * 13) % alphabet.length];
  return s;
}

function request(method: string, path: string, host: string, body: string | undefined): Buffer {
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
  if (body === undefined) return Buffer.from(`${head}\r\n`, "latin1");
  return Buffer.from(`${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, "latin1");
}

/** The tsraft KV service's requests (examples/kv HTTP API) for `keys` keys. */
export function kvRequests(op: Op, host: string, keys: number, valueBytes: number): RequestSet {
  const requests: Buffer[] = [];
  for (let i = 0; i < keys; i++) {
    const path = `/kv/${keyName(i)}`;
    requests.push(op === "put" ? request("PUT", path, host, JSON.stringify({ value: valueText(i, valueBytes) })) : request("GET", path, host, undefined));
  }
  return { requests, minBodyBytes: op === "get" ? valueBytes : 0 };
}

const b64 = (s: string): string => Buffer.from(s, "latin1").toString("base64");

/** etcd's JSON gateway requests for `keys` keys (a range of one key is linearizable by default). */
export function etcdRequests(op: Op, host: string, keys: number, valueBytes: number): RequestSet {
  const requests: Buffer[] = [];
  for (let i = 0; i < keys; i++) {
    const key = b64(keyName(i));
    const body = op === "put" ? JSON.stringify({ key, value: b64(valueText(i, valueBytes)) }) : JSON.stringify({ key });
    requests.push(request("POST", op === "put" ? "/v3/kv/put" : "/v3/kv/range", host, body));
  }
  // The answer of a read carries the value in base64: at least valueBytes * 4/3 characters.
  return { requests, minBodyBytes: op === "get" ? Math.ceil(valueBytes / 3) * 4 : 0 };
}

/**
 * A request picker for the closed loop: each client draws keys uniformly at random from its
 * own seeded generator (xorshift32), so runs are reproducible and clients do not move in step.
 */
export function randomKeys(set: RequestSet, seed: number): (client: number) => { bytes: Buffer; minBodyBytes: number } {
  const states: number[] = [];
  const n = set.requests.length;
  return (client) => {
    let x = states[client] ?? ((seed ^ Math.imul(client + 1, 0x9e3779b9)) | 0 || 1);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    states[client] = x;
    return { bytes: set.requests[(x >>> 0) % n]!, minBodyBytes: set.minBodyBytes };
  };
}

/** A request picker that hands out every key once, in order, over all clients; then undefined. */
export function everyKeyOnce(set: RequestSet): (client: number) => { bytes: Buffer; minBodyBytes: number } | undefined {
  let next = 0;
  return () => (next < set.requests.length ? { bytes: set.requests[next++]!, minBodyBytes: set.minBodyBytes } : undefined);
}
