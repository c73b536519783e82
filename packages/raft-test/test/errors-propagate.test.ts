// Raft never swallows what it does not expect. An election started by tick() and the leader's
// automatic exit from a joint configuration catch only RaftErrors (a refusal that changed
// nothing); a broken invariant (RaftPanic), a storage I/O error or a failing logger reaches
// the application. Before, both caught everything and logged it at debug level.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfChangeTransition, ConfChangeType, MessageType, type NodeId } from "@tsraft/raftpb";
import * as raft from "@tsraft/raft";
import { UnavailableError, type Logger } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { voteRespMsgType } from "../../raft/src/util.js";
import { Network } from "./harness/network.js";

/** A MemoryStorage whose term() of its last index can be made to fail. */
class TermFailingStorage extends MemoryStorage {
  fail: (() => Error) | undefined = undefined;
  override term(i: number): number {
    if (this.fail !== undefined && i === this.lastIndex()) throw this.fail();
    return super.term(i);
  }
}

/** Node 1 (over a TermFailingStorage) and nodes 2 and 3, bootstrapped, no leader yet. */
function cluster(): { net: Network; storage: TermFailingStorage } {
  const storage = new TermFailingStorage();
  const net = new Network([2n, 3n], {}, false);
  net.addNode(1n, [], false, storage);
  for (const id of [1n, 2n, 3n]) net.get(id).node.bootstrap([{ id: 1n }, { id: 2n }, { id: 3n }]);
  net.stabilize();
  return { net, storage };
}

/** Ticks node 1 until it would campaign (bounded); returns what tick() threw. */
function tickUntilCampaign(net: Network): unknown {
  for (let i = 0; i < 40; i++) {
    try {
      net.get(1n).node.tick();
    } catch (err) {
      return err;
    }
    if (net.get(1n).node.basicStatus().softState.raftState !== "follower") return undefined;
  }
  return undefined;
}

test("a broken invariant inside an election started by tick() propagates out of tick()", () => {
  const { net, storage } = cluster();
  // The storage breaks its contract: it cannot give the term of its own last entry.
  storage.fail = () => new UnavailableError();
  const err = tickUntilCampaign(net);
  assert.ok(err instanceof raft.RaftPanic, `tick() threw ${String(err)}`);
  assert.match((err as Error).message, /unexpected error when getting the last term/);
});

test("a storage I/O error inside an election started by tick() propagates, and the node is unchanged", () => {
  const { net, storage } = cluster();
  const before = net.get(1n).node.basicStatus();
  storage.fail = () => Object.assign(new Error("EIO: simulated read failure"), { code: "EIO" });
  const err = tickUntilCampaign(net);
  assert.match(String(err), /EIO/);
  // The campaign read the storage before changing anything: still a follower at its term.
  const after = net.get(1n).node.basicStatus();
  assert.equal(after.softState.raftState, "follower");
  assert.deepEqual(after.hardState, before.hardState);
  assert.equal(net.get(1n).node.hasReady(), false);
  // Once the storage reads again, the election goes on.
  storage.fail = undefined;
  for (let i = 0; i < 40 && net.leader() === undefined; i++) net.tickStabilize();
  assert.notEqual(net.leader(), undefined);
});

test("a failure while leaving a joint configuration automatically propagates (only a RaftError is logged and retried)", () => {
  const logger: Logger = {
    debug() {},
    info(msg: string) {
      if (msg.startsWith("initiating automatic transition out of joint configuration")) throw new Error("the logger failed");
    },
    warn() {},
    error() {},
  };
  const net = new Network([1n, 2n, 3n], { logger });
  net.stabilize();
  net.elect(1n);
  net.addNode(4n, [], false);
  const add = (id: NodeId) => ({ type: ConfChangeType.ConfChangeAddNode, nodeId: id });
  net.get(1n).node.proposeConfChange({ transition: ConfChangeTransition.ConfChangeTransitionJointImplicit, changes: [add(4n)], context: undefined });
  // Entering the joint configuration (implicit: the leader leaves it by itself once applied).
  assert.throws(() => net.tickStabilize(3), /the logger failed/);
  assert.deepEqual(net.get(1n).node.status().config.votersOutgoing, [1n, 2n, 3n]);
});

test("voteRespMsgType of a type that is not a vote request is a RaftPanic", () => {
  assert.equal(typeof raft.RaftPanic, "function");
  assert.throws(() => voteRespMsgType(MessageType.MsgApp), raft.RaftPanic);
});
