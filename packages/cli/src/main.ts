#!/usr/bin/env node
/**
 * `tsraft`: the operator's tool for a tsraft member's data directory. `tsraft --help` lists
 * the commands; `tsraft CMD --help` explains one.
 * @module
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EXIT, processIo, type Command, type Io } from "./io.js";
import { forceNewClusterCommand } from "./recover-command.js";
import { snapLs, snapShow } from "./snap-commands.js";
import { walDump, walRepair, walVerify } from "./wal-commands.js";

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly Command[] = [walDump, walVerify, walRepair, snapLs, snapShow, forceNewClusterCommand];

function overview(): string {
  const w = Math.max(...COMMANDS.map((c) => c.words.join(" ").length));
  return ["usage: tsraft COMMAND [ARGS] (tsraft COMMAND --help for one)", "", ...COMMANDS.map((c) => `  ${c.words.join(" ").padEnd(w)}  ${c.summary}`)].join(
    "\n",
  );
}

/**
 * Runs the command named by the first words of `argv` (without `node` and the script).
 * Never throws: an unexpected error is printed and exits 1.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    io.out(overview());
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.words.every((w, i) => argv[i] === w));
  if (cmd === undefined) {
    io.err(`tsraft: unknown command ${JSON.stringify(argv.slice(0, 2).join(" "))}`);
    io.err(overview());
    return EXIT.usage;
  }
  try {
    return await cmd.run(argv.slice(cmd.words.length), io);
  } catch (e) {
    io.err(`tsraft ${cmd.words.join(" ")}: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.damage;
  }
}

function isMain(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
