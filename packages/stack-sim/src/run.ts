/**
 * One whole-stack schedule: a cluster of {@link SimMember}s over one {@link SimLoop}, a
 * {@link SimNetwork}, clients, and a fault schedule drawn from the seed (member crashes and
 * restarts, a power loss of the whole cluster, partitions; the network's delays, drops and
 * duplicates); then the faults heal and the run checks that a new proposal reaches every member,
 * that every promise settled, and the client history. Every check of {@link StackChecker} runs
 * as things happen. Deterministic: the same seed and options give the same trace hash.
 * @module
 */
import { MessageType, type NodeId } from "@tsraft/raftpb";
import { Prng } from "@tsraft/raft/testing";
import { StackChecker, type Violation } from "./checks.js";
import { SimMember, type MemberSettings } from "./member.js";
import { Owner, SimLoop } from "./sim-loop.js";
import { SimNetwork, type NetworkFaults } from "./sim-network.js";
import type { StackStateMachine } from "./state-machine.js";
import { Trace } from "./trace.js";
import type { HistoryOp, StackWorkload } from "./workload.js";

/** The options of {@link runStackSchedule}; all but `seed` and `workload` have defaults. */
export interface StackRunOptions<SM extends StackStateMachine<O>, I, O> {
  seed: number;
  workload: StackWorkload<SM, I, O>;
  /** Members (default 3). */
  members?: number;
  /** Clients (default 3). */
  clients?: number;
  /** Virtual ms of faults and requests before the heal (default 2000). */
  durationMs?: number;
  /** Mean virtual ms between two faults (crash, partition, EIO, ENOSPC; default 150). */
  faultEveryMs?: number;
  /**
   * At most this many client requests in all (default: no limit): a budget the shrinker lowers
   * (`shrink.ts`). Reached, the clients stop asking.
   */
  maxRequests?: number;
  /**
   * At most this many faults injected (crashes, power losses, partitions, EIOs, ENOSPCs, crashes
   * after a send; default: no limit): a budget the shrinker lowers. The network's own drops and
   * duplicates are not counted (`network.drop`, `network.duplicate`).
   */
  maxFaults?: number;
  /**
   * Probabilities that a member crashes right after it sent a message that promises durable
   * state, before anything else runs: the moment a response sent before its write is durable
   * would be lost. `appResp`: a MsgAppResp (default 0.01); `vote`: a granted MsgVoteResp
   * (default 0.5; votes are rare).
   */
  crashAfterSend?: { appResp: number; vote: number };
  /** Whether faults include an fsync failing with EIO on a member (default true). */
  eio?: boolean;
  /** Whether faults include a member's disk filling up: its WAL writes fail with ENOSPC (default true). */
  enospc?: boolean;
  network?: Partial<NetworkFaults>;
  /** Member settings (default: 10 ms ticks, election after 10, 1 s request timeout, snapshots every 25 entries, 16 KiB segments, fsyncs of 1-8 ms, no fault switches, a bit flip read at 5% of the restarts). */
  settings?: Partial<MemberSettings>;
  /** The command that replays this run, put in the result (the soak's). */
  replay?: string;
}

/** What a schedule did and found. */
export interface StackRunResult<I, O> {
  seed: number;
  /** The first violation, if any. */
  violation: Violation | undefined;
  /** Restarts refused on a bit flipped on reading the disk at the open: a liveness refusal, not a safety violation (any other refusal is a `restart` violation). */
  refusals: number;
  crashes: number;
  /** fsyncs made to fail with EIO. */
  eios: number;
  /** Faults injected (what `maxFaults` counts). */
  faults: number;
  /** Disks made to fill up (writes failing with ENOSPC). */
  enospcs: number;
  /** Restarts that read a flipped bit in a sealed segment or a snapshot file. */
  flips: number;
  /** Of `refusals`, those of restarts that read a flipped bit (the open refused it with a typed error). */
  flipRefusals: number;
  powerLosses: number;
  /** Writes through O_DSYNC (synced saves) still under way at a crash: kept, dropped or torn per sector. */
  dsyncWritesCut: number;
  /** Unsynced sectors and directory changes lost at crashes. */
  lostAtCrashes: number;
  acked: number;
  requests: number;
  events: number;
  /** Virtual ms the run took. */
  virtualMs: number;
  /** The run's fingerprint (see {@link Trace.hash}). */
  hash: string;
  trace: Trace;
  history: HistoryOp<I, O>[];
  replay: string | undefined;
}

const enc = new TextEncoder();

/** Runs one schedule (see the module comment). */
export async function runStackSchedule<SM extends StackStateMachine<O>, I, O>(o: StackRunOptions<SM, I, O>): Promise<StackRunResult<I, O>> {
  const rand = new Prng(o.seed);
  const loop = new SimLoop(rand);
  const trace = new Trace();
  const harness = new Owner("harness");
  const checker = new StackChecker(() => loop.now);
  const net = new SimNetwork(loop, harness, rand, trace, { minDelayMs: 1, maxDelayMs: 15, drop: 0.02, duplicate: 0.02, ...o.network });
  const settings: MemberSettings = {
    tickMs: 10,
    electionTick: 10,
    requestTimeoutMs: 1000,
    snapshotEntries: 25,
    segmentSizeBytes: 16 * 1024,
    syncMs: [1, 8],
    nodeKnobs: {},
    walFaults: {},
    flipOnRestart: 0.05,
    ...o.settings,
  };
  const n = o.members ?? 3;
  const ids: NodeId[] = Array.from({ length: n }, (_, i) => BigInt(i + 1));
  const members = ids.map(
    (id) =>
      new SimMember<SM, O>(id, ids, settings, loop, net, trace, checker, rand, () => o.workload.createStateMachine(), new Prng(o.seed * 7919 + Number(id))),
  );
  const res = {
    eios: 0,
    enospcs: 0,
    faults: 0,
    crashes: 0,
    powerLosses: 0,
    lostAtCrashes: 0,
    requests: 0,
  };
  const history: HistoryOp<I, O>[] = [];
  /** Requests in flight, by member incarnation name. */
  const inFlight = new Map<string, Set<{ ret: number }>>();
  let faulting = true;
  let clientsOn = true;

  for (const m of members) await m.provision();
  for (const m of members) await m.start();

  const up = (): SimMember<SM, O>[] => members.filter((m) => m.up);
  const at = (ms: number, fn: () => void | Promise<void>): void => {
    loop.at(harness, ms, () => {
      const r = fn();
      if (r !== undefined) r.catch((e: unknown) => checker.fail("harness", String(e)));
    });
  };

  // --- clients
  const forget = (m: SimMember<SM, O>): void => {
    const inc = m.owner?.name;
    if (inc === undefined) return;
    for (const op of inFlight.get(inc) ?? []) op.ret = Infinity;
    inFlight.delete(inc);
  };
  const request = (client: number): void => {
    if (!clientsOn || (o.maxRequests !== undefined && res.requests >= o.maxRequests)) return;
    const live = up();
    if (live.length === 0) {
      at(20, () => request(client));
      return;
    }
    const m = rand.pick(live);
    const node = m.node!;
    const inc = m.owner!.name;
    const rq = o.workload.nextRequest(rand, client);
    const op: HistoryOp<I, O> = { client, input: rq.input, output: undefined, call: loop.now, ret: Infinity };
    history.push(op);
    res.requests++;
    let set = inFlight.get(inc);
    if (set === undefined) inFlight.set(inc, (set = new Set()));
    set.add(op);
    const done = (ok: boolean, out?: O): void => {
      if (!set.delete(op)) return; // the member crashed: outcome unknown
      if (ok) {
        op.ret = loop.now;
        op.output = out;
      }
      trace.add(loop.now, "ack", m.id, `c${client} ${ok ? "ok" : "failed"}`);
      at(rand.range(1, 30), () => request(client));
    };
    trace.add(loop.now, "propose", m.id, `c${client} ${rq.write === undefined ? "read" : "write"}`);
    if (rq.write !== undefined) {
      const data = rq.write;
      checker.proposed(new TextDecoder().decode(data));
      node.propose(data).then(
        (r) => {
          checker.ack(r.index, new TextDecoder().decode(data));
          done(true, r.out);
        },
        () => done(false),
      );
    } else {
      const input = rq.input;
      const sm = m.sm!;
      if (o.workload.unsafeLocalReads === true) {
        const out = o.workload.read(sm, input);
        at(0, () => done(true, out));
        return;
      }
      node.readIndex().then(
        () => (m.sm === undefined ? done(false) : done(true, o.workload.read(m.sm, input))),
        () => done(false),
      );
    }
  };
  for (let c = 0; c < (o.clients ?? 3); c++) at(rand.range(0, 50), () => request(c));

  // --- faults
  const restartLater = (m: SimMember<SM, O>): void => {
    at(rand.range(5, 150), async () => {
      if (!m.up && m.refused === undefined) await m.start();
    });
  };
  const crash = (m: SimMember<SM, O>): void => {
    forget(m);
    res.lostAtCrashes += m.crash();
    res.crashes++;
  };
  const budgetLeft = (): boolean => o.maxFaults === undefined || res.faults < o.maxFaults;
  const fault = (): void => {
    if (!faulting || !budgetLeft()) return;
    const x = rand.float();
    const live = up();
    if (x < 0.5 && live.length > 0) {
      res.faults++;
      const m = rand.pick(live);
      crash(m);
      restartLater(m);
    } else if (x < 0.6) {
      res.faults++;
      res.powerLosses++;
      for (const m of live) crash(m);
      for (const m of live) restartLater(m);
    } else if (x < 0.8) {
      res.faults++;
      // One member cut from all, or one pair cut (the two may then campaign for the same term).
      const cut = rand.pick(ids);
      if (rand.chance(0.5)) net.partition([cut], ids);
      else net.partition([cut], [rand.pick(ids.filter((i) => i !== cut))]);
      at(rand.range(50, 400), () => net.heal());
    } else if (x < 0.85 && live.length > 0 && o.eio !== false) {
      res.faults++;
      rand.pick(live).injectEio();
      res.eios++;
    } else if (x >= 0.85 && x < 0.88 && live.length > 0 && o.enospc !== false) {
      res.faults++;
      rand.pick(live).injectEnospc();
      res.enospcs++;
    }
    at(rand.range(1, 2 * (o.faultEveryMs ?? 150)), fault);
  };
  at(rand.range(50, 2 * (o.faultEveryMs ?? 150)), fault);
  const cas = o.crashAfterSend ?? { appResp: 0.01, vote: 0.5 };
  for (const m of members) {
    // A node stopped by an injected EIO: its process exits; it restarts on what its disk kept.
    m.onFailed = (failed) => {
      at(0, () => {
        if (!failed.up) return;
        crash(failed);
        restartLater(failed);
      });
    };
    m.onSent = (from, msgs) => {
      if (!faulting || !budgetLeft()) return;
      let p = 0;
      for (const x of msgs) {
        if (x.type === MessageType.MsgAppResp) p = Math.max(p, cas.appResp);
        else if (x.type === MessageType.MsgVoteResp && !x.reject) p = Math.max(p, cas.vote);
      }
      if (p === 0 || !rand.chance(p)) return;
      res.faults++;
      crash(from);
      restartLater(from);
    };
  }

  const duration = o.durationMs ?? 2000;
  const stopped = (): boolean => checker.violation !== undefined;
  await loop.runUntil(duration, stopped);

  // --- heal, then check liveness and that every promise settles
  faulting = false;
  clientsOn = false;
  net.heal();
  net.faults = { ...net.faults, drop: 0, duplicate: 0 };
  for (const m of members) if (!m.up && m.refused === undefined && checker.violation === undefined) await m.start();
  // Members whose restart is refused drop out, also later: a fault armed before the heal (an
  // fsync EIO) may crash a member after it, and its restart may then read a flipped bit.
  const standing = (): SimMember<SM, O>[] => members.filter((m) => m.refused === undefined);
  const quorum = Math.floor(n / 2) + 1;
  if (checker.violation === undefined && standing().length >= quorum) {
    let finalIndex = 0;
    const deadline = loop.now + 5 * settings.requestTimeoutMs;
    // A client retries once its request's timeout passed (the promise should have settled by then).
    let attempt = 0;
    let askedAt = -Infinity;
    const ask = (): void => {
      if (finalIndex > 0 || loop.now - askedAt <= settings.requestTimeoutMs + 3 * settings.tickMs) return;
      const m = rand.pick(standing());
      if (!m.up) return;
      askedAt = loop.now;
      const tag = `final/${o.seed}/${++attempt}`;
      const final = o.workload.finalWrite?.(tag) ?? enc.encode(tag);
      checker.proposed(new TextDecoder().decode(final));
      const inc = m.owner!.name;
      const op = { ret: Infinity };
      let set = inFlight.get(inc);
      if (set === undefined) inFlight.set(inc, (set = new Set()));
      set.add(op);
      m.node!.propose(final).then(
        (r) => {
          set.delete(op);
          checker.ack(r.index, new TextDecoder().decode(final));
          if (finalIndex === 0) finalIndex = r.index;
        },
        () => {
          set.delete(op);
          askedAt = -Infinity;
        },
      );
    };
    const everyoneThere = (): boolean => finalIndex > 0 && standing().every((m) => m.up && m.node!.appliedIndex() >= finalIndex);
    while (!everyoneThere() && loop.now < deadline && checker.violation === undefined) {
      ask();
      await loop.runUntil(loop.now + 50, () => everyoneThere() || checker.violation !== undefined);
    }
    // Liveness is owed only while a quorum stands (refusals after the heal may take it away).
    if (checker.violation === undefined && !everyoneThere() && standing().length >= quorum) {
      checker.fail(
        "liveness",
        `after the heal, ${finalIndex > 0 ? `the final proposal (index ${finalIndex}) not applied by every member` : "no final proposal was acknowledged"} within ${5 * settings.requestTimeoutMs} ms: ${standing()
          .map((m) => `${m.id}: ${m.up ? `applied ${m.node!.appliedIndex()}` : "down"}`)
          .join(", ")}`,
      );
    }
  }
  if (checker.violation === undefined) {
    // Every promise of a live node settles within its timeout (plus a tick).
    await loop.runUntil(loop.now + settings.requestTimeoutMs + 3 * settings.tickMs, stopped);
    const pending = [...inFlight.entries()].filter(([inc, s]) => s.size > 0 && members.some((m) => m.owner?.name === inc && m.up));
    if (pending.length > 0) checker.fail("promises-settle", `requests never settled on ${pending.map(([inc, s]) => `${inc} (${s.size})`).join(", ")}`);
  }
  if (checker.violation === undefined && standing().length >= quorum) {
    // Writes still in flight at the heal may be acknowledged after the final write (at higher
    // indexes): every member that stands must get to every acknowledged write, these included.
    const maxAcked = Math.max(0, ...checker.acked.keys());
    const behind = (): SimMember<SM, O>[] => standing().filter((m) => !m.up || m.node!.appliedIndex() < maxAcked);
    await loop.runUntil(loop.now + 20 * settings.tickMs, () => behind().length === 0 || checker.violation !== undefined);
    const late = behind();
    if (checker.violation === undefined && late.length > 0) {
      checker.fail(
        "acknowledged-write",
        `members ${late.map((m) => `${m.id} (applied ${m.up ? m.node!.appliedIndex() : "-, down"})`).join(", ")} never got to the write acknowledged at ${maxAcked}`,
      );
    }
  }
  if (checker.violation === undefined && o.workload.checkHistory !== undefined) {
    const why = o.workload.checkHistory(history);
    if (why !== undefined) checker.fail("linearizable", why);
  }
  for (const m of members) if (m.up) m.crash(); // stop every timer: the run's events end here
  return {
    seed: o.seed,
    violation: checker.violation,
    refusals: members.filter((m) => m.refused !== undefined).length,
    crashes: res.crashes,
    eios: res.eios,
    faults: res.faults,
    enospcs: res.enospcs,
    flips: members.reduce((a, m) => a + m.flips, 0),
    flipRefusals: members.filter((m) => m.refusedFor === "bit-flip").length,
    powerLosses: res.powerLosses,
    lostAtCrashes: res.lostAtCrashes,
    dsyncWritesCut: members.reduce((a, m) => a + m.fs.stats.dsyncWritesCut, 0),
    acked: checker.acked.size,
    requests: res.requests,
    events: loop.events,
    virtualMs: loop.now,
    hash: trace.hash(),
    trace,
    history,
    replay: o.replay,
  };
}
