/**
 * The server's configuration: command-line flags, else environment variables, else defaults
 * chosen so that `tsraft-kv --id 1`, `--id 2`, `--id 3` form a local cluster.
 * @module
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DISK_STORAGE_BLOCK } from "@tsraft/wal";
import { isHostPort } from "./addr.js";
import { DEFAULT_CLUSTER_TOKEN, parseClusterId } from "./cluster-id.js";
import { MAX_BODY_BYTES } from "./command.js";
import type { MemberAddr } from "./command.js";
import { ConfigError } from "./errors.js";
import type { PeerAuthConfig } from "./peer-auth.js";

export { ConfigError };

/** The default of `--quota-bytes`: 256 MiB (see the README, "Quota"). */
export const DEFAULT_QUOTA_BYTES = 256 * 1024 * 1024;

/**
 * The default of `--wal-cache-bytes`: one block of DiskStorage's entry cache (256 entries) of
 * the largest entries the API writes (a request body of 1 MiB + 64 KiB, plus 4 KiB), about
 * 273 MiB. With less, a block of large entries cannot be cached, and DiskStorage reads the whole
 * block back from the WAL, synchronously, for every batch of entries raft applies (measured:
 * stalls of about 200 ms of CPU per Ready with 1 MB values).
 */
export const DEFAULT_WAL_CACHE_BYTES = DISK_STORAGE_BLOCK * (MAX_BODY_BYTES + 4096);

/** Everything a server needs to start. */
export interface KvConfig {
  /** This member's raft id. */
  id: bigint;
  /** The data directory (WAL in `wal/`, snapshots in `snap/`); locked while the server runs. */
  dataDir: string;
  /** Where to listen for raft traffic. */
  raftAddr: string;
  /** Where to listen for the HTTP API. */
  httpAddr: string;
  /** The initial members (used to bootstrap an empty data directory) and the peers to reach. */
  cluster: Map<bigint, MemberAddr>;
  /** Join an existing cluster (the member was added with POST /members): do not bootstrap. */
  join: boolean;
  /**
   * How members authenticate each other on the raft port (mutual TLS, a shared secret, or
   * nothing when asked for explicitly); see peer-auth.ts.
   */
  peerAuth: PeerAuthConfig;
  /** Makes the cluster id of a cluster bootstrapped from an empty data directory (with the initial members); see cluster-id.ts. */
  clusterToken: string;
  /** `--cluster-id`: the id of the cluster a member joins (`--join` with an empty data directory). */
  clusterId?: bigint;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** Snapshot the state every N applied entries. */
  snapshotEntries: number;
  /** Entries kept in the log behind a snapshot, for followers that lag a little. */
  catchUpEntries: number;
  /** WAL segment size. */
  walSegmentBytes: number;
  /** DiskStorage's cache of log entries, in bytes (see {@link DEFAULT_WAL_CACHE_BYTES}). */
  walCacheBytes: number;
  /** The WAL's `inlineWrites`: saves written and synced on the event loop's thread. */
  walInlineWrites: boolean;
  /** Timeout of a request inside the server (propose, ReadIndex). */
  requestTimeoutMs: number;
  /**
   * The most UTF-8 bytes of keys and values this member's writes may take the state to. It
   * travels in each write command, so every member decides a write alike.
   */
  quotaBytes: number;
  /**
   * HTTPS for the client API: PEM files of this member's certificate and key, and of the CA
   * that client certificates must be signed by (then a client without a valid certificate is
   * refused). Absent: plain HTTP.
   */
  clientTls?: { certFile: string; keyFile: string; caFile?: string };
  /** Enables POST /admin/partition (tests only). */
  faultInjection: boolean;
  /** Exit when standard input closes (the launching process died). */
  exitWithParent: boolean;
  logLevel: "debug" | "info" | "warn" | "error";
}

interface FlagSpec {
  flag: string;
  env: string;
  help: string;
  dflt: string;
}

/** Every option: flag, environment variable, default, help. */
export const FLAGS: readonly FlagSpec[] = [
  { flag: "id", env: "KV_ID", dflt: "1", help: "this member's id (a positive integer)" },
  {
    flag: "cluster",
    env: "KV_CLUSTER",
    dflt: "1=127.0.0.1:12001/127.0.0.1:11001,2=127.0.0.1:12002/127.0.0.1:11002,3=127.0.0.1:12003/127.0.0.1:11003",
    help: "initial members: ID=RAFT_HOST:PORT/HTTP_HOST:PORT,...",
  },
  { flag: "data-dir", env: "KV_DATA_DIR", dflt: "", help: "data directory (default: $TMPDIR/tsraft-kv/node-ID)" },
  { flag: "raft-addr", env: "KV_RAFT_ADDR", dflt: "", help: "raft listen address (default: this id's entry in --cluster)" },
  { flag: "http-addr", env: "KV_HTTP_ADDR", dflt: "", help: "HTTP listen address (default: this id's entry in --cluster)" },
  { flag: "join", env: "KV_JOIN", dflt: "false", help: "join an existing cluster instead of bootstrapping" },
  { flag: "cluster-token", env: "KV_CLUSTER_TOKEN", dflt: DEFAULT_CLUSTER_TOKEN, help: "with the initial members, makes the id of a new cluster" },
  { flag: "cluster-id", env: "KV_CLUSTER_ID", dflt: "", help: "with --join: the id of the cluster to join (GET /status clusterId)" },
  { flag: "peer-cert", env: "KV_PEER_CERT", dflt: "", help: "raft port, mutual TLS: PEM certificate naming urn:tsraft:member:ID" },
  { flag: "peer-key", env: "KV_PEER_KEY", dflt: "", help: "raft port, mutual TLS: PEM private key of --peer-cert" },
  { flag: "peer-ca", env: "KV_PEER_CA", dflt: "", help: "raft port, mutual TLS: PEM CA that signs the members' certificates" },
  { flag: "peer-secret-file", env: "KV_PEER_SECRET_FILE", dflt: "", help: "raft port, HMAC: file holding the cluster's shared secret (>= 16 bytes)" },
  { flag: "insecure-peers", env: "KV_INSECURE_PEERS", dflt: "false", help: "raft port: plain TCP, no authentication (trusted networks only)" },
  { flag: "tick-ms", env: "KV_TICK_MS", dflt: "100", help: "milliseconds per raft tick" },
  { flag: "election-ticks", env: "KV_ELECTION_TICKS", dflt: "10", help: "election timeout in ticks" },
  { flag: "heartbeat-ticks", env: "KV_HEARTBEAT_TICKS", dflt: "1", help: "heartbeat interval in ticks" },
  { flag: "snapshot-entries", env: "KV_SNAPSHOT_ENTRIES", dflt: "1000", help: "snapshot every N applied entries" },
  { flag: "catch-up-entries", env: "KV_CATCH_UP_ENTRIES", dflt: "500", help: "entries kept behind a snapshot" },
  { flag: "wal-segment-bytes", env: "KV_WAL_SEGMENT_BYTES", dflt: String(4 * 1024 * 1024), help: "WAL segment size" },
  { flag: "wal-cache-bytes", env: "KV_WAL_CACHE_BYTES", dflt: String(DEFAULT_WAL_CACHE_BYTES), help: "log entries kept in memory (bytes)" },
  {
    flag: "wal-inline-writes",
    env: "KV_WAL_INLINE_WRITES",
    dflt: "false",
    help: "write and fdatasync the WAL on the event loop's thread (blocks it for each sync; see the wal README)",
  },
  { flag: "request-timeout-ms", env: "KV_REQUEST_TIMEOUT_MS", dflt: "5000", help: "timeout of a write or linearizable read" },
  { flag: "quota-bytes", env: "KV_QUOTA_BYTES", dflt: String(DEFAULT_QUOTA_BYTES), help: "most bytes of keys and values (writes beyond: 507 no_space)" },
  { flag: "client-cert", env: "KV_CLIENT_CERT", dflt: "", help: "PEM certificate: serve the HTTP API over HTTPS" },
  { flag: "client-key", env: "KV_CLIENT_KEY", dflt: "", help: "PEM private key of --client-cert" },
  { flag: "client-ca", env: "KV_CLIENT_CA", dflt: "", help: "PEM CA: require client certificates signed by it" },
  { flag: "fault-injection", env: "KV_FAULT_INJECTION", dflt: "false", help: "enable POST /admin/partition (tests)" },
  { flag: "exit-with-parent", env: "KV_EXIT_WITH_PARENT", dflt: "false", help: "exit when stdin closes" },
  { flag: "log-level", env: "KV_LOG_LEVEL", dflt: "info", help: "debug | info | warn | error" },
];

/** The usage text. */
export function usage(): string {
  const lines = FLAGS.map(
    (f) => `  --${f.flag.padEnd(20)} ${f.env.padEnd(22)} ${f.help}${f.dflt !== "" ? ` (default ${f.dflt.length > 40 ? "3 local members" : f.dflt})` : ""}`,
  );
  return `usage: tsraft-kv [flags]\n  flag                   environment\n${lines.join("\n")}\n`;
}

/**
 * Parses `ID=RAFT/HTTP,...`.
 * @throws {@link ConfigError}
 */
export function parseCluster(s: string): Map<bigint, MemberAddr> {
  const out = new Map<bigint, MemberAddr>();
  for (const part of s
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const m = /^(\d{1,20})=([^/]+)\/([^/]+)$/.exec(part);
    if (m === null || !isHostPort(m[2]) || !isHostPort(m[3])) {
      throw new ConfigError(`--cluster: cannot parse ${JSON.stringify(part)} (want ID=RAFT_HOST:PORT/HTTP_HOST:PORT, ports 1..65535)`);
    }
    const id = BigInt(m[1]!);
    if (id === 0n || id > 0xffffffffffffffffn) throw new ConfigError("--cluster: member ids must be in 1..2^64-1");
    out.set(id, { raft: m[2]!, http: m[3]! });
  }
  return out;
}

/** Formats a cluster map as `--cluster` takes it. */
export function formatCluster(c: Map<bigint, MemberAddr>): string {
  return [...c].map(([id, a]) => `${id}=${a.raft}/${a.http}`).join(",");
}

function int(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError(`--${name}: want an integer >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

function bool(name: string, v: string): boolean {
  if (v === "" || v === "true" || v === "1" || v === "yes") return true;
  if (v === "false" || v === "0" || v === "no") return false;
  throw new ConfigError(`--${name}: want true or false, got ${JSON.stringify(v)}`);
}

/**
 * The raft port's authentication from its flags: exactly one of mutual TLS (all three files),
 * a secret file, or `--insecure-peers`.
 */
function peerAuthOf(get: (flag: string) => string): PeerAuthConfig {
  const certFile = get("peer-cert");
  const keyFile = get("peer-key");
  const caFile = get("peer-ca");
  const secretFile = get("peer-secret-file");
  const insecure = bool("insecure-peers", get("insecure-peers"));
  const tls = certFile !== "" || keyFile !== "" || caFile !== "";
  const chosen = [tls, secretFile !== "", insecure].filter((x) => x).length;
  if (chosen === 0) {
    throw new ConfigError(
      "the raft port needs authentication: give --peer-cert, --peer-key and --peer-ca (mutual TLS), or --peer-secret-file (a shared secret), " +
        "or --insecure-peers (plain TCP, no authentication). `pnpm --filter @tsraft/example-kv cluster` starts a local cluster with throwaway certificates",
    );
  }
  if (chosen > 1) throw new ConfigError("choose one way to authenticate peers: --peer-cert/--peer-key/--peer-ca, --peer-secret-file, or --insecure-peers");
  if (tls) {
    if (certFile === "" || keyFile === "" || caFile === "") throw new ConfigError("--peer-cert, --peer-key and --peer-ca go together");
    return { mode: "tls", certFile, keyFile, caFile };
  }
  return secretFile !== "" ? { mode: "hmac", secretFile } : { mode: "none" };
}

function tlsFiles(certFile: string, keyFile: string, caFile: string): KvConfig["clientTls"] {
  if (certFile === "" && keyFile === "" && caFile === "") return undefined;
  if (certFile === "" || keyFile === "") throw new ConfigError("--client-cert and --client-key go together");
  return caFile === "" ? { certFile, keyFile } : { certFile, keyFile, caFile };
}

/**
 * Builds the configuration from `argv` (flags: `--name value`, `--name=value`, or `--flag`
 * alone for booleans) and `env`.
 * @throws {@link ConfigError} for an unknown flag or a bad value.
 */
export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): KvConfig {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new ConfigError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const spec = FLAGS.find((f) => f.flag === name);
    if (spec === undefined) throw new ConfigError(`unknown flag --${name}`);
    if (eq > 0) given.set(name, a.slice(eq + 1));
    else if (spec.dflt === "false" && (i + 1 >= argv.length || argv[i + 1]!.startsWith("--"))) given.set(name, "true");
    else if (i + 1 < argv.length) given.set(name, argv[++i]!);
    else throw new ConfigError(`--${name} needs a value`);
  }
  const get = (flag: string): string => {
    const spec = FLAGS.find((f) => f.flag === flag)!;
    return given.get(flag) ?? env[spec.env] ?? spec.dflt;
  };
  const idText = get("id");
  const id = /^\d{1,20}$/.test(idText) ? BigInt(idText) : 0n;
  if (id === 0n || id > 0xffffffffffffffffn) throw new ConfigError(`--id: want an integer in 1..2^64-1, got ${JSON.stringify(idText)}`);
  const cluster = parseCluster(get("cluster"));
  const self = cluster.get(id);
  const raftAddr = get("raft-addr") || self?.raft;
  const httpAddr = get("http-addr") || self?.http;
  if (raftAddr === undefined || httpAddr === undefined) {
    throw new ConfigError(`member ${id} is not in --cluster: give --raft-addr and --http-addr`);
  }
  const joining = bool("join", get("join"));
  if (!joining && self === undefined) throw new ConfigError(`member ${id} is not in --cluster; use --join to join an existing cluster`);
  for (const a of [raftAddr, httpAddr]) if (!isHostPort(a)) throw new ConfigError(`bad address ${JSON.stringify(a)} (want host:port, port 1..65535)`);
  const electionTicks = int("election-ticks", get("election-ticks"), 2);
  const heartbeatTicks = int("heartbeat-ticks", get("heartbeat-ticks"), 1);
  if (electionTicks <= heartbeatTicks) throw new ConfigError("--election-ticks must exceed --heartbeat-ticks");
  const logLevel = get("log-level");
  if (logLevel !== "debug" && logLevel !== "info" && logLevel !== "warn" && logLevel !== "error") throw new ConfigError(`--log-level: ${logLevel}?`);
  const clientTls = tlsFiles(get("client-cert"), get("client-key"), get("client-ca"));
  const clusterToken = get("cluster-token");
  if (!/^[\x21-\x7e]{1,256}$/.test(clusterToken)) throw new ConfigError("--cluster-token: want 1 to 256 printable ASCII characters without spaces");
  const clusterIdText = get("cluster-id");
  const clusterId = clusterIdText === "" ? undefined : parseClusterId(clusterIdText);
  if (clusterId === undefined && clusterIdText !== "")
    throw new ConfigError(`--cluster-id: want up to 16 hex digits (as GET /status shows it), got ${JSON.stringify(clusterIdText)}`);
  if (clusterId !== undefined && !joining)
    throw new ConfigError("--cluster-id goes with --join: a bootstrapped cluster computes its id, a restarted member reads it from its data directory");
  const peerAuth = peerAuthOf(get);
  return {
    id,
    dataDir: get("data-dir") || join(tmpdir(), "tsraft-kv", `node-${id}`),
    raftAddr,
    httpAddr,
    cluster,
    join: joining,
    peerAuth,
    clusterToken,
    ...(clusterId === undefined ? {} : { clusterId }),
    tickMs: int("tick-ms", get("tick-ms"), 1),
    electionTicks,
    heartbeatTicks,
    snapshotEntries: int("snapshot-entries", get("snapshot-entries"), 1),
    catchUpEntries: int("catch-up-entries", get("catch-up-entries"), 0),
    walSegmentBytes: int("wal-segment-bytes", get("wal-segment-bytes"), 64 * 1024),
    walCacheBytes: int("wal-cache-bytes", get("wal-cache-bytes"), 1024 * 1024),
    walInlineWrites: bool("wal-inline-writes", get("wal-inline-writes")),
    requestTimeoutMs: int("request-timeout-ms", get("request-timeout-ms"), 1),
    quotaBytes: int("quota-bytes", get("quota-bytes"), 1),
    ...(clientTls === undefined ? {} : { clientTls }),
    faultInjection: bool("fault-injection", get("fault-injection")),
    exitWithParent: bool("exit-with-parent", get("exit-with-parent")),
    logLevel,
  };
}
