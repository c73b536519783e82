/**
 * `GET /dashboard`: one self-contained page (no external script, style or font: nothing
 * outside the machine is reachable) that refreshes itself from this member's `GET /status`
 * (every second) and `GET /metrics` (every 2 s): the members and who leads, the term, commit
 * and applied indexes, the leader's view of each follower (match, lag, state), and over the
 * last five minutes the WAL fsync latency (p99, from the histogram's buckets) and the rate of
 * applied proposals. A page can read its own member only (the API grants no cross-origin
 * access): per-follower figures come from the leader's dashboard; a follower's page links to it.
 *
 * The DOM carries what tests read: `#members[data-count]`, `#leader[data-id]`.
 * @module
 */

/** The page, served as is. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tsraft KV dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.2em 0 .4em}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f0f0f0}td.l,th.l{text-align:left}.lead{font-weight:bold;color:#0a6}
.muted{color:#888}.bad{color:#c00}svg{background:#fff;border:1px solid #ddd}
#err{color:#c00;min-height:1.2em}.grid{display:flex;gap:2em;flex-wrap:wrap}
</style></head><body>
<h1>tsraft KV <span id="cluster" class="muted"></span></h1>
<div id="err"></div>
<div class="grid">
<div><h2>This member</h2><table id="self"><tbody></tbody></table></div>
<div><h2>Members</h2><table id="members" data-count="0"><thead><tr><th class="l">id</th><th class="l">role</th><th class="l">http</th><th class="l"></th></tr></thead><tbody></tbody></table>
<p>Leader: <span id="leader" data-id="">none</span></p></div>
</div>
<h2>Followers (the leader's view)</h2><div id="followers"></div>
<div class="grid">
<div><h2>WAL fsync p99 (ms), last 5 min</h2><svg id="fsync" width="420" height="120"></svg><div id="fsyncNow" class="muted"></div></div>
<div><h2>Applied proposals / s, last 5 min</h2><svg id="rate" width="420" height="120"></svg><div id="rateNow" class="muted"></div></div>
</div>
<script>
"use strict";
const WINDOW_MS = 5 * 60 * 1000;
const fsyncSeries = [], rateSeries = [];
let lastMetrics = null;
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
function row(cells) { const tr = el("tr"); for (const c of cells) tr.appendChild(c); return tr; }
function setErr(msg) { document.getElementById("err").textContent = msg; }
function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split("\\n")) {
    if (line === "" || line[0] === "#") continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})? (\\S+)/.exec(line);
    if (m) out.set(m[1] + (m[2] || ""), Number(m[3]));
  }
  return out;
}
function buckets(m, name) {
  const out = [];
  for (const [k, v] of m) {
    if (!k.startsWith(name + "_bucket{")) continue;
    const le = /le="([^"]+)"/.exec(k);
    if (le) out.push([le[1] === "+Inf" ? Infinity : Number(le[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}
function quantile(q, prev, cur) {
  const d = cur.map(([le, v], i) => [le, v - (prev[i] ? prev[i][1] : 0)]);
  const total = d.length ? d[d.length - 1][1] : 0;
  if (total <= 0) return null;
  for (const [le, v] of d) if (v >= q * total) return le;
  return null;
}
function push(series, t, v) { series.push([t, v]); while (series.length && series[0][0] < t - WINDOW_MS) series.shift(); }
function draw(id, series, unit) {
  const svg = document.getElementById(id);
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const pts = series.filter((p) => p[1] !== null && isFinite(p[1]));
  if (pts.length === 0) return;
  const now = Date.now(), w = 420, h = 120;
  const max = Math.max(...pts.map((p) => p[1]), 1) * 1.1;
  const path = pts.map((p, i) => (i ? "L" : "M") + ((w * (p[0] - (now - WINDOW_MS))) / WINDOW_MS).toFixed(1) + " " + (h - 4 - ((h - 8) * p[1]) / max).toFixed(1)).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const pe = document.createElementNS(ns, "path");
  pe.setAttribute("d", path); pe.setAttribute("fill", "none"); pe.setAttribute("stroke", "#07c"); pe.setAttribute("stroke-width", "1.5");
  svg.appendChild(pe);
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", "4"); label.setAttribute("y", "14"); label.setAttribute("font-size", "11");
  label.textContent = "max " + max.toPrecision(3) + " " + unit;
  svg.appendChild(label);
}
function renderStatus(s) {
  document.getElementById("cluster").textContent = "cluster " + s.clusterId + ", member " + s.id;
  const self = document.querySelector("#self tbody");
  self.replaceChildren();
  for (const [k, v] of [["role", s.raftState], ["term", s.term], ["commit", s.commit], ["applied", s.applied], ["snapshot", s.snapshotIndex], ["log", s.firstIndex + ".." + s.lastIndex], ["keys", s.keys]]) {
    self.appendChild(row([el("th", k, "l"), el("td", v)]));
  }
  const lead = s.leader;
  const leaderEl = document.getElementById("leader");
  leaderEl.dataset.id = lead ? lead.id : "";
  leaderEl.textContent = lead ? lead.id + (lead.http ? " (" + lead.http + ")" : "") : "none";
  const tb = document.querySelector("#members tbody");
  tb.replaceChildren();
  for (const m of s.members) {
    const isLead = lead && lead.id === m.id;
    const link = el("td", "", "l");
    if (m.http) { const a = el("a", "dashboard"); a.href = "http://" + m.http + "/dashboard"; link.appendChild(a); }
    tb.appendChild(row([el("td", m.id + (isLead ? " \\u2605" : ""), "l" + (isLead ? " lead" : "")), el("td", m.role, "l"), el("td", m.http || "", "l"), link]));
  }
  document.getElementById("members").dataset.count = String(s.members.length);
  const f = document.getElementById("followers");
  f.replaceChildren();
  const ids = Object.keys(s.progress || {}).filter((id) => id !== s.id);
  if (s.raftState !== "leader" || ids.length === 0) {
    f.appendChild(el("p", s.raftState === "leader" ? "no followers" : "this member does not lead: see the leader's dashboard", "muted"));
    return;
  }
  const last = s.lastIndex;
  const t = el("table");
  t.appendChild(row([el("th", "follower", "l"), el("th", "match"), el("th", "next"), el("th", "lag"), el("th", "state", "l"), el("th", "active", "l")]));
  for (const id of ids) {
    const p = s.progress[id];
    const lag = Math.max(0, last - p.match);
    t.appendChild(row([el("td", id + (p.isLearner ? " (learner)" : ""), "l"), el("td", p.match), el("td", p.next), el("td", lag, lag > 1000 ? "bad" : ""), el("td", p.state, "l"), el("td", p.recentActive ? "yes" : "no", "l" + (p.recentActive ? "" : " bad"))]));
  }
  f.appendChild(t);
}
async function pollStatus() {
  try {
    const r = await fetch("/status", { cache: "no-store" });
    if (!r.ok) throw new Error("GET /status: " + r.status);
    renderStatus(await r.json());
    setErr("");
  } catch (e) { setErr("cannot reach this member: " + (e && e.message ? e.message : e)); }
}
async function pollMetrics() {
  try {
    const r = await fetch("/metrics", { cache: "no-store" });
    if (!r.ok) throw new Error("GET /metrics: " + r.status);
    const m = parseMetrics(await r.text());
    const now = Date.now();
    if (lastMetrics) {
      const dt = (now - lastMetrics.t) / 1000;
      const applied = (m.get("tsraft_server_proposals_applied_total") || 0) - (lastMetrics.m.get("tsraft_server_proposals_applied_total") || 0);
      push(rateSeries, now, Math.max(0, applied / dt));
      const q = quantile(0.99, buckets(lastMetrics.m, "tsraft_disk_wal_fsync_duration_seconds"), buckets(m, "tsraft_disk_wal_fsync_duration_seconds"));
      push(fsyncSeries, now, q === null ? null : q === Infinity ? null : q * 1000);
      draw("rate", rateSeries, "/s");
      draw("fsync", fsyncSeries, "ms");
      document.getElementById("rateNow").textContent = "now: " + (applied / dt).toFixed(1) + " /s";
      document.getElementById("fsyncNow").textContent = "now: " + (q === null ? "no syncs" : q === Infinity ? "> 8.192 s" : "\\u2264 " + (q * 1000).toFixed(0) + " ms (bucket bound)");
    }
    lastMetrics = { t: now, m };
  } catch (e) { setErr("cannot read the metrics: " + (e && e.message ? e.message : e)); }
}
pollStatus(); pollMetrics();
setInterval(pollStatus, 1000); setInterval(pollMetrics, 2000);
</script></body></html>
`;
