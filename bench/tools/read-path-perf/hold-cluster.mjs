// Starts a 3-member KV cluster (or etcd: first argument "etcd") through the bench's own modules (run `pnpm bench` once to build them), writes the keys,
// warms up, prints the members' pids and READY, then runs N seconds of a closed-loop load (args: system seconds clients get|put) and prints throughput, p50/p99 and CPU per operation of each member.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
const B = new URL("../../dist/e2e/", import.meta.url).href;
const { startKvCluster } = await import(B + "kv-cluster.js");
const { startEtcdCluster } = await import(B + "etcd-cluster.js");
const { runLoad } = await import(B + "load-client.js");
const { everyKeyOnce, randomKeys } = await import(B + "requests.js");
const sysName = process.argv[2] ?? "tsraft";
const seconds = Number(process.argv[3] ?? 20);
const clients = Number(process.argv[4] ?? 1);
const op = process.argv[5] ?? "get";
const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), "tsraft-read-path-"));
const sys = sysName === "etcd" ? await startEtcdCluster(dir) : await startKvCluster({ dir, extraArgs: (process.env.KVARGS ?? "").split(" ").filter(Boolean) });
try {
  const l = await sys.leader(10000);
  console.log("pids", sys.pids().join(","), "leader", l.id);
  const put = sys.requests("put", 1000, 256);
  await runLoad({ host: l.host, port: l.port, clients: 16, next: everyKeyOnce(put), warmupSeconds: 0, seconds: Infinity, timeoutMs: 10000 });
  await runLoad({
    host: l.host,
    port: l.port,
    clients: 16,
    next: randomKeys(sys.requests("get", 1000, 256), 7),
    warmupSeconds: 0,
    seconds: 5,
    timeoutMs: 10000,
  });
  const cpu = () =>
    sys.pids().map((p) => {
      const f = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ");
      return (Number(f[11]) + Number(f[12])) / 100;
    });
  console.log("READY", Date.now());
  const c0 = cpu();
  const r = await runLoad({
    host: l.host,
    port: l.port,
    clients,
    next: randomKeys(sys.requests(op, 1000, 256), 11),
    warmupSeconds: 1,
    seconds,
    timeoutMs: 10000,
  });
  const c1 = cpu();
  const us = c1.map((v, i) => ((v - c0[i]) * 1e6) / r.ok);
  console.log(
    sysName,
    op,
    "ops/s",
    (r.ok / r.seconds).toFixed(0),
    "p50",
    r.latency.quantile(0.5).toFixed(3),
    "p99",
    r.latency.quantile(0.99).toFixed(2),
    "cpu us/op per member",
    us.map((x) => x.toFixed(0)).join(" "),
  );
} finally {
  await sys.stop();
  rmSync(dir, { recursive: true, force: true });
}
