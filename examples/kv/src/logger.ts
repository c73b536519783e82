/**
 * A small line logger for the server (raft's `Logger` interface): one line per event on
 * stderr, `TIME kv[ID] LEVEL message {fields}`.
 * @module
 */
import type { LogFields, Logger } from "@tsraft/raft";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** A level name. */
export type LogLevel = keyof typeof LEVELS;

function fmt(fields: LogFields | undefined): string {
  if (fields === undefined) return "";
  return ` ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`;
}

/** A logger printing lines at or above `level`, prefixed with the member id. */
export function lineLogger(id: bigint, level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = LEVELS[level];
  const line = (lv: LogLevel) => (msg: string, fields?: LogFields) => {
    if (LEVELS[lv] < min) return;
    write(`${new Date().toISOString()} kv[${id}] ${lv.padEnd(5)} ${msg}${fmt(fields)}\n`);
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

/** Raft's own log lines, one level down (raft's info, such as every vote, is our debug). */
export function raftLogger(base: Logger): Logger {
  return { debug: () => {}, info: base.debug, warn: base.info, error: base.warn };
}
