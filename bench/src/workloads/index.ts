/**
 * Every workload of `pnpm bench`, in the order they run when none is named: the six of the
 * DESIGN's benchmark spec first (each with an etcd counterpart), then the memory and scaling
 * workloads (new names), then e2e (opt-in: only when named, or with --quick). Add new
 * workloads here (one module each under workloads/).
 * @module
 */
import type { Workload } from "../harness.js";
import { codecMsgApp } from "./codec-msgapp.js";
import { codecPayload } from "./codec-payload.js";
import { driver3node } from "./driver.js";
import { e2e } from "./e2e.js";
import { memoryEntriesWorkload, memoryUnstableWorkload } from "./memory.js";
import { cluster3node, cluster3nodeEtcdPattern, rawnode1node, rawnode1nodeOneCycle } from "./rawnode.js";
import { cluster3nodeRss } from "./rss.js";
import { clusterNNode, clusterPayload, logGrowth } from "./scaling.js";
import { walReplayGrowth } from "./wal-replay-growth.js";
import { walWriteInlineWorkload, walWriteWorkload } from "./wal-write.js";
import { walReplayWorkload } from "./wal-replay.js";

export const workloads: Workload[] = [
  rawnode1node,
  cluster3node,
  codecMsgApp,
  walWriteWorkload,
  walReplayWorkload,
  memoryEntriesWorkload,
  cluster3nodeEtcdPattern,
  rawnode1nodeOneCycle,
  walWriteInlineWorkload,
  memoryUnstableWorkload,
  cluster3nodeRss,
  clusterNNode,
  clusterPayload,
  codecPayload,
  logGrowth,
  walReplayGrowth,
  driver3node,
  e2e,
];
