/**
 * etcd's own encodings (../shared/vectors/raftpb): every value encodes to etcd's bytes and
 * decodes back; every malformed input throws DecodeError naming the vector's field; every
 * non-canonical valid input decodes to its value and re-encodes canonically.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DecodeError } from "@tsraft/raftpb";
import { codecs, fromHex, fromJson, loadVectors, toHex, type TypeName } from "./helpers/vectors.js";

interface Vector {
  name: string;
  type: TypeName;
  value: Record<string, unknown>;
  hex: string;
}
interface Invalid {
  name: string;
  type: TypeName;
  hex: string;
  field: string;
  why: string;
}
interface NonCanonical {
  name: string;
  type: TypeName;
  hex: string;
  value: Record<string, unknown>;
  canonicalHex: string;
}

const vectors = loadVectors<Vector>("vectors.json");
const invalid = loadVectors<Invalid>("invalid.json");
const noncanonical = loadVectors<NonCanonical>("noncanonical.json");

describe("vectors.json: etcd's encodings", () => {
  test("has all 53 vectors", () => assert.equal(vectors.length, 53));
  for (const v of vectors) {
    test(`${v.type} ${v.name}`, () => {
      const codec = codecs[v.type];
      const value = fromJson[v.type](v.value);
      assert.equal(toHex(codec.encode(value)), v.hex, "encode");
      assert.deepStrictEqual(codec.decode(fromHex(v.hex)), value, "decode");
    });
  }
});

describe("invalid.json: malformed input throws DecodeError naming the field", () => {
  test("has all 26 vectors", () => assert.equal(invalid.length, 26));
  for (const v of invalid) {
    test(`${v.type} ${v.name}`, () => {
      assert.throws(
        () => codecs[v.type].decode(fromHex(v.hex)),
        (err: unknown) => {
          assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
          assert.equal(err.code, "TSRAFT_DECODE");
          assert.equal(err.messageType, v.type);
          assert.equal(err.field, v.field, `${v.why}: ${err.message}`);
          assert.ok(err.message.includes(v.type) && err.message.includes(v.field), err.message);
          return true;
        },
      );
    });
  }
});

describe("noncanonical.json: valid non-canonical input", () => {
  test("has all 9 vectors", () => assert.equal(noncanonical.length, 9));
  for (const v of noncanonical) {
    test(`${v.type} ${v.name}`, () => {
      const codec = codecs[v.type];
      const value = fromJson[v.type](v.value);
      const decoded = codec.decode(fromHex(v.hex));
      assert.deepStrictEqual(decoded, value, "decode");
      assert.equal(toHex(codec.encode(decoded)), v.canonicalHex, "re-encode");
    });
  }
});
