/**
 * The interaction environment: a group of RawNodes, each over its own MemoryStorage, the
 * messages in flight between them, and the output buffer that doubles as their logger. The
 * command handlers (handlers.ts) drive it one step at a time, so a script decides exactly which
 * Ready is handled and which message is delivered (or dropped) when.
 *
 * The state machine of every node is an "appender": its state is the concatenation of the
 * payloads (or conf change contexts) applied so far. Each applied entry adds a snapshot of that
 * state to the node's history, and the node's storage answers `snapshot()` with the newest one,
 * so a leader that must send a snapshot sends its applied state.
 */
import { EntryType, MessageType, decodeConfChange, decodeConfChangeV2, describeMessage } from "@tsraft/raftpb";
import type { ConfState, Entry, HardState, Message, NodeId, Snapshot } from "@tsraft/raftpb";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, type RawNode, type Config, type Storage, type InitialState } from "@tsraft/raft";
import { MemoryStorage } from "@tsraft/storage-memory";
import { RedirectLogger } from "./logger.js";
import { describeReady } from "./render.js";

/** MemoryStorage whose `snapshot()` is the newest state in the node's applied history. */
export class HistoryStorage implements Storage {
  readonly mem = new MemoryStorage();
  constructor(private readonly history: () => Snapshot) {}
  initialState(): InitialState {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return this.mem.entries(lo, hi, maxSize);
  }
  term(i: number): number {
    return this.mem.term(i);
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  snapshot(): Snapshot {
    return this.history();
  }
}

/** One member of the group. */
export interface Node {
  id: NodeId;
  rn: RawNode;
  storage: HistoryStorage;
  /** The config the node was made with; the harness always sets heartbeatTick (tick-heartbeat reads it). */
  config: Config & { heartbeatTick: number };
  /** The state after each applied entry, oldest first (the initial snapshot first). */
  history: Snapshot[];
  /** MsgStorageAppend messages waiting for the append thread (asyncStorageWrites). */
  appendWork: Message[];
  /** MsgStorageApply messages waiting for the apply thread (asyncStorageWrites). */
  applyWork: Message[];
}

/** A recipient of deliver-msgs: deliver to it, or drop what is addressed to it. */
export interface Recipient {
  id: NodeId;
  drop: boolean;
}

function concat(a: Uint8Array | undefined, b: Uint8Array | undefined): Uint8Array | undefined {
  if (a === undefined || a.length === 0) return b === undefined || b.length === 0 ? a : b.slice();
  if (b === undefined || b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Whether a message must never be dropped: to or from a local storage thread, or to self. */
function isLocalMsg(m: Message): boolean {
  return m.from === m.to || isLocalTarget(m.from) || isLocalTarget(m.to);
}

function isLocalTarget(id: NodeId): boolean {
  return id === LOCAL_APPEND_THREAD || id === LOCAL_APPLY_THREAD;
}

/** The environment of one script. */
export class InteractionEnv {
  readonly nodes: Node[] = [];
  /** Messages in flight, in the order they were sent. */
  messages: Message[] = [];
  readonly output = new RedirectLogger();

  /** The node with id `id` (ids are 1-based positions). */
  node(id: NodeId): Node {
    const n = this.nodes[Number(id) - 1];
    if (n === undefined) throw new Error(`no node with id ${id}`);
    return n;
  }

  /** Handles one Ready of node `n`: persists and applies it (sync mode), queues its messages. */
  processReady(n: Node): void {
    const rd = n.rn.ready();
    this.output.write(describeReady(rd));
    const async = n.config.asyncStorageWrites === true;
    if (!async) {
      this.processAppend(n, rd.hardState, rd.entries, rd.snapshot);
      this.processApply(n, rd.committedEntries);
    }
    for (const m of rd.messages) {
      if (isLocalTarget(m.to)) {
        if (!async) throw new Error("unexpected local msg target");
        if (m.type === MessageType.MsgStorageAppend) n.appendWork.push(m);
        else if (m.type === MessageType.MsgStorageApply) n.applyWork.push(m);
        else throw new Error(`unexpected message type ${MessageType[m.type]}`);
      } else {
        this.messages.push(m);
      }
    }
    if (!async) n.rn.advance(rd);
  }

  /** Persists a HardState, entries or a snapshot (the append thread's work). */
  processAppend(n: Node, hs: HardState | undefined, ents: readonly Entry[], snap: Snapshot | undefined): void {
    const s = n.storage.mem;
    if (hs !== undefined) s.setHardState(hs);
    if (snap !== undefined) {
      if (ents.length > 0) throw new Error("can't apply snapshot and entries at the same time");
      s.applySnapshot(snap);
      return;
    }
    s.append(ents);
  }

  /** Applies committed entries to the appender state machine (the apply thread's work). */
  processApply(n: Node, ents: readonly Entry[]): void {
    for (const e of ents) {
      let update: Uint8Array | undefined;
      let cs: ConfState | undefined;
      if (e.type === EntryType.EntryConfChange) {
        const cc = decodeConfChange(e.data ?? new Uint8Array(0));
        update = cc.context;
        cs = n.rn.applyConfChange(cc);
      } else if (e.type === EntryType.EntryConfChangeV2) {
        const cc = decodeConfChangeV2(e.data ?? new Uint8Array(0));
        update = cc.context;
        cs = n.rn.applyConfChange(cc);
      } else {
        update = e.data;
      }
      const last = n.history[n.history.length - 1]!;
      const data = concat(last.data, update);
      const snap: Snapshot = {
        metadata: { index: e.index, term: e.term, confState: cs ?? last.metadata.confState },
      };
      if (data !== undefined) snap.data = data;
      n.history.push(snap);
    }
  }

  /** The append thread of `n` handles its oldest MsgStorageAppend and sends the responses. */
  processAppendThread(n: Node): void {
    const m = n.appendWork.shift();
    if (m === undefined) {
      this.output.write("no append work to perform");
      return;
    }
    const resps = m.responses ?? [];
    this.output.write("Processing:\n");
    this.output.write(describeMessage({ ...m, responses: undefined }) + "\n");
    const hs: HardState | undefined =
      m.term === 0 && (m.vote ?? 0n) === 0n && m.commit === 0 ? undefined : { term: m.term, vote: m.vote ?? 0n, commit: m.commit };
    const snap = m.snapshot !== undefined && m.snapshot.metadata.index !== 0 ? m.snapshot : undefined;
    this.processAppend(n, hs, m.entries, snap);
    this.output.write("Responses:\n");
    for (const r of resps) this.output.write(describeMessage(r) + "\n");
    this.messages.push(...resps);
  }

  /** The apply thread of `n` handles its oldest MsgStorageApply and sends the responses. */
  processApplyThread(n: Node): void {
    const m = n.applyWork.shift();
    if (m === undefined) {
      this.output.write("no apply work to perform");
      return;
    }
    const resps = m.responses ?? [];
    this.output.write("Processing:\n");
    this.output.write(describeMessage({ ...m, responses: undefined }) + "\n");
    this.processApply(n, m.entries);
    this.output.write("Responses:\n");
    for (const r of resps) this.output.write(describeMessage(r) + "\n");
    this.messages.push(...resps);
  }

  /**
   * Takes the messages to `to` (of type `type` if given) out of the queue, keeping the order of
   * the rest. When dropping, local messages stay: they model reliable in-process delivery.
   */
  splitMsgs(to: NodeId, type: MessageType | undefined, drop: boolean): Message[] {
    const mine: Message[] = [];
    const rest: Message[] = [];
    for (const m of this.messages) {
      if (m.to === to && !(drop && isLocalMsg(m)) && (type === undefined || m.type === type)) mine.push(m);
      else rest.push(m);
    }
    this.messages = rest;
    return mine;
  }

  /** Whether messages to `to` are in flight. */
  hasMsgsTo(to: NodeId): boolean {
    return this.messages.some((m) => m.to === to);
  }

  /**
   * Delivers (or drops) the queued messages of each recipient, in order. Returns how many were
   * handled. A step error is printed, as etcd's harness does, and does not stop delivery.
   */
  deliverMsgs(type: MessageType | undefined, rs: readonly Recipient[]): number {
    let count = 0;
    for (const r of rs) {
      const msgs = this.splitMsgs(r.id, type, r.drop);
      count += msgs.length;
      for (const m of msgs) {
        if (r.drop) this.output.write("dropped: ");
        this.output.write(describeMessage(m) + "\n");
        if (r.drop) continue;
        try {
          this.node(m.to).rn.step(m);
        } catch (err) {
          this.output.write(errorText(err) + "\n");
        }
      }
    }
    return count;
  }

  /**
   * Handles Readies, delivers messages and runs the storage threads of `nodes` until nothing is
   * left to do, printing each step under a `> id ...` header.
   */
  stabilize(nodes: readonly Node[]): void {
    const out = this.output;
    for (;;) {
      let done = true;
      for (const n of nodes) {
        if (!n.rn.hasReady()) continue;
        done = false;
        out.write(`> ${n.id} handling Ready\n`);
        out.withIndent(() => this.processReady(n));
      }
      for (const n of nodes) {
        if (!this.hasMsgsTo(n.id)) continue;
        done = false;
        out.write(`> ${n.id} receiving messages\n`);
        out.withIndent(() => this.deliverMsgs(undefined, [{ id: n.id, drop: false }]));
      }
      for (const n of nodes) {
        if (n.appendWork.length === 0) continue;
        done = false;
        out.write(`> ${n.id} processing append thread\n`);
        while (n.appendWork.length > 0) out.withIndent(() => this.processAppendThread(n));
      }
      for (const n of nodes) {
        if (n.applyWork.length === 0) continue;
        done = false;
        out.write(`> ${n.id} processing apply thread\n`);
        while (n.applyWork.length > 0) out.withIndent(() => this.processApplyThread(n));
      }
      if (done) return;
    }
  }
}

/**
 * The text of an error as etcd's harness prints it. tsraft's errors add detail after the text
 * of etcd's sentinel errors (`raft proposal dropped: no leader`); the scripts hold etcd's
 * sentinel text, which is the class's default message.
 */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && code in SENTINELS) return SENTINELS[code]!;
  return err.message;
}

const SENTINELS: Record<string, string> = {
  TSRAFT_PROPOSAL_DROPPED: "raft proposal dropped",
  TSRAFT_STEP_PEER_NOT_FOUND: "raft: cannot step as peer not found",
  TSRAFT_STEP_LOCAL_MSG: "raft: cannot step raft local message",
};
