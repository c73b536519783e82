/**
 * A run's {@link Trace} as a self-contained HTML page (inline SVG and CSS, no script from
 * elsewhere): one lane per node along virtual time; messages as arrows from sender to receiver
 * (dropped ones dashed, ending at a cross); crashes with the unsynced data they lost; restarts
 * and refused restarts; fsyncs as ticks; leader changes; partitions as bands; the violation, if
 * any, as a red line. Each mark has a tooltip with its details.
 * @module
 */
import type { Violation } from "./checks.js";
import type { TraceEvent } from "./trace.js";

const LANE = 70;
const TOP = 40;
const LEFT = 60;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** What the page shows besides the trace. */
export interface TimelineInfo {
  title: string;
  nodes: number;
  violation: Violation | undefined;
  replay: string | undefined;
  /** Pixels per virtual ms (default 2). */
  scale?: number;
}

/** Renders the page (see the module comment). */
export function renderTimeline(events: readonly TraceEvent[], info: TimelineInfo): string {
  const k = info.scale ?? 2;
  const end = events.length === 0 ? 0 : events[events.length - 1]!.t;
  const width = LEFT + Math.ceil(end * k) + 40;
  const height = TOP + info.nodes * LANE + 20;
  const x = (t: number): number => LEFT + t * k;
  const y = (node: number): number => TOP + (node - 1) * LANE + LANE / 2;
  const out: string[] = [];
  for (let n = 1; n <= info.nodes; n++) {
    out.push(`<line class="lane" x1="${LEFT}" x2="${width}" y1="${y(n)}" y2="${y(n)}"/><text x="8" y="${y(n) + 4}" class="name">node ${n}</text>`);
  }
  for (let t = 0; t <= end; t += 100)
    out.push(`<line class="grid" x1="${x(t)}" x2="${x(t)}" y1="${TOP - 10}" y2="${height}"/><text x="${x(t) + 2}" y="${TOP - 14}" class="tick">${t} ms</text>`);
  const sends = new Map<number, TraceEvent>();
  let partitionFrom: { t: number; what: string } | undefined;
  for (const e of events) {
    const tip = `<title>${esc(`${e.t} ms: ${e.kind} ${e.node}${e.to === undefined ? "" : ` -> ${e.to}`} ${e.what}`)}</title>`;
    switch (e.kind) {
      case "send":
        if (e.id !== undefined) sends.set(e.id, e);
        break;
      case "deliver":
      case "drop": {
        const s = e.id === undefined ? undefined : sends.get(e.id);
        if (s === undefined || s.to === undefined) break;
        const x2 = x(e.t);
        const y2 = y(s.to);
        const cls = e.kind === "drop" ? "msg dropped" : /Vote/.test(s.what) ? "msg vote" : /App/.test(s.what) ? "msg app" : "msg";
        out.push(
          `<line class="${cls}" x1="${x(s.t)}" y1="${y(s.node)}" x2="${x2}" y2="${e.kind === "drop" ? (y(s.node) + y2) / 2 : y2}" marker-end="url(#${e.kind === "drop" ? "x" : "arrow"})">${tip}</line>`,
        );
        break;
      }
      case "crash":
        out.push(
          `<g class="crash"><line x1="${x(e.t) - 6}" x2="${x(e.t) + 6}" y1="${y(e.node) - 6}" y2="${y(e.node) + 6}"/><line x1="${x(e.t) - 6}" x2="${x(e.t) + 6}" y1="${y(e.node) + 6}" y2="${y(e.node) - 6}"/>${tip}</g><text class="lbl crashlbl" x="${x(e.t) + 4}" y="${y(e.node) + 20}">${esc(e.what.replace(/ unsynced.*/, ""))}</text>`,
        );
        break;
      case "restart":
        out.push(`<circle class="restart" cx="${x(e.t)}" cy="${y(e.node)}" r="5">${tip}</circle>`);
        break;
      case "refused":
        out.push(`<rect class="refused" x="${x(e.t) - 6}" y="${y(e.node) - 6}" width="12" height="12">${tip}</rect>`);
        break;
      case "fsync":
        out.push(`<line class="fsync" x1="${x(e.t)}" x2="${x(e.t)}" y1="${y(e.node) - 14}" y2="${y(e.node) - 6}">${tip}</line>`);
        break;
      case "leader":
        if (e.what.startsWith("leader"))
          out.push(`<text class="lbl leader" x="${x(e.t)}" y="${y(e.node) - 18}">★ ${esc(e.what.replace(/^leader lead=\d+ /, ""))}${tip}</text>`);
        else out.push(`<circle class="follower" cx="${x(e.t)}" cy="${y(e.node)}" r="2">${tip}</circle>`);
        break;
      case "fail":
        out.push(`<text class="lbl crashlbl" x="${x(e.t)}" y="${y(e.node) + 30}">failed${tip}</text>`);
        break;
      case "partition":
        partitionFrom = { t: e.t, what: e.what };
        break;
      case "heal":
        if (partitionFrom !== undefined) {
          out.push(
            `<rect class="partition" x="${x(partitionFrom.t)}" y="${TOP - 8}" width="${Math.max(1, (e.t - partitionFrom.t) * k)}" height="6"><title>${esc(`partition ${partitionFrom.what} from ${partitionFrom.t} to ${e.t} ms`)}</title></rect>`,
          );
        }
        partitionFrom = undefined;
        break;
      default:
        break;
    }
  }
  const v = info.violation;
  if (v !== undefined)
    out.push(
      `<line class="violation" x1="${x(v.t)}" x2="${x(v.t)}" y1="${TOP - 20}" y2="${height}"><title>${esc(`${v.invariant}: ${v.detail}`)}</title></line>`,
    );
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(info.title)}</title>
<style>
body{font:13px system-ui,sans-serif;margin:12px}
.lane{stroke:#bbb}.grid{stroke:#eee}.tick{fill:#888;font-size:10px}.name{font-weight:600}
.msg{stroke:#999;stroke-width:.6}.msg.app{stroke:#4a7}.msg.vote{stroke:#c60;stroke-width:1.2}.msg.dropped{stroke:#d33;stroke-dasharray:3 2}
.crash line{stroke:#d00;stroke-width:2.5}.crashlbl{fill:#d00}.restart{fill:#2a2}.refused{fill:#000}.fsync{stroke:#57c}
.leader{fill:#13a;font-weight:600}.follower{fill:#13a}.lbl{font-size:10px}.partition{fill:#fa0;opacity:.6}.violation{stroke:#f00;stroke-width:2}
#wrap{overflow-x:auto;border:1px solid #ddd}
</style></head><body>
<h1 style="font-size:16px">${esc(info.title)}</h1>
${v === undefined ? "<p>No violation.</p>" : `<p style="color:#c00"><b>${esc(v.invariant)}</b> at ${v.t} ms: ${esc(v.detail)}</p>`}
${info.replay === undefined ? "" : `<p>Replay: <code>${esc(info.replay)}</code></p>`}
<p>Lanes: nodes. Arrows: messages (green MsgApp/Resp, orange votes, red dashed: dropped). Red ×: crash (power loss; label: unsynced sectors or directory changes lost). Green dot: restart. Black square: restart refused. Blue ticks: fsyncs. ★: became leader. Orange bands: partitions. Red line: the violation. Hover for details.</p>
<div id="wrap"><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<defs><marker id="arrow" viewBox="0 0 6 6" refX="6" refY="3" markerWidth="5" markerHeight="5" orient="auto"><path d="M0,0L6,3L0,6z" fill="#777"/></marker>
<marker id="x" viewBox="0 0 6 6" refX="3" refY="3" markerWidth="6" markerHeight="6"><path d="M0,0L6,6M6,0L0,6" stroke="#d33"/></marker></defs>
${out.join("\n")}
</svg></div></body></html>
`;
}
