/** Round-trip properties for every raftpb type, and the size functions against the encoder. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeMessage,
  emptySnapshot,
  encodeEntry,
  encodeEntryInto,
  encodeMessageInto,
  messageSize,
  encodeMessage,
  entrySize,
  payloadSize,
  varint64Size,
  varintSize,
  type Message,
} from "@tsraft/raftpb";
import { arbEntry, arbId, arbIndex, arbitraries, arbMessage } from "./helpers/arbitraries.js";
import { codecs, type TypeName } from "./helpers/vectors.js";

const RUNS = 400;

describe("round trip: decode(encode(v)) equals v and re-encodes to the same bytes", () => {
  for (const type of Object.keys(codecs) as TypeName[]) {
    test(type, () => {
      const codec = codecs[type];
      fc.assert(
        fc.property(arbitraries[type], (v) => {
          const bytes = codec.encode(v);
          const back = codec.decode(bytes);
          assert.deepStrictEqual(back, v);
          assert.deepStrictEqual(codec.encode(back), bytes);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe("sizes", () => {
  test("entrySize is the encoded length of the entry", () => {
    fc.assert(
      fc.property(arbEntry, (e) => {
        assert.equal(entrySize(e), encodeEntry(e).length);
        assert.equal(payloadSize(e), e.data?.length ?? 0);
      }),
      { numRuns: 1000 },
    );
  });

  test("varintSize and varint64Size agree with the encoding of a term / a vote", () => {
    fc.assert(
      fc.property(arbIndex, arbId, (n, id) => {
        assert.equal(varintSize(n), sizeOfVarint(BigInt(n)));
        assert.equal(varint64Size(id), sizeOfVarint(id));
      }),
      { numRuns: 1000 },
    );
  });
});

/** Reference varint size by repeated shifts of a bigint. */
function sizeOfVarint(v: bigint): number {
  let n = 1;
  while (v >= 128n) {
    v >>= 7n;
    n++;
  }
  return n;
}

describe("Message specifics", () => {
  test("an undefined snapshot is written as the empty snapshot, as etcd 3.4 writes it", () => {
    fc.assert(
      fc.property(arbMessage, (m) => {
        const without: Message = { ...m, snapshot: undefined };
        const withEmpty: Message = { ...m, snapshot: emptySnapshot() };
        assert.deepStrictEqual(encodeMessage(without), encodeMessage(withEmpty));
      }),
      { numRuns: 200 },
    );
  });

  test("a Message with no vote/responses keys encodes as one with them undefined", () => {
    const m = decodeMessage(encodeMessage({ type: 3, to: 2n, from: 1n, term: 1, logTerm: 1, index: 1, entries: [], commit: 1, reject: false, rejectHint: 0 }));
    assert.equal(m.vote, undefined);
    assert.equal(m.responses, undefined);
    assert.ok("vote" in m && "responses" in m, "decoded messages always have every key");
  });

  test("vote 0n is written (68 00) and read back as 0n; undefined writes nothing", () => {
    const base: Message = { type: 19, to: 1n, from: 1n, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    const a = encodeMessage({ ...base, vote: 0n });
    const b = encodeMessage(base);
    assert.equal(a.length, b.length + 2);
    assert.deepStrictEqual([...a.subarray(b.length)], [0x68, 0x00]);
    assert.equal(decodeMessage(a).vote, 0n);
    assert.equal(decodeMessage(b).vote, undefined);
  });

  test("an empty responses list writes nothing and decodes as undefined", () => {
    const base: Message = { type: 19, to: 1n, from: 1n, term: 0, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    assert.deepStrictEqual(encodeMessage({ ...base, responses: [] }), encodeMessage(base));
  });

  test("decoded bytes are views by default and independent copies with {copy: true}", () => {
    const bytes = encodeMessage({
      type: 3,
      to: 2n,
      from: 1n,
      term: 1,
      logTerm: 1,
      index: 1,
      commit: 1,
      reject: false,
      rejectHint: 0,
      entries: [{ term: 1, index: 2, type: 0, data: Uint8Array.of(1, 2, 3) }],
    });
    const view = decodeMessage(bytes);
    const copy = decodeMessage(bytes, { copy: true });
    assert.equal(view.entries[0]!.data!.buffer, bytes.buffer);
    assert.notEqual(copy.entries[0]!.data!.buffer, bytes.buffer);
    bytes.fill(0);
    assert.deepStrictEqual([...copy.entries[0]!.data!], [1, 2, 3]);
    assert.deepStrictEqual([...view.entries[0]!.data!], [0, 0, 0]);
  });

  test("{copy: true} copies never alias their input or each other, across slab turnover and sizes around the slab's bounds", () => {
    // Inputs of 64 bytes or less, 65..16 KiB (shared slab) and above (own buffer); enough of
    // them to fill several 128 KiB slabs; every input overwritten after all are decoded.
    const sizes = [1, 63, 64, 65, 200, 9000, 16 * 1024 - 40, 16 * 1024 + 100, 40_000];
    const kept: { input: Uint8Array; want: Message; got: Message }[] = [];
    for (let round = 0; round < 30; round++) {
      for (const n of sizes) {
        const data = new Uint8Array(n).map((_, i) => (i * 31 + n + round) & 0xff);
        const input = encodeMessage({
          type: 3,
          to: 2n,
          from: 1n,
          term: 1,
          logTerm: 1,
          index: round,
          commit: 1,
          reject: false,
          rejectHint: 0,
          entries: [{ term: 1, index: round + 1, type: 0, data }],
        }).slice(); // its own buffer: overwritten below
        kept.push({ input, want: decodeMessage(input.slice()), got: decodeMessage(input, { copy: true }) });
      }
    }
    const ranges = kept.map(({ got }) => got.entries[0]!.data!).map((d) => ({ b: d.buffer, lo: d.byteOffset, hi: d.byteOffset + d.byteLength }));
    for (let i = 0; i < ranges.length; i++) {
      assert.notEqual(ranges[i]!.b, kept[i]!.input.buffer, "a copy is not in its input's buffer");
      for (let j = i + 1; j < ranges.length; j++) {
        const [a, b] = [ranges[i]!, ranges[j]!];
        assert.ok(a.b !== b.b || a.hi <= b.lo || b.hi <= a.lo, `copies ${i} and ${j} overlap`);
      }
    }
    for (const k of kept) k.input.fill(0xee);
    for (const k of kept) assert.deepStrictEqual(k.got, k.want);
  });

  test("decoding a Node Buffer gives plain Uint8Array bytes", () => {
    const bytes = Buffer.from(encodeEntry({ term: 1, index: 2, type: 0, data: Uint8Array.of(9) }));
    const e = codecs.Entry.decode(bytes) as { data: Uint8Array };
    assert.equal(Object.getPrototypeOf(e.data), Uint8Array.prototype);
  });
});

describe("output buffers", () => {
  test("results are exact, never overlap, and survive slab turnover and large sizes", () => {
    const kept: { bytes: Uint8Array; copy: Uint8Array; m: Message }[] = [];
    let seed = 1;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 400; i++) {
      const size = [10, 100, 2000, 9000, 16000, 17000, 40000][rand(7)]!;
      const data = new Uint8Array(size).fill(i & 0xff);
      const m: Message = {
        type: 3,
        to: 2n,
        from: 1n,
        term: i,
        logTerm: i,
        index: i,
        commit: i,
        reject: false,
        rejectHint: 0,
        entries: [{ term: i, index: i + 1, type: 0, data }],
      };
      const bytes = encodeMessage(m);
      assert.equal(bytes.byteOffset % 8, 0, "results are 8-byte aligned");
      kept.push({ bytes, copy: bytes.slice(), m });
    }
    for (const { bytes, copy, m } of kept) {
      assert.deepStrictEqual(bytes, copy, "a later encoding overwrote an earlier result");
      assert.deepStrictEqual(decodeMessage(bytes).entries, m.entries);
    }
  });
});

describe("encodeMessage's one pass (common messages written without a size pass)", () => {
  const msg = (entries: Message["entries"], i: number): Message => ({
    type: 3,
    to: BigInt(i % 300),
    from: 1n,
    term: i,
    logTerm: i,
    index: 1000 + i,
    commit: i * 7,
    reject: i % 2 === 0,
    rejectHint: i % 200,
    entries,
  });

  test("gives the two-pass bytes across slab ends, the 16 KiB limit and big first-entry guesses", () => {
    // A 32-bit LCG (Math.imul keeps it exact): in 3,000 messages the one pass moves to a new
    // slab at a slab's end 35 times, gives up at 16 KiB 1,737 times, skips big messages by
    // their first entry 533 times and copies out 70 small results (counted on a build with
    // counters, 2026-12-02).
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const kept: { bytes: Uint8Array; want: Uint8Array }[] = [];
    for (let i = 0; i < 3000; i++) {
      const count = rand(70);
      const entries = [];
      for (let k = 0; k < count; k++) {
        // Mostly small entries, sometimes a big one after small ones (the one pass starts,
        // then gives up at 16 KiB), sometimes none, indexes past one and two varint bytes.
        const size = [0, 3, 9, 128, 128, 500, 128, 9000][rand(8)]!;
        const data = rand(10) === 0 ? undefined : new Uint8Array(size).fill(k & 0xff);
        entries.push(
          data === undefined ? { term: i, index: [5, 200, 20000, 3e9][rand(4)]!, type: rand(3) } : { term: i, index: 1001 + k * 97, type: rand(3), data },
        );
      }
      const m = msg(entries, i);
      const want = new Uint8Array(messageSize(m));
      encodeMessageInto(m, want, 0);
      const bytes = encodeMessage(m);
      assert.deepStrictEqual(bytes, want);
      if (bytes.length <= 64) assert.equal(bytes.buffer.byteLength, bytes.length, "small results are not slab views");
      kept.push({ bytes, want });
    }
    for (const { bytes, want } of kept) assert.deepStrictEqual(bytes, want, "a later encoding overwrote an earlier result");
  });

  test("an invalid entry after valid ones is reported as before, and hands out nothing", () => {
    const good = { term: 1, index: 2, type: 0, data: new Uint8Array(200) };
    const before = encodeMessage(msg([good], 1));
    const bad = [good, good, { term: 1, index: -1, type: 0, data: new Uint8Array(3) }];
    assert.throws(
      () => encodeMessage(msg(bad, 1)),
      (err: Error & { field?: string }) => err.field === "entries[2].index",
    );
    const notBytes = [good, { term: 1, index: 2, type: 0, data: [1, 2] as unknown as Uint8Array }];
    assert.throws(
      () => encodeMessage(msg(notBytes, 1)),
      (err: Error & { field?: string }) => err.field === "entries[1].data",
    );
    const after = encodeMessage(msg([good], 1));
    assert.deepStrictEqual(after, before);
    assert.ok(after.buffer !== before.buffer || after.byteOffset >= before.byteOffset + before.length, "no overlap with an earlier result");
  });
});

describe("encodeMessageInto / encodeEntryInto", () => {
  test("write the same bytes as encodeMessage / encodeEntry at the offset, nothing else", () => {
    fc.assert(
      fc.property(arbMessage, arbEntry, fc.nat({ max: 16 }), (m, e, offset) => {
        const want = encodeMessage(m);
        assert.equal(messageSize(m), want.length);
        const out = new Uint8Array(offset + want.length + 3).fill(0xee);
        assert.equal(encodeMessageInto(m, out, offset), offset + want.length);
        assert.deepStrictEqual(out.subarray(offset, offset + want.length), want);
        assert.ok(out.subarray(0, offset).every((b) => b === 0xee) && out.subarray(offset + want.length).every((b) => b === 0xee));
        const we = encodeEntry(e);
        const oe = new Uint8Array(offset + we.length);
        assert.equal(encodeEntryInto(e, oe, offset), offset + we.length);
        assert.deepStrictEqual(oe.subarray(offset), we);
      }),
      { numRuns: 200 },
    );
  });

  test("too little room is a RangeError and writes nothing", () => {
    const e = { term: 1, index: 2, type: 0, data: Uint8Array.of(1, 2, 3) };
    const out = new Uint8Array(entrySize(e) - 1);
    assert.throws(() => encodeEntryInto(e, out), RangeError);
    assert.ok(out.every((b) => b === 0));
    assert.throws(() => encodeEntryInto(e, new Uint8Array(100), -1), RangeError);
    const m: Message = { type: 3, to: 2n, from: 1n, term: 1, logTerm: 1, index: 1, entries: [e], commit: 1, reject: false, rejectHint: 0 };
    assert.throws(() => encodeMessageInto(m, new Uint8Array(10), 0), RangeError);
  });
});
