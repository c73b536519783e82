/**
 * The bench's typed errors: every failure of the end-to-end machinery (a cluster that does not
 * start, no leader, the etcd script failing, a preload that does not complete) is a
 * {@link BenchError} with a stable `code`, so callers and tests can tell them apart.
 * (Command-line mistakes stay {@link UsageError} in cli.ts: they print the usage.)
 * @module
 */

/** The stable codes of {@link BenchError}. */
export type BenchErrorCode =
  /** A cluster member exited or did not print its ready line in time. */
  | "TSRAFT_BENCH_CLUSTER_START"
  /** No member reported itself leader in time. */
  | "TSRAFT_BENCH_NO_LEADER"
  /** `etcd-cluster.sh` is missing, failed, or printed something we cannot read. */
  | "TSRAFT_BENCH_ETCD_SCRIPT"
  /** The keys could not be written before the read points (a put failed). */
  | "TSRAFT_BENCH_PRELOAD"
  /** No free TCP ports could be found on 127.0.0.1. */
  | "TSRAFT_BENCH_PORTS";

/** A failure of the bench machinery; `code` is stable, `message` says what and where. */
export class BenchError extends Error {
  override readonly name = "BenchError";
  readonly code: BenchErrorCode;

  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(`bench: ${message}`, options);
    this.code = code;
  }
}
