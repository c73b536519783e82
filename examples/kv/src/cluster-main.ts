#!/usr/bin/env node
/**
 * `tsraft-kv-cluster [--size 3] [--base-dir DIR] [--peer-auth auto|tls|hmac|none] [-- server flags...]`:
 * starts a local cluster of KV processes on free ports of 127.0.0.1, prints how to reach them,
 * and runs until Ctrl-C, then shuts every member down cleanly (SIGTERM). Without `--base-dir`
 * the data lives in a temporary directory removed at exit. The raft port is authenticated with
 * throwaway credentials made in that directory: mutual TLS (default, when openssl can be run)
 * or a shared secret (see LocalCluster).
 * @module
 */
import { LocalCluster } from "./cluster.js";
import type { ClusterOptions } from "./cluster.js";

const USAGE = "usage: tsraft-kv-cluster [--size 3] [--base-dir DIR] [--peer-auth auto|tls|hmac|none] [-- server flags]\n";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const dd = argv.indexOf("--");
  const own = dd >= 0 ? argv.slice(0, dd) : argv;
  const serverArgs = dd >= 0 ? argv.slice(dd + 1) : [];
  let size = 3;
  let baseDir: string | undefined;
  let peerAuth: NonNullable<ClusterOptions["peerAuth"]> = "auto";
  for (let i = 0; i < own.length; i++) {
    if (own[i] === "--size") size = Number(own[++i]);
    else if (own[i] === "--base-dir") baseDir = own[++i];
    else if (own[i] === "--peer-auth") {
      const m = own[++i];
      if (m !== "auto" && m !== "tls" && m !== "hmac" && m !== "none") throw new Error("--peer-auth: auto, tls, hmac or none");
      peerAuth = m;
    } else if (own[i] === "--help") {
      process.stdout.write(USAGE);
      return;
    } else throw new Error(`unknown argument ${own[i]}\n${USAGE}`);
  }
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error("--size: 1 to 9");
  const cluster = await LocalCluster.create({ size, serverArgs, peerAuth, ...(baseDir === undefined ? {} : { baseDir }) });
  await cluster.startAll();
  const leader = await cluster.waitForLeader(30_000);
  for (const id of cluster.ids()) {
    const m = cluster.member(id);
    console.log(`member ${id}: http://${m.addr.http}  raft ${m.addr.raft}  pid ${m.proc!.pid}  log ${m.logFile}${id === leader ? "  (leader)" : ""}`);
  }
  console.log(`raft port: ${cluster.describePeerAuth()}; cluster id ${await cluster.clusterId()}`);
  const a = cluster.member(cluster.ids()[0]!).addr.http;
  console.log(
    `\ntry:\n  curl -X PUT -H 'content-type: application/json' -d '{"value":"world"}' http://${a}/kv/hello\n  curl http://${a}/kv/hello\n  curl http://${a}/status\n\nCtrl-C stops the cluster.`,
  );
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const codes = await Promise.all(cluster.ids().map((id) => cluster.stop(id)));
    console.log(`\nstopped (exit codes ${codes.join(", ")})`);
    await cluster.cleanup(baseDir !== undefined);
    process.exit(0);
  };
  // Installed after LocalCluster's own hooks, which SIGKILL the members: remove those first.
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((err: unknown) => {
  console.error(`tsraft-kv-cluster: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
