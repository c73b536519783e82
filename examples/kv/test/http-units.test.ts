/**
 * The pieces of the HTTP layer on their own: address and id checks, strict percent-decoding,
 * request targets, the mapping of raft's error codes to answers, an answer that cannot be built
 * (500, never an exception out of the handler), and what a member does with an unhandled
 * rejection or an uncaught exception (the UNHANDLED marker, exit code 70).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, UNHANDLED_EXIT_CODE, UNHANDLED_MARKER, parseHostPort } from "@tsraft/example-kv";
import type { KvServer } from "@tsraft/example-kv";
import { answerJson, handleHttp } from "../src/http-api.js";
import { toHttpError } from "../src/http-errors.js";
import { parseMemberId, parseTarget, percentDecode } from "../src/http-request.js";

const here = dirname(fileURLToPath(import.meta.url));

describe("addresses", () => {
  const good: [string, string, number][] = [
    ["127.0.0.1:1", "127.0.0.1", 1],
    ["localhost:65535", "localhost", 65535],
    ["node-1.example_x.org:8080", "node-1.example_x.org", 8080],
  ];
  for (const [s, host, port] of good) test(`accepts ${s}`, () => assert.deepEqual(parseHostPort(s), { host, port }));
  const bad: unknown[] = [
    "garbage",
    "",
    "h:0",
    "h:99999",
    "h:65536",
    "h:",
    ":80",
    "h:1e3",
    "h:0x10",
    "h:+1",
    "h:-1",
    " h:1",
    "h :1",
    "h:1 ",
    "[::1]:80",
    "a/b:1",
    `${"h".repeat(254)}:1`,
    80,
    null,
    undefined,
    {},
  ];
  for (const s of bad) test(`refuses ${JSON.stringify(s)}`, () => assert.equal(parseHostPort(s), undefined));
});

describe("member ids", () => {
  test("uint64 > 0: decimal strings to 2^64-1, JSON numbers to 2^53-1", () => {
    assert.equal(parseMemberId("18446744073709551615", "id"), 0xffffffffffffffffn);
    assert.equal(parseMemberId(7, "id"), 7n);
    assert.equal(parseMemberId("007", "id"), 7n);
    for (const v of ["18446744073709551616", "0", 0, -1, 1.5, "1e3", "0x10", "", " 1", 2 ** 53, null, true, [1]]) {
      assert.throws(
        () => parseMemberId(v, "id"),
        (e: unknown) => e instanceof HttpError && e.status === 400 && e.code === "bad_id",
        JSON.stringify(v),
      );
    }
  });
});

describe("percent-decoding and request targets", () => {
  const cases: [string, string][] = [
    ["plain", "plain"],
    ["a%2Fb", "a/b"],
    ["%E2%82%AC", "€"],
    ["a+b", "a+b"],
    ["..", ".."],
    ["\u00e2\u0082\u00ac", "€"], // raw UTF-8 bytes, as Node hands them over (latin1)
  ];
  for (const [s, want] of cases) test(`${JSON.stringify(s)} -> ${JSON.stringify(want)}`, () => assert.equal(percentDecode(s, "key"), want));
  test("'+' is a space only in queries", () => assert.equal(percentDecode("a+b", "q", true), "a b"));
  for (const s of ["%", "%4", "%zz", "%ff", "%c3", "%c3%28", "%ed%a0%80", "\u0100"]) {
    test(`refuses ${JSON.stringify(s)}`, () =>
      assert.throws(
        () => percentDecode(s, "key"),
        (e: unknown) => e instanceof HttpError && e.code === "bad_encoding",
      ));
  }
  test("targets: origin-form, absolute-form, queries, no fragments", () => {
    assert.deepEqual(parseTarget("/kv/a/../b?x=1&y"), {
      rawPath: "/kv/a/../b",
      query: new Map([
        ["x", "1"],
        ["y", ""],
      ]),
    });
    assert.deepEqual(parseTarget("http://h:1/kv/x"), { rawPath: "/kv/x", query: new Map() });
    assert.deepEqual(parseTarget("HTTPS://h"), { rawPath: "/", query: new Map() });
    for (const t of ["*", "kv/x", "", undefined, "/kv/a#b"])
      assert.throws(
        () => parseTarget(t),
        (e: unknown) => e instanceof HttpError && e.status === 400,
      );
    assert.throws(
      () => parseTarget("/kv?a=1&a=2"),
      (e: unknown) => e instanceof HttpError && e.code === "bad_query",
    );
  });
});

describe("raft's errors, by code", () => {
  const addr = (id: bigint): string | undefined => (id === 2n ? "127.0.0.1:2002" : undefined);
  const cases: { code: string; extra?: Record<string, unknown>; write: boolean; status: number; answer: string; outcome?: string }[] = [
    { code: "TSRAFT_NO_LEADER", write: true, status: 503, answer: "no_leader", outcome: "not_applied" },
    { code: "TSRAFT_PROPOSAL_DROPPED", write: true, status: 503, answer: "proposal_dropped", outcome: "not_applied" },
    { code: "TSRAFT_TIMEOUT", write: true, status: 504, answer: "timeout", outcome: "unknown" },
    { code: "TSRAFT_TIMEOUT", write: false, status: 504, answer: "timeout" },
    { code: "TSRAFT_NODE_STOPPED", write: true, status: 503, answer: "stopping", outcome: "unknown" },
    { code: "TSRAFT_TRANSFER", write: false, status: 400, answer: "bad_transfer" },
    { code: "TSRAFT_CONF_CHANGE", write: true, status: 409, answer: "bad_conf_change" },
    { code: "TSRAFT_UNSAFE_CONF_CHANGE", write: true, status: 409, answer: "unsafe_reconfig", outcome: "not_applied" },
    { code: "TSRAFT_NOT_LEADER", extra: { leader: 2n }, write: true, status: 421, answer: "not_leader", outcome: "not_applied" },
    { code: "TSRAFT_ENTRY_REFUSED", write: true, status: 422, answer: "refused", outcome: "not_applied" },
    { code: "SOMETHING_ELSE", write: false, status: 500, answer: "internal" },
  ];
  for (const c of cases) {
    test(`${c.code}${c.write ? " (write)" : ""} -> ${c.status} ${c.answer}`, () => {
      // A plain Error with a code: the mapping must not depend on classes it cannot import yet.
      const err = Object.assign(new Error(`raft: ${c.code}`), { code: c.code }, c.extra ?? {});
      const h = toHttpError(err, c.write, addr);
      assert.equal(h.status, c.status);
      assert.equal(h.code, c.answer);
      assert.equal(h.extra["outcome"], c.outcome);
      if (c.code === "TSRAFT_NOT_LEADER") assert.deepEqual(h.extra["leader"], { id: "2", http: "127.0.0.1:2002" });
    });
  }
});

/** A fake request and response, enough for handleHttp. */
function fakeExchange(url: string): { req: IncomingMessage; res: ServerResponse; done: Promise<{ status: number; body: string }> } {
  const req = Object.assign(new EventEmitter(), { url, method: "GET", headers: {}, complete: true }) as unknown as IncomingMessage;
  let resolve!: (v: { status: number; body: string }) => void;
  const done = new Promise<{ status: number; body: string }>((r) => (resolve = r));
  let status = 0;
  const state = { headersSent: false, destroyed: false };
  const res = {
    get headersSent() {
      return state.headersSent;
    },
    get destroyed() {
      return state.destroyed;
    },
    writeHead(s: number): unknown {
      status = s;
      state.headersSent = true;
      return res;
    },
    end(body: string) {
      resolve({ status, body });
    },
    destroy() {
      resolve({ status: -1, body: "" });
    },
  };
  return { req, res: res as unknown as ServerResponse, done };
}

describe("answers", () => {
  test("an answer that cannot be built is a 500, logged; the handler never rejects", async () => {
    const errors: string[] = [];
    const counters = { internalErrors: 0 };
    const boom = (): never => {
      throw new RangeError("Invalid string length");
    };
    // A member whose answers cannot be serialised (as a 600 MB answer could not be).
    const s = {
      node: { leader: boom, appliedIndex: () => 1 },
      sm: { get: () => "v" },
      counters,
      log: { error: (m: string) => errors.push(m), warn: () => {}, info: () => {}, debug: () => {} },
      httpAddrOf: () => undefined,
    } as unknown as KvServer;
    const x = fakeExchange("/kv/a?serializable");
    await handleHttp(s, x.req, x.res);
    const r = await x.done;
    assert.equal(r.status, 500);
    assert.equal(JSON.parse(r.body).code, "internal");
    assert.equal(counters.internalErrors, 1);
    assert.deepEqual(errors, ["could not send an answer"]);
  });
});

describe("unhandled rejections and uncaught exceptions", () => {
  for (const how of ["rejection", "exception"]) {
    test(`an unhandled ${how}: the ${UNHANDLED_MARKER} marker and exit code ${UNHANDLED_EXIT_CODE}`, () => {
      const r = spawnSync(process.execPath, ["--conditions=@tsraft/source", "--import", "tsx", join(here, "helpers", "crash-child.ts"), how], {
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.equal(r.status, UNHANDLED_EXIT_CODE, r.stderr);
      assert.match(r.stderr, new RegExp(`^${UNHANDLED_MARKER} `, "m"));
    });
  }
});

describe("answerJson", () => {
  test("plain answers as JSON.stringify writes them; bigints at any depth as decimal strings; cycles still refused", () => {
    const plain = { key: "k", value: "v", index: 7, leader: { id: "1", http: null } };
    assert.equal(answerJson(plain), JSON.stringify(plain));
    assert.equal(
      answerJson({ ok: true, blocked: [2n, 18446744073709551615n], deep: { id: 3n } }),
      '{"ok":true,"blocked":["2","18446744073709551615"],"deep":{"id":"3"}}',
    );
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic["self"] = cyclic;
    assert.throws(() => answerJson(cyclic), TypeError);
  });
});
