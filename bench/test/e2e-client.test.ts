/** The e2e load client: latency histogram, response reader, closed loop, error counting, requests. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { LatencyHistogram } from "../src/e2e/histogram.js";
import { freePorts } from "../src/e2e/proc.js";
import { ProtocolError, ResponseReader } from "../src/e2e/http-response.js";
import { runLoad, type LoadOptions } from "../src/e2e/load-client.js";
import { etcdRequests, everyKeyOnce, keyName, kvRequests, randomKeys } from "../src/e2e/requests.js";

describe("LatencyHistogram", () => {
  test("percentiles within 1% of the exact ones, over six decades", () => {
    const h = new LatencyHistogram();
    const xs: number[] = [];
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 50_000; i++) {
      const ms = 0.01 * 10 ** (rnd() * 6); // 10 µs .. 10 s
      xs.push(ms);
      h.record(ms);
    }
    xs.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const exact = xs[Math.ceil(q * xs.length) - 1]!;
      const got = h.quantile(q);
      assert.ok(Math.abs(got - exact) / exact < 0.01, `q=${q}: ${got} vs exact ${exact}`);
    }
    assert.equal(h.count, 50_000);
    assert.equal(h.max, xs[xs.length - 1]);
    assert.equal(h.quantile(1), h.max);
  });

  test("empty, merge, reset", () => {
    const a = new LatencyHistogram();
    assert.ok(Number.isNaN(a.quantile(0.5)));
    assert.ok(Number.isNaN(a.mean()));
    a.record(1);
    const b = new LatencyHistogram();
    b.record(3);
    a.merge(b);
    assert.equal(a.count, 2);
    assert.equal(a.mean(), 2);
    assert.equal(a.max, 3);
    a.reset();
    assert.equal(a.count, 0);
  });
});

const KV_CHUNKED =
  "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-raft-leader: 1\r\nDate: Wed, 02 Dec 2026 06:38:54 GMT\r\n" +
  'Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n59\r\n{"ok":true,"key":"a","prev":null,"index":5,"leader":{"id":"1","http":"127.0.0.1:42201"}}\n\r\n0\r\n\r\n';
const ETCD_LENGTH =
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nGrpc-Metadata-Content-Type: application/grpc\r\nDate: Wed, 02 Dec 2026 06:39:07 GMT\r\nContent-Length: 113\r\n\r\n" +
  '{"header":{"cluster_id":"14978503326975659697","member_id":"7737459067762037912","revision":"3","raft_term":"2"}}';

describe("ResponseReader", () => {
  for (const [name, wire, bodyBytes] of [
    ["chunked (the KV service)", KV_CHUNKED, 0x59],
    ["Content-Length (etcd's gateway)", ETCD_LENGTH, 113],
  ] as const) {
    test(`${name}, split at every byte`, () => {
      const bytes = Buffer.from(wire, "latin1");
      for (let cut = 0; cut <= bytes.length; cut++) {
        const r = new ResponseReader();
        const got = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
        assert.deepEqual(got, [{ status: 200, bodyBytes, close: false }], `cut at ${cut}`);
        assert.ok(r.idle());
      }
      const r = new ResponseReader();
      const one = [...bytes].flatMap((b) => r.push(Buffer.from([b])));
      assert.equal(one.length, 1);
    });
  }

  test("two responses in one chunk, a 404, Connection: close, 204", () => {
    const r = new ResponseReader();
    const notFound = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    const got = r.push(Buffer.from(KV_CHUNKED + notFound + "HTTP/1.1 204 No Content\r\n\r\n", "latin1"));
    assert.deepEqual(got, [
      { status: 200, bodyBytes: 0x59, close: false },
      { status: 404, bodyBytes: 2, close: true },
      { status: 204, bodyBytes: 0, close: false },
    ]);
  });

  test("what it cannot frame is a ProtocolError", () => {
    const bad = [
      "SSH-2.0-OpenSSH\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY",
    ];
    for (const b of bad) assert.throws(() => new ResponseReader().push(Buffer.from(b, "latin1")), ProtocolError, b);
    assert.throws(() => new ResponseReader().push(Buffer.alloc(20_000, 65)), ProtocolError);
  });
});

interface TestServer {
  port: number;
  handled: number;
  inFlight: number;
  maxInFlight: number;
  connections(): Promise<number>;
  close(): Promise<void>;
}

/** A local HTTP server; `handler` answers (or not) each request. */
async function testServer(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void): Promise<TestServer> {
  const state = { handled: 0, inFlight: 0, maxInFlight: 0 };
  const srv = http.createServer((req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    res.on("close", () => state.inFlight--);
    req.resume();
    req.on("end", () => handler(req, res, ++state.handled));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as AddressInfo).port,
    get handled() {
      return state.handled;
    },
    get inFlight() {
      return state.inFlight;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    connections: () => new Promise((r) => srv.getConnections((_e, n) => r(n))),
    close: () => {
      srv.closeAllConnections();
      return new Promise((r) => srv.close(() => r()));
    },
  };
}

const body200 = (res: http.ServerResponse, body = '{"value":"' + "v".repeat(300) + '"}'): void => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(body);
};

function load(port: number, extra: Partial<LoadOptions> = {}): Promise<Awaited<ReturnType<typeof runLoad>>> {
  const set = kvRequests("get", "127.0.0.1", 50, 0);
  return runLoad({ host: "127.0.0.1", port, clients: 4, next: randomKeys(set, 1), warmupSeconds: 0.1, seconds: 0.5, timeoutMs: 2000, ...extra });
}

describe("runLoad", () => {
  test("closed loop: at most one request per client in flight; stops and closes every connection", async () => {
    const srv = await testServer((_req, res) => setTimeout(() => body200(res), 2));
    try {
      const t0 = Date.now();
      const r = await load(srv.port, { clients: 8 });
      assert.ok(Date.now() - t0 < 3000, "stops by itself");
      assert.equal(r.errorCount, 0, JSON.stringify(r.errors));
      assert.ok(r.ok > 20, `ok ${r.ok}`);
      assert.ok(srv.maxInFlight <= 8, `max in flight ${srv.maxInFlight}`);
      assert.ok(srv.handled >= r.ok && srv.handled <= r.sent, `${srv.handled} handled, ${r.ok} counted, ${r.sent} sent`);
      assert.equal(r.latency.count, r.ok);
      assert.ok(r.latency.quantile(0.5) >= 2, `p50 ${r.latency.quantile(0.5)}`);
      assert.ok(Math.abs(r.seconds - 0.5) < 0.1, `window ${r.seconds}`);
      assert.equal(r.connects, 8);
      await new Promise((res) => setTimeout(res, 100));
      assert.equal(await srv.connections(), 0);
    } finally {
      await srv.close();
    }
  });

  test("non-2xx answers are errors by status, not throughput nor latency", async () => {
    const srv = await testServer((_req, res, n) => {
      if (n % 4 === 0) {
        res.writeHead(503, { "content-type": "application/json" });
        res.end('{"code":"no_leader"}');
      } else body200(res);
    });
    try {
      const r = await load(srv.port);
      assert.ok(r.errors["status 503"]! > 0, JSON.stringify(r.errors));
      assert.equal(r.errorCount, r.errors["status 503"]);
      assert.equal(r.latency.count, r.ok);
      const share = r.errorCount / (r.ok + r.errorCount);
      assert.ok(share > 0.15 && share < 0.35, `error share ${share}`);
    } finally {
      await srv.close();
    }
  });

  test("an unanswered request is a timeout error, and the run still ends on time", async () => {
    const srv = await testServer((_req, res, n) => {
      if (n % 10 !== 3) body200(res); // the 3rd, 13th, ... request is never answered
    });
    try {
      const t0 = Date.now();
      const r = await load(srv.port, { timeoutMs: 200, seconds: 1 });
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      assert.ok((r.errors.timeout ?? 0) > 0, JSON.stringify(r.errors));
      assert.ok(r.ok > 0);
      assert.ok(r.connects > 4, "a timed-out connection is replaced");
    } finally {
      await srv.close();
    }
  });

  test("a read answered 2xx without the value is an error (short body)", async () => {
    const srv = await testServer((_req, res) => body200(res, "{}"));
    try {
      const set = kvRequests("get", "127.0.0.1", 10, 256);
      const r = await runLoad({ host: "127.0.0.1", port: srv.port, clients: 2, next: randomKeys(set, 1), warmupSeconds: 0, seconds: 0.3, timeoutMs: 1000 });
      assert.equal(r.ok, 0);
      assert.ok((r.errors["short body"] ?? 0) > 0, JSON.stringify(r.errors));
    } finally {
      await srv.close();
    }
  });

  test("Connection: close is followed by a new connection, without errors", async () => {
    const srv = await testServer((_req, res) => {
      res.setHeader("connection", "close");
      body200(res);
    });
    try {
      const r = await load(srv.port, { clients: 2, seconds: 0.3 });
      assert.equal(r.errorCount, 0, JSON.stringify(r.errors));
      assert.ok(r.ok > 5);
      assert.ok(r.connects > r.ok / 2, `${r.connects} connects for ${r.ok} answers`);
    } finally {
      await srv.close();
    }
  });

  test("a server that is not there: connection errors, and the run ends", async () => {
    // free when drawn, and under the ephemeral range: no outbound connection takes it meanwhile
    const [port] = await freePorts(1);
    const r = await load(port!, { warmupSeconds: 0, seconds: 0.3 });
    assert.equal(r.ok, 0);
    assert.ok((r.errors.connection ?? 0) > 0, JSON.stringify(r.errors));
  });

  test("a fixed list of requests (the preload) ends when every key was sent", async () => {
    const paths: string[] = [];
    const srv = await testServer((req, res) => {
      paths.push(req.url ?? "");
      body200(res);
    });
    try {
      const set = kvRequests("put", "127.0.0.1", 100, 256);
      const r = await runLoad({ host: "127.0.0.1", port: srv.port, clients: 7, next: everyKeyOnce(set), warmupSeconds: 0, seconds: Infinity, timeoutMs: 1000 });
      assert.equal(r.ok, 100);
      assert.equal(r.errorCount, 0);
      assert.deepEqual(paths.sort(), Array.from({ length: 100 }, (_, i) => `/kv/${keyName(i)}`).sort());
    } finally {
      await srv.close();
    }
  });
});

describe("requests", () => {
  function parse(b: Buffer): { head: string; body: string } {
    const s = b.toString("latin1");
    const i = s.indexOf("\r\n\r\n");
    const head = s.slice(0, i);
    const body = s.slice(i + 4);
    const cl = /Content-Length: (\d+)/.exec(head);
    assert.equal(cl === null ? 0 : Number(cl[1]), body.length);
    return { head, body };
  }

  test("the KV service: PUT /kv/:key {value} and GET /kv/:key, 256-byte values", () => {
    const put = kvRequests("put", "127.0.0.1", 1000, 256);
    assert.equal(put.requests.length, 1000);
    const p = parse(put.requests[42]!);
    assert.match(p.head, /^PUT \/kv\/e2e-000042 HTTP\/1\.1\r\nHost: 127\.0\.0\.1\r\n/);
    assert.equal((JSON.parse(p.body) as { value: string }).value.length, 256);
    const get = kvRequests("get", "127.0.0.1", 1000, 256);
    assert.match(parse(get.requests[7]!).head, /^GET \/kv\/e2e-000007 HTTP\/1\.1/);
    assert.equal(get.minBodyBytes, 256);
    assert.equal(put.minBodyBytes, 0);
  });

  test("etcd's gateway: the same keys and 256 stored bytes, base64", () => {
    const kvValue = (JSON.parse(parse(kvRequests("put", "h", 10, 256).requests[3]!).body) as { value: string }).value;
    const put = parse(etcdRequests("put", "h", 10, 256).requests[3]!);
    assert.match(put.head, /^POST \/v3\/kv\/put HTTP\/1\.1/);
    const j = JSON.parse(put.body) as { key: string; value: string };
    assert.equal(Buffer.from(j.key, "base64").toString(), keyName(3));
    assert.equal(Buffer.from(j.value, "base64").toString("latin1"), kvValue);
    const range = parse(etcdRequests("get", "h", 10, 256).requests[3]!);
    assert.match(range.head, /^POST \/v3\/kv\/range HTTP\/1\.1/);
    assert.deepEqual(JSON.parse(range.body), { key: j.key });
    assert.equal(etcdRequests("get", "h", 10, 256).minBodyBytes, 344);
  });

  test("randomKeys: reproducible per client, every key drawn, clients not in step", () => {
    const set = kvRequests("get", "h", 50, 0);
    const a = randomKeys(set, 7);
    const b = randomKeys(set, 7);
    const seen = new Set<Buffer>();
    const first: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const x = a(i % 4)!.bytes;
      assert.equal(x, b(i % 4)!.bytes);
      seen.add(x);
      if (i < 4) first.push(x);
    }
    assert.equal(seen.size, 50);
    assert.ok(new Set(first).size > 1, "the clients start on different keys");
  });
});
