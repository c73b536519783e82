/**
 * Quorum-loss recovery: two of three members are lost for good (stopped, their data
 * directories deleted); the third cannot serve writes (no quorum); the operator stops it,
 * runs `tsraft force-new-cluster` on its data directory and starts it again: it leads a
 * one-member cluster with every committed key, and takes writes.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { main } from "@tsraft/cli";
import { InProcCluster } from "./helpers/inproc.js";

let c: InProcCluster;
before(async () => {
  c = await InProcCluster.create(3, ["--request-timeout-ms", "1500"]);
  await c.startAll();
});
after(async () => {
  await c.cleanup();
  assert.deepEqual(c.fatalErrors(), []);
});

test("two members lost for good; the third is brought back alone with its data", async () => {
  const lead = await c.waitForLeader();
  for (let i = 0; i < 30; i++) assert.equal((await c.req(lead, "PUT", `/kv/k${i}`, { value: `v${i}` })).status, 200);
  const survivor = 3n;
  // Every write above is committed on at least two members; wait until the survivor has applied them all.
  const target = c.server(lead).node.appliedIndex();
  await c.until("the survivor applies everything", 10_000, () => c.server(survivor).node.appliedIndex() >= target);
  for (const lost of [1n, 2n]) {
    await c.stop(lost);
    await rm(c.member(lost).dataDir, { recursive: true, force: true });
  }
  // Without a quorum the survivor cannot take writes.
  const stuck = await c.req(survivor, "PUT", "/kv/during-outage", { value: "x" });
  assert.notEqual(stuck.status, 200);

  await c.stop(survivor);
  // Refused without --yes; then done.
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };
  assert.equal(await main(["force-new-cluster", c.member(survivor).dataDir, "--id", "3"], io), 2);
  assert.equal(await main(["force-new-cluster", c.member(survivor).dataDir, "--id", "3", "--yes"], io), 0, lines.join("\n"));
  assert.ok(
    lines.some((l) => /^appended \d+: remove 1$/.test(l)),
    lines.join("\n"),
  );
  assert.ok(
    lines.some((l) => /^appended \d+: remove 2$/.test(l)),
    lines.join("\n"),
  );

  await c.start(survivor);
  assert.equal(await c.waitForLeader(), survivor);
  const st = c.server(survivor).node.status();
  assert.deepEqual(st.config.voters, [survivor]);
  for (let i = 0; i < 30; i++) {
    const r = await c.req(survivor, "GET", `/kv/k${i}`);
    assert.equal(r.status, 200);
    assert.equal(r.body["value"], `v${i}`);
  }
  assert.equal((await c.req(survivor, "PUT", "/kv/after", { value: "recovered" })).status, 200);
  assert.equal((await c.req(survivor, "GET", "/kv/after")).body["value"], "recovered");
  const members = (await c.req(survivor, "GET", "/members")).body["members"] as { id: string }[];
  assert.deepEqual(
    members.map((m) => m.id),
    ["3"],
  );
});
