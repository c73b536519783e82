/**
 * The layout of a member's data directory (a `DiskStorage`: `DIR/wal` holds the WAL segments,
 * `DIR/snap` the `.snap` files), and the hint for an operator who gives a command `DIR` where
 * it reads `DIR/wal` or `DIR/snap`.
 * @module
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

/**
 * When `dir` (which holds no file of the kind a command reads) has a subdirectory `sub`:
 * `"; DIR/SUB holds one: did you mean DIR/SUB?"` if `holds(DIR/SUB)` finds such a file there,
 * `"; did you mean DIR/SUB? (it holds none either)"` if not. Else the empty string.
 */
export async function subdirHint(dir: string, sub: "wal" | "snap", holds: (path: string) => Promise<boolean>): Promise<string> {
  const p = join(dir, sub);
  const st = await stat(p).catch(() => undefined);
  if (st === undefined || !st.isDirectory()) return "";
  return (await holds(p)) ? `; ${p} holds one: did you mean ${p}?` : `; did you mean ${p}? (it holds none either)`;
}

/** The `.snap` file names in `dir`, newest first. */
export async function snapFiles(dir: string): Promise<string[]> {
  return (await readdir(dir))
    .filter((n) => n.endsWith(".snap"))
    .sort()
    .reverse();
}
