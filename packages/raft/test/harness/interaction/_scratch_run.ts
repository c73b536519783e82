import { writeFileSync } from "node:fs";
import { execSync } from "node:child_process";
import { runDatadriven, sharedVectorsPath } from "../datadriven.js";
import { InteractionEnv, handle } from "./handlers.js";
const files = process.argv.slice(2);
for (const f of files) {
  const path = f.includes("/") ? f : sharedVectorsPath("etcd-testdata", "interaction", f);
  const env = new InteractionEnv();
  let r;
  try { r = runDatadriven(path, (tc) => handle(env, tc)); } catch (e) { console.log(`${f}: CRASH ${(e as Error).stack}`); continue; }
  console.log(`${f}: ${r.matched}/${r.total}`);
  if (process.env.DIFF && r.mismatches.length) {
    const m = r.mismatches[0]!;
    writeFileSync("/tmp/ia/exp", m.expected); writeFileSync("/tmp/ia/act", m.actual);
    console.log(m.pos, m.cmd);
    try { console.log(execSync("diff /tmp/ia/exp /tmp/ia/act").toString()); } catch (e) { console.log((e as {stdout: Buffer}).stdout.toString()); }
  }
}
