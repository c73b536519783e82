/**
 * Every workload of `pnpm bench`, in the order they run when none is named. Add new workloads
 * here (one module each under workloads/).
 * @module
 */
import type { Workload } from "../harness.js";
import { codecMsgApp } from "./codec-msgapp.js";

export const workloads: Workload[] = [codecMsgApp];
