/**
 * The output buffer of an interaction script, which is also the raft nodes' logger: a line
 * logged at or above the current level is recorded as `LEVEL message` (etcd's RedirectLogger),
 * and the harness writes its own renderings (Readies, messages, logs) into the same buffer.
 * At level NONE nothing at all is recorded, the harness's own output included.
 */
import type { Logger } from "@tsraft/raft";

/** The level names, lowest first, as etcd's scripts spell them (`log-level info`). */
export const LEVEL_NAMES = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL", "NONE"] as const;

/** The index of level NONE in {@link LEVEL_NAMES}. */
export const LEVEL_NONE = LEVEL_NAMES.length - 1;

/** Parses a level name (any case). @throws {Error} on an unknown name. */
export function parseLevel(name: string): number {
  const i = (LEVEL_NAMES as readonly string[]).indexOf(name.toUpperCase());
  if (i < 0) throw new Error(`log levels must be either of [${LEVEL_NAMES.join(" ")}]`);
  return i;
}

/** A logger that records into a string buffer; the buffer is the output of one stanza. */
export class RedirectLogger implements Logger {
  /** The current level: lines below it are not recorded. */
  level = 0;
  /** What was recorded since the last {@link take}. */
  private buf = "";

  /** Records `s` as it is (unless the level is NONE). */
  write(s: string): void {
    if (this.level !== LEVEL_NONE) this.buf += s;
  }

  /** Returns the recorded text and empties the buffer. */
  take(): string {
    const s = this.buf;
    this.buf = "";
    return s;
  }

  /**
   * Runs `f`, and indents every line it recorded by two spaces (stabilize's nested output).
   */
  withIndent(f: () => void): void {
    const outer = this.buf;
    this.buf = "";
    try {
      f();
    } finally {
      const inner = this.buf;
      this.buf = outer;
      if (inner !== "") {
        const lines = inner.endsWith("\n") ? inner.slice(0, -1).split("\n") : inner.split("\n");
        for (const l of lines) this.buf += `  ${l}\n`;
      }
    }
  }

  private log(level: number, msg: string): void {
    if (level < this.level) return;
    this.buf += `${LEVEL_NAMES[level]} ${msg}`;
    if (!msg.endsWith("\n")) this.buf += "\n";
  }

  debug(msg: string): void {
    this.log(0, msg);
  }

  info(msg: string): void {
    this.log(1, msg);
  }

  warn(msg: string): void {
    this.log(2, msg);
  }

  error(msg: string): void {
    this.log(3, msg);
  }
}
