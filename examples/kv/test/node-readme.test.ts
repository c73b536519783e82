/**
 * The quick start of packages/node/README.md, run as written (three members in one process,
 * over DiskStorage and TcpTransport with mutual TLS on 127.0.0.1; the certificates made by
 * @tsraft/test-helpers/certs), so that the README cannot drift from the API.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RaftNode, TcpTransport } from "@tsraft/node";
import { makeCerts } from "@tsraft/test-helpers/certs";
import type { TestCerts } from "@tsraft/test-helpers/certs";
import { DiskStorage } from "@tsraft/wal";
import { freePorts } from "@tsraft/test-helpers/ports";

class MyState {
  items: string[] = [];
  apply(data: Uint8Array): number {
    this.items.push(new TextDecoder().decode(data));
    return this.items.length;
  }
  load(data: Uint8Array | undefined): void {
    this.items = data === undefined ? [] : (JSON.parse(new TextDecoder().decode(data)) as string[]);
  }
  serialize(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.items));
  }
}

async function member(id: bigint, dir: string, ports: number[], certs: TestCerts) {
  const myState = new MyState();
  const mine = certs.member(id);
  // --- as in the README ---
  const storage = await DiskStorage.open(join(dir, `node${id}`));
  const transport = new TcpTransport({
    id,
    port: ports[Number(id) - 1]!,
    auth: { mode: "tls", cert: mine.certPath, key: mine.keyPath, ca: certs.ca.certPath },
    clusterId: "orders-1",
    snapshotDir: join(dir, `node${id}`, "snap-incoming"),
    onMessage: (m) => node.step(m),
    onUnreachable: (p) => node.reportUnreachable(p),
    onSnapshotStatus: (p, s) => node.reportSnapshot(p, s),
  });
  const node: RaftNode<number> = new RaftNode({
    raft: { id, electionTick: 10, heartbeatTick: 1, storage, preVote: true, checkQuorum: true },
    tickMs: 20,
    persist: (p) => storage.save(p.hardState ?? { term: 0, vote: 0n, commit: 0 }, p.entries, p.snapshot),
    send: (msgs) => transport.send(msgs),
    apply: (e) => myState.apply(e.data),
    restore: (snap) => myState.load(snap.data),
    snapshot: {
      entries: 5,
      take: () => myState.serialize(),
      save: async (s) => {
        await storage.createSnapshot(s.index, s.confState, s.data);
        await storage.compact(s.index);
      },
    },
  });
  for (const peer of [1n, 2n, 3n]) if (peer !== id) transport.setPeer(peer, `127.0.0.1:${ports[Number(peer) - 1]}`);
  await transport.start();
  await node.start({ bootstrap: [{ id: 1n }, { id: 2n }, { id: 3n }] });
  // ---
  return { node, transport, storage, myState };
}

test("the quick start of @tsraft/node's README runs as written", async () => {
  const quickStart = readFileSync(new URL("../../../packages/node/README.md", import.meta.url), "utf8")
    .split("```ts")[1]!
    .split("```")[0]!;
  for (const option of ['auth: { mode: "tls", cert:', "clusterId:", "snapshotDir:"]) assert.ok(quickStart.includes(option), `the quick start passes ${option}`);
  const dir = mkdtempSync(join(tmpdir(), "tsraft-node-readme-"));
  const certs = makeCerts("node-readme");
  const ports = await freePorts(3);
  const ms = await Promise.all([1n, 2n, 3n].map((id) => member(id, dir, ports, certs)));
  try {
    const end = Date.now() + 20_000;
    // Every member must know the leader: a proposal on one that does not yet is refused (NoLeaderError).
    while (ms.some((m) => m.node.leader() === 0n) || new Set(ms.map((m) => m.node.leader())).size > 1) {
      assert.ok(Date.now() < end, "a leader is elected and known to every member");
      await new Promise((r) => setTimeout(r, 20));
    }
    const results: number[] = [];
    for (let i = 0; i < 12; i++) results.push(await ms[i % 3]!.node.propose(new TextEncoder().encode(`item${i}`)));
    assert.deepEqual(
      results,
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    await ms[1]!.node.readIndex();
    assert.equal(ms[1]!.myState.items.length, 12);
    assert.ok(ms[0]!.node.status().snapshotIndex >= 10, "snapshots every 5 entries");
    assert.ok(
      ms.every((m) => m.transport.authMode === "tls" && m.transport.stats().connects > 0),
      "the members talk mutual TLS",
    );
  } finally {
    for (const m of ms) {
      await m.node.stop();
      await m.transport.close();
      await m.storage.close();
    }
    rmSync(dir, { recursive: true, force: true });
    certs.remove();
  }
});
