/**
 * Renderings of raft's outputs in the exact text of etcd-io/raft's test harness
 * (`DescribeReady`, `Status` progress maps, `raft-state` lines), built on raftpb's `describe*`.
 */
import { describeEntries, describeHardState, describeMessage, describeSnapshot } from "@tsraft/raftpb";
import type { Ready, ReadState } from "@tsraft/raft";
import { stateName } from "../../../../raft/src/raft.js";

/** Go's `%v` of a byte slice: `[104 105]`. */
function goBytes(b: Uint8Array | undefined): string {
  return `[${b === undefined ? "" : Array.from(b).join(" ")}]`;
}

/** Go's `%v` of `[]ReadState`: `[{12 [104 105]} ...]`. */
export function describeReadStates(rs: readonly ReadState[]): string {
  return `[${rs.map((r) => `{${r.index} ${goBytes(r.requestCtx)}}`).join(" ")}]`;
}

/**
 * etcd's `DescribeReady`: `Ready MustSync=b:` and the non-empty parts, one per line (or block),
 * or `<empty Ready>`.
 */
export function describeReady(rd: Ready): string {
  let s = "";
  if (rd.softState !== undefined) s += `Lead:${rd.softState.lead} State:${stateName(rd.softState.raftState)}\n`;
  if (rd.hardState !== undefined) s += `HardState ${describeHardState(rd.hardState)}\n`;
  if (rd.readStates.length > 0) s += `ReadStates ${describeReadStates(rd.readStates)}\n`;
  if (rd.entries.length > 0) s += `Entries:\n${describeEntries(rd.entries)}`;
  if (rd.snapshot !== undefined) s += `Snapshot ${describeSnapshot(rd.snapshot)}\n`;
  if (rd.committedEntries.length > 0) s += `CommittedEntries:\n${describeEntries(rd.committedEntries)}`;
  if (rd.messages.length > 0) {
    s += "Messages:\n";
    for (const m of rd.messages) s += `${describeMessage(m)}\n`;
  }
  return s === "" ? "<empty Ready>" : `Ready MustSync=${rd.mustSync}:\n${s}`;
}
