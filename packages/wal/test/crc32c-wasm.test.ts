/**
 * The write path's WebAssembly CRC-32C (`src/crc32c.wat`): the committed module is the source's
 * assembly, and it agrees with a bitwise reference at every start, length and initial CRC,
 * before and after its buffer grows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CRC32C_WASM_BASE64 } from "../src/crc32c-wasm-bytes.js";
import { createWasmCrcBuffer, wasmCrcAvailable } from "../src/crc32c-wasm.js";
import { assembleCrc32cWat, bytesModule } from "../scripts/build-wasm.js";
import { readFileSync } from "node:fs";
import { crc32cReference as reference } from "./helpers/crc-reference.js";

test("the committed module is crc32c.wat as wabt assembles it (scripts/build-wasm.ts)", async () => {
  const bytes = await assembleCrc32cWat();
  assert.equal(Buffer.from(CRC32C_WASM_BASE64, "base64").toString("hex"), Buffer.from(bytes).toString("hex"));
  const file = readFileSync(new URL("../src/crc32c-wasm-bytes.ts", import.meta.url), "utf8");
  assert.equal(file, bytesModule(bytes), "src/crc32c-wasm-bytes.ts is the script's output: run it again");
});

test("available in this process (Node 20 has WebAssembly; TSRAFT_CRC32C is not js)", () => {
  assert.equal(process.env["TSRAFT_CRC32C"] === "js", false, "run without TSRAFT_CRC32C=js");
  assert.equal(wasmCrcAvailable, true);
});

test("check value, chaining, every start, length and alignment against the bitwise reference", () => {
  const w = createWasmCrcBuffer(1024)!;
  const b = w.bytes;
  for (let i = 0; i < 400; i++) b[i] = (i * 131 + 7) & 0xff;
  const check = new TextEncoder().encode("123456789");
  b.set(check, 500);
  assert.equal(w.crc(0, 500, 509) >>> 0, 0xe3069283);
  assert.equal(w.crc(w.crc(0, 500, 504), 504, 509) >>> 0, 0xe3069283);
  for (let start = 0; start < 20; start++) {
    for (let end = start; end <= 400; end += start % 3 === 0 ? 1 : 5) {
      assert.equal(w.crc(0x1234_5678, start, end) >>> 0, reference(0x1234_5678, b.subarray(start, end)), `[${start}, ${end})`);
    }
  }
});

test("property: random bytes, ranges and initial CRCs agree with the reference; a grow keeps the bytes", () => {
  const w = createWasmCrcBuffer(64)!;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000, size: "max" }), fc.nat({ max: 40 }), fc.nat({ max: 0xffffffff }), fc.boolean(), (data, at, crc, grow) => {
      w.bytes.set(data, at);
      const before = w.bytes.length;
      if (grow && before < 1 << 22) {
        w.grow(before + 1);
        assert.ok(w.bytes.length > before);
      }
      assert.deepEqual(w.bytes.subarray(at, at + data.length), data);
      assert.equal(w.crc(crc | 0, at, at + data.length) >>> 0, reference(crc, data));
    }),
    { numRuns: 300 },
  );
});
