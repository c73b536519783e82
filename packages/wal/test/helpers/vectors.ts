/** Helpers shared by the wal tests: vector loading, temp dirs, JSON views of values. */
import { createHash } from "node:crypto";
import { chmod, cp, mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Entry, HardState } from "@tsraft/raftpb";

const here = dirname(fileURLToPath(import.meta.url));
/** ../shared/vectors, read in place (never copied into the repo). */
export const VECTORS = join(here, "../../../../../shared/vectors");

export async function tempDir(prefix = "tsraft-wal-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Copies a directory into a fresh temporary one, writable. */
export async function copyToTemp(src: string): Promise<string> {
  const d = await tempDir();
  const dst = join(d, "wal");
  await cp(src, dst, { recursive: true });
  await chmod(dst, 0o755);
  for (const f of await readdir(dst)) await chmod(join(dst, f), 0o644);
  return dst;
}

/**
 * Removes the temporary directory that holds `dir` (a path inside one made by {@link tempDir}).
 * @throws Error if `dir`'s parent is not such a directory: given the temporary directory
 * itself, the parent would be the system's whole temp directory.
 */
export async function removeTemp(dir: string): Promise<void> {
  const parent = dirname(dir);
  if (dirname(parent) !== tmpdir() || !basename(parent).startsWith("tsraft-")) {
    throw new Error(`removeTemp(${dir}): its parent is not a temporary directory of tempDir()`);
  }
  await rm(parent, { recursive: true, force: true });
}

export interface JFile {
  name: string;
  size: number;
  sha256: string;
}

export async function listFiles(dir: string): Promise<JFile[]> {
  const out: JFile[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    if (!(await stat(p)).isFile()) continue;
    const b = await readFile(p);
    out.push({ name, size: b.length, sha256: createHash("sha256").update(b).digest("hex") });
  }
  return out;
}

const TYPES = ["EntryNormal", "EntryConfChange", "EntryConfChangeV2"];

export function b64(d: Uint8Array | undefined): string | null {
  return d === undefined ? null : Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("base64");
}

export function jEntry(e: Entry): { term: number; index: number; type: string; data: string | null } {
  return { term: e.term, index: e.index, type: TYPES[e.type]!, data: b64(e.data) };
}

export function jHardState(h: HardState): { term: number; vote: string; commit: number } {
  return { term: h.term, vote: h.vote.toString(), commit: h.commit };
}

export async function readJson<T>(p: string): Promise<T> {
  return JSON.parse(await readFile(p, "utf8")) as T;
}
