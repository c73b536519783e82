// A malformed MsgApp from the network is refused with InvalidMessageError and changes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EntryType, MessageType, type Entry, type Message } from "@tsraft/raftpb";
import { InvalidMessageError } from "@tsraft/raft";
import { Network } from "./harness/network.js";

function msgApp(index: number, logTerm: number, term: number, ents: Array<[number, number]>): Message {
  const entries: Entry[] = ents.map(([i, t]) => ({ index: i, term: t, type: EntryType.EntryNormal, data: new Uint8Array([1]) }));
  return { type: MessageType.MsgApp, to: 2n, from: 1n, term, logTerm, index, entries, commit: 0, reject: false, rejectHint: 0 };
}

const cases: Array<{ name: string; m: Message }> = [
  { name: "gap after index", m: msgApp(3, 1, 2, [[5, 2]]) },
  {
    name: "gap between entries",
    m: msgApp(3, 1, 2, [
      [4, 2],
      [6, 2],
    ]),
  },
  {
    name: "term goes down",
    m: msgApp(3, 1, 2, [
      [4, 2],
      [5, 1],
    ]),
  },
  { name: "entry term below logTerm", m: msgApp(3, 2, 2, [[4, 1]]) },
  { name: "entry term above message term", m: msgApp(3, 1, 2, [[4, 3]]) },
  { name: "logTerm above message term", m: msgApp(3, 3, 2, []) },
];

for (const c of cases) {
  test(`step refuses a malformed MsgApp: ${c.name}`, () => {
    const net = new Network([1n, 2n, 3n]);
    net.stabilize();
    net.elect(1n);
    const n2 = net.get(2n).node;
    const before = JSON.stringify(n2.status(), (_, v) => (typeof v === "bigint" ? v.toString() : v));
    const lastBefore = net.get(2n).storage.lastIndex();
    assert.throws(() => n2.step(c.m), InvalidMessageError);
    assert.equal(
      JSON.stringify(n2.status(), (_, v) => (typeof v === "bigint" ? v.toString() : v)),
      before,
    );
    assert.equal(n2.hasReady(), false);
    assert.equal(net.get(2n).storage.lastIndex(), lastBefore);
  });
}

test("a well-formed MsgApp is accepted", () => {
  const net = new Network([1n, 2n, 3n]);
  net.stabilize();
  net.elect(1n);
  const n2 = net.get(2n).node;
  const term = n2.basicStatus().hardState.term;
  const last = net.get(2n).storage.lastIndex();
  n2.step(
    msgApp(last, term, term, [
      [last + 1, term],
      [last + 2, term],
    ]),
  );
  assert.equal(n2.ready().entries.length, 2);
});
