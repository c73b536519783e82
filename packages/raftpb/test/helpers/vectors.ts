/**
 * Loads etcd's raftpb vectors from ../shared/vectors/raftpb (beside the repository, never
 * copied into it) and converts their JSON conventions to raftpb values: decimal-string ids ->
 * bigint, base64 -> Uint8Array, null -> undefined, enum names -> enum values.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as pb from "@tsraft/raftpb";
import { ConfChangeTransition, ConfChangeType, EntryType, MessageType } from "@tsraft/raftpb";

/** The repository root: the nearest ancestor of this file with pnpm-workspace.yaml. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "pnpm-workspace.yaml"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("raftpb tests: cannot find the repository root (pnpm-workspace.yaml)");
    dir = up;
  }
  return dir;
}

export const VECTORS_DIR = resolve(repoRoot(), "..", "shared", "vectors", "raftpb");

export function loadVectors<T>(file: string): T[] {
  const path = join(VECTORS_DIR, file);
  if (!existsSync(path)) {
    throw new Error(
      `raftpb tests: ${path} is missing. The vectors live in ../shared/vectors beside the repository ` + "(see DESIGN.md); they are not copied into it.",
    );
  }
  return JSON.parse(readFileSync(path, "utf8")) as T[];
}

export type TypeName = "Message" | "Entry" | "HardState" | "ConfState" | "ConfChange" | "ConfChangeV2" | "Snapshot";

export interface Codec {
  encode(v: unknown): Uint8Array;
  decode(b: Uint8Array): unknown;
}

export const codecs: Record<TypeName, Codec> = {
  Message: { encode: (v) => pb.encodeMessage(v as pb.Message), decode: (b) => pb.decodeMessage(b) },
  Entry: { encode: (v) => pb.encodeEntry(v as pb.Entry), decode: (b) => pb.decodeEntry(b) },
  HardState: { encode: (v) => pb.encodeHardState(v as pb.HardState), decode: (b) => pb.decodeHardState(b) },
  ConfState: { encode: (v) => pb.encodeConfState(v as pb.ConfState), decode: (b) => pb.decodeConfState(b) },
  ConfChange: { encode: (v) => pb.encodeConfChange(v as pb.ConfChange), decode: (b) => pb.decodeConfChange(b) },
  ConfChangeV2: { encode: (v) => pb.encodeConfChangeV2(v as pb.ConfChangeV2), decode: (b) => pb.decodeConfChangeV2(b) },
  Snapshot: { encode: (v) => pb.encodeSnapshot(v as pb.Snapshot), decode: (b) => pb.decodeSnapshot(b) },
};

export function fromHex(hex: string): Uint8Array {
  // A plain Uint8Array (not a Buffer), so decoded views compare equal to plain arrays.
  return new Uint8Array(Buffer.from(hex, "hex"));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
}

type J = Record<string, unknown>;

function bytes(v: unknown): Uint8Array | undefined {
  if (v === null || v === undefined) return undefined;
  return new Uint8Array(Buffer.from(v as string, "base64"));
}
const ids = (v: unknown): bigint[] => (v as string[]).map((s) => BigInt(s));
function enumValue(e: Record<string, string | number>, name: unknown): number {
  const v = e[name as string];
  if (typeof v !== "number") throw new Error(`unknown enum name ${String(name)}`);
  return v;
}

export function toEntry(j: J): pb.Entry {
  return { term: j.term as number, index: j.index as number, type: enumValue(EntryType, j.type), data: bytes(j.data) };
}
export function toConfState(j: J): pb.ConfState {
  return {
    voters: ids(j.voters),
    learners: ids(j.learners),
    votersOutgoing: ids(j.votersOutgoing),
    learnersNext: ids(j.learnersNext),
    autoLeave: j.autoLeave as boolean,
  };
}
export function toSnapshot(j: J): pb.Snapshot {
  const md = j.metadata as J;
  return {
    data: bytes(j.data),
    metadata: { confState: toConfState(md.confState as J), index: md.index as number, term: md.term as number },
  };
}
export function toHardState(j: J): pb.HardState {
  return { term: j.term as number, vote: BigInt(j.vote as string), commit: j.commit as number };
}
/** Message values in the vectors have no vote/responses (etcd 3.4): the decoder gives undefined. */
export function toMessage(j: J): pb.Message {
  return {
    type: enumValue(MessageType, j.type),
    to: BigInt(j.to as string),
    from: BigInt(j.from as string),
    term: j.term as number,
    logTerm: j.logTerm as number,
    index: j.index as number,
    entries: (j.entries as J[]).map(toEntry),
    commit: j.commit as number,
    vote: j.vote === undefined || j.vote === null ? undefined : BigInt(j.vote as string),
    snapshot: toSnapshot(j.snapshot as J),
    reject: j.reject as boolean,
    rejectHint: j.rejectHint as number,
    context: bytes(j.context),
    responses: j.responses === undefined || j.responses === null ? undefined : (j.responses as J[]).map(toMessage),
  };
}
export function toConfChange(j: J): pb.ConfChange {
  return {
    type: enumValue(ConfChangeType, j.type),
    nodeId: BigInt(j.nodeId as string),
    context: bytes(j.context),
    id: BigInt(j.id as string),
  };
}
export function toConfChangeV2(j: J): pb.ConfChangeV2 {
  return {
    transition: enumValue(ConfChangeTransition, j.transition),
    changes: (j.changes as J[]).map((c) => ({ type: enumValue(ConfChangeType, c.type), nodeId: BigInt(c.nodeId as string) })),
    context: bytes(j.context),
  };
}

export const fromJson: Record<TypeName, (j: J) => unknown> = {
  Message: toMessage,
  Entry: toEntry,
  HardState: toHardState,
  ConfState: toConfState,
  ConfChange: toConfChange,
  ConfChangeV2: toConfChangeV2,
  Snapshot: toSnapshot,
};
