/**
 * The write path's specialised entry encoder (`BatchEncoder.entry`: small payloads copied before
 * a single CRC pass, large ones checksummed by the native CRC as they are, the CRC held as an
 * int32) against the general record encoding of the same entry (raftpb's `encodeEntry` as the
 * record data, `BatchEncoder.raw`): byte for byte, and the running CRC after each record.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { encodeEntry } from "@tsraft/raftpb";
import type { Entry } from "@tsraft/raftpb";
import { NATIVE_MIN_BYTES, crc32cBackend, crc32cJs } from "../src/crc32c.js";
import { wasmCrcAvailable } from "../src/crc32c-wasm.js";
import { BatchEncoder, Frame, FrameStatus, RecordType, WASM_CRC_MAX_BYTES, batchBytesBound, parseFrame } from "../src/record.js";

/** Checks every record's crc field of `enc` against the JavaScript CRC chained from `crc0`. */
function assertCrcChain(enc: BatchEncoder, crc0: number): number {
  const f = new Frame();
  let crc = crc0;
  let off = 0;
  let n = 0;
  while (parseFrame(enc.buf, enc.len, off, 1 << 30, f) === FrameStatus.Ok) {
    if (f.hasData) crc = crc32cJs(crc, enc.buf, f.dataStart, f.dataEnd);
    assert.equal(f.crc, crc, `record ${n} at ${off}`);
    off = f.end;
    n++;
  }
  assert.equal(off, enc.len, "every frame parsed");
  return n;
}

function entries(): Entry[] {
  const out: Entry[] = [];
  const sizes = [0, 1, 7, 8, 100, 127, 128, NATIVE_MIN_BYTES - 1, NATIVE_MIN_BYTES, WASM_CRC_MAX_BYTES - 1, WASM_CRC_MAX_BYTES, 1000, 20_000];
  const big = [1, 127, 128, 16_383, 16_384, 2 ** 28, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
  let k = 0;
  for (let i = 0; i < 3000; i++) {
    const size = sizes[i % sizes.length]!;
    const data = i % 13 === 0 ? undefined : new Uint8Array(size).map((_, j) => (i * 31 + j * 7) & 0xff);
    const e: Entry = { term: big[(k++ * 5) % big.length]!, index: big[(k * 3) % big.length]!, type: i % 3, data };
    out.push(e);
  }
  return out;
}

test("BatchEncoder.entry writes exactly the general encoding of each entry record, chaining the CRC", () => {
  const fast = new BatchEncoder(0x1234_5678, 64);
  const general = new BatchEncoder(0x1234_5678, 64);
  let shortCrcs = 0;
  for (const e of entries()) {
    fast.entry(e);
    general.raw(RecordType.Entry, encodeEntry(e));
    assert.equal(fast.crc, general.crc);
    if (fast.crc < 2 ** 28) shortCrcs++; // a crc varint under 5 bytes: the header moved down
  }
  assert.equal(fast.len, general.len);
  assert.deepEqual(fast.buf.subarray(0, fast.len), general.buf.subarray(0, general.len));
  assert.ok(shortCrcs > 50, `only ${shortCrcs} records with a short crc varint`);
  // and both sides' CRCs are the JavaScript CRC's (not only each other's)
  assert.equal(assertCrcChain(fast, 0x1234_5678), 3000);
});

test("property: random batches through one reused encoder equal the general encoding, byte for byte", () => {
  // Varint lengths on both sides of each inline one-byte case (term, data length, entry
  // length) and of the crc varint's 4/5 bytes; payloads on both sides of the native threshold;
  // one encoder reused across batches (stale bytes in its buffer, as in the WAL).
  const num = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.maxSafeNat());
  const entry = fc.record({
    term: num,
    index: num,
    type: fc.integer({ min: 0, max: 2 }), // raftpb encodes only the three EntryTypes
    data: fc.option(fc.uint8Array({ maxLength: WASM_CRC_MAX_BYTES + 40, size: "max" }), { nil: undefined }),
  });
  const fast = new BatchEncoder(0, 64);
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 40, size: "max" }), fc.nat({ max: 0xffffffff }), (batch, crc) => {
      fast.reset();
      fast.crc = crc;
      const general = new BatchEncoder(crc, 64);
      for (const e of batch) {
        fast.entry(e);
        general.raw(RecordType.Entry, encodeEntry(e));
        assert.equal(fast.crc, general.crc);
      }
      assert.deepEqual(fast.buf.subarray(0, fast.len), general.buf.subarray(0, general.len));
      assert.equal(assertCrcChain(fast, crc), batch.length);
    }),
    { numRuns: 300 },
  );
});

test("property: batchBytesBound is at least what a batch encodes to, so a buffer reserved with it never moves (chunked writes hold views of it)", () => {
  // The worst case first: the largest varints, and every padding length.
  const M = Number.MAX_SAFE_INTEGER;
  const worst = [{ entries: Array.from({ length: 200 }, (_, i) => ({ term: M, index: M - i, type: 2, data: new Uint8Array(i % 9) })), snap: undefined }];
  const w = new BatchEncoder(0, 64);
  w.marker(M);
  for (const e of worst[0]!.entries) w.entry(e);
  assert.ok(w.len <= batchBytesBound(worst), `worst case: ${w.len} bytes encoded, bound ${batchBytesBound(worst)}`);
  // the largest varints are the bound's worst case: drawn often
  const num = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
  const entry = fc.record({
    term: num,
    index: num,
    type: fc.integer({ min: 0, max: 2 }),
    data: fc.option(fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 3000, size: "max" })), { nil: undefined }),
  });
  const part = fc.record({
    entries: fc.array(entry, { maxLength: 60, size: "max" }),
    hs: fc.option(fc.record({ term: num, vote: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), commit: num }), { nil: undefined }),
    snap: fc.option(fc.uint8Array({ maxLength: 200 }), { nil: undefined }),
  });
  fc.assert(
    fc.property(fc.array(part, { minLength: 1, maxLength: 8, size: "max" }), fc.maxSafeNat(), (parts, durableTo) => {
      const enc = new BatchEncoder(0, 64);
      const bound = batchBytesBound(parts);
      enc.reserve(bound);
      const buf = enc.buf;
      enc.marker(durableTo); // as the WAL's flush loop: a marker, then each part's records
      for (const p of parts) {
        for (const e of p.entries) enc.entry(e);
        if (p.hs !== undefined) enc.state(p.hs);
        if (p.snap !== undefined) enc.raw(RecordType.Snapshot, p.snap);
      }
      assert.ok(enc.len <= bound, `${enc.len} bytes encoded, bound ${bound}`);
      assert.equal(enc.buf, buf, "the encoder's buffer moved");
    }),
    { numRuns: 300 },
  );
});

test("this process checks small records in WebAssembly unless TSRAFT_CRC32C=js", () => {
  assert.equal(wasmCrcAvailable, process.env["TSRAFT_CRC32C"] !== "js");
});

// Registered only in a process with the native CRC and WebAssembly: the children run the
// comparisons above with the JavaScript CRC only, and with WebAssembly but no native module (as
// on a platform without @node-rs/crc32); each has these tests, not a skipped one.
if (crc32cBackend !== "js" && process.env["TSRAFT_CRC32C"] === undefined)
  for (const [force, what] of [
    ["js", "the JavaScript CRC only: every payload takes the one-pass path"],
    ["wasm", "WebAssembly without the native module: every payload checked in WebAssembly"],
  ] as const)
    test(`the same with TSRAFT_CRC32C=${force} (${what})`, () => {
      const env: NodeJS.ProcessEnv = { ...process.env, TSRAFT_CRC32C: force };
      delete env["NODE_TEST_CONTEXT"]; // else the child reports to a parent runner that is not there
      const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        env,
        encoding: "utf8",
      });
      assert.equal(child.status, 0, child.stdout + child.stderr);
      assert.match(child.stdout, /pass 4\b/, "the child ran the comparisons");
      assert.match(child.stdout, /skipped 0\b/, "and skipped nothing");
    });
