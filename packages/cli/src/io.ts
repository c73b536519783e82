/** Where a command writes: stdout and stderr lines (tests capture them). @module */

/** A command's output. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/** The process's own stdout and stderr. */
export const processIo: Io = {
  out: (line) => process.stdout.write(line + "\n"),
  err: (line) => process.stderr.write(line + "\n"),
};

/** A command: runs with its arguments (after the command words) and resolves with an exit code. */
export interface Command {
  /** The words that select it, e.g. `["wal", "dump"]`. */
  words: readonly string[];
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  run(args: readonly string[], io: Io): Promise<number>;
}

/** Exit codes. */
export const EXIT = { ok: 0, damage: 1, usage: 2, tornTail: 3 } as const;

/** Splits `args` into positional arguments and `--flags`; unknown flags are a usage error. */
export function parseArgs(args: readonly string[], flags: readonly string[]): { positional: string[]; flags: Set<string>; bad: string | undefined } {
  const positional: string[] = [];
  const set = new Set<string>();
  let bad: string | undefined;
  for (const a of args) {
    if (a.startsWith("--")) {
      if (flags.includes(a)) set.add(a);
      else bad ??= a;
    } else positional.push(a);
  }
  return { positional, flags: set, bad };
}
