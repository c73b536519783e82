/**
 * The summary of a scaling curve: how a per-unit cost grows with the size of the work, as a
 * figure (the cost ratio largest/smallest size, per run) with a fitted exponent and a verdict.
 * @module
 */
import { growthClass, growthExponent, median, type Figure } from "../harness.js";

export interface TrendInput {
  name: string;
  params: Record<string, number | string>;
  /** The sizes (x), ascending. */
  xs: readonly number[];
  /** costs[run][i]: the per-unit cost at xs[i] in one run (seconds per entry, per byte...). */
  costs: readonly (readonly number[])[];
  /** What the cost is, for the verdict: 'time per cycle'. */
  cost: string;
  /** What x is, for the verdict: 'log size'. */
  x: string;
  /** What the verdict means for the total, e.g. 'total replay time linear in the WAL size'. */
  flatMeans?: string;
}

/**
 * The trend figure. Each run's costs are fitted to cost = c * x^k (least squares on the logs),
 * and the run's value is the fitted ratio (x_last / x_first)^k: the growth from the smallest to
 * the largest size, read off the fitted line rather than off two noisy end points; value = the
 * median over runs. `info` has k fitted on the per-x medians, its class (flat, sublinear,
 * linear, worse than linear), the verdict sentence, and the raw end-point ratio of the medians.
 * Lower is better.
 */
export function trendFigure(t: TrendInput): Figure {
  const n = t.xs.length;
  const span = t.xs[n - 1]! / t.xs[0]!;
  const med = t.xs.map((_, i) => median(t.costs.map((run) => run[i]!)));
  const k = growthExponent(t.xs, med);
  const cls = growthClass(k);
  const fitted = span ** k;
  let verdict = `${cls}: ${t.cost} ∝ ${t.x}^${k.toFixed(2)}, x${fitted.toFixed(2)} from ${t.x} ${t.xs[0]} to ${t.xs[n - 1]}`;
  if (cls === "flat" && t.flatMeans !== undefined) verdict += ` (${t.flatMeans})`;
  return {
    name: t.name,
    params: t.params,
    unit: "cost ratio",
    runs: t.costs.map((run) => span ** growthExponent(t.xs, run)),
    lowerIsBetter: true,
    verdict,
    info: {
      verdict,
      growth: cls,
      exponent: Math.round(k * 1000) / 1000,
      endPointRatio: Math.round((med[n - 1]! / med[0]!) * 1000) / 1000,
      value: `fitted growth of ${t.cost} from ${t.x} ${t.xs[0]} to ${t.xs[n - 1]}: (${t.xs[n - 1]}/${t.xs[0]})^k with k fitted per run; median over runs`,
      fit: `least squares of ln(${t.cost}) on ln(${t.x}); classes of k: |k| <= 0.2 flat, < 0.8 sublinear, < 1.2 linear, else worse than linear`,
    },
  };
}
