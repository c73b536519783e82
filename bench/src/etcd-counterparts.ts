/**
 * Which of our workloads have a counterpart in etcd's Go baseline (`../shared/etcd-baseline/
 * run.sh`), and the Go workload each needs. Used by `--against-etcd` (against-etcd.ts) and by
 * the command line's checks (cli.ts).
 * @module
 */

/** Our workload -> the run.sh workload it is compared with. */
export const COUNTERPARTS: ReadonlyMap<string, string> = new Map([
  ["rawnode-1node", "rawnode-1node"],
  ["rawnode-1node-one-cycle", "rawnode-1node"],
  ["cluster-3node", "cluster-3node"],
  ["codec-msgapp", "codec-msgapp"],
  ["wal-write", "wal-write"],
  ["wal-write-inline", "wal-write"],
  ["wal-replay", "wal-replay"],
  ["memory-entries", "memory-entries"],
  ["cluster-3node-etcd-pattern", "cluster-3node"],
]);
