#!/usr/bin/env node
/**
 * `tsraft-kv`: runs one member of the replicated KV service. See `--help` and the README.
 *
 * Prints `KV_READY {json}` on stdout once it serves (launchers wait for that line). Exits 0 on
 * SIGTERM/SIGINT after a clean shutdown, 0 after being removed from the cluster, 2 for a bad
 * configuration or a data directory in use by another process, 1 on a fatal error, 70 after an
 * unhandled rejection or uncaught exception (a bug: logged with the marker `UNHANDLED`, see crash.ts).
 * @module
 */
import { errorCode } from "@tsraft/raft";
import { ConfigError, parseConfig, usage } from "./config.js";
import { installCrashHandlers } from "./crash.js";
import { lineLogger } from "./logger.js";
import { insecurePeersWarning } from "./peer-auth.js";
import { KvServer } from "./server.js";

installCrashHandlers();

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage());
    return;
  }
  let cfg;
  try {
    cfg = parseConfig(argv, process.env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`tsraft-kv: ${e.message}\n${usage()}`);
    process.exit(2);
  }
  const log = lineLogger(cfg.id, cfg.logLevel);
  if (cfg.peerAuth.mode === "none") process.stderr.write(`tsraft-kv: ${insecurePeersWarning(cfg.raftAddr)}\n`);
  if (cfg.exitWithParent) {
    // The launcher holds our stdin: when it dies, stdin ends and we go too.
    process.stdin.on("end", () => process.exit(3));
    process.stdin.on("error", () => process.exit(3));
    process.stdin.resume();
  }
  let server: KvServer;
  try {
    server = await KvServer.start(cfg, log);
  } catch (e) {
    if (errorCode(e) === "TSRAFT_WAL_LOCKED") {
      process.stderr.write(`tsraft-kv: data directory ${cfg.dataDir} is in use by another process (${(e as Error).message})\n`);
      process.exit(2);
    }
    if (e instanceof ConfigError) {
      process.stderr.write(`tsraft-kv: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  let stopping = false;
  const shutdown = (why: string, code: number): void => {
    if (stopping) return;
    stopping = true;
    log.info(`shutting down (${why})`);
    const force = setTimeout(() => {
      log.error("clean shutdown took over 5 s; exiting anyway");
      process.exit(1);
    }, 5000);
    force.unref();
    server.stop().then(
      () => {
        log.info("stopped cleanly");
        process.exit(code);
      },
      (err: unknown) => {
        log.error("error while stopping", { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM", 0));
  process.on("SIGINT", () => shutdown("SIGINT", 0));
  server.onRemoved = () => shutdown("removed from the cluster", 0);
  log.info("serving", { http: cfg.httpAddr, raft: cfg.raftAddr });
  process.stdout.write(`KV_READY ${JSON.stringify({ id: cfg.id.toString(), http: cfg.httpAddr, raft: cfg.raftAddr, pid: process.pid })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`tsraft-kv: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
