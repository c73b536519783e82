/** fast-check arbitraries for every raftpb type, in the exact shapes the decoders return. */
import fc from "fast-check";
import type { ConfChange, ConfChangeV2, ConfState, Entry, HardState, Message, Snapshot } from "@tsraft/raftpb";
import type { TypeName } from "./vectors.js";

const MAX_U64 = (1n << 64n) - 1n;

/** Node ids over the full uint64 range, with the edges and small ids weighted in. */
export const arbId: fc.Arbitrary<bigint> = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 127n, 128n, (1n << 32n) - 1n, 1n << 32n, (1n << 53n) - 1n, MAX_U64 - 1n, MAX_U64),
  fc.bigInt({ min: 0n, max: 300n }),
  fc.bigInt({ min: 0n, max: MAX_U64 }),
);

/** Indexes and terms: 0 .. 2^53-1, with the edges of each varint length weighted in. */
export const arbIndex: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 16383, 16384, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1, 2 ** 32, 2 ** 35, Number.MAX_SAFE_INTEGER),
  fc.nat({ max: 100_000 }),
  fc.maxSafeNat(),
);

/** Nullable bytes: absent, present and empty, or some bytes (sometimes > 127 for 2-byte lengths). */
export const arbBytes: fc.Arbitrary<Uint8Array | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(new Uint8Array(0)),
  fc.uint8Array({ minLength: 1, maxLength: 24 }),
  fc.uint8Array({ minLength: 120, maxLength: 300 }),
);

export const arbEntry: fc.Arbitrary<Entry> = fc.record({
  term: arbIndex,
  index: arbIndex,
  type: fc.constantFrom(0, 1, 2),
  data: arbBytes,
});

const arbIds = fc.array(arbId, { maxLength: 5 });
export const arbConfState: fc.Arbitrary<ConfState> = fc.record({
  voters: arbIds,
  learners: arbIds,
  votersOutgoing: arbIds,
  learnersNext: arbIds,
  autoLeave: fc.boolean(),
});

export const arbSnapshot: fc.Arbitrary<Snapshot> = fc.record({
  data: arbBytes,
  metadata: fc.record({ confState: arbConfState, index: arbIndex, term: arbIndex }),
});

export const arbHardState: fc.Arbitrary<HardState> = fc.record({ term: arbIndex, vote: arbId, commit: arbIndex });

/**
 * Messages as decodeMessage returns them: every key present, snapshot always set, vote either
 * undefined or any id (0n included: it is written when defined), responses undefined or
 * non-empty (an empty list has no wire form).
 */
export const arbMessage: fc.Arbitrary<Message> = fc.letrec<{ msg: Message }>((tie) => ({
  msg: fc.record({
    type: fc.integer({ min: 0, max: 23 }),
    to: arbId,
    from: arbId,
    term: arbIndex,
    logTerm: arbIndex,
    index: arbIndex,
    entries: fc.array(arbEntry, { maxLength: 4 }),
    commit: arbIndex,
    vote: fc.option(arbId, { nil: undefined }),
    snapshot: arbSnapshot,
    reject: fc.boolean(),
    rejectHint: arbIndex,
    context: arbBytes,
    responses: fc.option(fc.array(tie("msg"), { minLength: 1, maxLength: 2 }), { nil: undefined, depthSize: "small" }),
  }),
})).msg;

export const arbConfChange: fc.Arbitrary<ConfChange> = fc.record({
  type: fc.integer({ min: 0, max: 3 }),
  nodeId: arbId,
  context: arbBytes,
  id: arbId,
});

export const arbConfChangeV2: fc.Arbitrary<ConfChangeV2> = fc.record({
  transition: fc.integer({ min: 0, max: 2 }),
  changes: fc.array(fc.record({ type: fc.integer({ min: 0, max: 3 }), nodeId: arbId }), { maxLength: 5 }),
  context: arbBytes,
});

export const arbitraries: Record<TypeName, fc.Arbitrary<unknown>> = {
  Message: arbMessage,
  Entry: arbEntry,
  HardState: arbHardState,
  ConfState: arbConfState,
  ConfChange: arbConfChange,
  ConfChangeV2: arbConfChangeV2,
  Snapshot: arbSnapshot,
};
