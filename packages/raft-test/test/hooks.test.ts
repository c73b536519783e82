/**
 * Config.hooks.confChangeRefused: a leader that replaces a proposed conf change by an empty
 * entry (another change is not applied yet; a simple change while joint; leaving a joint
 * state it is not in) tells the application which entry and why; accepted changes call
 * nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeTransition, ConfChangeType, EntryType, decodeConfChange } from "@tsraft/raftpb";
import { RawNode } from "@tsraft/raft";
import type { ConfChangeRefusal } from "@tsraft/raft";
import { cc, drain, newStorage } from "./harness/network.js";

function leader(seen: ConfChangeRefusal[]): { n: RawNode; s: ReturnType<typeof newStorage> } {
  const s = newStorage({ voters: [1n] });
  const n = new RawNode({ id: 1n, electionTick: 10, heartbeatTick: 1, storage: s, hooks: { confChangeRefused: (r) => void seen.push(r) } });
  n.campaign();
  drain(n, s);
  assert.equal(n.basicStatus().softState.raftState, "leader");
  return { n, s };
}

test("a second change while the first is not applied: refused, with the entry and raft's reason", () => {
  const seen: ConfChangeRefusal[] = [];
  const { n, s } = leader(seen);
  n.proposeConfChange(cc(ConfChangeType.ConfChangeAddLearnerNode, 2n));
  assert.equal(seen.length, 0, "the first change is accepted");
  n.proposeConfChange(cc(ConfChangeType.ConfChangeAddLearnerNode, 3n));
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.entry.type, EntryType.EntryConfChange);
  assert.equal(decodeConfChange(seen[0]!.entry.data!).nodeId, 3n);
  assert.match(seen[0]!.reason, /^possible unapplied conf change at index \d+ \(applied to \d+\)$/);
  // The log holds an empty normal entry in its place.
  const rd = drain(n, s)!;
  const last = rd.entries[rd.entries.length - 1]!;
  assert.equal(last.type, EntryType.EntryNormal);
  assert.equal(last.data, undefined);
});

test("leaving a joint configuration that is not joint: refused", () => {
  const seen: ConfChangeRefusal[] = [];
  const { n } = leader(seen);
  n.proposeConfChange({ transition: ConfChangeTransition.ConfChangeTransitionAuto, changes: [] });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.entry.type, EntryType.EntryConfChangeV2);
  assert.equal(seen[0]!.reason, "not in joint state; refusing empty conf change");
});
