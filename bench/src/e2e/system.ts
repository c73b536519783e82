/**
 * What the e2e workload needs from a system under test, whichever it is (the tsraft KV
 * service, etcd): where its leader serves, its requests, its processes (for CPU accounting),
 * and how to stop it.
 * @module
 */
import type { Op, RequestSet } from "./requests.js";

/** A client endpoint: host and port of one member's HTTP API. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A running 3-member cluster of one system. */
export interface E2eSystem {
  /** The JSON lines' `impl`: `tsraft`, `etcd-3.4.23`. */
  readonly impl: string;
  /** Where its data directories are (on the disk being measured). */
  readonly dir: string;
  /** The member processes' ids (for CPU accounting). */
  pids(): number[];
  /**
   * The leader's client endpoint and member id, asked of the members.
   * @throws {@link BenchError} `TSRAFT_BENCH_NO_LEADER` if none is known within `timeoutMs`.
   */
  leader(timeoutMs: number): Promise<Endpoint & { id: string }>;
  /** The request bytes of `op` for every key. */
  requests(op: Op, keys: number, valueBytes: number): RequestSet;
  /** Stops every member and removes the data directories. Safe to call twice. */
  stop(): Promise<void>;
}

/** Parses `host:port` or `http://host:port`. */
export function endpointOf(addr: string): Endpoint {
  const m = /^(?:http:\/\/)?([^:/]+):(\d+)\/?$/.exec(addr);
  if (m === null) throw new Error(`bench: not an address: ${JSON.stringify(addr)}`);
  return { host: m[1]!, port: Number(m[2]) };
}
