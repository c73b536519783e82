// NodeErrorCode (NODE_ERROR_CODES at run time) is the list of every code @tsraft/node throws on
// purpose: every exported error class, and every plain RaftError that RaftNode throws with a
// code of its own (read from the sources), uses a listed code; every listed code is used; and
// the README names each one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RaftError } from "@tsraft/raft";
import * as node from "@tsraft/node";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");

/** One instance of every error class @tsraft/node exports. */
function everyNodeError(): RaftError[] {
  return [
    new node.NoLeaderError(),
    new node.RequestTimeoutError("propose", 100),
    new node.NodeStoppedError(),
    new node.TransferError(2n, "not a voter"),
    new node.EntryRefusedError(7, new Error("no")),
    new node.FatalError("disk gone"),
    new node.UnsafeConfChangeError("would lose quorum", 1, 2),
    new node.NotLeaderError(2n),
    new node.ConfChangeRefusedError("possible unapplied conf change"),
    new node.TransportError("TSRAFT_TRANSPORT_CONFIG", "base class"),
    new node.TransportAddressError("x", "no port"),
    new node.TransportPeerError(0n, "zero"),
    new node.TransportConfigError("clusterId", "too long"),
    new node.TransportListenError("127.0.0.1:1", new Error("EADDRINUSE")),
    new node.ConnectionRefusedError("handshake", "bad hello"),
  ];
}

/** The codes of `new RaftError("TSRAFT_...", ...)` in the package's sources: RaftNode's plain errors. */
function plainRaftErrorCodes(): Set<string> {
  const codes = new Set<string>();
  for (const f of readdirSync(join(pkg, "src"))) {
    if (!f.endsWith(".ts")) continue;
    const src = readFileSync(join(pkg, "src", f), "utf8");
    for (const m of src.matchAll(/new RaftError\(\s*"(TSRAFT_[A-Z_]+)"/g)) codes.add(m[1]!);
  }
  return codes;
}

test("every exported error class's code is in NODE_ERROR_CODES", () => {
  const errors = everyNodeError();
  const exported = Object.values(node).filter((v) => typeof v === "function" && v.prototype instanceof RaftError);
  assert.deepEqual(new Set(errors.map((e) => e.constructor)), new Set(exported), "one instance of each exported error class");
  const listed = new Set<string>(node.NODE_ERROR_CODES);
  for (const e of errors) assert.ok(listed.has(e.code), `${e.name}: ${e.code} is not in NODE_ERROR_CODES`);
});

test("RaftNode's plain RaftErrors use listed codes, and every listed code is used", () => {
  const plain = plainRaftErrorCodes();
  assert.ok(plain.has("TSRAFT_NODE_STATE") && plain.has("TSRAFT_NODE_CONFIG") && plain.has("TSRAFT_NODE_RESTORE"), [...plain].join(", "));
  const listed = new Set<string>(node.NODE_ERROR_CODES);
  for (const c of plain) assert.ok(listed.has(c), `${c} is not in NODE_ERROR_CODES`);
  const used = new Set([...everyNodeError().map((e) => e.code), ...plain]);
  assert.deepEqual(
    [...listed].filter((c) => !used.has(c)),
    [],
    "listed codes nothing throws",
  );
  assert.equal(listed.size, node.NODE_ERROR_CODES.length, "no code listed twice");
});

test("the README names every code of NODE_ERROR_CODES", () => {
  const readme = readFileSync(join(pkg, "README.md"), "utf8");
  for (const c of node.NODE_ERROR_CODES) assert.ok(readme.includes(c), `README.md does not name ${c}`);
});
