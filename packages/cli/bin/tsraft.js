#!/usr/bin/env node
// The `tsraft` command: runs the compiled CLI in dist/ (made by `pnpm run build`). A file of its
// own, so that the bin exists on a fresh install, before anything is built.
let cli;
try {
  cli = await import("../dist/main.js");
} catch (e) {
  if (e?.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("main.js")) {
    process.stderr.write("tsraft: the CLI is not built yet: run `pnpm run build` first\n");
    process.exit(1);
  }
  throw e;
}
process.exitCode = await cli.main(process.argv.slice(2));
