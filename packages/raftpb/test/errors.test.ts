/** DecodeError and EncodeError: what is rejected, and the field paths they name. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  DecodeError,
  EncodeError,
  MAX_DEPTH,
  decodeConfChange,
  decodeConfChangeV2,
  decodeEntry,
  decodeMessage,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshot,
  emptySnapshot,
  type EntryType,
  type Message,
  type MessageType,
} from "@tsraft/raftpb";
import { fromHex } from "./helpers/vectors.js";

function decodeErr(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a DecodeError");
}

function encodeErr(fn: () => unknown): EncodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EncodeError, `expected EncodeError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected an EncodeError");
}

const base: Message = { type: 3, to: 2n, from: 1n, term: 1, logTerm: 1, index: 1, entries: [], commit: 1, reject: false, rejectHint: 0 };

describe("DecodeError", () => {
  test("is an Error with a stable code, the type, the field and a readable message", () => {
    const err = decodeErr(() => decodeEntry(fromHex("08001081")));
    assert.ok(err instanceof Error);
    assert.equal(err.name, "DecodeError");
    assert.equal(err.code, "TSRAFT_DECODE");
    assert.equal(err.messageType, "Entry");
    assert.equal(err.field, "term");
    assert.equal(err.message, "raftpb: cannot decode Entry: term: unexpected end of input");
  });

  const enumCases: [string, () => unknown, string][] = [
    ["Entry.type 3", () => decodeEntry(fromHex("0803")), "type"],
    ["Message.type 24", () => decodeMessage(fromHex("0818")), "type"],
    ["Message.type -1 (10-byte int32)", () => decodeMessage(fromHex("08ffffffffffffffffff01")), "type"],
    ["ConfChange.type 4", () => decodeConfChange(fromHex("1004")), "type"],
    ["ConfChangeV2.transition 3", () => decodeConfChangeV2(fromHex("0803")), "transition"],
    ["ConfChangeV2.changes[1].type 9", () => decodeConfChangeV2(fromHex("120408001001120408091002")), "changes[1].type"],
    ["Message.entries[1].type 7", () => decodeMessage(fromHex("3a020800" + "3a020807")), "entries[1].type"],
  ];
  for (const [name, fn, field] of enumCases) {
    test(`an enum value outside its enum is rejected: ${name}`, () => {
      const err = decodeErr(fn);
      assert.equal(err.field, field);
      assert.match(err.reason, /is not a|>= 2\^53/);
    });
  }

  test("a bool is true for any non-zero varint, as in protobuf", () => {
    assert.equal(decodeMessage(fromHex("5002")).reject, true);
    assert.equal(decodeMessage(fromHex("50ffffffffffffffffff01")).reject, true);
    assert.equal(decodeMessage(fromHex("508000")).reject, false);
  });

  test("responses nested deeper than MAX_DEPTH are rejected without exhausting the stack", () => {
    let inner = new Uint8Array(0);
    for (let i = 0; i < 5000; i++) {
      const lenBytes: number[] = [];
      let n = inner.length;
      while (n > 0x7f) {
        lenBytes.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      lenBytes.push(n);
      inner = Uint8Array.from([0x72, ...lenBytes, ...inner]);
    }
    const err = decodeErr(() => decodeMessage(inner));
    assert.equal(err.field, "responses[0].".repeat(MAX_DEPTH) + "responses");
  });

  test("MAX_DEPTH levels of responses decode", () => {
    let m: Message = { ...base };
    for (let i = 0; i < MAX_DEPTH; i++) m = { ...base, responses: [m] };
    const back = decodeMessage(encodeMessage(m));
    let depth = 0;
    for (let x = back; x.responses !== undefined; x = x.responses[0]!) depth++;
    assert.equal(depth, MAX_DEPTH);
  });

  test("unknown fields of every wire type are skipped, groups included", () => {
    // Entry{term 1, index 2} + field 5 fixed64, field 6 fixed32, field 7 group{field 1 varint, nested group}, field 9 bytes
    const hex = "080010011802" + "290102030405060708" + "3501020304" + "3b" + "0805" + "4b" + "0801" + "4c" + "3c" + "4a0161";
    assert.deepStrictEqual(decodeEntry(fromHex(hex)), { term: 1, index: 2, type: 0, data: undefined });
  });

  test("broken unknown fields name the field number", () => {
    assert.equal(decodeErr(() => decodeEntry(fromHex("2901020304"))).field, "(field 5)"); // fixed64 truncated
    assert.equal(decodeErr(() => decodeEntry(fromHex("3b0805"))).field, "(field 7)"); // unterminated group
    assert.equal(decodeErr(() => decodeEntry(fromHex("3b0805" + "44"))).field, "(field 7)"); // end-group of another field
    assert.equal(decodeErr(() => decodeEntry(fromHex("3c"))).field, "(field 7)"); // stray end-group
    assert.equal(decodeErr(() => decodeEntry(fromHex("3b".repeat(200)))).field, "(field 7)"); // groups too deep
  });

  test("a tag above 32 bits is rejected as (tag)", () => {
    assert.equal(decodeErr(() => decodeEntry(fromHex("8080808080800000"))).field, "(tag)");
  });

  test("decoders demand a Uint8Array", () => {
    assert.throws(() => decodeMessage("0800" as unknown as Uint8Array), TypeError);
  });
});

describe("EncodeError", () => {
  const cases: [string, () => unknown, string, string][] = [
    ["negative index", () => encodeEntry({ term: 1, index: -1, type: 0 }), "Entry", "index"],
    ["fractional term", () => encodeEntry({ term: 1.5, index: 1, type: 0 }), "Entry", "term"],
    ["index 2^53", () => encodeEntry({ term: 1, index: 2 ** 53, type: 0 }), "Entry", "index"],
    ["NaN commit", () => encodeHardState({ term: 1, vote: 0n, commit: NaN }), "HardState", "commit"],
    ["negative vote", () => encodeHardState({ term: 1, vote: -1n, commit: 0 }), "HardState", "vote"],
    ["vote 2^64", () => encodeHardState({ term: 1, vote: 1n << 64n, commit: 0 }), "HardState", "vote"],
    ["number id", () => encodeMessage({ ...base, to: 2 as unknown as bigint }), "Message", "to"],
    ["entry type 3", () => encodeEntry({ term: 1, index: 1, type: 3 as EntryType }), "Entry", "type"],
    ["message type 24", () => encodeMessage({ ...base, type: 24 as MessageType }), "Message", "type"],
    ["string data", () => encodeEntry({ term: 1, index: 1, type: 0, data: "abc" as unknown as Uint8Array }), "Entry", "data"],
    [
      "entries[2].term",
      () =>
        encodeMessage({
          ...base,
          entries: [
            { term: 1, index: 1, type: 0 },
            { term: 1, index: 2, type: 0 },
            { term: -5, index: 3, type: 0 },
          ],
        }),
      "Message",
      "entries[2].term",
    ],
    ["null entry", () => encodeMessage({ ...base, entries: [null as unknown as never] }), "Message", "entries[0]"],
    [
      "snapshot voter",
      () => {
        const s = emptySnapshot();
        s.metadata.confState.voters = [1n, -2n];
        return encodeMessage({ ...base, snapshot: s });
      },
      "Message",
      "snapshot.metadata.confState.voters[1]",
    ],
    ["snapshot index", () => encodeSnapshot({ metadata: { ...emptySnapshot().metadata, index: -1 } }), "Snapshot", "metadata.index"],
    [
      "learners not an array",
      () => encodeConfState({ voters: [], learners: 5 as unknown as bigint[], votersOutgoing: [], learnersNext: [], autoLeave: false }),
      "ConfState",
      "learners",
    ],
    ["responses[0].type", () => encodeMessage({ ...base, responses: [{ ...base, type: -1 as MessageType }] }), "Message", "responses[0].type"],
    ["not an object", () => encodeMessage(undefined as unknown as Message), "Message", "(value)"],
  ];
  for (const [name, fn, type, field] of cases) {
    test(`${name}: ${type} ${field}`, () => {
      const err = encodeErr(fn);
      assert.equal(err.code, "TSRAFT_ENCODE");
      assert.equal(err.messageType, type);
      assert.equal(err.field, field);
      assert.ok(err.message.startsWith(`raftpb: cannot encode ${type}: ${field}: `), err.message);
    });
  }

  test("responses nested deeper than MAX_DEPTH are rejected", () => {
    let m: Message = { ...base };
    for (let i = 0; i <= MAX_DEPTH; i++) m = { ...base, responses: [m] };
    assert.equal(encodeErr(() => encodeMessage(m)).field, "responses[0].".repeat(MAX_DEPTH) + "responses");
  });
});
