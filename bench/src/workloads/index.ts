/**
 * Every workload of `pnpm bench`, in the order they run when none is named. Add new workloads
 * here (one module each under workloads/).
 * @module
 */
import type { Workload } from "../harness.js";
import { codecMsgApp } from "./codec-msgapp.js";
import { cluster3node, rawnode1node } from "./rawnode.js";
import { walWriteWorkload } from "./wal-write.js";
import { walReplayWorkload } from "./wal-replay.js";

export const workloads: Workload[] = [rawnode1node, cluster3node, codecMsgApp, walWriteWorkload, walReplayWorkload];
