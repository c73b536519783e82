// Flow-control limits holding under a burst of proposals: maxSizePerMsg, maxInflightMsgs and
// maxInflightBytes, maxUncommittedEntriesSize (with its budget returned on commit), and
// maxCommittedSizePerReady.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MessageType, entrySize } from "@tsraft/raftpb";
import type { Message, NodeId } from "@tsraft/raftpb";
import { ProposalDroppedError, type Config, type Ready } from "@tsraft/raft";
import { Network, bytes, drain, enc, newLeader, progressOf } from "./harness/network.js";

const size = (m: Message) => m.entries.reduce((s, e) => s + entrySize(e), 0);

function cluster(cfg: Partial<Config>): Network {
  const net = new Network([1n, 2n, 3n], cfg);
  net.stabilize();
  net.elect(1n);
  return net;
}

describe("maxSizePerMsg", () => {
  const cases = [
    { name: "1 KiB messages, 100-byte entries", max: 1024, payload: 100 },
    { name: "a limit smaller than one entry: one entry per message", max: 50, payload: 100 },
    { name: "0: one entry per message", max: 0, payload: 10 },
  ];
  for (const c of cases) {
    test(`${c.name}: a lagging follower is caught up in bounded messages`, () => {
      const net = cluster({ maxSizePerMsg: c.max });
      net.isolate(3n);
      for (let i = 0; i < 40; i++) net.get(1n).node.propose(bytes(c.payload, 0x30 + (i % 10)));
      net.stabilize();
      net.heal();
      net.delivered = [];
      net.tickStabilize(3);
      const apps = net.delivered.filter((m) => m.type === MessageType.MsgApp && m.to === 3n && m.entries.length > 0);
      assert.ok(apps.length > 0);
      for (const m of apps) assert.ok(m.entries.length === 1 || size(m) <= c.max, `a MsgApp of ${m.entries.length} entries, ${size(m)} bytes`);
      if (c.max >= 1024)
        assert.ok(
          apps.some((m) => m.entries.length > 1),
          "entries are batched up to the limit",
        );
      assert.equal(net.appliedData(3n).length, 40);
    });
  }
});

describe("inflight limits under a burst", () => {
  const cases: Array<{ name: string; cfg: Partial<Config>; payload: number; maxMsgs: number; maxBytes?: number }> = [
    // One MsgApp per proposal (etcd's pattern), so that 50 proposals overrun a window of 4.
    { name: "maxInflightMsgs 4", cfg: { maxInflightMsgs: 4, batchProposals: false }, payload: 10, maxMsgs: 4 },
    { name: "maxInflightBytes 1000 (100-byte entries)", cfg: { maxInflightBytes: 1000, maxSizePerMsg: 100 }, payload: 100, maxMsgs: 256, maxBytes: 1000 },
  ];
  for (const c of cases) {
    test(`${c.name}: the leader never has more unacknowledged appends out to a follower`, () => {
      const net = cluster(c.cfg);
      // Node 3's acknowledgements are held back, so nothing in flight to it is freed.
      const held: Message[] = [];
      net.filters.push((m) => {
        if (m.from === 3n && m.type === MessageType.MsgAppResp) {
          held.push(m);
          return true;
        }
        return false;
      });
      const acked = progressOf(net.get(1n).node, 3n).match;
      net.delivered = [];
      for (let i = 0; i < 50; i++) net.get(1n).node.propose(bytes(c.payload));
      net.stabilize();
      const last = net.get(1n).storage.lastIndex();
      // Every append carrying entries after node 3's last acknowledged index is in flight.
      const inflight = net.delivered.filter((m) => m.type === MessageType.MsgApp && m.to === 3n && m.entries.length > 0);
      assert.ok(inflight.every((m) => m.entries[0]!.index > acked));
      assert.ok(inflight.length <= c.maxMsgs, `${inflight.length} messages in flight`);
      if (c.maxBytes !== undefined) {
        const payload = inflight.reduce((s, m) => s + m.entries.reduce((t, e) => t + (e.data?.length ?? 0), 0), 0);
        // The window closes once it holds maxBytes or more, so the last message may overshoot
        // by less than its own size.
        assert.ok(payload <= c.maxBytes + c.payload - 1, `${payload} bytes in flight`);
        assert.ok(payload >= c.maxBytes, "the window was filled");
      }
      // Commit does not depend on node 3; node 2 has everything.
      assert.equal(net.appliedData(2n).length, 50);
      assert.ok(net.get(3n).storage.lastIndex() < last, "node 3 is held back by the window");
      // Release the acknowledgements: the window reopens and node 3 catches up.
      net.heal();
      for (const m of held) net.queue.push(m);
      net.tickStabilize(3);
      assert.equal(net.appliedData(3n).length, 50);
    });
  }
});

describe("maxUncommittedEntriesSize", () => {
  test("proposals beyond the limit are dropped; the budget comes back as entries commit", () => {
    const net = cluster({ maxUncommittedEntriesSize: 1000 });
    net.isolate(2n);
    net.isolate(3n);
    const n1 = net.get(1n).node;
    let accepted = 0;
    let dropped = 0;
    for (let i = 0; i < 20; i++) {
      try {
        n1.propose(bytes(100));
        accepted++;
      } catch (err) {
        assert.ok(err instanceof ProposalDroppedError);
        dropped++;
      }
    }
    net.stabilize();
    assert.equal(accepted, 10);
    assert.equal(dropped, 10);
    assert.equal(net.state(1n), "leader", "the node stays healthy");
    // Nothing commits, nothing more fits.
    assert.throws(() => n1.propose(bytes(1)), ProposalDroppedError);
    // Empty entries are always accepted (they cost nothing).
    assert.doesNotThrow(() => n1.propose(new Uint8Array(0)));
    net.heal();
    net.tickStabilize(2);
    for (const id of net.ids()) assert.equal(net.appliedData(id).length, 10);
    // The budget is back.
    for (let i = 0; i < 10; i++) n1.propose(bytes(100));
    net.stabilize();
    for (const id of net.ids()) assert.equal(net.appliedData(id).length, 20);
  });

  test("a single proposal larger than the limit is accepted when nothing is uncommitted", () => {
    const { n, s } = newLeader({ cfg: { maxUncommittedEntriesSize: 100 } });
    assert.doesNotThrow(() => n.propose(bytes(500)));
    assert.throws(() => n.propose(bytes(1)), ProposalDroppedError);
    drain(n, s);
  });

  test("a follower forwarding proposals is subject to the leader's limit", () => {
    const net = cluster({ maxUncommittedEntriesSize: 300 });
    net.tickStabilize();
    net.isolate(3n);
    net.dropType(MessageType.MsgAppResp);
    for (let i = 0; i < 6; i++) net.get(2n).node.propose(bytes(100));
    net.stabilize();
    const last = net.get(1n).storage.lastIndex();
    net.heal();
    net.tickStabilize(2);
    assert.ok(last > 0);
    assert.equal(net.appliedData(1n).length, 3, "three 100-byte entries fit in 300 bytes");
  });
});

describe("maxCommittedSizePerReady", () => {
  function single(cfg: Partial<Config>) {
    const { n, s } = newLeader({ voters: [1n], cfg });
    drain(n, s);
    drain(n, s);
    return { n, s };
  }
  function drainAll(n: ReturnType<typeof single>["n"], s: ReturnType<typeof single>["s"]): Ready[] {
    const out: Ready[] = [];
    for (let rd = drain(n, s); rd !== undefined; rd = drain(n, s)) out.push(rd);
    return out;
  }
  test("committed entries are handed out in bounded batches", () => {
    const { n, s } = single({ maxCommittedSizePerReady: 1000, maxSizePerMsg: 1000 });
    for (let i = 0; i < 30; i++) n.propose(bytes(100));
    const readies = drainAll(n, s);
    const batches = readies.map((rd) => rd.committedEntries).filter((b) => b.length > 0);
    const total = batches.reduce((k, b) => k + b.length, 0);
    assert.equal(total, 30);
    assert.ok(batches.length >= 3, `${batches.length} batches`);
    for (const b of batches) {
      const bytesOut = b.reduce((k, e) => k + entrySize(e), 0);
      assert.ok(b.length === 1 || bytesOut <= 1000, `a batch of ${b.length} entries, ${bytesOut} bytes`);
    }
    const idx = batches.flat().map((e) => e.index);
    assert.deepEqual(
      idx,
      idx.map((_, i) => idx[0]! + i),
    );
  });

  test("a single entry larger than the limit still goes out, alone", () => {
    const { n, s } = single({ maxCommittedSizePerReady: 100, maxSizePerMsg: 100 });
    n.propose(bytes(5000));
    n.propose(bytes(10));
    const batches = drainAll(n, s)
      .map((rd) => rd.committedEntries)
      .filter((b) => b.length > 0);
    assert.deepEqual(
      batches.map((b) => b.map((e) => e.data?.length ?? 0)),
      [[5000], [10]],
    );
  });

  test("in a network, followers apply in bounded batches too", () => {
    const net = cluster({ maxCommittedSizePerReady: 500, maxSizePerMsg: 500 });
    net.recordReadies = true;
    for (let i = 0; i < 40; i++) net.get(1n).node.propose(enc(`entry-${i}`.padEnd(50, ".")));
    net.stabilize();
    for (const id of net.ids() as NodeId[]) {
      for (const rd of net.get(id).readies) {
        const b = rd.committedEntries;
        const out = b.reduce((k, e) => k + entrySize(e), 0);
        assert.ok(b.length <= 1 || out <= 500, `node ${id}: ${b.length} entries, ${out} bytes`);
      }
      assert.equal(net.appliedData(id).length, 40);
    }
  });
});
