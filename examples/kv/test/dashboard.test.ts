/**
 * GET /dashboard in a real headless Chromium (Debian's `chromium`; the test is skipped, saying
 * so, when it is missing; .ci/run installs it): the page loads with no console message at all
 * (no error, no CSP violation: it loads nothing from elsewhere), shows three members and the
 * leader, and, after the leader is stopped, a surviving member's page shows the new leader. A
 * screenshot is kept in $TSRAFT_ARTIFACTS (default: the temporary directory).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InProcCluster } from "./helpers/inproc.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

/** Runs headless Chromium on `url` with a fresh profile; resolves with stdout and stderr. */
function chromium(url: string, extra: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), "tsraft-chromium-"));
  const args = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    `--user-data-dir=${profile}`,
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=4000",
    ...extra,
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM!, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (err !== null && stdout === "") reject(new Error(`chromium failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

function consoleLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => /CONSOLE|Uncaught|Content Security Policy/.test(l));
}

let c: InProcCluster;
before(async () => {
  if (CHROMIUM === undefined) return;
  c = await InProcCluster.create(3);
  await c.startAll();
});
after(async () => {
  if (c !== undefined) await c.cleanup();
});

test("the dashboard in headless Chromium: three members, the leader, a new leader after the old one stops", {
  skip: CHROMIUM === undefined ? "chromium is not installed (apt-get install chromium)" : false,
}, async (t) => {
  const lead = await c.waitForLeader();
  for (let i = 0; i < 10; i++) assert.equal((await c.req(lead, "PUT", `/kv/k${i}`, { value: "v" })).status, 200);
  const url = `http://${c.member(lead).addr.http}/dashboard`;
  const dom = await chromium(url, ["--dump-dom"]);
  assert.deepEqual(consoleLines(dom.stderr), []);
  assert.match(dom.stdout, /<table id="members" data-count="3">/);
  assert.match(dom.stdout, new RegExp(`<span id="leader" data-id="${lead}">`));
  assert.match(dom.stdout, /<h2>Followers \(the leader's view\)<\/h2><div id="followers"><table>/);

  const dir = process.env["TSRAFT_ARTIFACTS"] ?? join(tmpdir(), "tsraft-artifacts");
  mkdirSync(dir, { recursive: true });
  const png = join(dir, "kv-dashboard.png");
  await chromium(url, [`--screenshot=${png}`, "--window-size=1100,900", "--hide-scrollbars"]);
  assert.ok(statSync(png).size > 5000, "a screenshot was written");
  t.diagnostic(`screenshot: ${png}`);

  await c.stop(lead);
  const next = await c.waitForLeader();
  assert.notEqual(next, lead);
  const other = [...c.members.keys()].find((id) => id !== lead)!;
  const dom2 = await chromium(`http://${c.member(other).addr.http}/dashboard`, ["--dump-dom"]);
  assert.deepEqual(consoleLines(dom2.stderr), []);
  assert.match(dom2.stdout, new RegExp(`<span id="leader" data-id="${next}">`));
});
