/** describe*: etcd-io/raft's formats, as they appear in etcd's interaction scripts. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ConfChangeType,
  EntryType,
  LOCAL_APPEND_THREAD,
  LOCAL_APPLY_THREAD,
  MessageType,
  describeConfChange,
  describeConfState,
  describeEntries,
  describeEntry,
  describeHardState,
  describeMessage,
  describeSnapshot,
  emptySnapshot,
  encodeConfChange,
  encodeConfChangeV2,
  type Entry,
  type Message,
  type Snapshot,
} from "@tsraft/raftpb";

const te = new TextEncoder();
const msg = (m: Partial<Message>): Message => ({
  type: MessageType.MsgApp,
  to: 2n,
  from: 1n,
  term: 0,
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 0,
  reject: false,
  rejectHint: 0,
  ...m,
});
const normal = (term: number, index: number, data?: string): Entry => ({
  term,
  index,
  type: EntryType.EntryNormal,
  data: data === undefined ? undefined : te.encode(data),
});
const snap = (index: number, voters: bigint[], votersOutgoing: bigint[] = [], autoLeave = false): Snapshot => {
  const s = emptySnapshot();
  s.metadata.index = index;
  s.metadata.term = 1;
  s.metadata.confState.voters = voters;
  s.metadata.confState.votersOutgoing = votersOutgoing;
  s.metadata.confState.autoLeave = autoLeave;
  return s;
};

describe("describeMessage (lines from etcd-io/raft testdata/)", () => {
  const cases: [string, Message, string][] = [
    [
      "one entry, nil data",
      msg({ term: 1, logTerm: 1, index: 10, commit: 10, entries: [normal(1, 11)] }),
      '1->2 MsgApp Term:1 Log:1/10 Commit:10 Entries:[1/11 EntryNormal ""]',
    ],
    [
      "brief example",
      msg({ term: 1, logTerm: 1, index: 11, commit: 11, entries: [normal(1, 12, "foo")] }),
      '1->2 MsgApp Term:1 Log:1/11 Commit:11 Entries:[1/12 EntryNormal "foo"]',
    ],
    [
      "several entries, one per line",
      msg({
        from: 2n,
        to: 3n,
        term: 2,
        logTerm: 1,
        index: 3,
        commit: 4,
        entries: [
          {
            term: 1,
            index: 4,
            type: EntryType.EntryConfChangeV2,
            data: encodeConfChangeV2({ transition: 0, changes: [{ type: ConfChangeType.ConfChangeAddNode, nodeId: 3n }] }),
          },
          normal(2, 5),
        ],
      }),
      '2->3 MsgApp Term:2 Log:1/3 Commit:4 Entries:[\n  1/4 EntryConfChangeV2 v3\n  2/5 EntryNormal ""\n]',
    ],
    [
      "rejection",
      msg({ from: 3n, to: 2n, type: MessageType.MsgAppResp, term: 2, logTerm: 1, index: 4, reject: true, rejectHint: 3 }),
      "3->2 MsgAppResp Term:2 Log:1/4 Rejected (Hint: 3)",
    ],
    ["vote reject hint 0", msg({ to: 3n, type: MessageType.MsgVoteResp, term: 2, reject: true }), "1->3 MsgVoteResp Term:2 Log:0/0 Rejected (Hint: 0)"],
    [
      "snapshot",
      msg({ type: MessageType.MsgSnap, term: 1, snapshot: snap(4, [1n, 2n]) }),
      "1->2 MsgSnap Term:1 Log:0/0\n  Snapshot: Index:4 Term:1 ConfState:Voters:[1 2] VotersOutgoing:[] Learners:[] LearnersNext:[] AutoLeave:false",
    ],
    ["empty snapshot not shown", msg({ type: MessageType.MsgHeartbeat, snapshot: emptySnapshot() }), "1->2 MsgHeartbeat Term:0 Log:0/0"],
    [
      "responses, vote, local thread",
      msg({
        type: MessageType.MsgStorageAppend,
        to: LOCAL_APPEND_THREAD,
        term: 1,
        commit: 10,
        vote: 1n,
        responses: [msg({ type: MessageType.MsgVoteResp, to: 1n, from: 1n, term: 1 })],
      }),
      "1->AppendThread MsgStorageAppend Term:1 Log:0/0 Commit:10 Vote:1 Responses:[\n  1->1 MsgVoteResp Term:1 Log:0/0\n]",
    ],
    [
      "apply thread response with entries",
      msg({ type: MessageType.MsgStorageApplyResp, from: LOCAL_APPLY_THREAD, to: 1n, entries: [normal(1, 11)] }),
      'ApplyThread->1 MsgStorageApplyResp Term:0 Log:0/0 Entries:[1/11 EntryNormal ""]',
    ],
    ["ids in hex, None for 0", msg({ from: 0n, to: 255n, type: MessageType.MsgHup }), "None->ff MsgHup Term:0 Log:0/0"],
    ["vote 0n not shown", msg({ vote: 0n }), "1->2 MsgApp Term:0 Log:0/0"],
    ["unknown type shows the number", msg({ type: 99 as MessageType }), "1->2 99 Term:0 Log:0/0"],
  ];
  for (const [name, m, want] of cases) {
    test(name, () => assert.equal(describeMessage(m), want));
  }

  test("nested responses indent further", () => {
    const inner = msg({ type: MessageType.MsgAppResp, entries: [normal(1, 1, "a"), normal(1, 2, "b")] });
    const m = msg({ type: MessageType.MsgStorageAppend, responses: [inner] });
    assert.equal(
      describeMessage(m),
      '1->2 MsgStorageAppend Term:0 Log:0/0 Responses:[\n  1->2 MsgAppResp Term:0 Log:0/0 Entries:[\n    1/1 EntryNormal "a"\n    1/2 EntryNormal "b"\n  ]\n]',
    );
  });

  test("the entry formatter applies to normal entries", () => {
    const m = msg({ entries: [normal(1, 12, "foo")] });
    assert.equal(
      describeMessage(m, (d) => `<${d.length}>`),
      "1->2 MsgApp Term:0 Log:0/0 Entries:[1/12 EntryNormal <3>]",
    );
  });
});

describe("describeEntry", () => {
  test("conf changes as change lists", () => {
    const v1 = { term: 1, index: 4, type: EntryType.EntryConfChange, data: encodeConfChange({ type: ConfChangeType.ConfChangeAddNode, nodeId: 2n, id: 0n }) };
    assert.equal(describeEntry(v1), "1/4 EntryConfChange v2");
    const v2 = {
      term: 1,
      index: 4,
      type: EntryType.EntryConfChangeV2,
      data: encodeConfChangeV2({
        transition: 0,
        changes: [
          { type: ConfChangeType.ConfChangeRemoveNode, nodeId: 1n },
          { type: ConfChangeType.ConfChangeAddNode, nodeId: 4n },
        ],
      }),
    };
    assert.equal(describeEntry(v2), "1/4 EntryConfChangeV2 r1 v4");
    assert.equal(describeEntry({ term: 1, index: 5, type: EntryType.EntryConfChangeV2, data: undefined }), "1/5 EntryConfChangeV2");
    assert.equal(describeEntry({ term: 1, index: 5, type: EntryType.EntryConfChange, data: undefined }), "1/5 EntryConfChange v0");
  });

  test("an undecodable conf change shows the error", () => {
    const s = describeEntry({ term: 1, index: 5, type: EntryType.EntryConfChange, data: Uint8Array.of(0x08) });
    assert.match(s, /^1\/5 EntryConfChange raftpb: cannot decode ConfChange: id: /);
  });

  test("data quoted like Go's %q", () => {
    const q = (bytes: number[] | string) =>
      describeEntry({ term: 1, index: 1, type: 0, data: typeof bytes === "string" ? te.encode(bytes) : Uint8Array.from(bytes) });
    assert.equal(q("prop_1_2"), '1/1 EntryNormal "prop_1_2"');
    assert.equal(q('a"b\\c'), '1/1 EntryNormal "a\\"b\\\\c"');
    assert.equal(q([0, 7, 8, 9, 10, 11, 12, 13, 0x1f, 0x7f]), '1/1 EntryNormal "\\x00\\a\\b\\t\\n\\v\\f\\r\\x1f\\x7f"');
    assert.equal(q("héllo ☃ 😀"), '1/1 EntryNormal "héllo ☃ 😀"');
    assert.equal(q([0xff, 0xc3]), '1/1 EntryNormal "\\xff\\xc3"');
    assert.equal(q([0xed, 0xa0, 0x80]), '1/1 EntryNormal "\\xed\\xa0\\x80"'); // a UTF-16 surrogate is invalid UTF-8
    assert.equal(q("\u200b\u00a0"), '1/1 EntryNormal "\\u200b\\u00a0"');
    assert.equal(q("\u{e0001}"), '1/1 EntryNormal "\\U000e0001"');
  });
});

describe("the other describers", () => {
  test("describeHardState", () => {
    assert.equal(describeHardState({ term: 1, vote: 1n, commit: 10 }), "Term:1 Vote:1 Commit:10");
    assert.equal(describeHardState({ term: 1, vote: 0n, commit: 0 }), "Term:1 Commit:0");
  });
  test("describeConfState and describeSnapshot", () => {
    const s = snap(4, [1n, 2n, 3n], [1n], true);
    s.metadata.confState.learners = [5n];
    assert.equal(describeConfState(s.metadata.confState), "Voters:[1 2 3] VotersOutgoing:[1] Learners:[5] LearnersNext:[] AutoLeave:true");
    assert.equal(describeSnapshot(s), "Index:4 Term:1 ConfState:Voters:[1 2 3] VotersOutgoing:[1] Learners:[5] LearnersNext:[] AutoLeave:true");
  });
  test("describeConfChange", () => {
    assert.equal(describeConfChange({ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 7n, id: 1n }), "l7");
    assert.equal(
      describeConfChange({
        transition: 0,
        changes: [
          { type: ConfChangeType.ConfChangeUpdateNode, nodeId: 18446744073709551615n },
          { type: 9 as ConfChangeType, nodeId: 1n },
        ],
      }),
      "u18446744073709551615 unknown1",
    );
    assert.equal(describeConfChange({ transition: 0, changes: [] }), "");
  });
  test("describeEntries: one line each", () => {
    assert.equal(describeEntries([normal(1, 1, "a"), normal(1, 2)]), '1/1 EntryNormal "a"\n1/2 EntryNormal ""\n');
  });
});
