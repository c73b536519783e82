/** The e2e clusters' ports: drawn under the kernel's ephemeral range, each free when drawn. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bindable } from "@tsraft/test-helpers/ports";
import { ephemeralPortLow, freeBasePort, freePorts } from "../src/e2e/proc.js";

test("freePorts and freeBasePort: ports under the ephemeral range (no outbound connection can take one before the member binds it), free", async () => {
  const low = ephemeralPortLow();
  for (let round = 0; round < 5; round++) {
    const ports = await freePorts(6);
    assert.equal(new Set(ports).size, 6, `distinct: ${ports}`);
    for (const p of ports) {
      assert.ok(p >= 1024 && p < low, `port ${p} not under the ephemeral range (${low})`);
      assert.ok(await bindable([p]), `port ${p} bindable`);
    }
    const offsets = [1, 2, 3, 11, 12, 13]; // etcd-cluster.sh's
    const base = await freeBasePort(offsets);
    for (const o of offsets) {
      assert.ok(base + o < low, `base ${base} + ${o} not under the ephemeral range (${low})`);
      assert.ok(await bindable([base + o]), `port ${base + o} bindable`);
    }
  }
});
