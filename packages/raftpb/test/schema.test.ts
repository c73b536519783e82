/**
 * proto/raft.proto and the hand-written codec agree: protobufjs (reflection over the .proto)
 * encodes the same values to the same bytes as raftpb, and reads raftpb's bytes back as the
 * same values. This pins the schema file to the codec, and the codec to a general protobuf
 * implementation (field numbers, wire types, the always-written fields).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import protobuf from "protobufjs";
import { arbitraries } from "./helpers/arbitraries.js";
import { codecs, toHex, type TypeName } from "./helpers/vectors.js";

const root = protobuf.loadSync(fileURLToPath(new URL("../proto/raft.proto", import.meta.url)));

/** raftpb value -> protobufjs plain object: Entry's capitalised names, bigint -> string. */
function toPb(v: unknown, type: string): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array || v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map((x) => toPb(x, type));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    const name = type === "Entry" ? k[0]!.toUpperCase() + k.slice(1) : k;
    const sub =
      k === "entries"
        ? "Entry"
        : k === "responses"
          ? "Message"
          : k === "snapshot"
            ? "Snapshot"
            : k === "metadata"
              ? "SnapshotMetadata"
              : k === "confState"
                ? "ConfState"
                : "";
    out[name] = toPb(x, sub);
  }
  return out;
}

const opts: protobuf.IConversionOptions = { longs: String, enums: Number, bytes: Array, defaults: false, arrays: false };

describe("proto/raft.proto read by protobufjs agrees with the codec", () => {
  for (const type of Object.keys(codecs) as TypeName[]) {
    test(type, () => {
      const T = root.lookupType(`raftpb.${type}`);
      fc.assert(
        fc.property(arbitraries[type], (v) => {
          const ours = codecs[type].encode(v);
          const pbMsg = T.fromObject(toPb(v, type) as Record<string, unknown>);
          assert.equal(toHex(T.encode(pbMsg).finish()), toHex(ours), "protobufjs writes the same bytes");
          assert.deepStrictEqual(T.toObject(T.decode(ours), opts), T.toObject(pbMsg, opts), "protobufjs reads the same value");
        }),
        { numRuns: 200 },
      );
    });
  }
});
