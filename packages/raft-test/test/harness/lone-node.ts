/**
 * One RawNode driven on its own, with cooperative peers played by the driver: every vote it
 * asks for is granted, every append acknowledged, every heartbeat answered, each at the term
 * the node asked in. For property tests that need a node to "go on" after it was handed
 * something unusual: it ticks through elections, campaigns, wins, proposes, persists, applies
 * and advances, without a real peer that could contradict what it was told.
 *
 * Every call into the node goes through {@link LoneNode.call}: a RaftError (the node refusing
 * something, e.g. a proposal without a leader) is expected and counted; anything else is
 * rethrown, naming what the node was doing.
 */
import { EntryType, LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, MessageType, decodeConfChange, decodeConfChangeV2 } from "@tsraft/raftpb";
import type { Entry, Message, NodeId } from "@tsraft/raftpb";
import { RaftError, type RawNode } from "@tsraft/raft";
import type { MemoryStorage } from "@tsraft/storage-memory";

/** The answer a cooperative peer gives to `m` (sent by the node), if any. */
function answer(m: Message): Message | undefined {
  const base = { to: m.from, from: m.to, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0, entries: [] as Entry[] };
  switch (m.type) {
    case MessageType.MsgVote:
      return { ...base, type: MessageType.MsgVoteResp, term: m.term };
    case MessageType.MsgPreVote:
      return { ...base, type: MessageType.MsgPreVoteResp, term: m.term };
    case MessageType.MsgApp:
      return { ...base, type: MessageType.MsgAppResp, term: m.term, index: m.index + m.entries.length };
    case MessageType.MsgSnap:
      return { ...base, type: MessageType.MsgAppResp, term: m.term, index: m.snapshot?.metadata.index ?? 0 };
    case MessageType.MsgHeartbeat:
      return { ...base, type: MessageType.MsgHeartbeatResp, term: m.term, ...(m.context === undefined ? {} : { context: m.context }) };
    default:
      return undefined;
  }
}

export class LoneNode {
  /** RaftErrors the node threw (refusals), by code. */
  readonly refusals = new Map<string, number>();
  /** Peer answers waiting to be stepped. */
  private inbox: Message[] = [];

  constructor(
    readonly id: NodeId,
    readonly node: RawNode,
    readonly storage: MemoryStorage,
    readonly asyncWrites: boolean,
  ) {}

  /** Runs `fn` on the node: a RaftError is counted and swallowed, anything else rethrown with `what`. */
  call(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof RaftError) {
        this.refusals.set(err.code, (this.refusals.get(err.code) ?? 0) + 1);
        return;
      }
      throw new Error(`${what}: ${err instanceof Error ? err.stack : String(err)}`, { cause: err });
    }
  }

  /** Handles Readies and peer answers until nothing is pending (bounded). */
  pump(): void {
    for (let i = 0; i < 200; i++) {
      let busy = false;
      if (this.node.hasReady()) {
        busy = true;
        this.handleReady();
      }
      const inbox = this.inbox;
      this.inbox = [];
      for (const m of inbox) {
        busy = true;
        this.call(`stepping ${MessageType[m.type]} from ${m.from}`, () => this.node.step(m));
      }
      if (!busy) return;
    }
    throw new Error(`node ${this.id} did not quiesce`);
  }

  /** Ticks `n` times, pumping after each tick. */
  tick(n: number): void {
    for (let i = 0; i < n; i++) {
      this.call("tick", () => this.node.tick());
      this.pump();
    }
  }

  /**
   * Goes on for `rounds` rounds: ticks through an election timeout or two, campaigns, proposes,
   * pumping in between.
   */
  goOn(rounds: number, electionTick: number): void {
    for (let r = 0; r < rounds; r++) {
      this.tick(2 * electionTick + 1);
      this.call("campaign", () => this.node.campaign());
      this.pump();
      this.call("propose", () => this.node.propose(new Uint8Array([r])));
      this.pump();
      this.call("readIndex", () => this.node.readIndex(new Uint8Array([0x72, r])));
      this.pump();
    }
  }

  private handleReady(): void {
    const rd = this.node.ready();
    if (this.asyncWrites) {
      for (const m of rd.messages) {
        if (m.to === LOCAL_APPEND_THREAD) this.storageAppend(m);
        else if (m.to === LOCAL_APPLY_THREAD) this.storageApply(m);
        else this.send(m);
      }
      return;
    }
    if (rd.snapshot !== undefined) this.call("applySnapshot", () => this.storage.applySnapshot(rd.snapshot!));
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState !== undefined) this.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.send(m);
    this.apply(rd.committedEntries);
    this.call("advance", () => this.node.advance(rd));
  }

  private storageAppend(m: Message): void {
    if (m.snapshot !== undefined && m.snapshot.metadata.index > 0) this.call("applySnapshot", () => this.storage.applySnapshot(m.snapshot!));
    if (m.entries.length > 0) this.storage.append(m.entries);
    if (m.vote !== undefined) this.storage.setHardState({ term: m.term, vote: m.vote, commit: m.commit });
    for (const r of m.responses ?? []) this.send(r);
  }

  private storageApply(m: Message): void {
    this.apply(m.entries);
    for (const r of m.responses ?? []) this.send(r);
  }

  /** Applies committed entries: only conf changes matter here. */
  private apply(ents: readonly Entry[]): void {
    for (const e of ents) {
      if (e.type === EntryType.EntryConfChange) this.call("applyConfChange", () => this.node.applyConfChange(decodeConfChange(e.data ?? new Uint8Array(0))));
      else if (e.type === EntryType.EntryConfChangeV2)
        this.call("applyConfChange", () => this.node.applyConfChange(decodeConfChangeV2(e.data ?? new Uint8Array(0))));
    }
  }

  /** A message from the node: to itself (async writes) it is stepped back; to a peer, answered. */
  private send(m: Message): void {
    if (m.to === this.id) {
      this.inbox.push(m);
      return;
    }
    const a = answer(m);
    if (a !== undefined) this.inbox.push(a);
  }
}
