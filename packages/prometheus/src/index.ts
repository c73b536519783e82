/**
 * @tsraft/prometheus: tsraft's metrics in prom-client, named after etcd's. See the README for
 * the list and the mapping to etcd's names.
 * @module
 */
export { bindMetrics, DISK_DURATION_BUCKETS, PEER_RTT_BUCKETS } from "./metrics.js";
export type { MetricsNode, MetricsSources, BindOptions, TsraftMetrics } from "./metrics.js";
