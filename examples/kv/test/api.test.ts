/**
 * The HTTP API against a live member (in this process): every client mistake is a 4xx with a
 * code; request bodies must be JSON (browsers must preflight, and preflights are refused);
 * keys are the raw path; addresses and ids are checked before anything is proposed; range
 * answers are paged and bounded; the quota refuses writes with 507 `no_space`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { RANGE_PAGE_BYTES, listAll } from "@tsraft/example-kv";
import { MAX_KEY_BYTES } from "../src/command.js";
import { InProcCluster } from "./helpers/inproc.js";

/** A raw request: any method, path bytes, headers and body; resolves with status, headers and body text. */
function raw(
  addr: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json: Record<string, unknown> }> {
  const i = addr.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const req = request({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)), method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

const JSON_CT = { "content-type": "application/json" };

/** A request whose body never comes (chunked, or shorter than its content-length), sent raw; resolves with the status and the time to it. */
function unfinished(addr: string, header: string): Promise<{ status: number; ms: number }> {
  const i = addr.lastIndexOf(":");
  const t0 = Date.now();
  return new Promise((resolve) => {
    let got = "";
    const sock = connect(Number(addr.slice(i + 1)), addr.slice(0, i), () => {
      sock.write(
        `PUT /kv/slow HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${header}\r\n\r\n${header.startsWith("content-length") ? '{"val' : ""}`,
      );
    });
    const timer = setTimeout(() => sock.destroy(), 40_000);
    const done = (): void => {
      clearTimeout(timer);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0), ms: Date.now() - t0 });
    };
    sock.on("data", (d: Buffer) => (got += d.toString("latin1")));
    sock.on("close", done);
    sock.on("error", () => {});
  });
}

describe("HTTP API: client mistakes, keys, content types, addresses, pages", { timeout: 120_000 }, () => {
  let c: InProcCluster;
  let http: string;
  /** Sent first, checked last (it takes the request timeout). */
  let slow: Promise<{ status: number; ms: number }[]>;
  before(async () => {
    c = await InProcCluster.create(1, ["--request-timeout-ms", "1000"]);
    await c.startAll();
    await c.waitForLeader();
    http = c.member(1n).addr.http;
    slow = Promise.all([unfinished(http, "transfer-encoding: chunked"), unfinished(http, "content-length: 500")]);
  });
  after(async () => {
    await c.cleanup();
  });

  const mistakes: { name: string; method: string; path: string; headers?: Record<string, string>; body?: string; status: number; code: string }[] = [
    { name: "malformed percent-encoding in a key", method: "GET", path: "/kv/a%zz", status: 400, code: "bad_encoding" },
    { name: "a lone '%' at the end of a key", method: "PUT", path: "/kv/a%", headers: JSON_CT, body: '{"value":"v"}', status: 400, code: "bad_encoding" },
    { name: "percent-encoded bytes that are not UTF-8", method: "GET", path: "/kv/%ff%fe", status: 400, code: "bad_encoding" },
    { name: "malformed percent-encoding in the query", method: "GET", path: "/kv?prefix=%e0%a4", status: 400, code: "bad_encoding" },
    { name: "a JSON body of null", method: "PUT", path: "/kv/x", headers: JSON_CT, body: "null", status: 400, code: "bad_request" },
    { name: "a JSON body that is an array", method: "POST", path: "/members", headers: JSON_CT, body: "[1]", status: 400, code: "bad_request" },
    { name: "a body that is not JSON", method: "PUT", path: "/kv/x", headers: JSON_CT, body: "{", status: 400, code: "bad_json" },
    { name: "a value that is not a string", method: "PUT", path: "/kv/x", headers: JSON_CT, body: '{"value":1}', status: 400, code: "bad_value" },
    { name: "a value with a lone surrogate", method: "PUT", path: "/kv/x", headers: JSON_CT, body: '{"value":"\\ud800"}', status: 400, code: "bad_value" },
    { name: "an unknown body field", method: "PUT", path: "/kv/x", headers: JSON_CT, body: '{"value":"v","ttl":3}', status: 400, code: "bad_request" },
    { name: "an empty key", method: "GET", path: "/kv/", status: 400, code: "bad_key" },
    { name: "a key over the limit", method: "GET", path: `/kv/${"k".repeat(MAX_KEY_BYTES + 1)}`, status: 400, code: "bad_key" },
    {
      name: "a member id of 2^64",
      method: "POST",
      path: "/members",
      headers: JSON_CT,
      body: '{"id":"18446744073709551616","raftAddr":"127.0.0.1:1","httpAddr":"127.0.0.1:2"}',
      status: 400,
      code: "bad_id",
    },
    { name: "a member id of 2^64 in the path", method: "DELETE", path: "/members/18446744073709551616", status: 400, code: "bad_id" },
    { name: "a member id of 0", method: "POST", path: "/transfer-leader", headers: JSON_CT, body: '{"to":0}', status: 400, code: "bad_id" },
    {
      name: "a member id beyond 2^53 as a JSON number",
      method: "POST",
      path: "/transfer-leader",
      headers: JSON_CT,
      body: '{"to":9007199254740993}',
      status: 400,
      code: "bad_id",
    },
    { name: "an unknown query parameter", method: "GET", path: "/kv/x?serialisable", status: 400, code: "bad_query" },
    { name: "a query parameter given twice", method: "GET", path: "/kv?prefix=a&prefix=b", status: 400, code: "bad_query" },
    { name: "a limit over the maximum", method: "GET", path: "/kv?limit=1001", status: 400, code: "bad_query" },
    { name: "a limit of 0", method: "GET", path: "/kv?limit=0", status: 400, code: "bad_query" },
    { name: "a fragment in the target", method: "GET", path: "/kv/a#b", status: 400, code: "bad_target" },
    { name: "an unknown route", method: "GET", path: "/nowhere", status: 404, code: "not_found" },
    { name: "a route spelled with escapes", method: "GET", path: "/st%61tus", status: 404, code: "not_found" },
    { name: "a method a route does not take", method: "PATCH", path: "/kv/x", status: 405, code: "method" },
  ];
  for (const m of mistakes) {
    test(`400-class, not 500: ${m.name}`, async () => {
      const r = await raw(http, m.method, m.path, m.headers ?? {}, m.body);
      assert.equal(r.status, m.status, r.text);
      assert.equal(r.json["code"], m.code, r.text);
    });
  }

  test("request bodies must be application/json (415): text/plain, none, form", async () => {
    for (const ct of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", undefined]) {
      const headers: Record<string, string> = ct === undefined ? {} : { "content-type": ct };
      for (const [method, path, body] of [
        ["PUT", "/kv/cors", '{"value":"v"}'],
        ["POST", "/members", '{"id":"9","raftAddr":"127.0.0.1:1","httpAddr":"127.0.0.1:2"}'],
        ["POST", "/transfer-leader", '{"to":"1"}'],
        ["POST", "/members/1/promote", ""],
      ] as const) {
        const r = await raw(http, method, path, headers, body);
        assert.equal(r.status, 415, `${method} ${path} with ${ct}: ${r.text}`);
        assert.equal(r.json["code"], "unsupported_media_type");
      }
    }
    assert.equal((await c.req(1n, "GET", "/kv/cors")).status, 404, "nothing was written");
    assert.equal((await raw(http, "PUT", "/kv/cors", { "content-type": "application/json; charset=utf-8" }, '{"value":"v"}')).status, 200);
  });

  test("a CORS preflight is refused, and no answer grants cross-origin access", async () => {
    const pre = await raw(http, "OPTIONS", "/kv/x", {
      origin: "http://evil.example",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "content-type",
    });
    assert.equal(pre.status, 405);
    const get = await raw(http, "GET", "/status", { origin: "http://evil.example" });
    for (const r of [pre, get]) for (const h of Object.keys(r.headers)) assert.ok(!h.startsWith("access-control-"), `header ${h}`);
  });

  test("keys are the raw path: '.', '..' and 'a/../b' are keys of their own", async () => {
    for (const [path, key] of [
      ["/kv/.", "."],
      ["/kv/..", ".."],
      ["/kv/a/../b", "a/../b"],
      ["/kv/dir/./x", "dir/./x"],
      ["/kv/sp%20ace+plus", "sp ace+plus"],
      ["/kv/%E2%82%AC", "€"],
    ] as const) {
      const w = await raw(http, "PUT", path, JSON_CT, JSON.stringify({ value: `v:${key}` }));
      assert.equal(w.status, 200, `${path}: ${w.text}`);
      assert.equal(w.json["key"], key);
      const r = await raw(http, "GET", path, {});
      assert.equal(r.json["value"], `v:${key}`, path);
    }
    assert.equal((await raw(http, "GET", "/kv/b", {})).status, 404, "a/../b was not written as b");
    const all = await listAll(http, "");
    assert.ok(all !== undefined);
    for (const k of [".", "..", "a/../b", "dir/./x", "sp ace+plus", "€"]) assert.ok(all.kvs.has(k), k);
    // In a query, '+' is a space (HTML forms) and %2B a plus.
    const q = await raw(http, "GET", "/kv?prefix=sp+ace%2B", {});
    assert.deepEqual(
      (q.json["kvs"] as { key: string }[]).map((x) => x.key),
      ["sp ace+plus"],
    );
  });

  test("POST /members checks the addresses before proposing anything: 400 bad_addr", async () => {
    const commit = c.server(1n).node.status().hardState.commit;
    for (const raftAddr of ["garbage", "", "h:0", "h:99999", "h:1e3", "h:0x10", " h:1", "h :1", "[::1]:80", "h:", ":80", 5, null]) {
      const r = await c.req(1n, "POST", "/members", { id: "9", raftAddr, httpAddr: "127.0.0.1:1" });
      assert.equal(r.status, 400, `${JSON.stringify(raftAddr)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body["code"], "bad_addr");
      const h = await c.req(1n, "POST", "/members", { id: "9", raftAddr: "127.0.0.1:1", httpAddr: raftAddr });
      assert.equal(h.status, 400);
    }
    assert.equal(c.server(1n).node.status().hardState.commit, commit, "nothing was proposed");
    assert.deepEqual(c.fatalErrors(), []);
  });

  test("range answers are paged: default and maximum limit, more/next, and a bounded size", async () => {
    for (let i = 0; i < 150; i++) assert.equal((await c.req(1n, "PUT", `/kv/p/${String(i).padStart(3, "0")}`, { value: String(i) })).status, 200);
    const first = await c.req(1n, "GET", "/kv?prefix=p/");
    assert.equal((first.body["kvs"] as unknown[]).length, 100, "default limit 100");
    assert.equal(first.body["more"], true);
    assert.equal(first.body["next"], "p/099");
    const second = await c.req(1n, "GET", "/kv?prefix=p/&after=p/099&limit=1000");
    assert.equal((second.body["kvs"] as unknown[]).length, 50);
    assert.equal(second.body["more"], false);
    // Values of 1 MB: a page stops at RANGE_PAGE_BYTES (plus one key), whatever the limit.
    const big = "b".repeat(1_000_000);
    for (let i = 0; i < 12; i++) assert.equal((await c.req(1n, "PUT", `/kv/big/${i}`, { value: big })).status, 200);
    let after: string | undefined;
    let seen = 0;
    for (let page = 0; page < 20; page++) {
      const r = await raw(http, "GET", `/kv?prefix=big/&limit=1000${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`, {});
      assert.equal(r.status, 200);
      assert.ok(r.text.length <= RANGE_PAGE_BYTES + 1_100_000, `page of ${r.text.length} bytes`);
      seen += (r.json["kvs"] as unknown[]).length;
      if (r.json["more"] !== true) break;
      after = r.json["next"] as string;
    }
    assert.equal(seen, 12);
  });

  test("a client that goes away in the middle of its body is not an internal error", async () => {
    const before = (c.server(1n).counters as { internalErrors: number }).internalErrors;
    for (const path of ["/kv/cut", "/members", "/transfer-leader"]) {
      const i = http.lastIndexOf(":");
      await new Promise<void>((resolve) => {
        const sock = connect(Number(http.slice(i + 1)), http.slice(0, i), () => {
          sock.write(
            `${path === "/kv/cut" ? "PUT" : "POST"} ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"value":"tru`,
          );
          setTimeout(() => sock.destroy(), 100);
        });
        sock.on("close", () => resolve());
        sock.on("error", () => {});
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((c.server(1n).counters as { internalErrors: number }).internalErrors, before);
    assert.ok(!c.member(1n).logs.some((l) => l.includes("internal error")), "nothing logged as an internal error");
  });

  test("a client that never finishes its request gets 408 once the request timeout (1 s + 5 s) is over, not 30 s later", async () => {
    const rs = await slow;
    for (const r of rs) {
      assert.equal(r.status, 408);
      assert.ok(r.ms < 8500, `answered after ${r.ms} ms`);
    }
  });

  test("GET /health and /status carry no client-controlled surprises; the member never failed", async () => {
    assert.equal((await c.req(1n, "GET", "/health")).status, 200);
    const s = await c.req(1n, "GET", "/status");
    assert.equal(s.status, 200);
    assert.deepEqual(s.body["alarms"], []);
    assert.deepEqual(c.fatalErrors(), []);
  });
});

describe("HTTP API: the quota", { timeout: 60_000 }, () => {
  let c: InProcCluster;
  before(async () => {
    c = await InProcCluster.create(1, ["--quota-bytes", "3000"]);
    await c.startAll();
    await c.waitForLeader();
  });
  after(async () => {
    await c.cleanup();
  });

  test("writes over the quota get 507 no_space; reads and deletes work; writes work again after deletes", async () => {
    assert.equal((await c.req(1n, "PUT", "/kv/a", { value: "x".repeat(1500) })).status, 200);
    const early = await c.req(1n, "PUT", "/kv/b", { value: "x".repeat(1600) });
    assert.equal(early.status, 507, JSON.stringify(early.body));
    assert.equal(early.body["code"], "no_space");
    assert.equal(early.body["outcome"], "not_applied");
    assert.equal(early.body["index"], undefined, "refused before proposing (the cheap early check)");
    let st = await c.req(1n, "GET", "/status");
    assert.deepEqual(st.body["alarms"], ["no_space"]);
    // Two writes that each fit, but not together: both pass the early check, apply refuses one.
    const [x, y] = await Promise.all([c.req(1n, "PUT", "/kv/c", { value: "y".repeat(1000) }), c.req(1n, "PUT", "/kv/d", { value: "z".repeat(1000) })]);
    assert.deepEqual([x.status, y.status].sort(), [200, 507]);
    const refused = x.status === 507 ? x : y;
    assert.equal(typeof refused.body["index"], "number", "refused at apply (the authority), at a log index");
    st = await c.req(1n, "GET", "/status");
    assert.deepEqual(st.body["alarms"], ["no_space"]);
    assert.equal((st.body["quota"] as { alarm: { index: number } }).alarm.index, refused.body["index"]);
    assert.equal((st.body["counters"] as Record<string, number>)["noSpaceRefusals"], 1);
    assert.equal((await c.req(1n, "GET", "/kv/a")).status, 200, "reads work");
    assert.equal((await c.req(1n, "DELETE", "/kv/a")).status, 200, "deletes work");
    st = await c.req(1n, "GET", "/status");
    assert.deepEqual(st.body["alarms"], []);
    assert.equal((await c.req(1n, "PUT", "/kv/b", { value: "x".repeat(1600) })).status, 200, "writes work again");
    assert.deepEqual(c.fatalErrors(), []);
  });
});
