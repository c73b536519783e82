/** CRC-32C: the standard check value, chaining, and agreement with a bitwise reference. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32c } from "@tsraft/wal";
import { LITTLE_ENDIAN, crc32cInt32, crc32cInt32Words } from "../src/crc32c.js";
import { crc32cReference as reference } from "./helpers/crc-reference.js";

test("check value of 123456789 is 0xe3069283", () => {
  assert.equal(crc32c(0, new TextEncoder().encode("123456789")), 0xe3069283);
});

test("matches a bitwise reference at every length and offset, and chains", () => {
  const b = new Uint8Array(300).map((_, i) => (i * 131 + 7) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= b.length; end += 7) {
      assert.equal(crc32c(5, b, start, end), reference(5, b.subarray(start, end)));
    }
  }
  assert.equal(crc32c(crc32c(0, b, 0, 100), b, 100), crc32c(0, b));
});

test("the write path's int32 forms agree with crc32c at every start and length, word reads included", () => {
  const b = new Uint8Array(96).map((_, i) => (i * 197 + 11) & 0xff);
  const words = new Int32Array(b.buffer);
  for (let start = 0; start < 12; start++) {
    for (let end = start; end <= b.length; end++) {
      const want = crc32c(0xdeadbeef, b, start, end);
      assert.equal(crc32cInt32(0xdeadbeef | 0, b, start, end) >>> 0, want);
      if (LITTLE_ENDIAN) assert.equal(crc32cInt32Words(0xdeadbeef | 0, b, words, start, end) >>> 0, want);
    }
  }
});
