/**
 * `--report DIR`: a self-contained HTML page (no scripts, no external files) with the figures
 * of one `pnpm bench` run: a bar chart of the ratios against etcd (log scale, 1.0 = parity,
 * above 1.0 tsraft is ahead), one line chart per scaling curve with the verdicts of its trend
 * figures, and the full table. Charts are plain inline SVG, also written as standalone .svg
 * files next to index.html (ratios.svg, and NAME.svg per line chart, after the workload), with the JSON lines
 * of the run (results.jsonl).
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { etcdCell, formatParams, noteOf, ratioCell, type Row } from "./cli.js";
import { roundFigure, type Figure } from "./harness.js";

export interface ReportInput {
  title: string;
  /** When the run started (ISO 8601). */
  date: string;
  /** The machine header lines (cores, CPU, node, load average, noise note). */
  machine: string;
  rows: Row[];
  /** The JSON lines printed on stdout, in order. */
  jsonLines: string[];
  seconds: number;
  quick: boolean;
  baseline?: { file: string; impl: string | undefined };
  /** The command line, for the record. */
  command: string;
  /** Figures of other systems measured in the same run (e2e's etcd): drawn in the line charts. */
  peers?: Figure[];
}

const FONT = "font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${roundFigure(v / 1e6)}M`;
  if (a >= 1e4) return `${roundFigure(v / 1e3)}k`;
  return String(roundFigure(v));
}

/** An x tick: 32k, 1M for round thousands and millions, the number itself otherwise (16384). */
function xTick(v: number): string {
  if (v >= 1e6 && v % 1e6 === 0) return `${v / 1e6}M`;
  if (v >= 1e4 && v % 1e3 === 0) return `${v / 1e3}k`;
  return String(v);
}

/**
 * The label of a ratio bar: name and params, the unit unless it is MB/s or entries/s, and the
 * etcd figure's name when it differs.
 */
function ratioLabel(r: Row): string {
  const u = r.fig.unit;
  const vs = r.etcdName !== undefined ? ` vs etcd's ${r.etcdName}` : "";
  return `${r.fig.name} ${formatParams(r.fig.params)}${u === "MB/s" || u === "entries/s" ? "" : ` (${u})`}${vs}`;
}

/**
 * The rows that get a bar: those with a ratio, one per (name, params) (wal-write's MB/s and
 * entries/s come from the same runs, so they have the same ratio; the first unit is kept).
 * Figures compared with another figure's etcd line (codec-msgapp-copy, cluster-3node-etcd-
 * pattern) are placed right after the bars of that etcd name.
 */
export function ratioRows(rows: readonly Row[]): Row[] {
  const seen = new Set<string>();
  const out: Row[] = [];
  for (const r of rows) {
    if (r.ratio === undefined || !Number.isFinite(r.ratio) || r.ratio <= 0) continue;
    const k = `${r.fig.name} ${formatParams(r.fig.params)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  const group = new Map<string, number>();
  for (const r of out) {
    const g = r.etcdName ?? r.fig.name;
    if (!group.has(g)) group.set(g, group.size);
  }
  return out
    .map((r, i) => ({ r, i, g: group.get(r.etcdName ?? r.fig.name)! }))
    .sort((a, b) => a.g - b.g || a.i - b.i)
    .map((x) => x.r);
}

/**
 * A width, in pixels, that a label of 12-pixel sans-serif text fits in: 7 per character, more
 * than the average advance of the system fonts used (about 6.5 for digits and lower case).
 */
export function labelWidth(text: string): number {
  return Math.ceil(text.length * 7);
}

/** Horizontal bars of tsraft/etcd ratios on a log2 scale around 1.0. */
export function ratioChartSvg(rows: readonly Row[], subtitle: string): string {
  const bars = ratioRows(rows);
  // The label column is as wide as the longest label (right-aligned at labelW - 8), so long
  // workload names are not clipped at the left edge.
  const labelW = Math.max(200, ...bars.map((b) => labelWidth(ratioLabel(b)) + 18));
  const plotW = 460;
  const rowH = 22;
  const top = 58;
  const W = labelW + plotW + 70;
  const H = top + Math.max(1, bars.length) * rowH + 46;
  let lo = 0.5;
  let hi = 2;
  for (const b of bars) {
    lo = Math.min(lo, b.ratio!);
    hi = Math.max(hi, b.ratio!);
  }
  const l2lo = Math.floor(Math.log2(lo));
  const l2hi = Math.ceil(Math.log2(hi));
  const x = (v: number) => labelW + ((Math.log2(v) - l2lo) / (l2hi - l2lo)) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" style="${FONT}" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="10" y="20" font-size="15" font-weight="600">tsraft / etcd (above 1.0: tsraft ahead; memory: etcd / tsraft)</text>`);
  parts.push(`<text x="10" y="38" fill="#555">${esc(subtitle)}</text>`);
  for (let e = l2lo; e <= l2hi; e++) {
    const v = 2 ** e;
    const xx = x(v);
    parts.push(
      `<line x1="${xx}" y1="${top - 6}" x2="${xx}" y2="${top + bars.length * rowH}" stroke="${e === 0 ? "#333" : "#ddd"}" stroke-width="${e === 0 ? 1.5 : 1}"/>`,
    );
    parts.push(`<text x="${xx}" y="${top + bars.length * rowH + 16}" text-anchor="middle" fill="#555">${v >= 1 ? v : `1/${2 ** -e}`}</text>`);
  }
  parts.push(`<text x="${labelW + plotW / 2}" y="${top + bars.length * rowH + 34}" text-anchor="middle" fill="#555">ratio (log scale)</text>`);
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const r = b.ratio!;
    const x0 = x(1);
    const x1 = x(r);
    const color = r >= 1 ? "#2e7d32" : "#c62828";
    parts.push(`<text x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(ratioLabel(b))}</text>`);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${color}" opacity="0.85"/>`);
    parts.push(`<text x="${r >= 1 ? x1 + 4 : x0 + 4}" y="${y + 15}" fill="#222">${r.toFixed(2)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || 1;
  const step0 = span / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export interface CurveChart {
  chart: string;
  figures: Figure[];
  verdicts: string[];
}

/**
 * Groups the figures that carry a curve by chart, with the verdicts of their trend figures;
 * `peers` (other systems' figures of the same run) join the charts of their curves.
 */
export function curveCharts(rows: readonly Row[], peers: readonly Figure[] = []): CurveChart[] {
  const charts = new Map<string, CurveChart>();
  for (const f of [...rows.map((r) => r.fig), ...peers]) {
    const c = f.curve;
    if (c === undefined) continue;
    let ch = charts.get(c.chart);
    if (ch === undefined) {
      ch = { chart: c.chart, figures: [], verdicts: [] };
      charts.set(c.chart, ch);
    }
    ch.figures.push(f);
  }
  for (const ch of charts.values()) {
    const names = new Set(ch.figures.map((f) => f.name));
    for (const r of rows) {
      if (r.fig.verdict !== undefined && names.has(r.fig.name)) ch.verdicts.push(`${formatParams(r.fig.params)}: ${r.fig.verdict}`);
    }
  }
  return [...charts.values()];
}

/** A line chart: one line per series, the median at each x, a whisker from min to max. */
export function lineChartSvg(ch: CurveChart): string {
  const first = ch.figures[0]!.curve!;
  const W = 620;
  const H = 330;
  const m = { l: 70, r: 165, t: 34, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const series = new Map<string, { x: number; med: number; min: number; max: number }[]>();
  for (const f of ch.figures) {
    const c = f.curve!;
    const xv = Number(f.params[c.x]);
    const s = [...f.runs].sort((a, b) => a - b);
    const med = s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    const pts = series.get(c.series) ?? [];
    pts.push({ x: xv, med, min: s[0]!, max: s[s.length - 1]! });
    series.set(c.series, pts);
  }
  const all = [...series.values()].flat();
  const xmin = Math.min(...all.map((p) => p.x));
  const xmax = Math.max(...all.map((p) => p.x));
  const logY = first.logY === true && all.every((p) => p.min > 0);
  const ymax = logY ? 10 ** Math.ceil(Math.log10(Math.max(...all.map((p) => p.max)))) : Math.max(...all.map((p) => p.max)) * 1.08;
  const ymin = logY ? 10 ** Math.floor(Math.log10(Math.min(...all.map((p) => p.min)))) : 0;
  const logX = first.logX === true;
  const x = (v: number) => {
    if (xmax === xmin) return m.l + pw / 2;
    return logX ? m.l + ((Math.log(v) - Math.log(xmin)) / (Math.log(xmax) - Math.log(xmin))) * pw : m.l + ((v - xmin) / (xmax - xmin)) * pw;
  };
  const y = (v: number) => (logY ? m.t + ph - ((Math.log10(v) - Math.log10(ymin)) / (Math.log10(ymax) - Math.log10(ymin))) * ph : m.t + ph - (v / ymax) * ph);
  const p: string[] = [];
  p.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" style="${FONT}" font-size="11">`);
  p.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  p.push(`<text x="10" y="18" font-size="13" font-weight="600">${esc(ch.chart)}</text>`);
  const yticks = logY ? Array.from({ length: Math.round(Math.log10(ymax / ymin)) + 1 }, (_, i) => ymin * 10 ** i) : niceTicks(0, ymax, 5);
  for (const t of yticks) {
    p.push(`<line x1="${m.l}" y1="${y(t)}" x2="${m.l + pw}" y2="${y(t)}" stroke="#e5e5e5"/>`);
    p.push(`<text x="${m.l - 6}" y="${y(t) + 4}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
  }
  const xt = [...new Set(all.map((q) => q.x))].sort((a, b) => a - b);
  const xticks = xt.length <= 10 ? xt : niceTicks(xmin, xmax, 6);
  for (const t of xticks) {
    p.push(`<line x1="${x(t)}" y1="${m.t + ph}" x2="${x(t)}" y2="${m.t + ph + 4}" stroke="#555"/>`);
    p.push(`<text x="${x(t)}" y="${m.t + ph + 16}" text-anchor="middle" fill="#555">${xTick(t)}</text>`);
  }
  p.push(`<line x1="${m.l}" y1="${m.t + ph}" x2="${m.l + pw}" y2="${m.t + ph}" stroke="#555"/>`);
  p.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${m.t + ph}" stroke="#555"/>`);
  p.push(`<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle" fill="#333">${esc(first.xLabel)}${logX ? " (log scale)" : ""}</text>`);
  p.push(
    `<text x="14" y="${m.t + ph / 2}" text-anchor="middle" fill="#333" transform="rotate(-90 14 ${m.t + ph / 2})">${esc(first.yLabel)} (median, min-max${logY ? ", log scale" : ""})</text>`,
  );
  [...series.entries()].forEach(([name, pts], i) => {
    const color = COLORS[i % COLORS.length]!;
    pts.sort((a, b) => a.x - b.x);
    p.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((q) => `${x(q.x).toFixed(1)},${y(q.med).toFixed(1)}`).join(" ")}"/>`);
    for (const q of pts) {
      p.push(`<line x1="${x(q.x)}" y1="${y(q.min)}" x2="${x(q.x)}" y2="${y(q.max)}" stroke="${color}" stroke-opacity="0.5"/>`);
      p.push(`<circle cx="${x(q.x)}" cy="${y(q.med)}" r="3" fill="${color}"/>`);
    }
    const ly = m.t + 10 + i * 18;
    p.push(`<line x1="${m.l + pw + 14}" y1="${ly}" x2="${m.l + pw + 34}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    p.push(`<text x="${m.l + pw + 38}" y="${ly + 4}">${esc(name)}</text>`);
  });
  p.push("</svg>");
  return p.join("\n");
}

function htmlTable(rows: readonly Row[], withBaseline: boolean): string {
  const head = ["workload", "params", "value", "unit", "min..max", "runs", ...(withBaseline ? ["etcd", "ratio"] : []), "note"];
  const body = rows.map((r) => {
    const f = r.fig;
    const cells = [
      esc(f.name),
      esc(formatParams(f.params)),
      String(roundFigure(r.value)),
      esc(f.unit + (f.lowerIsBetter === true ? " (lower is better)" : "")),
      `${roundFigure(Math.min(...f.runs))}..${roundFigure(Math.max(...f.runs))}`,
      String(f.runs.length),
    ];
    if (withBaseline) {
      cells.push(r.etcd === undefined ? "" : esc(etcdCell(r)));
      const cls = r.ratio === undefined ? "" : r.ratio >= 1 ? "ahead" : "behind";
      cells.push(r.ratio === undefined ? "" : `<span class="${cls}">${esc(ratioCell(r))}</span>`);
    }
    const note = noteOf(r);
    cells.push(note.includes("FLAGGED") ? `<span class="behind">${esc(note)}</span>` : esc(note));
    return `<tr>${cells.map((c, i) => `<td${i >= 2 && i <= 7 && i !== 3 ? ' class="num"' : ""}>${c}</td>`).join("")}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>\n${body.join("\n")}\n</tbody></table>`;
}

/** The HTML page of the report. */
export function reportHtml(input: ReportInput): string {
  const withBaseline = input.baseline !== undefined;
  const subtitle = `${input.date.slice(0, 16).replace("T", " ")} UTC, one session, one machine${input.quick ? " (--quick: meaningless numbers)" : ""}`;
  const charts = curveCharts(input.rows, input.peers);
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body{${FONT};margin:24px auto;max-width:1320px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:32px}
pre{background:#f6f6f6;padding:10px;white-space:pre-wrap;font-size:12px}
table{border-collapse:collapse;font-size:12px;margin-top:8px}
td,th{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ahead{color:#2e7d32;font-weight:600}.behind{color:#c62828;font-weight:600}
.charts{display:flex;flex-wrap:wrap;gap:18px}.chart{max-width:620px}
.verdict{font-size:12px;color:#333;margin:4px 0 0 0;padding-left:18px}
.note{color:#7a4a00}
</style></head><body>`);
  parts.push(`<h1>${esc(input.title)}</h1>`);
  parts.push(
    `<pre>${esc(input.machine)}\nrun: ${esc(input.date)}, ${input.seconds.toFixed(0)} s; command: ${esc(input.command)}${input.baseline !== undefined ? `\nbaseline: ${esc(input.baseline.file)} (${esc(input.baseline.impl ?? "unknown impl")})` : ""}</pre>`,
  );
  parts.push(
    `<p class="note">Figures from a shared machine are noisy: the same figure can differ by up to 2x between runs minutes apart. Read the min..max spread, and compare with etcd only from runs made back to back on the same machine.</p>`,
  );
  if (withBaseline) {
    parts.push(`<h2>Against etcd</h2>`);
    parts.push(ratioChartSvg(input.rows, subtitle));
    parts.push(
      htmlTable(
        input.rows.filter((r) => r.ratio !== undefined),
        true,
      ),
    );
  }
  if (charts.length > 0) {
    parts.push(`<h2>Scaling</h2><div class="charts">`);
    for (const ch of charts) {
      parts.push(`<div class="chart">${lineChartSvg(ch)}<ul class="verdict">${ch.verdicts.map((v) => `<li>${esc(v)}</li>`).join("")}</ul></div>`);
    }
    parts.push(`</div>`);
  }
  parts.push(`<h2>Every figure</h2>`);
  parts.push(htmlTable(input.rows, withBaseline));
  parts.push(`<h2>JSON lines</h2><pre>${esc(input.jsonLines.join("\n"))}</pre>`);
  parts.push(`</body></html>`);
  return parts.join("\n");
}

/** Writes index.html, ratios.svg (with a baseline), NAME.svg per line chart and results.jsonl into `dir`. */
export function writeReport(dir: string, input: ReportInput): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    written.push(join(dir, name));
  };
  put("index.html", reportHtml(input));
  if (input.baseline !== undefined) {
    put("ratios.svg", ratioChartSvg(input.rows, `${input.date.slice(0, 16).replace("T", " ")} UTC, one session, one machine`));
  }
  for (const ch of curveCharts(input.rows, input.peers)) put(`${ch.figures[0]!.name}.svg`, lineChartSvg(ch));
  put("results.jsonl", input.jsonLines.join("\n") + "\n");
  return written;
}
