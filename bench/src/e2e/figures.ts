/**
 * Turns the measured points of the e2e workload (one per system, operation, client count and
 * round) into the bench's figures: per (system, op, clients) one throughput figure and three
 * latency figures (p50, p90, p99), each with one run per round, so the printed value is the
 * median over rounds and min..max their spread. A point with errors is never folded in
 * quietly: the figure's `note` says FLAGGED with the counts, `info` has them per round.
 * @module
 */
import type { Figure } from "../harness.js";
import type { Op } from "./requests.js";

/** One measured point: one system, one operation, one client count, one round. */
export interface PointResult {
  impl: string;
  op: Op;
  clients: number;
  round: number;
  /** 2xx answers per second in the measured window. */
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  /** Errors in the measured window (non-2xx, timeouts, lost connections, short bodies), by kind. */
  errors: Record<string, number>;
  errorCount: number;
  warmupErrors: number;
  /** CPU of the load client, in cores (CPU seconds per second), and per request in µs. */
  clientCores: number;
  clientUsPerRequest: number;
  /** CPU of the servers (all members together), in cores and per answered request in µs; NaN without /proc. */
  serverCores: number;
  serverUsPerRequest: number;
  /** The leader changed during the point. */
  leaderChanged: boolean;
}

/** The fixed parameters of the workload, part of every figure's params. */
export interface E2eShape {
  keys: number;
  valueBytes: number;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function sumErrors(points: readonly PointResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points) for (const [k, n] of Object.entries(p.errors)) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** The note of a group of points: undefined when clean, else `FLAGGED: ...` with the counts. */
export function errorNote(points: readonly PointResult[]): string | undefined {
  const total = points.reduce((a, p) => a + p.errorCount, 0);
  const changed = points.filter((p) => p.leaderChanged).length;
  const parts: string[] = [];
  if (total > 0) {
    const kinds = Object.entries(sumErrors(points))
      .map(([k, n]) => `${k} x${n}`)
      .join(", ");
    parts.push(
      `${total} errors (${kinds}) in rounds ${points
        .filter((p) => p.errorCount > 0)
        .map((p) => p.round + 1)
        .join(",")}`,
    );
  }
  if (changed > 0) parts.push(`leader changed in ${changed} round(s)`);
  return parts.length === 0 ? undefined : `FLAGGED: ${parts.join("; ")}`;
}

/**
 * The figures of every (impl, op, clients) group in `points`, in the order the groups first
 * appear. tsraft's figures carry no `impl`; the others carry theirs, so that main.ts joins
 * them as the comparison and prints them with their own `impl`.
 */
export function e2eFigures(points: readonly PointResult[], shape: E2eShape): Figure[] {
  const groups = new Map<string, PointResult[]>();
  for (const p of points) {
    const k = `${p.impl}\u0000${p.op}\u0000${p.clients}`;
    const g = groups.get(k) ?? [];
    g.push(p);
    groups.set(k, g);
  }
  const figs: Figure[] = [];
  for (const g of groups.values()) {
    g.sort((a, b) => a.round - b.round);
    const { impl, op, clients } = g[0]!;
    const params = { clients, keys: shape.keys, valueBytes: shape.valueBytes };
    const note = errorNote(g);
    const common = {
      ...(impl !== "tsraft" ? { impl } : {}),
      ...(note !== undefined ? { note } : {}),
    };
    const info: Record<string, unknown> = {
      rounds: g.length,
      errors: g.reduce((a, p) => a + p.errorCount, 0),
      errorsPerRound: g.map((p) => p.errorCount),
      errorKinds: sumErrors(g),
      warmupErrors: g.reduce((a, p) => a + p.warmupErrors, 0),
      clientCores: g.map((p) => round3(p.clientCores)),
      clientUsPerRequest: g.map((p) => round1(p.clientUsPerRequest)),
      serverCores: g.map((p) => round3(p.serverCores)),
      serverUsPerRequest: g.map((p) => round1(p.serverUsPerRequest)),
    };
    if (note !== undefined) info.flagged = true;
    const series = impl;
    figs.push({
      name: `e2e-${op}`,
      params,
      unit: "ops/s",
      runs: g.map((p) => p.throughput),
      info,
      curve: { chart: `e2e-${op}: throughput by concurrent clients`, x: "clients", series, xLabel: "concurrent clients", yLabel: "ops/s", logX: true },
      ...common,
    });
    for (const q of ["p50", "p90", "p99"] as const) {
      figs.push({
        name: `e2e-${op}-latency`,
        params: { ...params, q },
        unit: "ms",
        lowerIsBetter: true,
        runs: g.map((p) => p[q]),
        ...(q === "p99"
          ? {
              curve: {
                chart: `e2e-${op}: p99 latency by concurrent clients`,
                x: "clients",
                series,
                xLabel: "concurrent clients",
                yLabel: "p99 ms",
                logX: true,
                logY: true,
              },
            }
          : {}),
        ...common,
      });
    }
  }
  return figs;
}
